"""One way to write a file so that a reader never sees half of it (DESIGN §7, §10).

Every file the project writes (shards, markers, the manifest, `rejects.parquet`, results,
checkpoints) goes through `atomic_write` or `atomic_target`: the bytes go to a temporary name
in the same folder, unique per call (two ranks or two threads writing the same file never
share one), and are renamed to the final name only once complete. On a local disk the data is
fsynced and the rename is `os.replace`, atomic on POSIX; on object stores (`s3://`, `gs://`,
`hf://` through fsspec) the final object appears when its upload completes.

Temporary names are `.<name>.<random>.tmp`: hidden, so data-file globs (`*.parquet`,
`data/*`) never pick one up, and recognisable by `is_temporary` so a resumed build can remove
the leftovers of a killed one.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

TMP_SUFFIX = ".tmp"


def temporary_name(path: str) -> str:
    """A unique temporary path next to `path` (`dir/.name.<12 hex>.tmp`)."""
    folder, _, name = path.rpartition("/")
    tmp = f".{name}.{uuid.uuid4().hex[:12]}{TMP_SUFFIX}"
    return f"{folder}/{tmp}" if folder else tmp


def is_temporary(name: str, of: str | None = None) -> bool:
    """Whether file name `name` is a temporary of this module (or an older `<name>.tmp`).

    With `of`, only temporaries of that final file name count.
    """
    name = name.rsplit("/", 1)[-1]
    if not name.endswith(TMP_SUFFIX):
        return False
    if of is None:
        return True
    return name.startswith(f".{of}.") or name == f"{of}{TMP_SUFFIX}"


@contextmanager
def atomic_target(url: str) -> Iterator[str]:
    """Yield a temporary URL to write `url` through; rename it to `url` on success.

    For writers that open their destination themselves (`ShardWriter.write(records, url)`).
    On an exception the temporary file is removed and the final name is left untouched.
    """
    fs, path = fsspec.core.url_to_fs(url)
    parent = path.rpartition("/")[0]
    if parent:
        fs.makedirs(parent, exist_ok=True)
    tmp = temporary_name(path)
    tmp_url = tmp if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(tmp)
    try:
        yield tmp_url
        _commit(fs, tmp, path)
    except BaseException:
        if fs.exists(tmp):
            fs.rm(tmp)
        raise


@contextmanager
def atomic_write(url: str, mode: str = "wb", **open_kwargs: Any) -> Iterator[IO]:
    """Open a temporary file for writing; on a clean exit it replaces `url`.

    `mode` is "wb" or "w" (text, with `encoding` etc. in `open_kwargs`).

    Raises:
        ValueError: `mode` is not a write mode.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode {mode!r}: use 'wb' or 'w'")
    with atomic_target(url) as tmp_url:
        fs, tmp = fsspec.core.url_to_fs(tmp_url)
        with fs.open(tmp, mode, **open_kwargs) as f:
            yield f


def write_bytes_atomic(url: str, data: bytes) -> None:
    """Write `data` to `url` atomically."""
    with atomic_write(url, "wb") as f:
        f.write(data)


def write_text_atomic(url: str, text: str) -> None:
    """Write `text` (UTF-8) to `url` atomically."""
    write_bytes_atomic(url, text.encode("utf-8"))


def write_json_atomic(url: str, payload: Any, indent: int | None = 1) -> None:
    """Write `payload` as UTF-8 JSON (non-ASCII kept, trailing newline) to `url` atomically."""
    write_text_atomic(url, json.dumps(payload, indent=indent, ensure_ascii=False) + "\n")


def _commit(fs, tmp: str, path: str) -> None:
    if isinstance(fs, LocalFileSystem):
        # Data on disk before the name points at it: a power cut leaves the old file or the
        # new one, never a named empty one.
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    else:
        fs.mv(tmp, path)
