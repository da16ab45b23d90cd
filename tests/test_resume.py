"""A build folder stays one build: re-runs with other options, other inputs, damaged or
partly copied folders, and concurrent builds never leave a dataset whose manifest lies
(DESIGN §7)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import build_command, make_coco_subset
from typer.testing import CliRunner

from ahnpl.pipeline.cli import app
from ahnpl.shards import load_manifest, read_shard, shard_urls, verify

runner = CliRunner()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, coco_mini) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("inputs")
    return make_coco_subset(coco_mini, root, 6), root / "images"


def _build(inputs, out: Path, *extra: str):
    captions, images = inputs
    args = ["build", "--captions", str(captions), "--images", str(images), "--out", str(out)]
    return runner.invoke(app, [*args, "--images-per-shard", "2", "--no-progress", *extra])


def _shards(out: Path) -> dict[str, str]:
    return {s.name: s.sha256 for s in load_manifest(str(out)).shards}


def _offsets(out: Path) -> list[int]:
    urls = shard_urls(str(out), load_manifest(str(out)))
    return sorted(int(r.key) for url in urls for r in read_shard(url, with_edits=False))


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "ds"
    assert _build(inputs, out).exit_code == 0
    return out


def test_a_limited_build_then_a_full_one_loses_no_image(inputs, reference, tmp_path):
    out = tmp_path / "ds"
    assert _build(inputs, out, "--limit", "3").exit_code == 0
    result = _build(inputs, out)
    assert result.exit_code == 0, result.output
    # Shard 1 held offsets [2, 3) and now holds [2, 4): rebuilt, not kept.
    assert _offsets(out) == list(range(6))
    assert load_manifest(str(out)).totals.images == 6
    assert _shards(out) == _shards(reference)
    assert verify(str(out)) == []


def test_a_smaller_rebuild_refuses_and_loses_nothing(inputs, reference, tmp_path):
    """A full build, then `--limit 3` into the same folder: shard 2 (offsets [4, 6)) is past
    the new input. The build refuses (one line, nothing touched) instead of dropping finished
    shards or leaving them unlisted; with --overwrite it makes a dataset that verifies."""
    out = tmp_path / "ds"
    shutil.copytree(reference, out)
    before = {p.name: p.read_bytes() for p in (out / "data").iterdir()}
    result = _build(inputs, out, "--limit", "3")
    assert result.exit_code == 2, result.output
    assert "holds shards past this build's input (_progress/shard-00002.json" in result.output
    assert "--overwrite" in result.output
    assert {p.name: p.read_bytes() for p in (out / "data").iterdir()} == before
    assert verify(str(out)) == []
    result = _build(inputs, out, "--limit", "3", "--overwrite")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "shard-00000.parquet",
        "shard-00001.parquet",
    ]
    assert _offsets(out) == [0, 1, 2] and verify(str(out)) == []


@pytest.mark.parametrize(
    "first, second, named",
    [
        ([], ["--seed", "1"], "seed 0 → 1"),
        ([], ["--images-per-shard", "3"], "output.images_per_shard 2 → 3"),
        ([], ["--types", "relation,object"], "negatives.types"),
        ([], ["--format", "webdataset"], 'output.format "parquet" → "webdataset"'),
    ],
)
def test_a_build_with_other_options_refuses_and_names_them(inputs, tmp_path, first, second, named):
    out = tmp_path / "ds"
    assert _build(inputs, out, *first).exit_code == 0
    before = _shards(out)
    result = _build(inputs, out, *second)
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert "\n" not in message and named in message and "--overwrite" in message
    assert _shards(out) == before and verify(str(out)) == []


def test_overwrite_starts_again_with_nothing_of_the_old_build(inputs, tmp_path):
    out = tmp_path / "ds"
    assert _build(inputs, out).exit_code == 0
    result = _build(inputs, out, "--format", "webdataset", "--overwrite")
    assert result.exit_code == 0, result.output
    assert sorted(p.suffix for p in (out / "data").iterdir()) == [".tar"] * 3
    assert load_manifest(str(out)).format == "webdataset"
    assert verify(str(out)) == []


def test_a_build_of_another_input_refuses(inputs, tmp_path):
    captions, images = inputs
    out = tmp_path / "ds"
    assert _build(inputs, out).exit_code == 0
    # The same images listed in a CSV: another input file, so another fingerprint.
    data = json.loads(captions.read_text())
    names = {i["id"]: i["file_name"] for i in data["images"]}
    lines = ["filepath,title"] + [
        f"{names[a['image_id']]},{a['caption'].strip()}" for a in data["annotations"]
    ]
    csv = tmp_path / "pairs.csv"
    csv.write_text("\n".join(lines) + "\n")
    args = ["build", "--source", "csv", "--captions", str(csv), "--images", str(images)]
    result = runner.invoke(app, [*args, "--out", str(out), "--images-per-shard", "2"])
    assert result.exit_code == 2
    assert "input fingerprint" in result.stderr and 'input.source "coco" → "csv"' in result.stderr


@pytest.mark.parametrize("damage", ["flipped byte", "truncated copy", "deleted"])
def test_a_resumed_build_checks_what_it_keeps(inputs, reference, tmp_path, damage):
    import shutil

    out = tmp_path / "ds"
    shutil.copytree(reference, out)
    shard = out / load_manifest(str(out)).shards[1].name
    data = bytearray(shard.read_bytes())
    if damage == "flipped byte":
        data[len(data) // 2] ^= 0x01
        shard.write_bytes(bytes(data))
    elif damage == "truncated copy":
        shard.write_bytes(bytes(data[: len(data) // 3]))
    else:
        shard.unlink()
    (out / "manifest.json").unlink()
    result = _build(inputs, out)
    assert result.exit_code == 0, result.output
    assert f"{shard.relative_to(out)}: rebuilt" in result.stderr
    assert "built 1, kept 2" in result.stdout
    assert _shards(out) == _shards(reference)


def test_stale_temporary_files_next_to_finished_shards_are_removed(inputs, reference, tmp_path):
    import shutil

    out = tmp_path / "ds"
    shutil.copytree(reference, out)
    name = Path(load_manifest(str(out)).shards[0].name).name
    leftovers = [out / "data" / f".{name}.0123456789ab.tmp", out / "data" / f"{name}.tmp"]
    for path in leftovers:
        path.write_bytes(b"half a shard")
    assert _build(inputs, out).exit_code == 0
    assert not any(p.exists() for p in leftovers)
    assert verify(str(out)) == []


def _lock(out: Path, pid: int, recipe_hash: str = "sha256:other", rank: int = 0, world: int = 1):
    folder = out / "_progress" / "lock"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = "2026-01-01T00:00:00+00:00"
    info = {
        "host": socket.gethostname(),
        "pid": pid,
        "started": stamp,
        "heartbeat": stamp,
        "rank": rank,
        "world": world,
        "recipe_hash": recipe_hash,
    }
    (folder / f"rank-{rank:05d}-of-{world:05d}.json").write_text(json.dumps(info))


@pytest.fixture
def live_pid():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def test_a_second_build_into_a_folder_being_built_fails_fast(inputs, tmp_path, live_pid):
    out = tmp_path / "ds"
    _lock(out, live_pid)
    result = _build(inputs, out, "--seed", "1")
    assert result.exit_code == 2
    assert f"pid {live_pid}" in result.stderr and socket.gethostname() in result.stderr
    assert not (out / "data").exists() and not (out / "manifest.json").exists()


def test_a_stale_lock_is_reported_and_taken_over(inputs, reference, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "ds"
    _lock(out, dead.pid)
    result = _build(inputs, out)
    assert result.exit_code == 0, result.output
    assert "stale lock" in result.stderr and f"pid {dead.pid}" in result.stderr
    assert _shards(out) == _shards(reference)
    assert list((out / "_progress" / "lock").iterdir()) == []


def test_ranks_of_one_build_share_the_lock(inputs, tmp_path, live_pid):
    from ahnpl.pipeline.recipe import load_recipe
    from ahnpl.pipeline.resume import recipe_hash

    captions, images = inputs
    out = tmp_path / "ds"
    recipe = load_recipe(
        None,
        [f"input.captions={captions}", f"input.images={images}", f"output.out={out}"]
        + ["output.images_per_shard=2"],
    )
    _lock(out, live_pid, recipe_hash(recipe), rank=0, world=2)  # rank 0 is still running
    result = _build(inputs, out, "--rank", "1", "--world-size", "2")
    assert result.exit_code == 0, result.output
    assert "rank done: built 1 shard(s)" in result.stdout
    # The same rank twice is refused.
    again = _build(inputs, out, "--rank", "0", "--world-size", "2")
    assert again.exit_code == 2 and "rank 0 of this build" in again.stderr


@pytest.mark.slow
def test_two_builds_started_together_never_mix(inputs, tmp_path):
    captions, images = inputs

    def command(out: Path, seed: int) -> list[str]:
        return build_command(captions, images, out, "--seed", str(seed))

    out = tmp_path / "ds"
    procs = [subprocess.Popen(command(out, seed), stderr=subprocess.PIPE) for seed in (0, 1)]
    outcomes = [(p.wait(), p.stderr.read().decode()) for p in procs]
    winners = [seed for seed, (code, _) in enumerate(outcomes) if code == 0]
    assert len(winners) == 1, outcomes
    loser = outcomes[1 - winners[0]][1]
    assert "is being built by another" in loser or "another recipe" in loser
    manifest = load_manifest(str(out))
    assert manifest.recipe["seed"] == winners[0] and verify(str(out)) == []
    subprocess.run(command(tmp_path / "ref", winners[0]), check=True)
    assert _shards(out) == _shards(tmp_path / "ref")


def test_manifest_keeps_input_paths_as_given(tmp_path, coco_mini):
    import shutil

    shutil.copytree(coco_mini, tmp_path / "coco")
    recipe = tmp_path / "recipes" / "small.yaml"
    recipe.parent.mkdir()
    recipe.write_text(
        "input:\n  captions: ../coco/captions.json\n  images: ../coco/images\n  limit: 2\n"
    )
    out = tmp_path / "ds"
    result = runner.invoke(app, ["build", str(recipe), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    manifest = load_manifest(str(out))
    assert manifest.recipe["input"]["captions"] == "../coco/captions.json"
    assert manifest.recipe["input"]["images"] == "../coco/images"
    assert manifest.input_fingerprint.startswith("sha256:")
    assert str(tmp_path / "coco") not in (out / "manifest.json").read_text()


def test_shards_of_different_model_versions_never_share_a_manifest(inputs, tmp_path):
    out = tmp_path / "ds"
    assert _build(inputs, out).exit_code == 0
    (out / "manifest.json").unlink()
    marker = out / "_progress" / "shard-00001.json"
    data = json.loads(marker.read_text())
    data["versions"]["spacy_model"]["version"] = "0.0.1"  # built before an upgrade
    marker.write_text(json.dumps(data))
    result = _build(inputs, out)
    assert result.exit_code == 2 and "different model versions" in result.stderr
    assert '"version": "0.0.1"' in result.stderr and not (out / "manifest.json").exists()


def test_overwrite_removes_the_shards_of_an_older_layout(inputs, tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    (out / "shard-00000.parquet").write_bytes(b"from a build before data/")
    (out / "notes.txt").write_text("the user's own file")
    refused = _build(inputs, out)
    assert refused.exit_code == 2 and "without build state" in refused.stderr
    assert _build(inputs, out, "--overwrite").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "_progress",
        "corpus_stats.json.gz",
        "data",
        "manifest.json",
        "notes.txt",
        "rejects.parquet",
    ]
    assert verify(str(out)) == []
