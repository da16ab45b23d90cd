"""Input readers: image-caption datasets as a list of per-image items (DESIGN §3).

Each reader returns the items in a deterministic order (the input file's order), so an item's
offset, and therefore its shard, never depends on what a later stage rejects. Problems that
belong to no image (a caption naming an unknown image id, a duplicated image id) are returned
as rejects alongside.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import fsspec

from ahnpl.registry import Registry

from .recipe import InputConfig


@dataclass
class InputItem:
    """One input image with all its captions.

    `path` is a local path or fsspec URL; `image` holds the encoded bytes when the source
    makes them itself (rendered worlds, bytes inside the input) and is then used instead.
    """

    offset: int
    source_id: str
    path: str
    captions: list[str]
    image: bytes | None = None


@dataclass
class InputSet:
    """Items, input-level rejects and a fingerprint.

    `held_out` (phrases no training negative may contain) and `lexicons` (user lexicon files
    for the negatives) are what a source knows about its own data (the shapes world's test
    compositions and shape nouns); the build adds them to the recipe's `negatives` section.
    """

    items: list[InputItem]
    rejects: list[dict] = field(default_factory=list)
    fingerprint: str = ""
    held_out: list[str] = field(default_factory=list)
    lexicons: list[str] = field(default_factory=list)
    wording: str | None = None  # a registered `ahnpl.pipeline.held_out.WORDINGS` name


# Sources that make their items themselves (rendered worlds); each registers itself in its
# own module, which the registry imports on first use (no import of it here).
SOURCES: Registry[Callable[[InputConfig, int], InputSet]] = Registry(
    "source", lazy={"shapes": "ahnpl.pipeline.shapes"}
)


def read_input(cfg: InputConfig, seed: int = 0) -> InputSet:
    """Read the input named by `cfg`.

    Raises:
        ValueError: `captions` is not set, or the file does not have the expected layout.
        FileNotFoundError: the caption file does not exist.
    """
    if cfg.source in SOURCES:
        result = SOURCES.get(cfg.source)(cfg, seed)  # a rendered world is a function of the seed
    else:
        if not cfg.captions:
            raise ValueError("input.captions is not set: pass --captions FILE (COCO JSON or CSV)")
        readers = {"coco": read_coco, "csv": read_csv}
        try:
            result = readers[cfg.source](cfg)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"input.captions {cfg.captions}: no such file (--captions)"
            ) from None
    if cfg.limit is not None:
        result.items = result.items[: cfg.limit]
    return result


def _join(folder: str | None, name: str) -> str:
    if folder is None:
        return name
    return folder.rstrip("/") + "/" + name


def _fingerprint(caption_bytes: bytes, items: list[InputItem]) -> str:
    # The caption file's bytes plus the image list: enough to tell two inputs apart without
    # hashing every image up front (the shards carry sha256 of what was actually stored).
    digest = hashlib.sha256(caption_bytes)
    for item in items:
        digest.update(f"\n{item.source_id}\t{item.path}".encode())
    return "sha256:" + digest.hexdigest()


def read_coco(cfg: InputConfig) -> InputSet:
    """COCO caption JSON (`images` + `annotations`), Karpathy-style files included."""
    with fsspec.open(cfg.captions, "rb") as f:
        raw = f.read()
    data = json.loads(raw)
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise ValueError(
            f"{cfg.captions}: not a COCO caption file (needs 'images' and 'annotations')"
        )
    rejects: list[dict] = []
    images: dict[int, dict] = {}
    order: list[int] = []
    for image in data["images"]:
        image_id = image.get("id")
        if image_id in images:
            rejects.append(
                _reject(
                    image_id,
                    image.get("file_name", ""),
                    "duplicate_image_id",
                    "the caption file lists this image id twice; kept the first",
                )
            )
            continue
        images[image_id] = image
        order.append(image_id)
    captions: dict[int, list[str]] = defaultdict(list)
    for ann in data["annotations"]:
        image_id = ann.get("image_id")
        if image_id not in images:
            rejects.append(
                _reject(
                    image_id,
                    "",
                    "caption_for_unknown_image",
                    f"annotation {ann.get('id')} names no image of the file",
                )
            )
            continue
        captions[image_id].append(str(ann.get("caption", "")))
    items = [
        InputItem(
            offset,
            str(image_id),
            _join(cfg.images, images[image_id]["file_name"]),
            captions[image_id],
        )
        for offset, image_id in enumerate(order)
    ]
    return InputSet(items, rejects, _fingerprint(raw, items))


def read_csv(cfg: InputConfig) -> InputSet:
    """open_clip's CSV/TSV: one (image path, caption) per line; rows of one image are grouped."""
    with fsspec.open(cfg.captions, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")
    delimiter = "\t" if str(cfg.captions).endswith(".tsv") else ","
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    missing = {cfg.image_column, cfg.caption_column} - set(reader.fieldnames or [])
    if missing:
        raise ValueError(
            f"{cfg.captions}: missing column(s) {sorted(missing)}; found {reader.fieldnames}; "
            f"set input.image_column / input.caption_column"
        )
    grouped: dict[str, list[str]] = {}
    for row in reader:
        grouped.setdefault(row[cfg.image_column], []).append(row[cfg.caption_column] or "")
    items = [
        InputItem(offset, Path(name).stem, _join(cfg.images, name), caps)
        for offset, (name, caps) in enumerate(grouped.items())
    ]
    return InputSet(items, [], _fingerprint(raw, items))


def _reject(source_id, path: str, reason: str, detail: str) -> dict:
    return {
        "offset": -1,
        "level": "caption" if "caption" in reason else "image",
        "source_id": str(source_id),
        "path": path,
        "reason": reason,
        "detail": detail,
    }
