"""Results as a Markdown table and a JSON file (item counts, missing images, model fingerprint)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ahnpl.atomic import write_text_atomic
from ahnpl.models import LoadedModel, fingerprint

# Per-split figures shown in the table, by task; JSON keeps everything.
TABLE_METRICS = {
    "choice": ("accuracy",),
    "winoground": ("text", "image", "group"),
    "retrieval": ("i2t_R@1", "i2t_R@5", "i2t_R@10", "t2i_R@1", "t2i_R@5", "t2i_R@10"),
}


def model_info(loaded: LoadedModel) -> dict[str, Any]:
    """Name, weights source, parameter count and state-dict sha256 of the evaluated model."""
    return {
        "name": loaded.name,
        "pretrained": loaded.pretrained,
        "parameters": sum(p.numel() for p in loaded.model.parameters()),
        "fingerprint": fingerprint(loaded.model),
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def to_markdown(results: dict[str, Any]) -> str:
    """One row per summary figure and per split metric; values in percent.

    Columns: benchmark, split, metric, value, scored/items, missing img (items whose image file
    was not found; the JSON also lists the files) and "same tokens": items whose caption and a
    foil have identical token rows after truncation (they tie, so they count as wrong).
    """
    lines = [
        "| benchmark | split | metric | % | scored / items | missing img | same tokens |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for name, bench in results["benchmarks"].items():
        # Summary figures are unweighted means of split metrics: item counts belong to splits.
        for figure, value in bench["summary"].items():
            lines.append(f"| {name} | **summary** | {figure} | {_pct(value)} | | | |")
        for split, m in bench["splits"].items():
            for metric in TABLE_METRICS[bench["task"]]:
                lines.append(
                    f"| {name} | {split} | {metric} | {_pct(m.get(metric))} "
                    f"| {m['n_scored']} / {m['n_items']} | {m['n_missing_images']} "
                    f"| {m.get('n_identical_after_truncation', '')} |"
                )
    lines.append("")
    lines.append(
        "Summary rows average split (or group) figures as each benchmark's protocol "
        "defines (docs/benchmarks.md); item counts are per split."
    )
    model = results.get("model")
    if model:
        lines.append("")
        lines.append(
            f"model {model['name']} ({model['pretrained'] or 'random init'}), "
            f"{model['parameters']:,} parameters, sha256 {model['fingerprint'][:16]}…"
        )
    return "\n".join(lines)


def write_text(text: str, path: str | Path) -> None:
    """Write `text` to `path` atomically (temporary file in the same folder, then rename)."""
    write_text_atomic(str(path), text)


def write_json(results: dict[str, Any], path: str | Path) -> None:
    """Write `results` as indented JSON to `path` atomically."""
    write_text(json.dumps(results, indent=2) + "\n", path)


def flatten(results: dict[str, Any]) -> dict[str, float]:
    """Scalar figures as {"benchmark/split/metric": value} and {"benchmark/summary": value},
    for training logs (the trainer logs these every N steps)."""
    flat: dict[str, float] = {}
    for name, bench in results["benchmarks"].items():
        for figure, value in bench["summary"].items():
            flat[f"{name}/{figure}"] = value
        for split, metrics in bench["splits"].items():
            for metric in TABLE_METRICS[bench["task"]]:
                if metrics.get(metric) is not None:
                    flat[f"{name}/{split}/{metric}"] = metrics[metric]
    return flat
