"""Pictures where people look: training curves, TensorBoard events (issue 14 part 5)."""

from __future__ import annotations

import csv
import math

import pytest
import torch
import trainer_fixtures as fx
from PIL import Image

from ahnpl.trainer.config import load_config
from ahnpl.trainer.curves import read_metrics, write_curves


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Four steps of ahnpl-tiny, logged every step, a checkpoint every two, TensorBoard on."""
    from ahnpl.trainer.train import train

    root = tmp_path_factory.mktemp("pictures")
    data = fx.write_dataset(root / "ds", fx.make_records(8, 64), 4)
    out = root / "run"
    sets = [f"data.path={data}", f"run.out={out}"] + (
        "run.steps=4 data.batch_size=4 data.workers=0 optim.warmup_steps=2 run.log_every=1 "
        "run.save_every=2 run.tensorboard=true data.image_negatives_per_sample=1"
    ).split()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(load_config(None, sets=sets))
    finally:
        torch.set_num_threads(before)
    return out


def test_training_writes_curves_png_from_metrics_csv(trained):
    png = trained / "curves.png"
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width >= 1000
    columns = read_metrics(trained / "metrics.csv")
    assert columns["step"] == [1.0, 2.0, 3.0, 4.0]
    for name in ("loss/total", "loss/dm", "alpha", "logit_scale", "lr"):
        assert name in columns and not any(math.isnan(v) for v in columns[name])
    assert any(name.startswith("margin/text/") for name in columns)


def test_curves_keep_the_last_row_of_a_step_logged_twice(tmp_path):
    # A run resumed from its step-2 checkpoint logs steps 3.. again after the crash.
    path = tmp_path / "metrics.csv"
    fields = ["step", "loss/total", "lr", "alpha", "logit_scale"]
    rows = [(1, 2.0), (2, 1.5), (3, 9.9), (3, 1.2), (4, 1.0)]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(fields)
        writer.writerows([step, loss, 1e-4, "", 14.3] for step, loss in rows)
    columns = read_metrics(path)
    assert columns["step"] == [1, 2, 3, 4] and columns["loss/total"] == [2.0, 1.5, 1.2, 1.0]
    assert all(math.isnan(v) for v in columns["alpha"])  # no α in this loss mode: not drawn
    assert write_curves(path) == tmp_path / "curves.png"
    assert write_curves(tmp_path / "missing.csv") is None


def test_tensorboard_events_hold_every_logged_scalar(trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = (trained / "tensorboard").iterdir()
    acc = EventAccumulator(str(events.parent))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"loss/total", "alpha", "logit_scale", "lr"} <= tags
    assert [e.step for e in acc.Scalars("loss/total")] == [1, 2, 3, 4]


def test_extras_bring_matplotlib_and_tensorboard():
    # `pip install ahnpl[train]` draws curves; `[tensorboard]` makes run.tensorboard=true work.
    import tomllib

    pyproject = tomllib.loads((fx.REPO / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    assert any(r.startswith("matplotlib") for r in extras["train"])
    assert any(r.startswith("matplotlib") for r in extras["eval"])
    assert any(r.startswith("tensorboard") for r in extras["tensorboard"])
    assert "tensorboard" in extras["all"][0]
