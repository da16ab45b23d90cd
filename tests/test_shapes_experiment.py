"""bench/shapes_experiment.py and bench/shapes_plots.py: names, summary JSON, plots."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))

import shapes_experiment as sx  # noqa: E402
import shapes_plots  # noqa: E402

NAMES = {"clip", "text", "ahnpl", "ahnpl-feature", "ahnpl-selfanchor", "reference"}
ABLATED = {"mhn-only", "dm-only", "pos-only"}


def _figures(average: float) -> dict:
    return {
        **{s: average for s in sx.SPLITS},
        "average": average,
        "pos_cos": 0.5,
        "img_img_cos": 0.1,
        "seconds": 3.0,
    }


def test_conditions_are_the_issue_names_and_pin_their_loss():
    assert set(sx.CONDITIONS) == NAMES and set(sx.ABLATIONS) == ABLATED
    assert sx.CONDITIONS["ahnpl-selfanchor"]["loss.mhn_form"] == "self"
    assert sx.CONDITIONS["ahnpl"]["loss.mhn_form"] == "positive"
    assert sx.CONDITIONS["ahnpl"]["loss.image_negatives"] == "pixel"
    assert sx.CONDITIONS["ahnpl-feature"]["loss.image_negatives"] == "feature"
    assert sx.CONDITIONS["reference"]["loss.mode"] == "reference"
    text = sx.CONDITIONS["text"]
    assert text["loss.lambda_mhn"] == text["loss.lambda_dm"] == text["loss.lambda_pos"] == 0
    for name, kept in (("mhn-only", "mhn"), ("dm-only", "dm"), ("pos-only", "pos")):
        lambdas = {k: v for k, v in sx.ABLATIONS[name].items() if k.startswith("loss.lambda_")}
        assert {k for k, v in lambdas.items() if v > 0} == {f"loss.lambda_{kept}"}


def test_quick_fills_only_options_left_at_their_default(tmp_path):
    args = sx.parse_args(["--quick", "--work", str(tmp_path), "--steps", "7"])
    assert args.steps == 7 and args.seeds == "0" and args.starts == "warm"
    assert args.pretrain_steps == sx.QUICK["pretrain_steps"]
    with pytest.raises(SystemExit):
        sx.parse_args(["--conditions", "clip,nope"])


def test_summary_json_has_the_conditions_with_mean_and_std(tmp_path):
    runs = {
        "warm": {"clip": [_figures(60.0), _figures(70.0)], "text": [_figures(80.0)] * 2},
        "scratch": {"clip": [_figures(50.0), _figures(52.0)]},
    }
    summary = sx.summarize(runs)
    assert summary["warm"]["clip"]["average"]["mean"] == 65.0
    assert summary["warm"]["clip"]["average"]["std"] == pytest.approx(7.0711, abs=1e-3)
    args = Namespace(seeds="0,1", json=tmp_path / "out.json", work=tmp_path)
    sx.report(args, summary, {}, 1.0)
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["headline_start"] == "warm"
    assert doc["conditions"]["text"] == {**{s: 80.0 for s in sx.SPLITS}, "average": 80.0}
    assert set(doc["starts"]) == {"warm", "scratch"}
    # text beats clip by 15 points, the larger std is 7.1: holds; scratch has no text.
    assert doc["sensitivity"]["warm"]["swap_att"]["holds"] is True
    assert doc["sensitivity"]["warm"]["swap_rel"]["gap"] == pytest.approx(15.0)
    assert doc["sensitivity"]["scratch"] == {}


def test_child_command_lines_drop_the_options_the_parent_sets():
    argv = ["--work", "W", "--seeds", "0,1", "--parallel", "--json=o.json", "--steps", "3"]
    assert sx._without(argv, ("--seeds", "--json"), bare=("--parallel",)) == [
        "--work",
        "W",
        "--steps",
        "3",
    ]


def test_plots_are_written_from_a_summary_and_metrics(tmp_path):
    summary = sx.summarize({"warm": {"clip": [_figures(60.0)], "text": [_figures(75.0)]}})
    folder = tmp_path / "runs" / "warm" / "text-0"
    folder.mkdir(parents=True)
    (folder / "metrics.csv").write_text("step,loss/itc,loss/total\n1,3.0,3.0\n2,2.0,2.0\n")
    acc = shapes_plots.plot_accuracy({"starts": summary}, tmp_path / "a.png")
    curves = shapes_plots.plot_curves(tmp_path / "runs", tmp_path / "c.png", seed=0)
    for png in (acc, curves):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert shapes_plots.read_metrics(folder / "metrics.csv")["loss/itc"] == [3.0, 2.0]


def test_scratch_clip_is_the_warm_starts_plain_clip_run(tmp_path, monkeypatch):
    trained = []

    def train_run(data, out, seed, args, steps, lr, extra):
        trained.append((out.relative_to(tmp_path).as_posix(), steps, lr))
        (out / "checkpoints").mkdir(parents=True)
        (out / "config.yaml").write_text("")
        return out / "checkpoints" / "latest.pt"

    monkeypatch.setattr(sx, "train_run", train_run)
    monkeypatch.setattr(
        sx, "evaluate_checkpoint", lambda ckpt, bench, model: _figures(len(trained))
    )
    argv = ["--work", str(tmp_path), "--conditions", "clip,text", "--pretrain-steps", "30"]
    args = sx.parse_args([*argv, "--scratch-steps", "30", "--steps", "5"])
    warm = sx.seed_runs(0, "warm", args, tmp_path, tmp_path)
    scratch = sx.seed_runs(0, "scratch", args, tmp_path, tmp_path)
    assert list(scratch) == ["clip", "text"]
    assert scratch["clip"] == warm["(start: plain clip)"]
    assert trained == [
        ("runs/warm/pretrain-0", 30, 2e-3),
        ("runs/warm/clip-0", 5, 1e-3),
        ("runs/warm/text-0", 5, 1e-3),
        ("runs/scratch/text-0", 30, 2e-3),
    ]
    # Other step counts: scratch clip is a run of its own.
    args = sx.parse_args([*argv, "--scratch-steps", "40", "--work", str(tmp_path / "b")])
    sx.seed_runs(0, "scratch", args, tmp_path, tmp_path)
    assert trained[-2:] == [
        ("b/runs/scratch/clip-0", 40, 2e-3),
        ("b/runs/scratch/text-0", 40, 2e-3),
    ]
