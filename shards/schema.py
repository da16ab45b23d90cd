"""The shard record: one row per image (DESIGN §6).

This module is the contract between `ahnpl.pipeline` (which writes records) and
`ahnpl.trainer` / `ahnpl.evaluation` (which read them). Nothing here imports torch, spaCy or
diffusers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 2  # 2: neg_scores column

# The five core negative types in their fixed slot order (DESIGN §4), then the optional ones.
CORE_NEGATIVE_TYPES: tuple[str, ...] = ("relation", "attribute_swap", "attribute", "object", "verb")
OPTIONAL_NEGATIVE_TYPES: tuple[str, ...] = ("object_swap", "existence", "order_shuffle")
ALL_NEGATIVE_TYPES: tuple[str, ...] = CORE_NEGATIVE_TYPES + OPTIONAL_NEGATIVE_TYPES


def slot_order(types: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Return `types` in the canonical slot order.

    Raises:
        ValueError: a name is not a known negative type.
    """
    unknown = [t for t in types if t not in ALL_NEGATIVE_TYPES]
    if unknown:
        raise ValueError(
            f"unknown negative type(s) {unknown}; choose from {list(ALL_NEGATIVE_TYPES)}"
        )
    return tuple(t for t in ALL_NEGATIVE_TYPES if t in set(types))


# One key rule for both formats: WebDataset splits member names at the first dot, and a key is
# a file name inside a tar, so only characters that are safe in both places are allowed.
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def check_key(key: str) -> None:
    """Raise ValueError unless `key` is a valid record key: non-empty, `[A-Za-z0-9_-]` only."""
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise ValueError(
            f"record key {key!r}: use letters, digits, '_' and '-' only (no '.', '/', spaces)"
        )


def normalize_text(text: str) -> str:
    """The one Unicode rule for captions and file names: NFC.

    NFC and NFD spell "café" with different code points; normalising at the input makes the
    same caption give the same negatives and the same key, whatever produced the file.
    """
    return unicodedata.normalize("NFC", text)


@dataclass
class Edit:
    """An image hard negative: the edited image for negative `slot` of caption `caption`.

    `score_dir` is the CLIP directional similarity (cosine) between the image change and the
    caption change, `score_img` the CLIP image similarity (cosine) to the original; both are
    None when no quality filter ran.
    """

    caption: int
    slot: int
    image: bytes
    editor: str
    seed: int
    score_dir: float | None = None
    score_img: float | None = None


@dataclass
class Record:
    """One image with its captions, text negatives and image edits (one shard row).

    `neg_texts[c][s]` is the negative of caption c for slot s ("" when the slot is invalid);
    `neg_valid[c][s]` says whether it exists. Slots follow the manifest's `negative_types`.
    `neg_scores[c][s]` is the negative's plausibility under the corpus statistics the manifest
    names (mean log-probability of the replacement in its context, natural log, ≤ 0; 0.0 where
    no statistic applies) as float32, None when the slot is invalid. Users filter on it.
    """

    key: str
    image: bytes
    width: int
    height: int
    source_id: str
    captions: list[str]
    neg_texts: list[list[str]]
    neg_valid: list[list[bool]]
    edits: list[Edit] = field(default_factory=list)
    neg_scores: list[list[float | None]] | None = None

    def __post_init__(self) -> None:
        if self.neg_scores is None:  # records written before scores existed
            self.neg_scores = [[None] * len(v) for v in self.neg_valid]
        self.neg_scores = [[_f32(x) for x in row] for row in self.neg_scores]

    def validate(self, num_slots: int) -> None:
        """Raise ValueError naming the field when the record breaks the schema."""
        check_key(self.key)
        if len(self.neg_texts) != len(self.captions) or len(self.neg_valid) != len(self.captions):
            raise ValueError(f"record {self.key}: neg_texts/neg_valid need one row per caption")
        for c, (texts, valid) in enumerate(zip(self.neg_texts, self.neg_valid)):
            if len(texts) != num_slots or len(valid) != num_slots:
                raise ValueError(
                    f"record {self.key}: caption {c} has {len(texts)} slots, expected {num_slots}"
                )
            for s, (text, ok) in enumerate(zip(texts, valid)):
                if ok != bool(text):
                    raise ValueError(
                        f"record {self.key}: caption {c} slot {s}: valid={ok} but text={text!r}"
                    )
        if len(self.neg_scores) != len(self.captions) or any(
            len(row) != num_slots for row in self.neg_scores
        ):
            raise ValueError(f"record {self.key}: neg_scores needs {num_slots} slots per caption")
        for e in self.edits:
            if not (0 <= e.caption < len(self.captions) and 0 <= e.slot < num_slots):
                raise ValueError(f"record {self.key}: edit points at ({e.caption}, {e.slot})")

    def metadata(self) -> dict:
        """All fields but the image bytes (the WebDataset `.json` member)."""
        return {
            "key": self.key,
            "width": self.width,
            "height": self.height,
            "source_id": self.source_id,
            "captions": self.captions,
            "neg_texts": self.neg_texts,
            "neg_valid": self.neg_valid,
            "neg_scores": self.neg_scores,
            "edits": [
                {
                    "caption": e.caption,
                    "slot": e.slot,
                    "editor": e.editor,
                    "seed": e.seed,
                    "score_dir": _f32(e.score_dir),
                    "score_img": _f32(e.score_img),
                }
                for e in self.edits
            ],
        }


def _f32(x: float | None) -> float | None:
    # Parquet stores scores as float32; rounding here makes both formats read back equal.
    return None if x is None else float(np.float32(x))


EDIT_TYPE = pa.struct(
    [
        ("caption", pa.int32()),
        ("slot", pa.int32()),
        # large_binary: 64-bit offsets, so a row group of many edits cannot overflow 2 GiB.
        ("image", pa.large_binary()),
        ("editor", pa.string()),
        ("seed", pa.int64()),
        ("score_dir", pa.float32()),
        ("score_img", pa.float32()),
    ]
)

ARROW_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("image", pa.large_binary()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("source_id", pa.string()),
        ("captions", pa.list_(pa.string())),
        ("neg_texts", pa.list_(pa.list_(pa.string()))),
        ("neg_valid", pa.list_(pa.list_(pa.bool_()))),
        ("edits", pa.list_(EDIT_TYPE)),
        ("neg_scores", pa.list_(pa.list_(pa.float32()))),
    ]
)

# `level` is "image" (the whole input row was not stored) or "caption" (one caption was
# dropped, or a caption names no image); `offset` is the input row's global offset, -1 if none.
REJECT_SCHEMA = pa.schema(
    [
        ("offset", pa.int64()),
        ("level", pa.string()),
        ("source_id", pa.string()),
        ("path", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
    ]
)


class Reject(BaseModel):
    """One row of `rejects.parquet`: an input row, or one caption of it, that was not stored.

    `offset` is the input row's global offset (-1 when the problem belongs to no row), `reason`
    a short machine-readable tag (`missing_image`, `unreadable_image`, `caption_too_long`…),
    `detail` a message for a person (file names shown with `repr`).
    """

    model_config = ConfigDict(extra="forbid")

    offset: int
    level: Literal["image", "caption"]
    source_id: str
    path: str
    reason: str
    detail: str


def record_to_row(record: Record) -> dict:
    row = record.metadata()
    row["image"] = record.image
    row["edits"] = [{**meta, "image": e.image} for meta, e in zip(row["edits"], record.edits)]
    return row


def row_to_record(row: dict) -> Record:
    return Record(
        key=row["key"],
        image=row["image"],
        width=int(row["width"]),
        height=int(row["height"]),
        source_id=row["source_id"],
        captions=list(row["captions"]),
        neg_texts=[list(t) for t in row["neg_texts"]],
        neg_valid=[list(v) for v in row["neg_valid"]],
        neg_scores=[list(v) for v in row["neg_scores"]] if row.get("neg_scores") else None,
        edits=[
            Edit(
                caption=int(e["caption"]),
                slot=int(e["slot"]),
                image=e["image"],
                editor=e["editor"],
                seed=int(e["seed"]),
                score_dir=e["score_dir"],
                score_img=e["score_img"],
            )
            for e in (row["edits"] or [])
        ],
    )
