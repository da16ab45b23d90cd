"""Distributors (DESIGN §7): local workers, ranks and Ray tasks build the same shard bytes; a
killed Ray task is retried to the same bytes; progress arrives per chunk of images from every
worker; each worker caps its threads."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest
from conftest import make_coco_subset

from ahnpl.config import ConfigError
from ahnpl.pipeline import build as build_module
from ahnpl.pipeline.build import ShardWork, WorkerSetup, build
from ahnpl.pipeline.corpus_stats import STATS_NAME, compute_stats, open_stats
from ahnpl.pipeline.distributors import LocalDistributor, make_distributor
from ahnpl.pipeline.inputs import ShardSpec, open_source
from ahnpl.pipeline.recipe import load_recipe
from ahnpl.shards import load_manifest


def _recipe(captions: Path, images: Path, out: Path, *extra: str):
    return load_recipe(
        None, [f"input.captions={captions}", f"input.images={images}", f"output.out={out}", *extra]
    )


def _shards(out: Path) -> list[tuple[str, str, int]]:
    return [(s.name, s.sha256, s.rows) for s in load_manifest(str(out)).shards]


def test_auto_distributor_is_ranks_under_torchrun_else_local(monkeypatch, tmp_path):
    recipe = load_recipe(None, [f"output.out={tmp_path}"])
    for name in (
        "RANK",
        "WORLD_SIZE",
        "LOCAL_RANK",
        "SLURM_PROCID",
        "SLURM_NTASKS",
        "SLURM_LOCALID",
    ):
        monkeypatch.delenv(name, raising=False)
    assert make_distributor(recipe).name == "local"
    monkeypatch.setenv("SLURM_PROCID", "1")
    monkeypatch.setenv("SLURM_NTASKS", "3")
    ranks = make_distributor(recipe)
    assert ranks.name == "ranks" and [i for i in range(7) if ranks.owns(i)] == [1, 4]
    with pytest.raises(ValueError, match="rank 3 is not in"):
        make_distributor(recipe, rank=3, world=3)
    with pytest.raises(ConfigError, match="'slurm'.*unknown distributor.*valid: local, ranks, ray"):
        load_recipe(None, ["distributor=slurm"])


@pytest.mark.slow
def test_progress_counts_images_from_every_worker(tmp_path, coco_mini, monkeypatch):
    captions = make_coco_subset(coco_mini, tmp_path, 12)
    recipe = _recipe(captions, tmp_path / "images", tmp_path / "out", "negatives.types=[object]")
    tasks = open_source(recipe.input, recipe.seed).plan(4).shards
    (tmp_path / "out" / "_progress").mkdir(parents=True)
    work = ShardWork(recipe.model_dump_json(), str(tmp_path / "out"))
    calls: list[int] = []
    with LocalDistributor(workers=2) as local:
        markers = list(local.map(tasks, work, calls.append))
    assert sorted(m.shard for m in markers) == [0, 1, 2]
    assert calls == [4, 4, 4]  # one message per 4-image shard, sent by the worker processes

    # In one process, progress moves every CHUNK_IMAGES images, not once per shard.
    monkeypatch.setattr(build_module, "CHUNK_IMAGES", 3)
    calls.clear()
    spec = ShardSpec(9, tasks[0].start, tasks[1].stop, tasks[0].parts + tasks[1].parts)
    list(LocalDistributor(workers=1).map([spec], work, calls.append))
    assert calls == [3, 3, 2]


@pytest.mark.slow
def test_worker_processes_count_the_statistics_and_build_the_shards(tmp_path, coco_mini):
    """With workers, this process loads no model: the statistics pass runs on the workers
    too, and its file is the same bytes as a one-process build's (and the same tables as
    `ahnpl-gen stats` over the same captions)."""
    from ahnpl.pipeline import caption_parse

    captions = make_coco_subset(coco_mini, tmp_path, 4)
    extra = ["output.images_per_shard=2", "negatives.types=[object]"]
    images = tmp_path / "images"
    one = build(_recipe(captions, images, tmp_path / "one", *extra), progress=False)
    caption_parse.shared_spacy.cache_clear()
    two = build(_recipe(captions, images, tmp_path / "two", *extra, "workers=2"), progress=False)
    assert caption_parse.shared_spacy.cache_info().currsize == 0  # spaCy loaded in workers only
    assert two.manifest.versions["spacy_model"]["name"].startswith("en_core_web_sm")
    assert two.stats_seconds > 0  # counted, not found
    stats_two = (tmp_path / "two" / STATS_NAME).read_bytes()
    assert stats_two == (tmp_path / "one" / STATS_NAME).read_bytes()
    assert _shards(tmp_path / "two") == _shards(tmp_path / "one")
    assert one.manifest.totals == two.manifest.totals

    texts = [a["caption"].strip() for a in load_json(captions)["annotations"]]
    whole, _ = compute_stats(texts)
    counted = open_stats(str(tmp_path / "two" / STATS_NAME))
    assert counted.meta["captions"] == whole.meta["captions"] == len(texts)
    assert counted.counts == whole.counts


def load_json(path: Path) -> dict:
    import json

    return json.loads(path.read_text())


def _ip2p_recipe_json(editor: str) -> str:
    overrides = [f"edit.editor={editor}"]
    if editor == "instruct-pix2pix":
        overrides.append("edit.options.model=never-loaded")  # the setup loads no editor
    return load_recipe(None, overrides).model_dump_json()


def _thread_settings() -> dict:
    import torch

    return {"omp": os.environ.get("OMP_NUM_THREADS"), "torch": torch.get_num_threads()}


def _torch_importable() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _in_worker(editor: str, fn):
    """`fn()` in one spawned build worker set up as the build sets it up (a failing
    initializer breaks the pool, so this raises instead of waiting)."""
    import ahnpl.pipeline.distributors as d

    setup = WorkerSetup(_ip2p_recipe_json(editor))
    with ProcessPoolExecutor(
        1, mp_context=get_context("spawn"), initializer=d._init_worker, initargs=(setup, 1, None)
    ) as pool:
        return pool.submit(fn).result(timeout=300)


@pytest.mark.slow
def test_a_worker_caps_its_threads_before_torch_loads():
    import ahnpl.pipeline.distributors as d

    assert LocalDistributor(workers=2).threads == max(1, d.available_cores() // 2)
    assert _in_worker("instruct-pix2pix", _thread_settings) == {"omp": "1", "torch": 1}


@pytest.mark.slow
def test_a_caption_only_worker_keeps_torch_out():
    for editor, importable in [("flip", False), ("instruct-pix2pix", True)]:
        assert _in_worker(editor, _torch_importable) is importable, editor


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=80 * 1024**2,
        configure_logging=False,
    )
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_build_equals_one_process_build_and_survives_a_killed_task(
    tmp_path, coco_mini, ray_cluster, monkeypatch
):
    captions = make_coco_subset(coco_mini, tmp_path, 6)
    extra = ["output.images_per_shard=2", "edit.editor=flip"]
    images = tmp_path / "images"
    build(_recipe(captions, images, tmp_path / "one", *extra), progress=False)

    killed = tmp_path / "killed-once"

    class KilledOnce(ShardWork):
        """Shard 1's first attempt dies (os._exit) after its images are processed, before any
        byte is written; the retry must rebuild it to the same bytes."""

        def __call__(self, task, progress=None):
            if task.shard_id == 1 and not killed.exists():
                killed.write_text(str(os.getpid()))
                return ShardWork.__call__(self, task, lambda n: os._exit(1))
            return ShardWork.__call__(self, task, progress)

    monkeypatch.setattr(build_module, "ShardWork", KilledOnce)
    result = build(
        _recipe(captions, images, tmp_path / "ray", *extra, "distributor=ray"), progress=False
    )
    assert killed.exists()  # the crash happened, in a Ray worker process
    assert int(killed.read_text()) != os.getpid()
    assert result.built == 3
    assert _shards(tmp_path / "ray") == _shards(tmp_path / "one")
    one, ray = load_manifest(str(tmp_path / "one")), load_manifest(str(tmp_path / "ray"))
    assert ray.totals == one.totals
    # The statistics were counted by Ray tasks, into the same file a one-process build writes.
    stats = (tmp_path / "ray" / STATS_NAME).read_bytes()
    assert stats == (tmp_path / "one" / STATS_NAME).read_bytes()


@pytest.mark.slow
def test_the_ahnpl_gen_program_builds_captions_without_loading_torch(tmp_path, coco_mini):
    """In its own process, a build that needs no torch (no model editor, no filter) loads
    spaCy without it (1.6 s and 470 MiB less a process, docs/benchmarks.md)."""
    import subprocess
    import sys

    captions = make_coco_subset(coco_mini, tmp_path, 2)
    probe = (
        "import atexit, sys; atexit.register(lambda: print('torch loaded:', "
        "sys.modules.get('torch') is not None)); from ahnpl.pipeline.cli import main; main()"
    )
    cmd = [sys.executable, "-c", probe, "build", "--captions", str(captions)]
    cmd += ["--images", str(tmp_path / "images"), "--out", str(tmp_path / "out")]
    cmd += ["--editor", "flip", "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "torch loaded: False" in done.stdout
    assert load_manifest(str(tmp_path / "out")).totals.images == 2
