"""Shard writers and readers: Parquet and WebDataset behind one interface (DESIGN §6).

Both formats read back to the same `Record`s. Writers produce the same bytes for the same
records (no timestamps, fixed member order), which is what makes a resumed build byte-identical
to an uninterrupted one.
"""

from __future__ import annotations

import functools
import io
import json
import math
from collections.abc import Iterator, Sequence
from typing import Protocol

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from ahnpl.registry import Registry

from .schema import (
    ARROW_SCHEMA,
    SCHEMA_VERSION,
    Edit,
    Record,
    check_key,
    record_to_row,
    row_to_record,
)

# Parquet row groups are cut by bytes, not rows: image rows vary 10x in size and a reader holds
# one row group in memory at a time.
ROW_GROUP_BYTES = 64 * 1024 * 1024

# The schema-metadata key of a Parquet shard's `dataset_metadata`.
METADATA_KEY = "ahnpl"


class ShardFormatError(ValueError):
    """A shard file that does not match the ahnpl schema."""


class ShardWriter(Protocol):
    name: str
    suffix: str

    def write(self, records: list[Record], url: str) -> None: ...


def check_keys(records: list[Record]) -> None:
    """Both writers' key rule: each key valid (`check_key`) and used once in the shard.

    Raises:
        ValueError: names the key and what is wrong with it.
    """
    seen: set[str] = set()
    for record in records:
        check_key(record.key)
        if record.key in seen:
            raise ValueError(f"record key {record.key!r}: used twice in one shard")
        seen.add(record.key)


def dataset_metadata(negative_types: Sequence[str], recipe_sha256: str = "") -> dict:
    """What a shard says about its dataset: schema version, slot names and, from a build,
    the `recipe_sha256` of the recipe that made it (DESIGN §6).

    Stored in each Parquet file's schema metadata (key `ahnpl`) and in each tar sample's
    JSON, so a shard is readable without the manifest, and `verify` can tell a manifest whose
    recipe was edited after the build.
    """
    meta = {"schema_version": SCHEMA_VERSION, "negative_types": list(negative_types)}
    return {**meta, "recipe_sha256": recipe_sha256} if recipe_sha256 else meta


def shard_metadata(url: str) -> dict:
    """The `dataset_metadata` a shard carries ({} when it has none).

    Raises:
        ShardFormatError: unknown suffix. Damaged files raise what their reader raises.
    """
    if url.endswith(".parquet"):
        with fsspec.open(url, "rb") as f:
            meta = pq.ParquetFile(f).schema_arrow.metadata or {}
        raw = meta.get(METADATA_KEY.encode())
        return json.loads(raw) if raw else {}
    if not url.endswith(".tar"):
        raise ShardFormatError(f"{url}: unknown shard suffix (expected .parquet or .tar)")
    from webdataset.tariterators import tar_file_iterator

    with fsspec.open(url, "rb") as f:
        for member in tar_file_iterator(f):  # every sample carries it: the first one says
            if member["fname"].endswith(".json"):
                meta = json.loads(member["data"])
                keys = ("schema_version", "negative_types", "recipe_sha256")
                return {k: meta[k] for k in keys if k in meta}
    return {}


WRITERS: Registry[type[ShardWriter]] = Registry("shard format", option="output.format")
"""Shard format name -> writer class (`output.format` in a recipe)."""


@WRITERS.register("parquet")
class ParquetWriter:
    """One Parquet file per shard, `ARROW_SCHEMA`, zstd, row groups bounded by bytes; slot
    names in the schema metadata under `ahnpl`."""

    name = "parquet"
    suffix = ".parquet"

    def __init__(
        self,
        negative_types: Sequence[str] = (),
        edit_members: int | None = None,
        recipe_sha256: str = "",
    ):
        meta = json.dumps(dataset_metadata(negative_types, recipe_sha256))
        self.schema = ARROW_SCHEMA.with_metadata({METADATA_KEY: meta})

    def write(self, records: list[Record], url: str) -> None:
        check_keys(records)
        with fsspec.open(url, "wb") as f:
            with pq.ParquetWriter(f, self.schema, compression="zstd") as writer:
                batch: list[dict] = []
                size = 0
                for record in records:
                    row = record_to_row(record)
                    batch.append(row)
                    size += len(record.image) + sum(len(e.image) for e in record.edits)
                    if size >= ROW_GROUP_BYTES:
                        writer.write_table(pa.Table.from_pylist(batch, schema=self.schema))
                        batch, size = [], 0
                # An empty shard has no row group at all: an empty one breaks readers that
                # size their batches by the first row group (datasets' Parquet builder).
                if batch:
                    writer.write_table(pa.Table.from_pylist(batch, schema=self.schema))


@WRITERS.register("webdataset")
class WebDatasetWriter:
    """One tar per shard: `key.jpg`, `key.json` (all but bytes, with the slot names),
    `key.edit0.jpg` ... `key.edit{E-1}.jpg`.

    Every sample of a dataset has the same members, as `datasets.load_dataset("webdataset")`
    requires (it infers the columns from the first samples): `edit_members` E is the build's
    edit budget, a slot without an edit holds a 1x1 grey placeholder, and the JSON's `edits`
    has E entries, placeholders marked `caption: -1`. Scores are numbers (NaN when not
    scored) so the JSON's types do not change from sample to sample. A sample's members are
    contiguous; `mtime=0` keeps the bytes reproducible.
    """

    name = "webdataset"
    suffix = ".tar"

    def __init__(
        self,
        negative_types: Sequence[str] = (),
        edit_members: int | None = None,
        recipe_sha256: str = "",
    ):
        self.meta = dataset_metadata(negative_types, recipe_sha256)
        self.edit_members = edit_members

    def write(self, records: list[Record], url: str) -> None:
        import webdataset as wds

        check_keys(records)
        members = self.edit_members
        if members is None:  # no budget given: uniform within this shard
            members = max((len(r.edits) for r in records), default=0)
        with fsspec.open(url, "wb") as f:
            writer = wds.TarWriter(f, encoder=False, mtime=0)
            for record in records:
                writer.write(self.sample(record, members))
            writer.close()

    def sample(self, record: Record, members: int) -> dict:
        if len(record.edits) > members:
            raise ValueError(
                f"record {record.key}: {len(record.edits)} edits, the dataset has "
                f"{members} edit members per sample"
            )
        meta = {**record.metadata(), **self.meta}
        edits = [{**e, **_scores(e)} for e in meta["edits"]]
        edits += [dict(_NO_EDIT) for _ in range(members - len(edits))]
        meta["edits"] = edits
        sample = {
            "__key__": record.key,
            "jpg": record.image,
            "json": json.dumps(meta, ensure_ascii=False).encode(),
        }
        for n in range(members):
            sample[f"edit{n}.jpg"] = record.edits[n].image if n < len(record.edits) else _blank()
        return sample


_NO_EDIT = {
    "caption": -1,
    "slot": -1,
    "editor": "",
    "seed": -1,
    "score_dir": math.nan,
    "score_img": math.nan,
}


def _scores(edit: dict) -> dict:
    return {k: math.nan if edit[k] is None else edit[k] for k in ("score_dir", "score_img")}


@functools.cache
def _blank() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1, 1), (128, 128, 128)).save(buf, "JPEG", quality=75)
    return buf.getvalue()


def get_writer(
    fmt: str,
    negative_types: Sequence[str] = (),
    edit_members: int | None = None,
    recipe_sha256: str = "",
) -> ShardWriter:
    """Return the writer for `fmt` ("parquet" or "webdataset").

    Args:
        negative_types: slot names, written into every shard.
        edit_members: edit images per tar sample (the build's edit budget, 0 without an
            editor, so every shard has the same members); None: the most any record of the
            shard has.
        recipe_sha256: `ahnpl.shards.manifest.recipe_sha256` of the build's recipe, written
            into every shard ("" writes none).
    Raises:
        ahnpl.registry.UnknownName (a ValueError): unknown format; the message lists them.
    """
    return WRITERS.get(fmt)(negative_types, edit_members, recipe_sha256)


def read_shard(url: str, with_edits: bool = True) -> Iterator[Record]:
    """Stream the records of one shard, Parquet (`.parquet`) or WebDataset (`.tar`).

    `url` is a local path or any fsspec URL. Parquet is read one row group at a time, so memory
    stays bounded by `ROW_GROUP_BYTES`. With `with_edits=False` records come without edits,
    and Parquet does not even read the edited-image bytes.

    Raises:
        ShardFormatError: unknown suffix, wrong schema, or a tar member name that is not
            `<key>.<ext>` with a safe key (no path separators, no traversal).
    """
    if url.endswith(".parquet"):
        yield from _read_parquet(url, with_edits)
    elif url.endswith(".tar"):
        for record in _read_tar(url):
            if not with_edits:
                record.edits = []
            yield record
    else:
        raise ShardFormatError(f"{url}: unknown shard suffix (expected .parquet or .tar)")


def _read_parquet(url: str, with_edits: bool) -> Iterator[Record]:
    fs, path = fsspec.core.url_to_fs(url)
    if isinstance(fs, LocalFileSystem):
        # Arrow opens local files itself: faster, and its IO threads never call back into a
        # Python file object.
        with pq.ParquetFile(path) as pf:
            yield from _parquet_records(url, pf, with_edits)
    else:
        with fs.open(path, "rb") as f:
            yield from _parquet_records(url, pq.ParquetFile(f), with_edits)


def _parquet_records(url: str, pf: pq.ParquetFile, with_edits: bool) -> Iterator[Record]:
    if not pf.schema_arrow.equals(ARROW_SCHEMA):
        raise ShardFormatError(f"{url}: schema differs from ahnpl schema:\n{pf.schema_arrow}")
    columns = None if with_edits else [n for n in ARROW_SCHEMA.names if n != "edits"]
    for i in range(pf.num_row_groups):
        for row in pf.read_row_group(i, columns=columns).to_pylist():
            yield row_to_record(row if with_edits else {**row, "edits": None})


def _read_tar(url: str) -> Iterator[Record]:
    from webdataset.tariterators import group_by_keys, tar_file_iterator

    seen: set[str] = set()
    with fsspec.open(url, "rb") as f:
        members = (dict(m, __url__=url) for m in tar_file_iterator(f))
        for sample in group_by_keys(members):
            record = _sample_to_record(url, sample)
            # group_by_keys starts a new sample whenever the key changes, so members 0, 1, 0
            # would read as three records.
            if sample["__key__"] in seen:
                raise ShardFormatError(
                    f"{url}: key {sample['__key__']!r} is used by two samples (members of one "
                    "sample must be contiguous and keys unique)"
                )
            seen.add(sample["__key__"])
            yield record


def _sample_to_record(url: str, sample: dict) -> Record:
    key = sample["__key__"]
    # Names come from someone else's dataset: a key that could escape a folder is refused
    # rather than trusted by whatever extracts it later.
    try:
        check_key(key)
    except ValueError as e:
        raise ShardFormatError(f"{url}: unsafe or malformed member key: {e}") from None
    if "jpg" not in sample or "json" not in sample:
        raise ShardFormatError(f"{url}: sample {key} lacks its .jpg or .json member")
    meta = json.loads(sample["json"])
    if meta.get("key") != key:
        raise ShardFormatError(f"{url}: sample {key} says its key is {meta.get('key')!r}")
    edits = []
    for n, e in enumerate(meta.get("edits", [])):
        if e["caption"] < 0:
            continue  # a placeholder that keeps the members uniform
        image = sample.get(f"edit{n}.jpg")
        if image is None:
            raise ShardFormatError(f"{url}: sample {key} lacks member edit{n}.jpg")
        scores = {k: None if _is_nan(e.get(k)) else e.get(k) for k in ("score_dir", "score_img")}
        edits.append(Edit(image=image, **{**e, **scores}))
    return Record(
        key=meta["key"],
        image=sample["jpg"],
        width=meta["width"],
        height=meta["height"],
        source_id=meta["source_id"],
        captions=meta["captions"],
        neg_texts=meta["neg_texts"],
        neg_valid=meta["neg_valid"],
        neg_scores=meta.get("neg_scores"),
        edits=edits,
    )


def _is_nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def encode_table(rows: list[dict], schema: pa.Schema) -> bytes:
    """Serialise `rows` to Parquet bytes (used for `rejects.parquet`)."""
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), buf, compression="zstd")
    return buf.getvalue()
