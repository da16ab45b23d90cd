"""Inputs that carry their images as bytes: img2dataset's Parquet and WebDataset tars, and
Hugging Face `datasets` (DESIGN §3).

The plan comes from metadata only (Parquet footers, tar member headers, dataset lengths); a
shard is read one row group / one tar / one batch at a time. One row or tar sample is one
image. Nothing is downloaded: a row with a URL and no bytes (img2dataset's failed downloads,
or its metadata-only Parquet) is rejected as `no_image_bytes`.
"""

from __future__ import annotations

import contextlib
import hashlib
import tarfile
from collections.abc import Iterator

import fsspec

from .inputs import (
    SOURCES,
    InputItem,
    InputPlan,
    ShardSpec,
    even_shards,
    expand_inputs,
    join_path,
    limited,
    locate,
)
from .recipe import InputConfig

# img2dataset names the bytes column after its encode format; HF datasets call it `image`.
IMAGE_COLUMNS = ("jpg", "jpeg", "png", "webp", "image", "img")
CAPTION_COLUMNS = ("caption", "captions", "txt", "text")
ID_COLUMNS = ("source_id", "key", "id")
IMAGE_SUFFIXES = ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif")
NO_BYTES = "no image bytes; ahnpl does not download"
_BATCH_ROWS = 256
_HUB = "hf://datasets/"


def _captions(value) -> list[str]:
    """A caption cell: a string, a list of strings (several captions per image) or None."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _image(value) -> tuple[bytes | None, str | None]:
    """(bytes, file path) of an image cell: img2dataset's binary, HF's {"bytes", "path"}
    struct (bytes, or only a path to a local file), or a plain path string."""
    if isinstance(value, dict):
        return value.get("bytes"), value.get("path")
    if isinstance(value, str):
        return None, value or None
    return value, None


def _pick(names, wanted: str | None, choices: tuple[str, ...], what: str, url: str):
    if wanted:
        if wanted not in names:
            raise ValueError(f"{url}: no {what} column {wanted!r}; found {list(names)}")
        return wanted
    return next((c for c in choices if c in names), None)


class _Columns:
    """Which columns of a table hold the image, the captions, the id and the URL."""

    def __init__(self, names, cfg: InputConfig, url: str):
        self.image = _pick(names, cfg.image_column, IMAGE_COLUMNS, "image", url)
        self.caption = _pick(names, cfg.caption_column, CAPTION_COLUMNS, "caption", url)
        self.id = next((c for c in ID_COLUMNS if c in names), None)
        self.url = "url" if "url" in names else None
        self.status = [c for c in ("status", "error_message") if c in names]
        self.images = cfg.images
        if self.caption is None:
            raise ValueError(
                f"{url}: no caption column (looked for {list(CAPTION_COLUMNS)}); "
                f"found {list(names)}; set --caption-column"
            )
        if self.image is None and self.url is None:
            raise ValueError(
                f"{url}: no image column (looked for {list(IMAGE_COLUMNS)}); "
                f"found {list(names)}; set --image-column"
            )

    @property
    def names(self) -> list[str]:
        wanted = [self.image, self.caption, self.id, self.url, *self.status]
        return list(dict.fromkeys(c for c in wanted if c))

    def item(self, offset: int, row: dict, where: str) -> InputItem:
        source_id = str(row[self.id]) if self.id and row.get(self.id) is not None else str(offset)
        path = row.get(self.url) or where if self.url else where
        data, file = _image(row.get(self.image)) if self.image else (None, None)
        reject = None
        if file is not None and "://" in file and not file.startswith("file://"):
            file = None  # a remote URL: never fetched
        if data is None and file is not None:
            path = join_path(self.images, file)  # stored as a file: read like a CSV's
        elif data is None:
            status = ", ".join(str(row[c]) for c in self.status if row.get(c))
            reject = ("no_image_bytes", NO_BYTES + (f" ({status})" if status else ""))
        captions = _captions(row.get(self.caption))
        return InputItem(offset, source_id, path, captions, image=data, reject=reject)


class _FileSource:
    """Shared plan of file-per-part sources: files from a glob, rows per file from metadata."""

    suffix = ""

    def __init__(self, cfg: InputConfig, seed: int = 0):
        self.cfg = cfg
        self.url = cfg.input
        if not self.url:
            raise ValueError(f"--source {self.name}: pass --input PATH_GLOB_OR_URL")

    def count_rows(self, path: str, digest) -> int:
        raise NotImplementedError

    def plan(self, per_shard: int) -> InputPlan:
        files = expand_inputs(self.url, self.suffix)
        digest = hashlib.sha256()
        sizes = []
        for path in files:
            digest.update(f"{path.rsplit('/', 1)[-1]}\n".encode())
            sizes.append(self.count_rows(path, digest))
        count = limited(self.cfg, sum(sizes))
        shards = []
        for spec in even_shards(count, per_shard):
            parts = tuple((files[i], lo, hi) for i, lo, hi in locate(sizes, spec.start, spec.stop))
            shards.append(ShardSpec(spec.shard_id, spec.start, spec.stop, parts))
        return InputPlan(shards, [], "sha256:" + digest.hexdigest())

    def read(self, spec: ShardSpec) -> Iterator[InputItem]:
        offset = spec.start
        for path, lo, hi in spec.parts:
            for item in self.read_part(path, lo, hi, offset):
                yield item
                offset += 1

    def read_part(self, path: str, lo: int, hi: int, offset: int) -> Iterator[InputItem]:
        raise NotImplementedError


@SOURCES.register("parquet")
class ParquetSource(_FileSource):
    """`--source parquet`: img2dataset's Parquet (`jpg` bytes, `caption`, `key`, `url`), or any
    Parquet with an image-bytes column (`--image-column`; HF's {bytes, path} struct too) and a
    caption column (a string, or a list of strings). Read one row group batch at a time."""

    name = "parquet"

    suffix = ".parquet"

    def count_rows(self, path: str, digest) -> int:
        import pyarrow.parquet as pq

        with fsspec.open(path, "rb") as f:
            meta = pq.read_metadata(f)
        # The footer (row groups, sizes, statistics) tells copies of one file from other files
        # without reading the image bytes.
        digest.update(str(meta.to_dict()).encode())
        return meta.num_rows

    def read_part(self, path: str, lo: int, hi: int, offset: int) -> Iterator[InputItem]:
        import pyarrow.parquet as pq
        from fsspec.implementations.local import LocalFileSystem

        fs, local = fsspec.core.url_to_fs(path)
        if isinstance(fs, LocalFileSystem):
            # Arrow opens local files itself (as `ahnpl.shards.io` does for shards).
            with pq.ParquetFile(local) as pf:
                yield from self._rows(pf, path, lo, hi, offset)
        else:
            with fs.open(local, "rb") as f:
                yield from self._rows(pq.ParquetFile(f), path, lo, hi, offset)

    def _rows(self, pf, path: str, lo: int, hi: int, offset: int) -> Iterator[InputItem]:
        """Rows [lo, hi) of `pf`, reading only the row groups that hold them, in batches."""
        columns = _Columns(pf.schema_arrow.names, self.cfg, path)
        base = 0
        for group in range(pf.num_row_groups):
            rows = pf.metadata.row_group(group).num_rows
            if base + rows <= lo or base >= hi:
                base += rows
                continue
            batches = pf.iter_batches(_BATCH_ROWS, row_groups=[group], columns=columns.names)
            for batch in batches:
                for i, row in enumerate(batch.to_pylist(), start=base):
                    if lo <= i < hi:
                        yield columns.item(offset + i - lo, row, f"{path}:{i}")
                base += batch.num_rows
                if base >= hi:
                    return


@SOURCES.register("webdataset")
class WebDatasetSource(_FileSource):
    """`--source webdataset`: img2dataset's tars (`key.jpg` or another image extension,
    `key.txt`, `key.json`). The caption is the `txt` member (or `--caption-column` suffix),
    else the JSON's `caption` / `captions`; the id is the JSON's `key`, else the sample key."""

    name = "webdataset"

    suffix = ".tar"

    def count_rows(self, path: str, digest) -> int:
        count = 0
        with fsspec.open(path, "rb") as f:
            for key, _, member, _ in _tar_members(f):
                digest.update(f"{member.name}\t{member.size}\n".encode())
                count += key is not None
        return count

    def read_part(self, path: str, lo: int, hi: int, offset: int) -> Iterator[InputItem]:
        with fsspec.open(path, "rb") as f:
            index = -1
            sample: dict = {}
            for key, suffix, member, tar in _tar_members(f):
                if key is not None:
                    if index >= lo:
                        yield self._item(offset + index - lo, sample, path)
                    index += 1
                    if index >= hi:
                        return
                    sample = {"__key__": key}
                if index >= lo:
                    sample[suffix] = tar.extractfile(member).read()
            if lo <= index < hi:
                yield self._item(offset + index - lo, sample, path)

    def _item(self, offset: int, sample: dict, tar: str) -> InputItem:
        import json

        key = sample["__key__"]
        where = f"{tar}#{key}"
        meta = {}
        if "json" in sample:
            try:
                meta = json.loads(sample["json"])
            except ValueError:
                meta = {}
        text_suffix = (self.cfg.caption_column or "txt").lower()
        if text_suffix in sample:
            captions = [sample[text_suffix].decode("utf-8", errors="replace")]
        else:
            captions = _captions(meta.get("captions", meta.get("caption")))
        source_id = str(meta.get("key") or key)
        wanted = (self.cfg.image_column,) if self.cfg.image_column else IMAGE_SUFFIXES
        image = next((sample[s] for s in wanted if s in sample), None)
        reject = None
        if ".." in key.split("/") or key.startswith("/"):
            reject = ("unsafe_member_name", f"tar member key {key!r} could escape a folder")
            image = None
        elif image is None:
            reject = ("missing_image", f"sample has no image member (one of {list(wanted)})")
        return InputItem(offset, source_id, where, captions, image=image, reject=reject)


def _tar_members(f):
    """(key or None, suffix, member, tar) per regular member; the key only on a sample's first.

    Headers are read and the data skipped (seeks), so counting a tar does not read its images.
    Samples are runs of adjacent members with one key, as in webdataset's `group_by_keys`.
    """
    from webdataset.tariterators import base_plus_ext

    tar = tarfile.open(fileobj=f, mode="r:")
    current = None
    while (member := tar.next()) is not None:
        tar.members.clear()  # keep memory flat on tars of many members
        if not member.isreg() or member.name.rsplit("/", 1)[-1].startswith("__"):
            continue
        key, suffix = base_plus_ext(member.name)
        if key is None:
            continue
        yield (key if key != current else None), suffix.lower(), member, tar
        current = key


@contextlib.contextmanager
def _offline(datasets):
    """`datasets` offline for one call: a name is read from the local cache, never fetched."""
    saved = datasets.config.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE = saved


@SOURCES.register("hf")
class HFSource:
    """`--source hf`: a folder written by `Dataset.save_to_disk` (`datasets.load_from_disk`),
    or `hf://datasets/ORG/NAME`, a dataset already in the local Hugging Face cache (read
    offline; `input.split`, default train).
    Image column `--image-column` (default: `image`, `jpg`...; an `Image()` feature is read
    as its stored bytes, without decoding), caption column `--caption-column`."""

    name = "hf"

    def __init__(self, cfg: InputConfig, seed: int = 0):
        if not cfg.input:
            raise ValueError("--source hf: pass --input FOLDER_OR_NAME")
        self.cfg = cfg
        self.url = cfg.input
        self._ds = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_ds": None}

    @property
    def dataset(self):
        if self._ds is None:
            self._ds = self._load()
        return self._ds

    def _load(self):
        import datasets

        try:
            if self.url.startswith(_HUB):
                with _offline(datasets):
                    ds = datasets.load_dataset(self.url[len(_HUB) :])
            else:
                ds = datasets.load_from_disk(self.url)
        except (FileNotFoundError, ConnectionError, ValueError) as e:
            raise ValueError(
                f"--input {self.url}: neither a saved dataset folder nor a dataset in the local "
                f"cache ({type(e).__name__}); ahnpl does not download: save it with "
                f"`load_dataset(...).save_to_disk(DIR)` and pass --input DIR"
            ) from None
        if isinstance(ds, datasets.DatasetDict):
            if self.cfg.split not in ds:
                raise ValueError(f"{self.url}: no split {self.cfg.split!r}; has {list(ds)}")
            ds = ds[self.cfg.split]
        columns = _Columns(ds.column_names, self.cfg, self.url)
        if columns.image and isinstance(ds.features[columns.image], datasets.Image):
            ds = ds.cast_column(columns.image, datasets.Image(decode=False))
        return ds.select_columns(columns.names)

    def plan(self, per_shard: int) -> InputPlan:
        ds = self.dataset
        count = limited(self.cfg, len(ds))
        return InputPlan(even_shards(count, per_shard), [], "hf:" + ds._fingerprint)

    def read(self, spec: ShardSpec) -> Iterator[InputItem]:
        ds = self.dataset
        columns = _Columns(ds.column_names, self.cfg, self.url)
        part = ds.select(range(spec.start, spec.stop))
        offset = spec.start
        for batch in part.iter(batch_size=_BATCH_ROWS):
            names = list(batch)
            for values in zip(*batch.values()):
                yield columns.item(offset, dict(zip(names, values)), f"{self.url}:{offset}")
                offset += 1
