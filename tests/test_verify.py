"""`ahnpl-gen verify` trusts neither the manifest nor the shards of a shared dataset: every
problem is listed, one line each, and nothing ends in a traceback (DESIGN §6, §10)."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from conftest import make_coco_subset
from typer.testing import CliRunner

from ahnpl.pipeline.cli import app
from ahnpl.shards import load_manifest, read_shard, verify
from ahnpl.shards.io import ShardFormatError

runner = CliRunner()


def _verify(root: Path):
    return runner.invoke(app, ["verify", str(root)])


def _shard(root: Path, i: int) -> Path:
    return root / load_manifest(str(root)).shards[i].name


def _edit_manifest(root: Path, change) -> None:
    path = root / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.fixture
def copy(demo_dataset, tmp_path) -> Path:
    shutil.copytree(demo_dataset, tmp_path / "copy")
    return tmp_path / "copy"


def test_a_shard_listed_twice_is_a_problem(copy):
    _edit_manifest(copy, lambda m: m["shards"].append(dict(m["shards"][0])))
    result = _verify(copy)
    assert result.exit_code == 1
    assert "data/shard-00000.parquet: listed 2 times in the manifest" in result.stdout


def test_a_shard_name_outside_the_dataset_is_refused_and_never_read(copy, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    # A matching copy outside the dataset: sha256 and size agree, only the name is wrong.
    shutil.copy(_shard(copy, 1), other / "shard-00001.parquet")
    _shard(copy, 1).unlink()
    escape = "../other/shard-00001.parquet"
    for bad in (escape, str(other / "shard-00001.parquet"), "shards/shard-00001.parquet"):
        _edit_manifest(copy, lambda m, bad=bad: m["shards"][1].update(name=bad))
        result = _verify(copy)
        assert result.exit_code == 1
        assert f"{bad!r}" in result.stdout and "not of the form data/shard-NNNNN" in result.stdout


def test_totals_are_recomputed_from_the_entries(copy):
    _edit_manifest(copy, lambda m: m["totals"].update(images=999, captions=1))
    result = _verify(copy)
    assert result.exit_code == 1
    assert (
        "totals.images: manifest says 999, its shard entries and rejects add up to 30"
        in result.stdout
    )
    assert "totals.captions: manifest says 1" in result.stdout


def test_slot_types_must_agree(copy):
    _edit_manifest(copy, lambda m: m.update(negative_types=["relation", "object"]))
    problems = verify(str(copy))
    assert any("the recipe says" in p for p in problems)
    assert any("caption 0 has 5 slots, expected 2" in p for p in problems)


def test_keys_must_be_unique_across_the_dataset(copy):
    from ahnpl.shards import get_writer
    from ahnpl.shards.manifest import count_records, sha256_of

    # Shard 1 rewritten with shard 0's records, its entry fixed to match: only keys repeat.
    records = list(read_shard(str(_shard(copy, 0))))
    target = _shard(copy, 1)
    get_writer("parquet").write(records, str(target))
    digest, size = sha256_of(str(target))
    types = load_manifest(str(copy)).negative_types

    def fix(m):
        m["shards"][1].update(sha256=digest, bytes=size, **count_records(records, types))

    _edit_manifest(copy, fix)
    problems = verify(str(copy))
    assert any(f"key {records[0].key} also in" in p and "shard-00000" in p for p in problems)


@pytest.fixture(scope="module")
def tar_dataset(tmp_path_factory, coco_mini) -> Path:
    from ahnpl.pipeline.build import build
    from ahnpl.pipeline.recipe import load_recipe

    root = tmp_path_factory.mktemp("tars")
    captions = make_coco_subset(coco_mini, root, 6)
    recipe = load_recipe(
        None,
        [f"input.captions={captions}", f"input.images={root / 'images'}"]
        + [f"output.out={root / 'ds'}", "output.format=webdataset", "output.images_per_shard=2"],
    )
    build(recipe, progress=False)
    return root / "ds"


def test_a_truncated_tar_is_listed_with_every_other_problem(tar_dataset, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tar_dataset, copy)
    first, second = _shard(copy, 0), _shard(copy, 1)
    first.write_bytes(first.read_bytes()[:1500])
    data = bytearray(second.read_bytes())
    data[len(data) // 2] ^= 0x01
    second.write_bytes(bytes(data))
    _edit_manifest(copy, lambda m: m["totals"].update(edits=7))
    result = _verify(copy)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a clean exit 1, not a crash
    lines = result.stdout.splitlines()
    assert any(line.startswith("FAIL") and "shard-00000.tar: unreadable" in line for line in lines)
    assert any("shard-00000.tar" in line and "bytes" in line for line in lines)
    assert any("shard-00001.tar: sha256" in line for line in lines)
    assert any("totals.edits" in line for line in lines)


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _meta(key: str) -> bytes:
    meta = {
        "key": key,
        "width": 1,
        "height": 1,
        "source_id": key,
        "captions": ["a"],
        "neg_texts": [[""]],
        "neg_valid": [[False]],
        "edits": [],
    }
    return json.dumps(meta).encode()


def test_a_reused_key_in_a_tar_is_an_error(tmp_path):
    path = tmp_path / "shard-00000.tar"
    members = []
    for key in ("0", "1", "0"):
        members += [(f"{key}.jpg", b"jpeg"), (f"{key}.json", _meta(key))]
    path.write_bytes(_tar(members))
    with pytest.raises(ShardFormatError, match="'0' is used by two samples"):
        list(read_shard(str(path)))


@pytest.mark.parametrize("fmt", ["parquet", "webdataset"])
def test_both_writers_refuse_the_keys_the_reader_refuses(tmp_path, fmt):
    from ahnpl.shards import Record, get_writer

    def record(key):
        return Record(
            key=key,
            image=b"x",
            width=1,
            height=1,
            source_id="s",
            captions=["a"],
            neg_texts=[[""]],
            neg_valid=[[False]],
        )

    writer = get_writer(fmt)
    for key in ("a.b", "../x", "", "a b"):
        with pytest.raises(ValueError, match="record key"):
            writer.write([record(key)], str(tmp_path / f"s{writer.suffix}"))
    with pytest.raises(ValueError, match="used twice"):
        writer.write([record("k"), record("k")], str(tmp_path / f"s{writer.suffix}"))


def test_a_manifest_that_is_not_one_is_a_problem_not_a_traceback(copy):
    for text in ("{not json", json.dumps({"format": "parquet", "shards": "all"})):
        (copy / "manifest.json").write_text(text)
        result = _verify(copy)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
        assert result.stdout.startswith("FAIL manifest.json:")


def test_the_input_statistics_must_be_there_and_be_the_recorded_ones(copy):
    """The negatives were chosen by `corpus_stats.json.gz`; a copy that drops it, or a
    hand-edit of it, leaves a manifest whose recorded statistics sha256 is a lie."""
    import gzip

    stats = copy / "corpus_stats.json.gz"
    assert load_manifest(str(copy)).recipe["negatives"]["stats"] == "input"
    assert _verify(copy).exit_code == 0
    original = stats.read_bytes()
    doc = json.loads(gzip.decompress(original))
    doc["meta"]["captions"] += 1
    stats.write_bytes(gzip.compress(json.dumps(doc).encode()))
    result = _verify(copy)
    assert result.exit_code == 1 and "corpus_stats.json.gz: sha256 differs" in result.output
    stats.unlink()
    result = _verify(copy)
    assert result.exit_code == 1 and "corpus_stats.json.gz: missing" in result.output


@pytest.mark.parametrize("fmt", ["parquet", "webdataset"])
@pytest.mark.parametrize(
    "edit", [("seed", 7), ("negatives.types", ["relation", "object"]), ("edit.edits_per_image", 3)]
)
def test_a_recipe_edited_in_the_manifest_does_not_pass(copy, tar_dataset, tmp_path, fmt, edit):
    """Every shard records the sha256 of the recipe that made it; a manifest whose recipe was
    changed by hand (seed, types, editor) no longer describes its shards."""
    root = copy
    if fmt == "webdataset":
        root = tmp_path / "tars"
        shutil.copytree(tar_dataset, root)
    assert _verify(root).exit_code == 0
    field, value = edit

    def change(m):
        node = m["recipe"]
        *parents, last = field.split(".")
        for part in parents:
            node = node[part]
        node[last] = value

    _edit_manifest(root, change)
    result = _verify(root)
    assert result.exit_code == 1
    named = [line for line in result.output.splitlines() if "made by another recipe" in line]
    assert len(named) == len(load_manifest(str(root)).shards)


def test_fields_that_do_not_change_a_shard_may_differ(copy):
    """Where the files were, how many workers, the limit: not part of a shard's recipe."""

    def change(m):
        m["recipe"]["workers"] = 7
        m["recipe"]["output"]["out"] = "/elsewhere"
        m["recipe"]["input"]["captions"] = "other/captions.json"

    _edit_manifest(copy, change)
    assert _verify(copy).exit_code == 0
