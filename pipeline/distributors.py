"""Distributors: which shards this process builds, and where each one runs (DESIGN §7).

- `local`: every shard, on `workers` processes of this machine (1 = in this process);
- `ranks`: shard i when i mod world size == rank (torchrun / SLURM environment), on the rank's
  local processes;
- `ray`: every shard, each one a Ray task (CPUs for the caption stage, `num_gpus` when the
  editor is a model), a failed task retried.

The unit of work is a `ShardSpec` (a shard id, its offsets and where the source finds them:
small, never the rows). `ShardWork` builds one shard in whatever process runs it: it holds
only the recipe (as JSON), the output URL and the build's identity, and keeps one
`ShardBuilder` and one opened input source per process, so spaCy, any editor model and the
input open once per worker, not once per shard. Every distributor returns the same shard
bytes, because a shard's content is a function of the recipe and its items only (tested:
local, two ranks, two workers, Ray).

Progress is counted in images: workers report each finished chunk of images through a queue,
and the caller's bar advances as they arrive (Ray reports at the end of each shard).

Thread caps: N worker processes on C cores each get C // N torch / OpenMP / MKL threads
(at least 1); without the cap every worker starts C threads and they fight for the cores.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from itertools import islice
from multiprocessing import get_context
from typing import Any, Protocol

from ahnpl.devices import rank_and_world
from ahnpl.registry import Registry

from .inputs import ShardSpec

Progress = Callable[[int], None]
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# Editors whose Ray tasks ask for a GPU (the others are pixel operations or none).
GPU_EDITORS = ("instruct-pix2pix", "img2img")
# Editors that never import torch: their workers can keep torch out (see `keep_torch_out`).
TORCH_FREE_EDITORS = ("none", "flip", "render")


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cap_threads(threads: int) -> None:
    """Limit torch, OpenMP, MKL and OpenBLAS to `threads` threads in this process.

    The environment variables act on libraries imported later (torch reads OMP_NUM_THREADS
    when it loads); `torch.set_num_threads` acts on a torch already loaded.
    """
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def needs_torch(recipe) -> bool:
    """Whether building a shard of `recipe` imports torch: a model editor or the CLIP filter."""
    editor = recipe.edit.editor
    return editor not in TORCH_FREE_EDITORS or recipe.edit.filter is not None


def keep_torch_out() -> None:
    """Make `import torch` fail in this process, unless torch is already loaded.

    spaCy's thinc imports torch whenever it is installed, only to offer it as a backend the
    parser does not use here; in a worker that is most of its start (measured on the 2-core
    development machine under load: 32 s and 650 MB for spaCy + model with torch, 11.5 s and
    135 MB without). thinc falls back to numpy when the import fails. Called only in worker
    processes whose recipe `needs_torch` is false, never in the user's process.
    """
    sys.modules.setdefault("torch", None)


_BUILDERS: dict[tuple[str, str, str, str | None], Any] = {}
_SOURCES: dict[str, Any] = {}


class ShardWork:
    """Build one shard; picklable (the recipe travels as JSON), one builder per process.

    `work(spec, progress)` reads the shard's items from the source (opened once per process),
    writes the shard and its marker and returns the `ShardMarker` (see
    `ahnpl.pipeline.build.ShardBuilder`).
    """

    def __init__(
        self,
        recipe_json: str,
        out: str,
        identity: dict | None = None,
        stats: str | None = None,
    ):
        self.recipe_json = recipe_json
        self.out = out
        self.identity = identity  # recipe hash, input fingerprint, statistics_sha256
        self.stats = stats  # the corpus statistics file fixed for the build (None: bundled)

    def builder(self):
        key = (self.recipe_json, self.out, json.dumps(self.identity, sort_keys=True), self.stats)
        if key not in _BUILDERS:
            from .build import ShardBuilder
            from .recipe import Recipe

            recipe = Recipe.model_validate_json(self.recipe_json)
            _BUILDERS[key] = ShardBuilder(recipe, self.out, self.identity, self.stats)
        return _BUILDERS[key]

    def source(self):
        if self.recipe_json not in _SOURCES:
            from .inputs import open_source

            recipe = self.builder().recipe
            _SOURCES[self.recipe_json] = open_source(recipe.input, recipe.seed)
        return _SOURCES[self.recipe_json]

    def __call__(self, spec: ShardSpec, progress: Progress | None = None):
        items = list(self.source().read(spec))
        return self.builder()(spec.shard_id, items, progress=progress)


class Distributor(Protocol):
    """Runs shard tasks; the build asks it which shards are this process's to build."""

    name: str

    def owns(self, shard_id: int) -> bool: ...

    def run(self, tasks: Iterable[ShardSpec], work: ShardWork, progress: Progress) -> None:
        """Build every task (in any order); raise the first failure once nothing else runs."""
        ...


class LocalDistributor:
    """Shards on `workers` local processes (spawned), or in this process when `workers == 1`."""

    name = "local"

    def __init__(self, workers: int = 1, threads: int | None = None):
        if workers < 1:
            raise ValueError(f"workers={workers}: must be >= 1")
        self.workers = workers
        self.threads = threads or max(1, available_cores() // workers)

    def owns(self, shard_id: int) -> bool:
        return True

    def run(self, tasks: Iterable[ShardSpec], work: ShardWork, progress: Progress) -> None:
        tasks = iter(tasks)
        first = list(islice(tasks, self.workers))
        if self.workers == 1 or len(first) <= 1:
            for task in [*first, *tasks]:
                work(task, progress)
            return
        ctx = get_context("spawn")
        messages = ctx.Queue()
        with ProcessPoolExecutor(
            max_workers=len(first),  # no idle process for a build of fewer shards
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(work, self.threads, messages),
        ) as pool:
            try:
                _run_bounded(pool, [*first, *tasks], self.workers, messages, progress)
            except BaseException:
                # Ctrl-C or a failed shard: stop now rather than build the queued shards first.
                for process in list(getattr(pool, "_processes", {}).values()):
                    process.terminate()
                pool.shutdown(wait=True, cancel_futures=True)
                raise


def _run_bounded(pool, tasks: Iterable[ShardSpec], workers: int, messages, progress) -> None:
    """Keep 2 tasks per worker in flight (inputs stream), feed `progress` from the queue."""
    tasks = iter(tasks)
    pending: set[Future] = set()
    for task in islice(tasks, 2 * workers):
        pending.add(pool.submit(_run_in_worker, task))
    while pending:
        done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        _drain(messages, progress)
        for future in done:
            future.result()  # a failed shard raises here; finished shards stay done
            for task in islice(tasks, 1):
                pending.add(pool.submit(_run_in_worker, task))
    _drain(messages, progress)


def _drain(messages, progress: Progress) -> None:
    while True:
        try:
            progress(messages.get_nowait())
        except queue.Empty:
            return


_WORK: ShardWork | None = None
_MESSAGES = None


def _init_worker(work: ShardWork, threads: int, messages) -> None:
    global _WORK, _MESSAGES
    # Ctrl-C reaches every process of the terminal's group; the parent decides and stops
    # the workers, so they do not each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cap_threads(threads)
    _WORK, _MESSAGES = work, messages
    builder = work.builder()
    if not needs_torch(builder.recipe):
        keep_torch_out()
    _ = builder.negatives  # load spaCy now, in parallel with the other workers


def _run_in_worker(task: ShardSpec):
    return _WORK(task, _MESSAGES.put)


class RanksDistributor(LocalDistributor):
    """Shard i belongs to rank i mod world size (torchrun / SLURM); each rank has local workers.

    Ranks share nothing but the output folder: whichever rank finds every shard done writes the
    manifest.
    """

    name = "ranks"

    def __init__(self, rank: int | None = None, world: int | None = None, workers: int = 1):
        super().__init__(workers)
        self.rank, self.world = rank_and_world(rank, world)

    def owns(self, shard_id: int) -> bool:
        return shard_id % self.world == self.rank


class RayDistributor:
    """Each shard a Ray task on a Ray cluster (`ray.init(address)`; a local one if none).

    Tasks ask for `num_cpus` CPUs, plus `num_gpus` GPUs when the editor is a model; a task
    that fails (an exception, or its worker process dying) is retried up to `max_retries`
    times and rebuilds its shard from nothing, so the result is the same manifest. The output
    folder must be one every node can write (a shared file system or an fsspec URL).

    Raises:
        RuntimeError: Ray is not installed (`pip install 'ahnpl[ray]'`).
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_cpus: float = 1,
        num_gpus: float = 0,
        max_retries: int = 3,
        max_in_flight: int | None = None,
    ):
        try:
            import ray  # noqa: F401
        except ImportError as e:
            raise RuntimeError("distributor 'ray' needs Ray: `pip install 'ahnpl[ray]'`") from e
        self.address = address
        self.options = {
            "num_cpus": num_cpus,
            "num_gpus": num_gpus,
            "max_retries": max_retries,
            "retry_exceptions": True,
        }
        self.max_in_flight = max_in_flight

    def owns(self, shard_id: int) -> bool:
        return True

    def run(self, tasks: Iterable[ShardSpec], work: ShardWork, progress: Progress) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        remote = ray.remote(_ray_task).options(**self.options)
        limit = self.max_in_flight or max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        threads = max(1, int(self.options["num_cpus"]))
        tasks = iter(tasks)
        pending = {remote.remote(work, t, threads): len(t) for t in islice(tasks, limit)}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                ray.get(ref)  # raises once the task's retries are spent
                progress(pending.pop(ref))
                for task in islice(tasks, 1):
                    pending[remote.remote(work, task, threads)] = len(task)


def _ray_task(work: ShardWork, task: ShardSpec, threads: int):
    cap_threads(threads)
    return work(task)


DISTRIBUTORS: Registry[Callable[..., Distributor]] = Registry("distributor")


@DISTRIBUTORS.register("local")
def _local(recipe, rank: int | None, world: int | None) -> Distributor:
    return LocalDistributor(recipe.workers)


@DISTRIBUTORS.register("ranks")
def _ranks(recipe, rank: int | None, world: int | None) -> Distributor:
    return RanksDistributor(rank, world, recipe.workers)


@DISTRIBUTORS.register("ray")
def _ray(recipe, rank: int | None, world: int | None) -> Distributor:
    cfg = recipe.ray
    gpus = cfg.num_gpus
    if gpus is None:
        gpus = 1 if recipe.edit.editor in GPU_EDITORS else 0
    return RayDistributor(cfg.address, cfg.num_cpus, gpus, cfg.max_retries)


def make_distributor(recipe, rank: int | None = None, world: int | None = None) -> Distributor:
    """The distributor the recipe names (`distributor`, `workers`, `ray` section).

    "auto" = `ranks` when a rank or world size is given, or set by torchrun / SLURM, else
    `local`.

    Raises:
        ahnpl.registry.UnknownName: unknown name (a ValueError; the message lists the names).
        ValueError: a rank outside the world.
        RuntimeError: `ray` without Ray installed.
    """
    name = recipe.distributor
    if name == "auto":
        _, world_size = rank_and_world(rank, world)
        name = "ranks" if rank is not None or world_size > 1 else "local"
    return DISTRIBUTORS.get(name)(recipe, rank, world)
