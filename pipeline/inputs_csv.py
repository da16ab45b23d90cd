"""CSV / TSV input (open_clip's format): an image path column and a caption column.

Read as a stream: the plan is one pass over the file that counts images and notes the byte
position where each shard starts, so a worker seeks to its shard and memory does not grow
with the file. Adjacent rows naming the same image are one image with all their captions
(sort the file by image to group captions that are apart). The separator is `--separator`,
else sniffed from the first 64 KiB (`csv.Sniffer`), else taken from the extension.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import fsspec

from .inputs import (
    SOURCES,
    InputItem,
    InputPlan,
    ShardSpec,
    file_stem,
    join_path,
)
from .recipe import InputConfig

_SNIFF_BYTES = 64 * 1024
_SEPARATOR_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


@dataclass
class _Group:
    start: int  # byte position of the group's first row
    image: str
    source_id: str
    captions: list[str]
    reject: tuple[str, str] | None = None


@SOURCES.register("csv")
class CsvSource:
    """`--source csv`: columns `--image-column` (default `filepath`) and `--caption-column`
    (default `title`); an optional `source_id` column names each image."""

    name = "csv"

    default_separator = ","

    def __init__(self, cfg: InputConfig, seed: int = 0):
        self.url = cfg.input or cfg.captions
        if not self.url:
            raise ValueError(f"--source {self.name}: pass --input FILE (a CSV/TSV file)")
        self.cfg = cfg
        self.image_column = cfg.image_column or "filepath"
        self.caption_column = cfg.caption_column or "title"
        self._separator: str | None = None

    @property
    def separator(self) -> str:
        if self._separator is None:
            self._separator = self._choose_separator()
        return self._separator

    def _choose_separator(self) -> str:
        given = self.cfg.separator
        if given:
            return _SEPARATOR_NAMES.get(given.lower(), given)
        with self._open() as f:
            sample = f.read(_SNIFF_BYTES).decode("utf-8", errors="replace")
        try:
            return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
        except csv.Error:
            return "\t" if self.url.lower().endswith(".tsv") else self.default_separator

    def _open(self):
        try:
            return fsspec.open(self.url, "rb").open()
        except FileNotFoundError:
            raise FileNotFoundError(f"input {self.url}: no such file (--input)") from None

    def _columns(self, header: list[str]) -> tuple[int, int, int | None]:
        missing = [c for c in (self.image_column, self.caption_column) if c not in header]
        if missing:
            raise ValueError(
                f"{self.url}: missing column(s) {missing}; found {header} with separator "
                f"{self.separator!r}; set --image-column / --caption-column or --separator"
            )
        id_column = next((header.index(c) for c in ("source_id", "key") if c in header), None)
        return header.index(self.image_column), header.index(self.caption_column), id_column

    def _groups(self, f, start: int | None, digest=None) -> Iterator[_Group]:
        rows = _rows(f, self.separator, digest)
        header, header_end = next(rows, ([], 0))
        if header:
            header[0] = header[0].lstrip("\ufeff")
        image_i, caption_i, id_i = self._columns(header)
        if start is not None and start > header_end:
            rows = _rows(f, self.separator, None, start)
        group: _Group | None = None
        row_start = start if start is not None else header_end
        for row, end in rows:
            if not row:
                row_start = end
                continue
            image = row[image_i].strip() if len(row) > image_i else ""
            caption = row[caption_i] if len(row) > caption_i else ""
            if group is not None and image and image == group.image:
                group.captions.append(caption)
            else:
                if group is not None:
                    yield group
                source_id = row[id_i] if id_i is not None and len(row) > id_i else ""
                group = _Group(row_start, image, source_id or file_stem(image), [caption])
                if not image:
                    group.reject = ("missing_image", f"row has no {self.image_column!r} value")
            row_start = end
        if group is not None:
            yield group

    def plan(self, per_shard: int) -> InputPlan:
        digest = hashlib.sha256(f"{self.cfg.images}\n".encode())
        starts: list[int] = []
        count = 0
        with self._open() as f:
            for group in self._groups(f, None, digest):
                if self.cfg.limit is not None and count >= self.cfg.limit:
                    break
                if count % per_shard == 0:
                    starts.append(group.start)
                count += 1
        shards = [
            ShardSpec(i, i * per_shard, min((i + 1) * per_shard, count), (pos,))
            for i, pos in enumerate(starts)
        ]
        return InputPlan(shards, [], "sha256:" + digest.hexdigest())

    def read(self, spec: ShardSpec) -> Iterator[InputItem]:
        with self._open() as f:
            groups = self._groups(f, spec.parts[0])
            for offset, group in zip(range(spec.start, spec.stop), groups):
                path = join_path(self.cfg.images, group.image) if group.image else ""
                yield InputItem(offset, group.source_id, path, group.captions, reject=group.reject)


@SOURCES.register("tsv")
class TsvSource(CsvSource):
    """`--source tsv`: as `csv`, tab-separated unless `--separator` says otherwise."""

    name = "tsv"

    default_separator = "\t"

    def _choose_separator(self) -> str:
        return super()._choose_separator() if self.cfg.separator else "\t"


def _rows(f, separator: str, digest=None, start: int = 0) -> Iterator[tuple[list[str], int]]:
    """(row, byte position just after it) from byte position `start` of binary file `f`.

    `csv.reader` pulls physical lines only until a record is complete, so the position after
    the last line it took is the start of the next record, quoted newlines included.
    """
    f.seek(start)
    pos = start

    def lines():
        nonlocal pos
        for line in iter(f.readline, b""):
            pos += len(line)
            if digest is not None:
                digest.update(line)
            yield line.decode("utf-8")

    for row in csv.reader(lines(), delimiter=separator):
        yield row, pos
