"""`ahnpl-gen build`: every input row ends in a shard or in rejects; builds are deterministic and
resume after a crash to the same bytes (DESIGN §6, §7, §10)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import build_command, make_coco_subset

from ahnpl.pipeline.build import build
from ahnpl.pipeline.recipe import load_recipe
from ahnpl.shards import load_manifest, read_shard, shard_urls, verify


def _recipe(captions: Path, images: Path, out: Path, *extra: str):
    return load_recipe(
        None, [f"input.captions={captions}", f"input.images={images}", f"output.out={out}", *extra]
    )


def _hashes(out: Path) -> dict[str, str]:
    return {s.name: s.sha256 for s in load_manifest(str(out)).shards}


def test_demo_dataset_accounts_for_every_image(demo_dataset, coco_mini):
    manifest = load_manifest(str(demo_dataset))
    t = manifest.totals
    assert t.images_in == 30 == t.images + t.images_rejected
    assert t.captions == 150
    records = [r for url in shard_urls(str(demo_dataset), manifest) for r in read_shard(url)]
    assert sorted(r.source_id for r in records) == sorted(
        str(i["id"]) for i in json.loads((coco_mini / "captions.json").read_text())["images"]
    )
    # Every stored negative differs from its caption, and invalid slots are empty.
    for r in records:
        for caption, texts, valid in zip(r.captions, r.neg_texts, r.neg_valid):
            for text, ok in zip(texts, valid):
                assert ok == bool(text)
                assert text != caption
    assert sum(t.valid_negatives.values()) > 150
    assert manifest.negative_types == ["relation", "attribute_swap", "attribute", "object", "verb"]
    # `flip` only edits left/right relation negatives: each edit is such a slot.
    for r in records:
        for e in r.edits:
            assert e.slot == 0 and e.editor == "flip"
            negative = r.neg_texts[e.caption][e.slot].lower()
            assert "left" in negative or "right" in negative


def test_bad_rows_end_in_rejects_and_the_build_goes_on(tmp_path, coco_mini):
    captions = make_coco_subset(coco_mini, tmp_path, 4)
    data = json.loads(captions.read_text())
    first, second, third, _ = data["images"]
    (tmp_path / "images" / second["file_name"]).write_bytes(b"\xff\xd8 broken jpeg")
    (tmp_path / "images" / third["file_name"]).unlink()
    # First image: only blank captions. Plus a caption naming no image, and a duplicate id.
    for ann in data["annotations"]:
        if ann["image_id"] == first["id"]:
            ann["caption"] = "   "
    data["annotations"].append({"id": 999, "image_id": 424242, "caption": "A lost caption."})
    data["images"].append(dict(first))
    captions.write_text(json.dumps(data))

    out = tmp_path / "out"
    result = build(_recipe(captions, tmp_path / "images", out), progress=False)
    t = result.manifest.totals
    assert t.images == 1
    assert t.images_in == 5 == t.images + t.images_rejected
    rejects = pq.read_table(out / "rejects.parquet").to_pylist()
    reasons = {(r["source_id"], r["reason"]) for r in rejects}
    assert (str(first["id"]), "no_usable_caption") in reasons
    assert (str(second["id"]), "unreadable_image") in reasons
    assert (str(third["id"]), "missing_image") in reasons
    assert ("424242", "caption_for_unknown_image") in reasons
    assert (str(first["id"]), "duplicate_image_id") in reasons
    assert all(r["detail"] for r in rejects)
    assert verify(str(out)) == []


def test_caption_with_nothing_to_swap_stays_with_invalid_slots(tmp_path, coco_mini):
    captions = make_coco_subset(coco_mini, tmp_path, 1)
    data = json.loads(captions.read_text())
    for ann in data["annotations"]:
        ann["caption"] = "Hello."
    captions.write_text(json.dumps(data))
    result = build(_recipe(captions, tmp_path / "images", tmp_path / "out"), progress=False)
    assert result.manifest.totals.captions == 5
    assert result.manifest.totals.captions_without_negative == 5


@pytest.mark.parametrize("fmt", ["parquet", "webdataset"])
def test_build_twice_gives_identical_bytes(tmp_path, coco_mini, fmt):
    captions = make_coco_subset(coco_mini, tmp_path, 6)
    extra = [f"output.format={fmt}", "output.images_per_shard=2", "edit.editor=flip"]
    a = build(_recipe(captions, tmp_path / "images", tmp_path / "a", *extra), progress=False)
    b = build(_recipe(captions, tmp_path / "images", tmp_path / "b", *extra), progress=False)
    assert a.manifest.shards == b.manifest.shards
    assert verify(str(tmp_path / "a")) == []


def test_resume_skips_done_shards_and_rebuilds_partial_ones(tmp_path, coco_mini):
    captions = make_coco_subset(coco_mini, tmp_path, 6)
    out = tmp_path / "out"
    recipe = _recipe(captions, tmp_path / "images", out, "output.images_per_shard=2")
    first = build(recipe, progress=False)
    reference = _hashes(out)
    # Simulate a crash in shard 1: marker gone, half-written temp file and truncated shard left.
    (out / "_progress" / "shard-00001.json").unlink()
    (out / "data" / "shard-00001.parquet").write_bytes(b"partial")
    (out / "data" / "shard-00001.parquet.tmp").write_bytes(b"partial")
    (out / "manifest.json").unlink()
    again = build(recipe, progress=False)
    assert (first.built, again.built, again.skipped) == (3, 1, 2)
    assert _hashes(out) == reference
    assert not (out / "data" / "shard-00001.parquet.tmp").exists()


def test_two_ranks_make_the_same_dataset_as_one(tmp_path, coco_mini):
    captions = make_coco_subset(coco_mini, tmp_path, 6)
    extra = ["output.images_per_shard=2"]
    one = build(_recipe(captions, tmp_path / "images", tmp_path / "one", *extra), progress=False)
    ranked = _recipe(captions, tmp_path / "images", tmp_path / "two", *extra)
    r0 = build(ranked, rank=0, world=2, progress=False)
    assert r0.manifest is None  # rank 1's shard is not there yet
    r1 = build(ranked, rank=1, world=2, progress=False)
    assert (r0.built, r1.built) == (2, 1)
    assert r1.manifest.shards == one.manifest.shards
    assert r1.manifest.totals == one.manifest.totals


def _start_and_kill(cmd: list[str], out: Path, markers: int) -> None:
    """Run `cmd`, SIGKILL it once `markers` shards of `out` are marked done."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        done = list((out / "_progress").glob("*.json")) if (out / "_progress").exists() else []
        if len(done) >= markers:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("world", [1, 2])
def test_killed_build_resumes_to_identical_bytes(tmp_path, coco_mini, world):
    captions = make_coco_subset(coco_mini, tmp_path, 12)
    ref = tmp_path / "ref"
    build(_recipe(captions, tmp_path / "images", ref, "output.images_per_shard=1"), progress=False)

    out = tmp_path / "killed"
    base = build_command(captions, tmp_path / "images", out, "--world-size", str(world))
    # Rank 0 is killed mid-build; with two ranks, rank 1 runs to the end meanwhile.
    _start_and_kill(base + ["--rank", "0"], out, markers=3)
    assert not (out / "manifest.json").exists()
    for rank in range(world):
        subprocess.run(
            base + ["--rank", str(rank)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    assert _hashes(out) == _hashes(ref)
    keys = [r.key for url in shard_urls(str(out), load_manifest(str(out))) for r in read_shard(url)]
    assert len(keys) == len(set(keys)) == 12
    assert verify(str(out)) == []


@pytest.mark.slow
def test_two_worker_processes_match_one(tmp_path, coco_mini):
    captions = make_coco_subset(coco_mini, tmp_path, 6)
    extra = ["output.images_per_shard=2"]
    one = build(_recipe(captions, tmp_path / "images", tmp_path / "one", *extra), progress=False)
    two = build(
        _recipe(captions, tmp_path / "images", tmp_path / "two", *extra, "workers=2"),
        progress=False,
    )
    assert two.manifest.shards == one.manifest.shards


def test_flip_edits_are_mirrored_images_of_left_right_negatives(tmp_path, coco_mini):
    import io

    from PIL import Image, ImageChops, ImageOps

    captions = make_coco_subset(coco_mini, tmp_path, 2)
    data = json.loads(captions.read_text())
    # Bundled COCO captions hardly ever say left or right; give one image such captions.
    first = data["images"][0]["id"]
    for ann in data["annotations"]:
        if ann["image_id"] == first:
            ann["caption"] = "A small dog to the left of a red chair."
    captions.write_text(json.dumps(data))
    out = tmp_path / "out"
    build(_recipe(captions, tmp_path / "images", out, "edit.editor=flip"), progress=False)
    records = {
        r.source_id: r
        for url in shard_urls(str(out), load_manifest(str(out)))
        for r in read_shard(url)
    }
    with_edits = [r for r in records.values() if r.edits]
    assert [r.source_id for r in with_edits] == [str(first)]
    record = with_edits[0]
    assert len(record.edits) == 1  # edits_per_image budget
    edit = record.edits[0]
    assert "right" in record.neg_texts[edit.caption][edit.slot]
    original = Image.open(io.BytesIO(record.image)).convert("L")
    edited = Image.open(io.BytesIO(edit.image)).convert("L")
    assert edited.size == original.size
    # JPEG re-encoding blurs a little; a mirrored image is close, an unflipped one is not.
    diff = np.asarray(ImageChops.difference(edited, ImageOps.mirror(original)), dtype=float)
    unflipped = np.asarray(ImageChops.difference(edited, original), dtype=float)
    assert diff.mean() < 3 < unflipped.mean()


def test_out_can_be_an_fsspec_url(tmp_path, coco_mini):
    captions = make_coco_subset(coco_mini, tmp_path, 3)
    url = f"file://{tmp_path / 'remote'}"
    result = build(_recipe(captions, tmp_path / "images", url), progress=False)
    assert result.manifest.totals.images == 3
    assert verify(url) == []
    assert (tmp_path / "remote" / "manifest.json").exists()


def test_odd_captions_are_kept_or_rejected_with_a_reason(tmp_path, coco_mini):
    captions = make_coco_subset(coco_mini, tmp_path, 1)
    data = json.loads(captions.read_text())
    odd = [
        "",
        " \t ",
        "A dog on a red sofa " * 60,  # far beyond CLIP's 77 tokens
        "一只狗坐在红色的沙发上。",
        "Un perro marrón sobre un sofá rojo.",
    ]
    for ann, text in zip(data["annotations"], odd):
        ann["caption"] = text
    captions.write_text(json.dumps(data))
    out = tmp_path / "out"
    result = build(_recipe(captions, tmp_path / "images", out), progress=False)
    assert result.manifest.totals.captions == 3
    rejects = pq.read_table(out / "rejects.parquet").to_pylist()
    assert [r["reason"] for r in rejects] == ["empty_caption", "empty_caption"]
    [record] = [r for url in shard_urls(str(out), result.manifest) for r in read_shard(url)]
    assert record.captions[0].startswith("A dog on a red sofa")
    assert record.captions[1] == "一只狗坐在红色的沙发上。"
    for caption, texts in zip(record.captions, record.neg_texts):
        assert all(text != caption for text in texts)


def test_shapes_source_and_render_editor_through_the_cli(tmp_path):
    from typer.testing import CliRunner

    from ahnpl.pipeline.cli import app

    out = tmp_path / "shapes"
    result = CliRunner().invoke(
        app,
        [
            "build",
            "--source",
            "shapes",
            "--count",
            "12",
            "--split",
            "test",
            "--editor",
            "render",
            "--edits-per-image",
            "2",
            "--out",
            str(out),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = load_manifest(str(out))
    assert manifest.totals.images == 12
    assert 0 < manifest.totals.edits <= 24
    assert manifest.recipe["input"]["split"] == "test"
    assert verify(str(out)) == []
