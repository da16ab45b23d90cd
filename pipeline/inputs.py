"""Input sources: image-caption datasets read as a stream of per-image items (DESIGN §3).

One registry of sources, named by `input.source` (`--source`): `coco`, `csv`, `tsv`,
`webdataset`, `parquet`, `hf`, `shapes`. A source is opened from the `input` section and
does two things:

- `plan(per_shard)` cuts the input into shards from counts and metadata (Parquet footers, tar
  member lists, dataset lengths, one streaming pass over a CSV) without holding the rows;
- `read(spec)` streams the items of one shard, so a build worker holds one shard at a time.

Items come in the input's own order and item i has offset i, so a shard's content never
depends on what a later stage rejects. A row that cannot become an item (no image bytes, an
unsafe tar key) is still an item, carrying `reject`: the build records it in
`rejects.parquet`, so every input row ends in a shard or in the rejects.

Optional columns, for every tabular source (CSV/TSV, Parquet, `hf`):
- `source_id` (or img2dataset's `key`): the id stored with the image; default the row's
  image file stem (CSV) or its offset;
- several captions per image: a caption column holding a list of strings, or (CSV/TSV)
  adjacent rows naming the same image, which become one image with all their captions.

Captions and file names are NFC-normalised when an item is made (`normalize_text`, the one
rule), whatever the source.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec

from ahnpl.registry import Registry
from ahnpl.shards.schema import normalize_text

from .input_detect import detect_source
from .recipe import InputConfig

__all__ = [
    "SOURCES",
    "InputItem",
    "InputPlan",
    "InputSet",
    "ShardSpec",
    "SourceNegatives",
    "detect_source",
    "open_source",
    "read_input",
]


@dataclass
class InputItem:
    """One input image with all its captions.

    `path` is a local path or fsspec URL; `image` holds the encoded bytes when the source
    makes them itself (rendered worlds, bytes inside the input) and is then used instead.
    `reject` is (reason, detail) when the row cannot be stored at all.
    """

    offset: int
    source_id: str
    path: str
    captions: list[str]
    image: bytes | None = None
    reject: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        self.path = normalize_text(self.path)
        self.captions = [normalize_text(c) for c in self.captions]


@dataclass
class SourceNegatives:
    """What a source knows about the negatives of its own data (the shapes world's test
    compositions, shape nouns and wording); the build adds it to the recipe's `negatives`
    section (`ahnpl.pipeline.held_out.with_source_negatives`).

    `held_out`: phrases no training negative may contain; `lexicons`: user lexicon files;
    `wording`: a registered `ahnpl.pipeline.held_out.WORDINGS` name, or None; `stats_file`:
    corpus statistics (`ahnpl-gen stats`) to use where the recipe keeps the default
    `stats: input`, or None.
    """

    held_out: list[str] = field(default_factory=list)
    lexicons: list[str] = field(default_factory=list)
    wording: str | None = None
    stats_file: str | None = None


@dataclass
class InputSet:
    """A whole input held in memory (COCO JSON, the shapes world): items, rejects, fingerprint,
    and what the source declares about its negatives."""

    items: list[InputItem]
    rejects: list[dict] = field(default_factory=list)
    fingerprint: str = ""
    negatives: SourceNegatives = field(default_factory=SourceNegatives)


@dataclass(frozen=True)
class ShardSpec:
    """Offsets [start, stop) of one shard, plus where to find them (`parts`, per source).

    Small and picklable: it travels to worker processes instead of the rows.
    """

    shard_id: int
    start: int
    stop: int
    parts: tuple = ()

    def __len__(self) -> int:
        return self.stop - self.start


@dataclass
class InputPlan:
    """Shards of an input, plan-level rejects (rows that belong to no image), fingerprint."""

    shards: list[ShardSpec]
    rejects: list[dict]
    fingerprint: str
    negatives: SourceNegatives = field(default_factory=SourceNegatives)

    @property
    def count(self) -> int:
        return sum(len(s) for s in self.shards)


SOURCES: Registry[type] = Registry(
    "source",
    lazy={
        "csv": "ahnpl.pipeline.inputs_csv",
        "tsv": "ahnpl.pipeline.inputs_csv",
        "parquet": "ahnpl.pipeline.inputs_columnar",
        "webdataset": "ahnpl.pipeline.inputs_columnar",
        "hf": "ahnpl.pipeline.inputs_columnar",
        "shapes": "ahnpl.pipeline.shapes",
    },
)


def open_source(cfg: InputConfig, seed: int = 0):
    """The source named by `cfg.source`, or detected from `--input` / `--captions`.

    Raises:
        ValueError: no input given, or a source that cannot be detected.
        FileNotFoundError: the input does not exist.
    """
    return SOURCES.get(cfg.source or detect_source(cfg))(cfg, seed)


def read_input(cfg: InputConfig, seed: int = 0) -> InputSet:
    """Read a whole input into memory (tests, small inputs); builds stream with `open_source`."""
    source = open_source(cfg, seed)
    plan = source.plan(1 << 30)
    items = [item for spec in plan.shards for item in source.read(spec)]
    return InputSet(items, plan.rejects, plan.fingerprint, plan.negatives)


def join_path(folder: str | None, name: str) -> str:
    if folder is None or "://" in name or name.startswith("/"):
        return name
    return folder.rstrip("/") + "/" + name


def make_reject(source_id, path: str, reason: str, detail: str, offset: int = -1) -> dict:
    return {
        "offset": offset,
        "level": "caption" if "caption" in reason else "image",
        "source_id": str(source_id),
        "path": path,
        "reason": reason,
        "detail": detail,
    }


def even_shards(count: int, per_shard: int) -> list[ShardSpec]:
    """ShardSpecs of `per_shard` offsets each over [0, count)."""
    return [
        ShardSpec(i // per_shard, i, min(i + per_shard, count)) for i in range(0, count, per_shard)
    ]


def locate(sizes: list[int], start: int, stop: int) -> tuple:
    """Offsets [start, stop) as (file index, first row, end row) parts of files of `sizes` rows."""
    parts = []
    base = 0
    for index, size in enumerate(sizes):
        lo, hi = max(start, base), min(stop, base + size)
        if lo < hi:
            parts.append((index, lo - base, hi - base))
        base += size
    return tuple(parts)


def limited(cfg: InputConfig, count: int) -> int:
    return count if cfg.limit is None else min(count, cfg.limit)


class InMemorySource:
    """A source whose items are built whole first (COCO JSON, the shapes world)."""

    def __init__(self, cfg: InputConfig, seed: int = 0):
        self.cfg = cfg
        self.seed = seed
        self._set: InputSet | None = None

    def load(self) -> InputSet:
        raise NotImplementedError

    @property
    def input_set(self) -> InputSet:
        if self._set is None:
            self._set = self.load()
        return self._set

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_set": None}  # workers rebuild rather than copy the rows

    def plan(self, per_shard: int) -> InputPlan:
        inputs = self.input_set
        count = limited(self.cfg, len(inputs.items))
        shards = even_shards(count, per_shard)
        return InputPlan(shards, inputs.rejects, inputs.fingerprint, inputs.negatives)

    def read(self, spec: ShardSpec) -> Iterator[InputItem]:
        return iter(self.input_set.items[spec.start : spec.stop])


@SOURCES.register("coco")
class CocoSource(InMemorySource):
    """COCO caption JSON (`images` + `annotations`), Karpathy-style files included."""

    name = "coco"

    def load(self) -> InputSet:
        cfg = self.cfg
        url = cfg.captions or cfg.input
        if not url:
            raise ValueError("input.captions is not set: pass --captions FILE (COCO JSON)")
        try:
            with fsspec.open(url, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"input.captions {url}: no such file (--captions)") from None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"{url}: not JSON ({e}); for a CSV/TSV file pass --source csv or --source tsv"
            ) from None
        if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
            raise ValueError(f"{url}: not a COCO caption file (needs 'images' and 'annotations')")
        return _coco_items(data, raw, cfg.images)


def _coco_items(data: dict, raw: bytes, folder: str | None) -> InputSet:
    rejects: list[dict] = []
    images: dict[Any, dict] = {}
    for image in data["images"]:
        image_id = image.get("id")
        if image_id in images:
            detail = "the caption file lists this image id twice; kept the first"
            rejects.append(
                make_reject(image_id, image.get("file_name", ""), "duplicate_image_id", detail)
            )
            continue
        images[image_id] = image
    captions: dict[Any, list[str]] = {image_id: [] for image_id in images}
    for ann in data["annotations"]:
        image_id = ann.get("image_id")
        if image_id not in images:
            detail = f"annotation {ann.get('id')} names no image of the file"
            rejects.append(make_reject(image_id, "", "caption_for_unknown_image", detail))
            continue
        captions[image_id].append(str(ann.get("caption", "")))
    items = [
        InputItem(offset, str(image_id), join_path(folder, image["file_name"]), captions[image_id])
        for offset, (image_id, image) in enumerate(images.items())
    ]
    # The caption file's bytes plus the image list: enough to tell two inputs apart without
    # hashing every image up front (the shards carry sha256 of what was actually stored).
    digest = hashlib.sha256(raw)
    for item in items:
        digest.update(f"\n{item.source_id}\t{item.path}".encode())
    return InputSet(items, rejects, "sha256:" + digest.hexdigest())


def expand_inputs(pattern: str, suffix: str) -> list[str]:
    """Files named by a path, a folder (its `*suffix` files), a glob or a brace list, sorted.

    Raises:
        FileNotFoundError: nothing matches.
    """
    import braceexpand

    fs, _ = fsspec.core.url_to_fs(pattern.split("{", 1)[0] or ".")
    protocol = pattern.split("://", 1)[0] + "://" if "://" in pattern else ""
    found: list[str] = []
    for one in braceexpand.braceexpand(pattern):
        _, path = fsspec.core.url_to_fs(one)
        if any(c in path for c in "*?["):
            found += fs.glob(path)
        elif fs.isdir(path):
            found += [p for p in fs.ls(path, detail=False) if p.endswith(suffix)]
        elif fs.exists(path):
            found.append(path)
    found = sorted({p for p in found if p.endswith(suffix)})
    if not found:
        raise FileNotFoundError(f"input {pattern}: no {suffix} files match (--input)")
    return [protocol + p if protocol and "://" not in p else p for p in found]


def file_stem(name: str) -> str:
    return Path(name.rsplit("/", 1)[-1]).stem
