"""Results as a Markdown table and a JSON file (item counts, missing images, model fingerprint)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ahnpl.atomic import atomic_write, write_text_atomic
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
    foil have identical token rows after truncation (they tie, so they count as wrong). Under
    the table: what each summary figure is, empty files, skipped benchmarks, the model.
    """
    from ahnpl.evaluation.benchmarks import get_benchmark

    lines = [
        "| benchmark | split | metric | % | scored / items | missing img | same tokens |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    legend: list[str] = []
    for name, bench in results["benchmarks"].items():
        labels = _figure_labels(name, get_benchmark)
        for figure, value in bench["summary"].items():
            lines.append(f"| {name} | **summary** | {figure} | {_pct(value)} | | | |")
            if figure in labels:
                legend.append(f"- {name} `{figure}`: {labels[figure]}")
        for split, m in bench["splits"].items():
            for metric in TABLE_METRICS[bench["task"]]:
                lines.append(
                    f"| {name} | {split} | {metric} | {_pct(m.get(metric))} "
                    f"| {m['n_scored']} / {m['n_items']} | {m['n_missing_images']} "
                    f"| {m.get('n_identical_after_truncation', '')} |"
                )
        for split, path in bench.get("empty_files", {}).items():
            legend.append(f"- {name} `{split}`: its file is empty ({path}); 0 items scored")
    lines.append("")
    lines.append(
        "Summary rows combine split (or group) figures as each benchmark's protocol defines "
        "(docs/benchmarks.md); item counts are per split."
    )
    lines += legend
    for name, reason in results.get("skipped", {}).items():
        lines.append(f"- skipped {name}: {reason}")
    model = results.get("model")
    if model:
        lines.append("")
        lines.append(
            f"model {_model_label(model)}, {model['parameters']:,} parameters, "
            f"sha256 {model['fingerprint'][:16]}…"
        )
    return "\n".join(lines)


def _figure_labels(name: str, get_benchmark) -> dict[str, str]:
    try:
        return get_benchmark(name).figures
    except KeyError:  # results of a benchmark this installation does not have
        return {}


def _model_label(model: dict[str, Any]) -> str:
    return f"{model['name']} ({model['pretrained'] or 'random init'})"


def read_results(path: str | Path) -> dict[str, Any]:
    """A results file written by `ahnpl-eval` (`write_json`).

    Raises:
        FileNotFoundError: no such file. ValueError: not JSON, or not an ahnpl-eval results file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such results file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not JSON ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), dict):
        raise ValueError(f"{path}: not an ahnpl-eval results file (no 'benchmarks')")
    return data


def figures(
    results: dict[str, Any], splits: bool = True
) -> dict[tuple[str, str, str], float | None]:
    """{(benchmark, split or "summary", figure): value} in table order (fractions)."""
    out: dict[tuple[str, str, str], float | None] = {}
    for name, bench in results["benchmarks"].items():
        for figure, value in bench["summary"].items():
            out[(name, "summary", figure)] = value
        if splits:
            for split, m in bench["splits"].items():
                for metric in TABLE_METRICS[bench["task"]]:
                    out[(name, split, metric)] = m.get(metric)
    return out


def compare_markdown(runs: list[tuple[str | Path, dict[str, Any]]], splits: bool = True) -> str:
    """One Markdown table for several results files: a row per (benchmark, split, figure), a
    column per run (percent; "—" where a run lacks the figure). The best value of each row is
    in bold. Under it, each column's file, model and fingerprint.
    """
    per_run = [figures(results, splits) for _, results in runs]
    rows = list(dict.fromkeys(key for run in per_run for key in run))
    names = [f"({i + 1}) {Path(path).stem}" for i, (path, _) in enumerate(runs)]
    header = "| benchmark | split | metric | " + " | ".join(names)
    lines = [header + " |", "|---|---|---|" + "---:|" * len(runs)]
    for key in rows:
        values = [run.get(key) for run in per_run]
        best = max((v for v in values if v is not None), default=None)
        cells = [
            f"**{_pct(v)}**" if v is not None and v == best and len(runs) > 1 else _pct(v)
            for v in values
        ]
        split = "**summary**" if key[1] == "summary" else key[1]
        lines.append(f"| {key[0]} | {split} | {key[2]} | " + " | ".join(cells) + " |")
    lines.append("")
    for i, (path, results) in enumerate(runs):
        model = results.get("model")
        who = "model not recorded"
        if model:
            who = f"{_model_label(model)}, sha256 {model['fingerprint'][:16]}…"
        lines.append(f"({i + 1}) {path}: {who}")
    return "\n".join(lines)


def write_text(text: str, path: str | Path) -> None:
    """Write `text` to `path` atomically (temporary file in the same folder, then rename)."""
    write_text_atomic(str(path), text)


def write_bytes(data: bytes, path: str | Path) -> None:
    """Write `data` to `path` atomically (`ahnpl.atomic`)."""
    with atomic_write(str(path), "wb") as f:
        f.write(data)


def write_json(results: dict[str, Any], path: str | Path) -> None:
    """Write `results` as indented JSON to `path` atomically."""
    write_text(json.dumps(results, indent=2) + "\n", path)


def scalar_figures(results: dict[str, Any]) -> dict[str, float]:
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
