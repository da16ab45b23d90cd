"""The benchmark table as a bar chart (PNG), written by `ahnpl-eval` next to its JSON.

One horizontal bar per row of the Markdown table's headline metric (accuracy for choice tasks,
the group score for Winoground, R@1 both ways for retrieval): summary figures dark, splits
light, grouped by benchmark, values in percent. matplotlib is optional (`ahnpl[eval]`); it is
drawn with the Agg canvas directly, so no display and no global backend are involved.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ahnpl.evaluation.report import write_bytes

# The metric a bar shows per split, by task (the JSON and Markdown keep every metric).
CHART_METRICS = {
    "choice": ("accuracy",),
    "winoground": ("group",),
    "retrieval": ("i2t_R@1", "t2i_R@1"),
}


def chart_rows(results: dict[str, Any]) -> list[tuple[str, float | None, bool]]:
    """(label, value as a fraction or None, is a summary figure), top to bottom."""
    rows: list[tuple[str, float | None, bool]] = []
    for name, bench in results["benchmarks"].items():
        for figure, value in bench["summary"].items():
            rows.append((f"{name} · {figure}", value, True))
        for split, m in bench["splits"].items():
            for metric in CHART_METRICS[bench["task"]]:
                label = f"{name} · {split}" + (f" {metric}" if metric != "accuracy" else "")
                rows.append((label, m.get(metric), False))
    return rows


def write_chart(results: dict[str, Any], path: str | Path) -> Path | None:
    """Draw `results` (as returned by `evaluate`) to `path`; None when matplotlib is missing.

    A row without a value (an empty split, no scored item) is labelled "no items" instead of
    a bar, so it does not read as 0 %.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError:
        return None
    rows = chart_rows(results)
    if not rows:
        return None
    fig = Figure(figsize=(8, 0.9 + 0.28 * len(rows)), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    y = list(range(len(rows)))[::-1]
    values = [100 * v if v is not None else 0.0 for _, v, _ in rows]
    colours = ["#1f4e79" if summary else "#8fb4d9" for _, _, summary in rows]
    ax.barh(y, values, color=colours, height=0.7)
    for yi, (_, value, _) in zip(y, rows):
        text = "no items" if value is None else f"{100 * value:.1f}"
        ax.text((100 * value if value is not None else 0) + 1, yi, text, va="center", fontsize=8)
    ax.set_yticks(y, [label for label, _, _ in rows], fontsize=8)
    ax.set_xlim(0, 110)
    ax.set_xlabel("% (summary figures dark, splits light)")
    ax.grid(axis="x", alpha=0.3)
    model = results.get("model")
    if model:
        ax.set_title(f"{model['name']} ({model['pretrained'] or 'random init'})", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_bytes(buf.getvalue(), path)
    return Path(path)
