"""`evaluate`: load benchmarks, encode every unique image and text once, score, summarise.

Used by `ahnpl-eval` and by the trainer (every N steps). Returns a JSON-ready dict; see
`evaluate` for its shape.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ahnpl.evaluation.benchmarks import (
    Item,
    get_benchmark,
    misplaced_root_hint,
    resolve_data_root,
)
from ahnpl.evaluation.scoring import SCORERS, ImageResolver, encode_all

MAX_LISTED_MISSING = 20
# The benchmark files bundled with a source checkout, found from this file rather than the
# working directory (absent from an installed wheel: then `--data-root` is needed).
DEFAULT_DATA_ROOT = Path(__file__).resolve().parent.parent / "data" / "benchmarks"


def _image_roots(images: Sequence[Path], data_root: Path, name: str) -> list[Path]:
    # The user's folders first; then the benchmark's own folder, where small bundled sets keep
    # their images next to the annotations.
    return [*images, data_root / name / "images", data_root / name]


@dataclass
class Prepared:
    """Benchmarks loaded and their images resolved, ready to score (see `prepare`).

    `benchmarks` maps a name to (Benchmark, items, image keys per item or None when an image is
    missing, missing paths); `skipped` maps a benchmark whose files are missing to the reason.
    """

    benchmarks: dict[str, tuple[Any, list[Item], list[list | None], list[str]]] = field(
        default_factory=dict
    )
    skipped: dict[str, str] = field(default_factory=dict)


def prepare(
    benchmarks: Sequence[str],
    data_root: str | Path,
    images: str | Path | Sequence[str | Path] = (),
    skip_missing: bool = False,
) -> Prepared:
    """Load `benchmarks` and resolve their image files; no model needed.

    `data_root` is the folder holding one sub-folder per benchmark, or a benchmark's own folder
    (`.../sugarcrepe`); see `ahnpl.evaluation.benchmarks.resolve_data_root`.

    Raises:
        KeyError: unknown benchmark. FileNotFoundError: a benchmark's files are missing (unless
        `skip_missing`: then it is listed in `Prepared.skipped`). ValueError: from the loaders.
    """
    roots = [Path(images)] if isinstance(images, (str, Path)) else [Path(p) for p in images]
    out = Prepared()
    for name in dict.fromkeys(benchmarks):
        bench = get_benchmark(name)
        root = resolve_data_root(data_root, bench)
        try:
            items = bench.load(root)
        except FileNotFoundError as err:
            hint = misplaced_root_hint(data_root, bench)
            reason = hint or str(err)
            if not skip_missing:
                raise FileNotFoundError(reason) from err
            out.skipped[name] = reason
            continue
        _check_items(bench, items)
        resolver = ImageResolver(_image_roots(roots, root, name))
        keys: list[list | None] = []
        missing: list[str] = []
        for it in items:
            ks = []
            for ref in it.images:
                path = resolver.resolve(ref.path)
                if path is None:
                    missing.append(ref.path)
                    ks = None
                    break
                ks.append((path, ref.box))
            keys.append(ks)
        out.benchmarks[name] = (bench, items, keys, missing)
    return out


def _check_items(bench, items: list[Item]) -> None:
    n_images = 2 if bench.task == "winoground" else 1
    for it in items:
        if bench.task == "choice" and not it.negatives:
            raise ValueError(f"{bench.name}: item {it.key} ({it.split}) has no negative caption")
        if len(it.images) != n_images:
            raise ValueError(
                f"{bench.name}: item {it.key} ({it.split}) has {len(it.images)} images; "
                f"task {bench.task!r} takes {n_images}"
            )


def evaluate(
    model,
    benchmarks: Sequence[str] | Prepared,
    data_root: str | Path = DEFAULT_DATA_ROOT,
    images: str | Path | Sequence[str | Path] = (),
    device: str | torch.device = "cpu",
    batch_size: int = 64,
    workers: int | None = None,
    skip_missing: bool = False,
) -> dict[str, Any]:
    """Score `model` (an `ahnpl.models.LoadedModel`) on `benchmarks`.

    Args:
        benchmarks: registered names ("sugarcrepe", "aro", ...; see `available_benchmarks`),
            or what `prepare` returned (then `data_root`, `images`, `skip_missing` are unused).
        data_root: folder holding one sub-folder per benchmark (docs/benchmarks.md), or one
            benchmark's folder.
        images: folder(s) searched for image files, in order, before `data_root/<name>/images`.
        batch_size: images / texts per encoder call.
        workers: image-decoding processes (None: half the CPU cores from 256 unique images
            on, none below).
        skip_missing: a benchmark whose files are missing is listed under "skipped" instead of
            raising.

    Returns:
        {"benchmarks": {name: {"task", "n_items", "n_scored", "n_missing_images",
        "n_unreadable_images", "summary": {figure: value},
        "splits": {split: {metrics..., "n_items", "n_scored", "n_missing_images",
        "n_unreadable_images"}}, "missing_images": {"count", "examples"},
        "unreadable_images": {...}, "empty_files": {split: path}, "notes": {...}}},
        "skipped": {name: reason}, "n_unique_images", "n_unique_texts", "seconds"}.
        Accuracies and recalls are fractions in [0, 1]. An item with a missing or unreadable
        image is not scored; it is counted in its split. A split whose file holds no entry is
        reported with 0 items and its file under "empty_files".

    Raises:
        KeyError: unknown benchmark. FileNotFoundError / ValueError: from the loaders.
    """
    start = time.perf_counter()
    if not isinstance(benchmarks, Prepared):
        benchmarks = prepare(benchmarks, data_root, images, skip_missing)
    all_images, all_texts = [], []
    for _, items, keys, _ in benchmarks.benchmarks.values():
        for it, ks in zip(items, keys, strict=True):
            if ks is not None:
                all_images.extend(ks)
                all_texts.extend(it.positives)
                all_texts.extend(it.negatives)

    enc = encode_all(model, all_images, all_texts, device, batch_size, workers)

    results: dict[str, Any] = {}
    for name, (bench, items, keys, missing) in benchmarks.benchmarks.items():
        results[name] = _score_benchmark(bench, items, keys, enc, missing)
    return {
        "benchmarks": results,
        "skipped": dict(benchmarks.skipped),
        "n_unique_images": len(enc.image_index),
        "n_unique_texts": len(enc.text_row),
        "seconds": round(time.perf_counter() - start, 3),
    }


def _listed(paths: list[str]) -> dict[str, Any]:
    unique = list(dict.fromkeys(paths))
    return {"count": len(unique), "examples": unique[:MAX_LISTED_MISSING]}


_EMPTY_SPLIT = {"n_items": 0, "n_scored": 0, "n_missing_images": 0, "n_unreadable_images": 0}


def _score_benchmark(bench, items, keys, enc, missing_paths) -> dict[str, Any]:
    by_split: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        by_split[it.split].append(i)
    unreadable: list[str] = []
    splits: dict[str, dict] = {}
    ok = enc.image_ok.tolist()
    for split, idx in by_split.items():
        n_missing = n_unreadable = 0
        ready, rows = [], []
        for i in idx:
            if keys[i] is None:
                n_missing += 1
                continue
            r = [enc.image_index[k] for k in keys[i]]
            bad = [k for k, row in zip(keys[i], r, strict=True) if not ok[row]]
            if bad:
                n_unreadable += 1
                unreadable.extend(str(k[0]) for k in bad)
                continue
            ready.append(items[i])
            rows.append(r)
        row_tensor = torch.tensor(rows, dtype=torch.long).reshape(
            len(rows), len(items[idx[0]].images)
        )
        if bench.task != "winoground":
            row_tensor = row_tensor[:, 0]
        metrics = SCORERS[bench.task](ready, row_tensor, enc)
        metrics.update(
            n_items=len(idx), n_missing_images=n_missing, n_unreadable_images=n_unreadable
        )
        splits[split] = metrics
    empty = getattr(items, "empty_splits", {})
    for split in empty:
        splits.setdefault(split, _EMPTY_SPLIT.copy())
    summary = bench.summarize(splits) if bench.summarize else {}
    return {
        "task": bench.task,
        "n_items": len(items),
        "n_scored": sum(m["n_scored"] for m in splits.values()),
        "n_missing_images": sum(m["n_missing_images"] for m in splits.values()),
        "n_unreadable_images": sum(m["n_unreadable_images"] for m in splits.values()),
        "summary": summary,
        "splits": splits,
        "missing_images": _listed(missing_paths),
        "unreadable_images": _listed(unreadable),
        "empty_files": dict(empty),
        "notes": getattr(items, "notes", {}),
    }
