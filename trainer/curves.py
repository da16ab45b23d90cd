"""Training curves (`OUT/curves.png`) drawn from `OUT/metrics.csv`.

`ahnpl-train` redraws the picture at each checkpoint and at the end; `python -m
ahnpl.trainer.curves OUT/metrics.csv` draws it for any run. Four panels against the optimizer
step: every loss term (`loss/*`, the total in black), the margins τ per negative type
(`margin/<side>/<type>`, logit units; text side solid, image side dashed), α (positive
alignment threshold, cosine) with ℓ (logit scale) on a second axis, and the learning rate.

matplotlib is optional (in `ahnpl[train]`): without it nothing is drawn. It is used through the
Agg canvas directly, so no display and no global backend are involved, and a failure to draw
never stops training.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from pathlib import Path

from ahnpl.atomic import atomic_write


def read_metrics(path: str | Path) -> dict[str, list[float]]:
    """Columns of a metrics CSV as floats, one value per step (a resumed run that logged a
    step twice keeps its last row), sorted by step. Empty cells are NaN."""
    by_step: dict[float, dict[str, str]] = {}
    with Path(path).open(newline="") as f:
        for row in csv.DictReader(f):
            if row.get("step"):
                by_step[float(row["step"])] = row
    columns: dict[str, list[float]] = {}
    steps = sorted(by_step)
    names = list(dict.fromkeys(k for row in by_step.values() for k in row if k))
    for name in names:
        columns[name] = [_float(by_step[s].get(name)) for s in steps]
    return columns


def _float(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def _has_values(values: list[float]) -> bool:
    return any(not math.isnan(v) for v in values)


def write_curves(metrics_csv: str | Path, out: str | Path | None = None) -> Path | None:
    """Draw `metrics_csv` to `out` (default: `curves.png` next to it); return the path, or
    None when matplotlib is missing, the CSV has no row yet, or drawing failed (a warning
    says why; training goes on)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError:
        return None
    metrics_csv = Path(metrics_csv)
    out = Path(out) if out is not None else metrics_csv.with_name("curves.png")
    try:
        columns = read_metrics(metrics_csv) if metrics_csv.is_file() else {}
        if not columns.get("step"):
            return None
        fig = Figure(figsize=(13, 7.5), dpi=110)
        FigureCanvasAgg(fig)
        axes = fig.subplots(2, 2, sharex=True)
        _draw(axes, columns)
        fig.suptitle(f"{metrics_csv.parent.name}: step {int(columns['step'][-1])}")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        with atomic_write(str(out), "wb") as f:
            f.write(buf.getvalue())
    except (OSError, ValueError, KeyError) as err:
        print(f"warning: {out} not drawn: {err}", file=sys.stderr)
        return None
    return out


def _draw(axes, columns: dict[str, list[float]]) -> None:
    from matplotlib.ticker import MaxNLocator

    step = columns["step"]
    losses, margins, scale = axes[0][0], axes[0][1], axes[1][0]
    for name, values in columns.items():
        if name.startswith("loss/") and _has_values(values):
            total = name == "loss/total"
            style = {"color": "black", "linewidth": 2} if total else {"linewidth": 1.2}
            losses.plot(step, values, label=name[5:], **style)
        if name.startswith("margin/") and _has_values(values):
            _, side, kind = name.split("/", 2)
            dash = "--" if side == "image" else "-"
            margins.plot(step, values, label=f"{kind} ({side})", linestyle=dash)
    losses.set_title("loss terms")
    margins.set_title("margins τ per negative type (logits)")
    scale.set_title("α (cosine) and ℓ (logit scale)")
    if _has_values(columns.get("alpha", [])):
        scale.plot(step, columns["alpha"], color="tab:green", label="α")
    scale.set_ylabel("α", color="tab:green")
    if _has_values(columns.get("logit_scale", [])):
        twin = scale.twinx()
        twin.plot(step, columns["logit_scale"], color="tab:purple", label="ℓ")
        twin.set_ylabel("ℓ", color="tab:purple")
        twin.ticklabel_format(axis="y", useOffset=False, style="plain")
    scale.ticklabel_format(axis="y", useOffset=False, style="plain")
    lr = axes[1][1]
    if _has_values(columns.get("lr", [])):
        lr.plot(step, columns["lr"], color="tab:orange")
    lr.set_title("learning rate")
    lr.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    positive = [
        v for k, vs in columns.items() if k.startswith("loss/") for v in vs if not math.isnan(v)
    ]
    if positive and min(positive) > 0:  # terms differ by orders of magnitude
        losses.set_yscale("log")
    for ax in (losses, margins):
        if ax.get_legend_handles_labels()[0]:  # beside the panel, never over the curves
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    for ax in axes[1]:
        ax.set_xlabel("step")
    for ax in (losses, margins, scale, lr):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2):
        raise SystemExit("usage: python -m ahnpl.trainer.curves OUT/metrics.csv [curves.png]")
    path = write_curves(*args)
    if path is None:
        raise SystemExit(f"{args[0]}: nothing drawn (no rows yet, or matplotlib is missing)")
    print(path)


if __name__ == "__main__":
    main()
