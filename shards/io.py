"""Shard writers and readers: Parquet and WebDataset behind one interface (DESIGN §6).

Both formats read back to the same `Record`s. Writers produce the same bytes for the same
records (no timestamps, fixed member order), which is what makes a resumed build byte-identical
to an uninterrupted one.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Protocol

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from ahnpl.registry import Registry

from .schema import ARROW_SCHEMA, Edit, Record, check_key, record_to_row, row_to_record

# Parquet row groups are cut by bytes, not rows: image rows vary 10x in size and a reader holds
# one row group in memory at a time.
ROW_GROUP_BYTES = 64 * 1024 * 1024


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


WRITERS: Registry[type[ShardWriter]] = Registry("shard format", option="output.format")
"""Shard format name -> writer class (`output.format` in a recipe)."""


@WRITERS.register("parquet")
class ParquetWriter:
    """One Parquet file per shard, `ARROW_SCHEMA`, zstd, row groups bounded by bytes."""

    name = "parquet"
    suffix = ".parquet"

    def write(self, records: list[Record], url: str) -> None:
        check_keys(records)
        with fsspec.open(url, "wb") as f:
            with pq.ParquetWriter(f, ARROW_SCHEMA, compression="zstd") as writer:
                batch: list[dict] = []
                size = 0
                for record in records:
                    row = record_to_row(record)
                    batch.append(row)
                    size += len(record.image) + sum(len(e.image) for e in record.edits)
                    if size >= ROW_GROUP_BYTES:
                        writer.write_table(pa.Table.from_pylist(batch, schema=ARROW_SCHEMA))
                        batch, size = [], 0
                if batch or not records:
                    writer.write_table(pa.Table.from_pylist(batch, schema=ARROW_SCHEMA))


@WRITERS.register("webdataset")
class WebDatasetWriter:
    """One tar per shard: `key.jpg`, `key.json` (all but bytes), `key.edit<N>.jpg`.

    A sample's members are contiguous; `mtime=0` keeps the bytes reproducible.
    """

    name = "webdataset"
    suffix = ".tar"

    def write(self, records: list[Record], url: str) -> None:
        import webdataset as wds

        check_keys(records)
        with fsspec.open(url, "wb") as f:
            writer = wds.TarWriter(f, encoder=False, mtime=0)
            for record in records:
                sample = {
                    "__key__": record.key,
                    "jpg": record.image,
                    "json": json.dumps(record.metadata(), ensure_ascii=False).encode(),
                }
                for n, edit in enumerate(record.edits):
                    sample[f"edit{n}.jpg"] = edit.image
                writer.write(sample)
            writer.close()


def get_writer(fmt: str) -> ShardWriter:
    """Return the writer for `fmt` ("parquet" or "webdataset").

    Raises:
        ahnpl.registry.UnknownName (a ValueError): unknown format; the message lists them.
    """
    return WRITERS.get(fmt)()


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
        image = sample.get(f"edit{n}.jpg")
        if image is None:
            raise ShardFormatError(f"{url}: sample {key} lacks member edit{n}.jpg")
        edits.append(Edit(image=image, **e))
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


def encode_table(rows: list[dict], schema: pa.Schema) -> bytes:
    """Serialise `rows` to Parquet bytes (used for `rejects.parquet`)."""
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), buf, compression="zstd")
    return buf.getvalue()
