"""Small datasets written with the shards API from the bundled real photos (`data/coco-mini`
of a repository checkout), for tests and bench scripts.

Negatives are made by hand with simple word swaps (enough to exercise masks and slots; the
real generator lives in `ahnpl.pipeline`, which the trainer must not depend on). Edits are
real image operations (mirror, colour shift) of the photo, stored for some slots.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from PIL import Image, ImageOps

from ahnpl.shards.io import encode_table, get_writer
from ahnpl.shards.layout import DATA_DIR, shard_name
from ahnpl.shards.manifest import (
    Manifest,
    ShardEntry,
    Totals,
    count_records,
    sha256_of,
    write_json_atomic,
)
from ahnpl.shards.schema import CORE_NEGATIVE_TYPES, REJECT_SCHEMA, SCHEMA_VERSION, Edit, Record

REPO = Path(__file__).resolve().parents[2]
COCO_MINI = REPO / "data" / "coco-mini"

# slot → (pattern, replacement); a slot is invalid when its pattern is absent.
SWAPS = {
    "relation": [(r"\bon\b", "under"), (r"\bnext to\b", "far from"), (r"\bin\b", "outside")],
    "attribute_swap": [],
    "attribute": [
        (r"\bred\b", "blue"),
        (r"\bwhite\b", "black"),
        (r"\blarge\b", "small"),
        (r"\bbig\b", "tiny"),
        (r"\btwo\b", "three"),
    ],
    "object": [
        (r"\bman\b", "woman"),
        (r"\bdog\b", "cat"),
        (r"\btable\b", "bed"),
        (r"\bpeople\b", "horses"),
        (r"\btrain\b", "bus"),
    ],
    "verb": [(r"\bsitting\b", "jumping"), (r"\bstanding\b", "lying"), (r"\briding\b", "pushing")],
}


def negative(caption: str, slot: str) -> str:
    for pattern, repl in SWAPS[slot]:
        if re.search(pattern, caption):
            return re.sub(pattern, repl, caption, count=1)
    return ""


def jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def make_records(n_images: int = 30, size: int = 96, edits: bool = True) -> list[Record]:
    """Records for the first `n_images` bundled photos, resized so the short side is `size`."""
    data = json.loads((COCO_MINI / "captions.json").read_text())
    caps: dict[int, list[str]] = {}
    for a in data["annotations"]:
        caps.setdefault(a["image_id"], []).append(a["caption"].strip())
    records = []
    for info in data["images"][:n_images]:
        img = Image.open(COCO_MINI / "images" / info["file_name"]).convert("RGB")
        img = ImageOps.contain(img, (size * 2, size * 2))
        captions = caps[info["id"]]
        neg_texts = [[negative(c, s) for s in CORE_NEGATIVE_TYPES] for c in captions]
        neg_valid = [[bool(t) for t in row] for row in neg_texts]
        record_edits = []
        if edits:
            for c, row in enumerate(neg_valid):
                if row[0]:  # relation: the mirrored photo
                    record_edits.append(Edit(c, 0, jpeg(ImageOps.mirror(img)), "flip", 0))
                if row[2]:  # attribute: a colour-shifted photo
                    shifted = Image.merge("RGB", img.split()[::-1])
                    record_edits.append(Edit(c, 2, jpeg(shifted), "test-colour", 0, 0.1, 0.9))
        key = f"coco{info['id']:012d}"
        records.append(
            Record(
                key,
                jpeg(img),
                img.width,
                img.height,
                str(info["id"]),
                captions,
                neg_texts,
                neg_valid,
                record_edits,
            )
        )
    return records


def write_dataset(
    out: Path, records: list[Record], images_per_shard: int = 8, fmt: str = "parquet"
) -> Path:
    """Write `records` as shards + manifest.json + rejects.parquet under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    writer = get_writer(fmt)
    types = list(CORE_NEGATIVE_TYPES)
    entries = []
    for i in range(0, len(records), images_per_shard):
        chunk = records[i : i + images_per_shard]
        name = shard_name(i // images_per_shard, fmt)
        (out / DATA_DIR).mkdir(exist_ok=True)
        writer.write(chunk, str(out / name))
        digest, size = sha256_of(str(out / name))
        entries.append(
            ShardEntry(name=name, sha256=digest, bytes=size, **count_records(chunk, types))
        )
    (out / "rejects.parquet").write_bytes(encode_table([], REJECT_SCHEMA))
    totals = Totals.from_entries(entries, types, [], sum(len(r.captions) for r in records))
    manifest = Manifest(
        schema_version=SCHEMA_VERSION,
        format=fmt,
        negative_types=types,
        recipe={"source": "ahnpl/testing/datasets.py"},
        input_fingerprint="test",
        versions={},
        shards=entries,
        totals=totals,
        rejects={},
    )
    write_json_atomic(str(out / "manifest.json"), manifest.model_dump())
    return out
