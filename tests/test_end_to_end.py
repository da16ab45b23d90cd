"""The whole job through its three commands, on the bundled photos: build → verify → 2 train
steps → evaluate, as the README's demo runs it."""

from __future__ import annotations

import csv
import json

import open_clip
import torch
from conftest import COCO_MINI, REPO
from typer.testing import CliRunner

from ahnpl.evaluation.cli import app as eval_app
from ahnpl.pipeline.cli import app as gen_app
from ahnpl.trainer.cli import app as train_app


def test_build_verify_train_evaluate(tmp_path):
    runner = CliRunner()
    data = tmp_path / "dataset"
    result = runner.invoke(
        gen_app,
        ["build", str(REPO / "manifests" / "demo.yaml"), f"output.out={data}", "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    assert "30 images in 3 shard(s)" in result.output

    result = runner.invoke(gen_app, ["verify", str(data)])
    assert result.exit_code == 0, result.output

    train = tmp_path / "train"
    result = runner.invoke(
        train_app,
        [
            str(REPO / "manifests" / "train-demo.yaml"),
            "--data",
            str(data),
            "--out",
            str(train),
            "--steps",
            "2",
            "--batch-size",
            "8",
            "--log-every",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    checkpoint = train / "checkpoints" / "latest.pt"
    assert checkpoint.exists()
    with open(train / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    for term in ("itc", "mhn_text", "mhn_image", "dm_text", "pos", "total"):
        assert torch.isfinite(torch.tensor(float(rows[-1][f"loss/{term}"])))

    # open_clip itself loads the trained weights.
    model = open_clip.create_model("ahnpl-tiny")
    open_clip.load_checkpoint(model, str(checkpoint), weights_only=True)

    out = tmp_path / "results.json"
    result = runner.invoke(
        eval_app,
        [
            "--checkpoint",
            str(checkpoint),
            "--benchmark",
            "sugarcrepe",
            "--data-root",
            str(REPO / "data" / "benchmarks"),
            "--images",
            str(COCO_MINI / "images"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    results = json.loads(out.read_text())
    text = json.dumps(results)
    for split in (
        "replace_obj",
        "replace_att",
        "replace_rel",
        "swap_obj",
        "swap_att",
        "add_obj",
        "add_att",
    ):
        assert split in text
    assert "| sugarcrepe |" in result.output
