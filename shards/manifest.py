"""`manifest.json`: what a dataset holds and how to check it (DESIGN §6).

The manifest is data from whoever shared the dataset: it is parsed with pydantic and never
executed. `verify` re-reads every shard and compares it with the manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, Field

from ahnpl.atomic import write_json_atomic  # noqa: F401  (re-exported for callers)

from .io import ShardFormatError, read_shard
from .schema import SCHEMA_VERSION

MANIFEST_NAME = "manifest.json"
REJECTS_NAME = "rejects.parquet"


class ShardEntry(BaseModel):
    """One shard: file name, integrity and content counts."""

    name: str
    sha256: str
    bytes: int
    rows: int
    captions: int
    valid_negatives: dict[str, int]
    edits: int
    edit_failures: dict[str, int] = Field(default_factory=dict)
    captions_without_negative: int = 0
    status: str = "done"


class Manifest(BaseModel):
    schema_version: int = SCHEMA_VERSION
    format: str
    negative_types: list[str]
    recipe: dict[str, Any]
    input_fingerprint: str
    versions: dict[str, Any]
    shards: list[ShardEntry]
    totals: dict[str, Any]
    rejects: dict[str, int]


def join(root: str, name: str) -> str:
    return root.rstrip("/") + "/" + name


def sha256_of(url: str) -> tuple[str, int]:
    """Return (hex sha256, size in bytes) of a file at a local path or fsspec URL."""
    digest = hashlib.sha256()
    size = 0
    with fsspec.open(url, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def load_manifest(root: str) -> Manifest:
    """Read `ROOT/manifest.json`.

    Raises:
        FileNotFoundError: no manifest at `root` (not an ahnpl dataset, or a build that has not
            finished: run `ahnpl-gen build` again to complete it).
        pydantic.ValidationError: the manifest does not match the schema.
    """
    url = join(root, MANIFEST_NAME)
    fs, path = fsspec.core.url_to_fs(url)
    if not fs.exists(path):
        raise FileNotFoundError(
            f"{url}: no manifest; is {root} an ahnpl dataset whose build finished?"
        )
    with fsspec.open(url, "r", encoding="utf-8") as f:
        manifest = Manifest.model_validate(json.load(f))
    if manifest.schema_version > SCHEMA_VERSION:
        raise ValueError(
            f"{url}: schema version {manifest.schema_version} is newer than this ahnpl "
            f"({SCHEMA_VERSION}); upgrade ahnpl"
        )
    return manifest


def shard_urls(root: str, manifest: Manifest) -> list[str]:
    return [join(root, s.name) for s in manifest.shards]


def manifest_sha256(root: str) -> str:
    return sha256_of(join(root, MANIFEST_NAME))[0]


def count_records(records, negative_types: list[str]) -> dict[str, Any]:
    """Content counts of a shard's records, as stored in its `ShardEntry`."""
    valid = Counter({t: 0 for t in negative_types})
    rows = captions = edits = without = 0
    for record in records:
        rows += 1
        captions += len(record.captions)
        edits += len(record.edits)
        for flags in record.neg_valid:
            without += not any(flags)
            for t, ok in zip(negative_types, flags):
                valid[t] += ok
    return {
        "rows": rows,
        "captions": captions,
        "valid_negatives": dict(valid),
        "edits": edits,
        "captions_without_negative": without,
    }


def verify(root: str) -> list[str]:
    """Check every shard against the manifest: presence, sha256, size, schema, row counts.

    Also reports files that look like shards but are not in the manifest.

    Returns:
        One human-readable problem per line; empty when the dataset is intact.
    Raises:
        FileNotFoundError: no manifest at `root`.
    """
    manifest = load_manifest(root)
    problems: list[str] = []
    fs, base = fsspec.core.url_to_fs(root)
    listed = {s.name for s in manifest.shards}
    suffix = ".parquet" if manifest.format == "parquet" else ".tar"
    data = join(base, "data")
    for path in sorted(fs.ls(data, detail=False) if fs.isdir(data) else []):
        name = "data/" + path.rstrip("/").rsplit("/", 1)[-1]
        if name.endswith(suffix) and name not in listed:
            problems.append(f"{name}: extra shard file not listed in the manifest")
    for entry in manifest.shards:
        url = join(root, entry.name)
        if not fs.exists(join(base, entry.name)):
            problems.append(f"{entry.name}: missing (manifest lists {entry.rows} rows)")
            continue
        digest, size = sha256_of(url)
        if size != entry.bytes:
            problems.append(f"{entry.name}: {size} bytes, manifest says {entry.bytes}")
        if digest != entry.sha256:
            problems.append(
                f"{entry.name}: sha256 {digest[:12]}…, manifest says {entry.sha256[:12]}…"
            )
        try:
            counts = count_records(read_shard(url), manifest.negative_types)
        except (ShardFormatError, OSError, ValueError, KeyError, pa.ArrowException) as e:
            problems.append(f"{entry.name}: unreadable ({type(e).__name__}: {e})")
            continue
        for field in ("rows", "captions", "edits"):
            if counts[field] != getattr(entry, field):
                problems.append(
                    f"{entry.name}: {counts[field]} {field}, manifest says {getattr(entry, field)}"
                )
        if counts["valid_negatives"] != entry.valid_negatives:
            problems.append(f"{entry.name}: valid negatives per type differ from the manifest")
    rejects_url = join(root, REJECTS_NAME)
    if fs.exists(join(base, REJECTS_NAME)):
        with fsspec.open(rejects_url, "rb") as f:
            n = pq.ParquetFile(f).metadata.num_rows
        if n != sum(manifest.rejects.values()):
            problems.append(
                f"{REJECTS_NAME}: {n} rows, manifest says {sum(manifest.rejects.values())}"
            )
    elif manifest.rejects:
        problems.append(f"{REJECTS_NAME}: missing, manifest lists {sum(manifest.rejects.values())}")
    return problems
