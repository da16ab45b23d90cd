"""Benchmark registry and the one item shape every loader produces.

A benchmark is a loader function `load(data_root: Path) -> list[Item]` registered under a name
with the task that scores it:

    from ahnpl.evaluation.benchmarks import Item, register_benchmark

    @register_benchmark("shapes", task="choice")
    def load(data_root):
        ...

Put that in `evaluation/<name>.py` and name the module in `BUILTIN_MODULES`; `ahnpl-eval
--benchmark <name>` then imports it on first use. Code outside the package registers a
benchmark by importing its module before calling `evaluate`.

Tasks (see `ahnpl.evaluation.scoring`):
- "choice": one image, `positives[0]` must score strictly above every text in `negatives`
  (SugarCrepe, ARO, VALSE, VL-CheckList, CREPE, VSR pairs).
- "winoground": two images, two captions, caption k belongs to image k.
- "retrieval": one item per image with all its captions; scored as one corpus per split.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ahnpl.registry import Registry, qualified_name

TASKS = ("choice", "winoground", "retrieval")

# Built-in benchmark name -> module that registers it; imported only when asked for, so the
# trainer can evaluate SugarCrepe without importing spaCy (needed by ARO's order splits only).
BUILTIN_MODULES = {
    "sugarcrepe": "ahnpl.evaluation.sugarcrepe",
    "aro": "ahnpl.evaluation.aro",
    "valse": "ahnpl.evaluation.valse",
    "vl_checklist": "ahnpl.evaluation.vl_checklist",
    "crepe": "ahnpl.evaluation.crepe",
    "winoground": "ahnpl.evaluation.winoground",
    "vsr": "ahnpl.evaluation.vsr",
    "retrieval_coco": "ahnpl.evaluation.retrieval",
    "retrieval_flickr30k": "ahnpl.evaluation.retrieval",
    "shapes": "ahnpl.evaluation.shapes",
}


@dataclass(frozen=True)
class ImageRef:
    """An image file, optionally cropped.

    `path` is as written in the benchmark file (relative to an image folder, or absolute);
    `box` is (x, y, width, height) in pixels of the original image, the crop ARO and CREPE
    apply before preprocessing.
    """

    path: str
    box: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class Item:
    """One test case.

    images: 1 image ("choice", "retrieval") or 2 ("winoground").
    positives: the correct caption(s); "choice" scores `positives[0]`, "retrieval" counts any.
    negatives: foils, for "choice" only.
    split: the reported unit (SugarCrepe split, VALSE piece, ...).
    group: optional finer unit inside a split for macro averages (ARO relation, tag, ...).
    key: the item's id in its source file, for error messages and per-item output.
    """

    key: str
    split: str
    images: tuple[ImageRef, ...]
    positives: tuple[str, ...]
    negatives: tuple[str, ...] = ()
    group: str = ""


@dataclass
class Benchmark:
    """A registered benchmark: loader, task and an optional summary of its split metrics.

    `summarize(splits) -> dict[str, float]` receives {split: metrics dict as produced by
    `ahnpl.evaluation.scoring`} and returns the headline figures (averages, macro accuracies).
    `description` is one line for `ahnpl-eval --list`; `files` the glob patterns it reads,
    relative to `<data_root>/<folders[0]>`; `folders` the folder names it looks for under
    `--data-root`; `figures` a label per summary figure, printed under the table.
    """

    name: str
    task: str
    load: Callable[[Path], list[Item]]
    summarize: Callable[[dict[str, dict[str, Any]]], dict[str, float]] | None = None
    description: str = ""
    files: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    figures: dict[str, str] = field(default_factory=dict)


class ItemList(list):
    """A loader's items plus `notes`: counts it wants reported (filtered items, dropped foils).

    `empty_splits` maps a split whose file holds no entry to that file: the split is reported
    with 0 items instead of vanishing from the results.
    """

    def __init__(self, items=(), notes: dict[str, Any] | None = None):
        super().__init__(items)
        self.notes: dict[str, Any] = dict(notes or {})
        self.empty_splits: dict[str, str] = {}


BENCHMARKS: Registry[Benchmark] = Registry(
    "benchmark",
    lazy=BUILTIN_MODULES,
    hint="`ahnpl-eval --list` describes each",
    identity=lambda bench: qualified_name(bench.load),
    option="--benchmark",
)


def register_benchmark(
    name: str,
    task: str = "choice",
    summarize: Callable[[dict[str, dict[str, Any]]], dict[str, float]] | None = None,
    *,
    description: str = "",
    files: tuple[str, ...] = (),
    folders: tuple[str, ...] = (),
    figures: dict[str, str] | None = None,
) -> Callable[[Callable[[Path], list[Item]]], Callable[[Path], list[Item]]]:
    """Decorator registering `load(data_root) -> list[Item]` as benchmark `name`.

    `description`, `files`, `folders` (default: `(name,)`) and `figures`: see `Benchmark`.

    Raises:
        ValueError: unknown task, or `name` already registered by a different function.
    """
    if task not in TASKS:
        raise ValueError(f"benchmark {name!r}: task {task!r} is not one of {TASKS}")

    def decorator(load: Callable[[Path], list[Item]]) -> Callable[[Path], list[Item]]:
        bench = Benchmark(
            name=name,
            task=task,
            load=load,
            summarize=summarize,
            description=description,
            files=tuple(files),
            folders=tuple(folders) or (name,),
            figures=dict(figures or {}),
        )
        BENCHMARKS.add(name, bench)
        return load

    return decorator


def get_benchmark(name: str) -> Benchmark:
    """Return the registered benchmark `name`, importing its built-in module on first use.

    Raises:
        ahnpl.registry.UnknownName (a KeyError and ValueError): no such benchmark; the
            message lists the known ones.
    """
    return BENCHMARKS.get(name)


def available_benchmarks() -> list[str]:
    """Names of the built-in benchmarks and of any registered so far."""
    return BENCHMARKS.names()


def average_accuracy(splits: dict[str, dict]) -> dict[str, float]:
    """`{"average": mean accuracy over the splits that have one}` (a benchmark's headline when
    it reports no finer summary); {} when none has."""
    acc = [m["accuracy"] for m in splits.values() if m.get("accuracy") is not None]
    return {"average": sum(acc) / len(acc)} if acc else {}


def require_file(path: Path, benchmark: str, source: str) -> Path:
    """Return `path` when it is a file; otherwise raise naming the benchmark and where to get it.

    Raises:
        FileNotFoundError: `path` does not exist.
    """
    if not path.is_file():
        raise FileNotFoundError(
            f"{benchmark}: missing {path}; get it from {source} (see docs/benchmarks.md)"
        )
    return path


def resolve_data_root(data_root: str | Path, bench: Benchmark) -> Path:
    """The folder to hand to `bench.load`: `data_root` itself when it holds one of the
    benchmark's folders, or its parent when `data_root` is that folder (`.../sugarcrepe`).
    """
    root = Path(data_root)
    if any((root / folder).is_dir() for folder in bench.folders):
        return root
    if root.name in bench.folders and root.is_dir():
        return root.parent
    return root


def misplaced_root_hint(data_root: str | Path, bench: Benchmark) -> str | None:
    """Why `bench`'s files were not found when `data_root` points at the wrong level: a folder
    inside the benchmark's folder, or a folder holding its files under another name. None when
    neither applies (the files are simply not there)."""
    root = Path(data_root).resolve()
    for parent in root.parents:
        if parent.name in bench.folders:
            return (
                f"--data-root {data_root} is inside the {bench.name} folder {parent}; "
                f"pass --data-root {parent.parent} (the folder that holds {parent.name}/)"
            )
    if root.is_dir() and any(any(root.glob(pattern)) for pattern in bench.files):
        return (
            f"--data-root {data_root} holds {bench.name}'s files directly; they belong in a "
            f"folder named {bench.folders[0]}/ under --data-root"
        )
    return None


def read_json(path: Path) -> Any:
    """The JSON in `path`, or None when the file is empty (0 bytes or only whitespace).

    Raises:
        ValueError: the file is not JSON (names the file, line and column).
    """
    text = Path(path).read_text(encoding="utf-8")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not JSON ({err})") from err
