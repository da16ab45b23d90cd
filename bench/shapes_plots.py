"""Plots of a `bench/shapes_experiment.py` run (PNG, matplotlib), for docs/shapes.md.

    .venv/bin/python bench/shapes_plots.py SUMMARY.json WORK/runs OUT_DIR

`plot_accuracy`: accuracy per benchmark split and condition (mean over seeds, error bar one
standard deviation), one panel per start. `plot_curves`: the training curve of every loss
term (from each run's `metrics.csv`), one row per start, one column per term, one line per
condition, for one seed.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from ahnpl.evaluation.shapes import SPLITS as BENCH_SPLITS

SPLITS = (*BENCH_SPLITS, "average")
TERMS = ("itc", "mhn_text", "mhn_image", "dm_text", "dm_image", "pos", "total")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on a build machine
    import matplotlib.pyplot as plt

    return plt


def plot_accuracy(doc: dict, path: Path) -> Path:
    """Grouped bars: x = split, one bar per condition; returns `path`."""
    plt = _pyplot()
    starts = doc["starts"]
    fig, axes = plt.subplots(len(starts), 1, figsize=(16, 4.2 * len(starts)), squeeze=False)
    for ax, (start, cells) in zip(axes[:, 0], starts.items()):
        names = list(cells)
        width = 0.85 / len(names)
        for k, name in enumerate(names):
            xs = [i + (k - (len(names) - 1) / 2) * width for i in range(len(SPLITS))]
            means = [cells[name][s]["mean"] for s in SPLITS]
            stds = [cells[name][s]["std"] for s in SPLITS]
            ax.bar(xs, means, width, yerr=stds, capsize=2, label=name)
        ax.axhline(50, color="grey", lw=0.8, ls="--")
        ax.set_xticks(range(len(SPLITS)), SPLITS)
        ax.set_ylim(0, 105)
        ax.set_ylabel("accuracy (%)")
        n = len(next(iter(cells.values()))["average"]["runs"])
        ax.set_title(f"shapes benchmark, start: {start} (mean ± std over {n} seed(s); chance 50)")
        ax.legend(ncol=5, fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def read_metrics(path: Path) -> dict[str, list[float]]:
    """Columns of a run's metrics.csv as float lists ("step" and "loss/<term>")."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            if value not in ("", None):
                columns.setdefault(key, []).append(float(value))
    return columns


def plot_curves(runs: Path, path: Path, seed: int = 0) -> Path:
    """Loss term (y) against step (x) for every condition of `seed`; returns `path`."""
    plt = _pyplot()
    starts = sorted(p.name for p in runs.iterdir() if p.is_dir())
    fig, axes = plt.subplots(
        len(starts), len(TERMS), figsize=(3.1 * len(TERMS), 3 * len(starts)), squeeze=False
    )
    for row, start in zip(axes, starts):
        for folder in sorted((runs / start).glob(f"*-{seed}")):
            metrics = folder / "metrics.csv"
            if not metrics.is_file():
                continue
            columns = read_metrics(metrics)
            name = folder.name[: -len(f"-{seed}")]
            for ax, term in zip(row, TERMS):
                ys = columns.get(f"loss/{term}")
                if ys:
                    ax.plot(columns["step"][: len(ys)], ys, label=name, lw=1)
        for ax, term in zip(row, TERMS):
            ax.set_title(f"{start}: {term}", fontsize=9)
            ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=7)
        row[0].legend(fontsize=6)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("summary", type=Path, help="the JSON of shapes_experiment.py --json")
    p.add_argument("runs", type=Path, help="WORK/runs of the same experiment")
    p.add_argument("out", type=Path, help="folder for shapes_accuracy.png, shapes_curves.png")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    doc = json.loads(args.summary.read_text())
    print(plot_accuracy(doc, args.out / "shapes_accuracy.png"))
    print(plot_curves(args.runs, args.out / "shapes_curves.png", args.seed))


if __name__ == "__main__":
    main()
