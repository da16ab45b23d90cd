"""One atomic-write helper: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import json
import threading

import fsspec
import pytest

from ahnpl.atomic import atomic_target, atomic_write, is_temporary, write_json_atomic


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "manifest.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(str(target), "w") as f:
            f.write("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_concurrent_writers_use_distinct_temporaries(tmp_path):
    # Two ranks finishing at once used to share `manifest.json.tmp` and could rename each
    # other's half-written file into place.
    target = str(tmp_path / "manifest.json")
    payloads = [{"writer": i, "pad": "x" * 200_000} for i in range(8)]
    threads = [threading.Thread(target=write_json_atomic, args=(target, p)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert json.loads((tmp_path / "manifest.json").read_text()) in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_atomic_target_through_an_fsspec_filesystem():
    url = "memory://atomic-test/data/shard-00000.parquet"
    with atomic_target(url) as tmp_url:
        assert tmp_url.startswith("memory://") and is_temporary(tmp_url, "shard-00000.parquet")
        with fsspec.open(tmp_url, "wb") as f:
            f.write(b"shard bytes")
        fs = fsspec.filesystem("memory")
        assert not fs.exists("/atomic-test/data/shard-00000.parquet")
    with fsspec.open(url, "rb") as f:
        assert f.read() == b"shard bytes"
    assert fs.ls("/atomic-test/data", detail=False) == ["/atomic-test/data/shard-00000.parquet"]


def test_temporary_names_are_recognised():
    assert is_temporary(".shard-00001.parquet.0123456789ab.tmp", "shard-00001.parquet")
    assert is_temporary("shard-00001.parquet.tmp", "shard-00001.parquet")  # older builds
    assert not is_temporary(".shard-00011.parquet.0123456789ab.tmp", "shard-00001.parquet")
    assert not is_temporary("shard-00001.parquet")
