"""`evaluate`: load benchmarks, encode every unique image and text once, score, summarise.

Used by `ahnpl-eval` and by the trainer (every N steps). Returns a JSON-ready dict; see
`evaluate` for its shape.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ahnpl.evaluation.benchmarks import Item, get_benchmark
from ahnpl.evaluation.scoring import SCORERS, ImageResolver, encode_all

MAX_LISTED_MISSING = 20


def _image_roots(images: Sequence[Path], data_root: Path, name: str) -> list[Path]:
    # The user's folders first; then the benchmark's own folder, where small bundled sets keep
    # their images next to the annotations.
    return [*images, data_root / name / "images", data_root / name]


def evaluate(
    model,
    benchmarks: Sequence[str],
    data_root: str | Path = "data/benchmarks",
    images: str | Path | Sequence[str | Path] = (),
    device: str | torch.device = "cpu",
    batch_size: int = 64,
    workers: int | None = None,
) -> dict[str, Any]:
    """Score `model` (an `ahnpl.models.LoadedModel`) on `benchmarks`.

    Args:
        benchmarks: registered names ("sugarcrepe", "aro", ...; see `available_benchmarks`).
        data_root: folder holding one sub-folder per benchmark (docs/benchmarks.md).
        images: folder(s) searched for image files, in order, before `data_root/<name>/images`.
        batch_size: images / texts per encoder call.
        workers: image-decoding processes (None: half the CPU cores from 256 unique images
            on, none below).

    Returns:
        {"benchmarks": {name: {"task", "n_items", "n_scored", "n_missing_images",
        "n_unreadable_images", "summary": {figure: value},
        "splits": {split: {metrics..., "n_items", "n_scored", "n_missing_images",
        "n_unreadable_images"}}, "missing_images": {"count", "examples"},
        "unreadable_images": {...}, "notes": {...}}}, "n_unique_images", "n_unique_texts",
        "seconds"}. Accuracies and recalls are fractions in [0, 1]. An item with a missing or
        unreadable image is not scored; it is counted in its split.

    Raises:
        KeyError: unknown benchmark. FileNotFoundError / ValueError: from the loaders.
    """
    start = time.perf_counter()
    data_root = Path(data_root)
    roots = [Path(images)] if isinstance(images, (str, Path)) else [Path(p) for p in images]
    loaded: dict[str, tuple[Any, list[Item], list[list | None]]] = {}
    all_images, all_texts = [], []
    missing: dict[str, list[str]] = {}
    for name in dict.fromkeys(benchmarks):
        bench = get_benchmark(name)
        items = bench.load(data_root)
        n_images = 2 if bench.task == "winoground" else 1
        for it in items:
            if bench.task == "choice" and not it.negatives:
                raise ValueError(f"{name}: item {it.key} ({it.split}) has no negative caption")
            if len(it.images) != n_images:
                raise ValueError(
                    f"{name}: item {it.key} ({it.split}) has {len(it.images)} images; "
                    f"task {bench.task!r} takes {n_images}"
                )
        resolver = ImageResolver(_image_roots(roots, data_root, name))
        keys: list[list | None] = []
        missing[name] = []
        for it in items:
            ks = []
            for ref in it.images:
                path = resolver.resolve(ref.path)
                if path is None:
                    missing[name].append(ref.path)
                    ks = None
                    break
                ks.append((path, ref.box))
            keys.append(ks)
            if ks is not None:
                all_images.extend(ks)
                all_texts.extend(it.positives)
                all_texts.extend(it.negatives)
        loaded[name] = (bench, items, keys)

    enc = encode_all(model, all_images, all_texts, device, batch_size, workers)

    results: dict[str, Any] = {}
    for name, (bench, items, keys) in loaded.items():
        results[name] = _score_benchmark(bench, items, keys, enc, missing[name])
    return {
        "benchmarks": results,
        "n_unique_images": len(enc.image_index),
        "n_unique_texts": len(enc.text_row),
        "seconds": round(time.perf_counter() - start, 3),
    }


def _listed(paths: list[str]) -> dict[str, Any]:
    unique = list(dict.fromkeys(paths))
    return {"count": len(unique), "examples": unique[:MAX_LISTED_MISSING]}


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
        "notes": getattr(items, "notes", {}),
    }
