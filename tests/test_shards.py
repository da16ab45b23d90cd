"""Shard formats read back what was written; verify catches damaged datasets."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from pydantic import ValidationError

from ahnpl.shards import Edit, Record, get_writer, load_manifest, read_shard, verify
from ahnpl.shards.io import ShardFormatError


def _records(coco_mini, n=3):
    photos = sorted((coco_mini / "images").iterdir())[:n]
    return [
        Record(
            key=f"{i:09d}",
            image=p.read_bytes(),
            width=10,
            height=20,
            source_id=p.stem,
            captions=["A red car on a road.", "A car."],
            neg_texts=[["A red car under a road.", ""], ["", "A bus."]],
            neg_valid=[[True, False], [False, True]],
            edits=[
                Edit(
                    caption=0,
                    slot=0,
                    image=photos[0].read_bytes(),
                    editor="flip",
                    seed=7,
                    score_dir=0.123456789,
                    score_img=None,
                )
            ]
            if i % 2 == 0
            else [],
        )
        for i, p in enumerate(photos)
    ]


@pytest.mark.parametrize("fmt", ["parquet", "webdataset"])
def test_round_trip_both_formats_equal(coco_mini, tmp_path, fmt):
    records = _records(coco_mini)
    writer = get_writer(fmt)
    path = str(tmp_path / f"s{writer.suffix}")
    writer.write(records, path)
    back = list(read_shard(path))
    assert [r.key for r in back] == [r.key for r in records]
    assert back[0].image == records[0].image
    assert back[0].edits[0].image == records[0].edits[0].image
    assert back[0].neg_texts == records[0].neg_texts
    # Scores are float32 in both formats, so a reader sees the same value from either.
    assert back[0].edits[0].score_dir == pytest.approx(0.123456789, rel=1e-6)


def test_formats_read_back_identical(coco_mini, tmp_path):
    records = _records(coco_mini)
    out = {}
    for fmt in ("parquet", "webdataset"):
        writer = get_writer(fmt)
        path = str(tmp_path / f"s{writer.suffix}")
        writer.write(records, path)
        out[fmt] = list(read_shard(path))
    assert out["parquet"] == out["webdataset"]


@pytest.mark.parametrize("fmt", ["parquet", "webdataset"])
def test_writing_twice_gives_same_bytes(coco_mini, tmp_path, fmt):
    writer = get_writer(fmt)
    a, b = tmp_path / f"a{writer.suffix}", tmp_path / f"b{writer.suffix}"
    writer.write(_records(coco_mini), str(a))
    writer.write(_records(coco_mini), str(b))
    assert a.read_bytes() == b.read_bytes()


def test_webdataset_members_are_contiguous_and_named(coco_mini, tmp_path):
    path = tmp_path / "s.tar"
    get_writer("webdataset").write(_records(coco_mini), str(path))
    names = tarfile.open(path).getnames()
    assert names[:3] == ["000000000.edit0.jpg", "000000000.jpg", "000000000.json"]
    keys = [n.split(".")[0] for n in names]
    assert keys == sorted(keys)  # each sample's members are next to each other
    meta = json.loads(tarfile.open(path).extractfile("000000001.json").read())
    assert "image" not in meta and meta["captions"][0] == "A red car on a road."


def test_tar_with_path_traversal_is_refused(tmp_path):
    path = tmp_path / "evil.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in [("../../etc/x.jpg", b"x"), ("../../etc/x.json", b"{}")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ShardFormatError, match="unsafe"):
        list(read_shard(str(path)))


def test_unknown_format_is_a_clear_error():
    with pytest.raises(ValueError, match="parquet"):
        get_writer("csv")
    with pytest.raises(ShardFormatError, match="suffix"):
        list(read_shard("x.zip"))


def test_verify_passes_on_intact_dataset(demo_dataset):
    assert verify(str(demo_dataset)) == []


@pytest.fixture
def damaged(demo_dataset, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(demo_dataset, copy)
    return copy


def test_verify_catches_flipped_byte(damaged):
    shard = damaged / "data" / "shard-00001.parquet"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    problems = verify(str(damaged))
    assert any("shard-00001.parquet" in p and "sha256" in p for p in problems)


def test_verify_catches_truncated_shard(damaged):
    shard = damaged / "data" / "shard-00002.parquet"
    shard.write_bytes(shard.read_bytes()[:1000])
    problems = verify(str(damaged))
    assert any("shard-00002.parquet" in p and "bytes" in p for p in problems)
    assert any("shard-00002.parquet" in p and "unreadable" in p for p in problems)


def test_verify_catches_missing_and_extra_shards(damaged):
    (damaged / "data" / "shard-00000.parquet").rename(damaged / "data" / "shard-00099.parquet")
    problems = verify(str(damaged))
    assert any(p.startswith("data/shard-00000.parquet: missing") for p in problems)
    assert any(p.startswith("data/shard-00099.parquet: extra") for p in problems)


def test_manifest_from_elsewhere_is_validated(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "parquet"}))
    with pytest.raises(ValidationError):
        load_manifest(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no manifest"):
        load_manifest(str(tmp_path / "nothing"))


@pytest.mark.parametrize("fmt", ["parquet", "webdataset"])
def test_reading_without_edits_drops_only_the_edits(coco_mini, tmp_path, fmt):
    records = _records(coco_mini)
    writer = get_writer(fmt)
    path = str(tmp_path / f"s{writer.suffix}")
    writer.write(records, path)
    back = list(read_shard(path, with_edits=False))
    assert all(r.edits == [] for r in back)
    assert [r.captions for r in back] == [r.captions for r in records]
    assert back[0].image == records[0].image
