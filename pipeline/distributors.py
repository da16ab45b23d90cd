"""Distributors: which shards this process builds, and where each task runs (DESIGN §7).

- `local`: every shard, on `workers` processes of this machine (1 = in this process);
- `ranks`: shard i when i mod world size == rank (torchrun / SLURM environment), on the rank's
  local processes;
- `ray`: every shard, each one a Ray task (CPUs for the caption stage, `num_gpus` when the
  editor is a model), a failed task retried.

A distributor maps a picklable `work(task, progress)` over tasks (the build's tasks are
`ShardSpec`s: a shard id, its offsets and where the source finds them, never the rows) and
yields the results as they finish. One distributor serves the whole build: its worker
processes start once and run first the corpus-statistics pass, then the shards, so each
worker imports and loads spaCy once (`setup`, run at a worker's start). The work objects
(`ahnpl.pipeline.build.ShardWork`, `StatsWork`) keep their builder and opened input per
process. Every distributor returns the same bytes, because a shard's content is a function
of the recipe and its items only (tested: local, two ranks, two workers, Ray).

Progress is counted in images: workers report each finished chunk of images through a queue,
and the caller's bar advances as they arrive (Ray reports at the end of each task).

Thread caps: N worker processes on C cores each get C // N torch / OpenMP / MKL threads
(at least 1); without the cap every worker starts C threads and they fight for the cores.

This module imports nothing of the pipeline (the build imports it), so it has no cycle.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from itertools import islice
from multiprocessing import get_context
from typing import Any, Protocol

from ahnpl.devices import rank_and_world
from ahnpl.registry import Registry

Progress = Callable[[int], None]
# work(task, progress) -> result; picklable, so it can travel to a worker with its task.
Work = Callable[[Any, Progress | None], Any]
# setup() runs in each worker process before its first task (load models, say); idempotent.
Setup = Callable[[], None]
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
    torch = sys.modules.get("torch")  # None once `keep_torch_out` ran
    if torch is not None:
        torch.set_num_threads(threads)


def needs_torch(recipe) -> bool:
    """Whether building a shard of `recipe` imports torch: a model editor or the CLIP filter."""
    editor = recipe.edit.editor
    return editor not in TORCH_FREE_EDITORS or recipe.edit.filter is not None


def keep_torch_out() -> None:
    """Make `import torch` fail in this process, unless torch is already loaded.

    spaCy's thinc imports torch whenever it is installed, only to offer it as a backend the
    parser does not use here, and it is most of a process's start (measured on the 2-core
    development machine: importing spaCy and loading the model took 4.5 s and 636 MiB with
    torch, 2.9 s and 167 MiB without). thinc falls back to numpy when the import fails.
    Called only in build worker processes and in the `ahnpl-gen` program, when the recipe
    does not `needs_torch`; never in a process that called the build as a library.
    """
    sys.modules.setdefault("torch", None)


class Distributor(Protocol):
    """Runs tasks; the build asks it which shards are this process's to build.

    Use it as a context manager: worker processes, once started, serve every `map` call
    until the `with` block ends.
    """

    name: str

    def owns(self, shard_id: int) -> bool: ...

    def map(self, tasks: Iterable[Sized], work: Work, progress: Progress) -> Iterator[Any]:
        """`work(task, progress)` for every task; yields the results as they finish (any
        order); raises the first failure, after stopping the other tasks."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Distributor: ...

    def __exit__(self, *exc) -> None: ...


class LocalDistributor:
    """Tasks on `workers` local processes (spawned, started at the first `map` with more
    than one task, kept until `close`), or in this process when `workers == 1`."""

    name = "local"

    def __init__(self, workers: int = 1, threads: int | None = None, setup: Setup | None = None):
        if workers < 1:
            raise ValueError(f"workers={workers}: must be >= 1")
        self.workers = workers
        self.threads = threads or max(1, available_cores() // workers)
        self.setup = setup
        self._pool: ProcessPoolExecutor | None = None
        self._messages = None

    def owns(self, shard_id: int) -> bool:
        return True

    def map(self, tasks: Iterable[Sized], work: Work, progress: Progress) -> Iterator[Any]:
        tasks = list(tasks)  # task specs, never rows: small
        if self._pool is None and (self.workers == 1 or len(tasks) <= 1):
            for task in tasks:
                yield work(task, progress)
            return
        pool = self._start(len(tasks))
        try:
            yield from _run_bounded(pool, tasks, work, self.workers, self._messages, progress)
        except BaseException:
            self.close(cancel=True)
            raise

    def _start(self, tasks: int) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = get_context("spawn")
            self._messages = ctx.Queue()
            self._pool = ProcessPoolExecutor(
                max_workers=min(self.workers, tasks),  # no idle process for fewer tasks
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(self.setup, self.threads, self._messages),
            )
        return self._pool

    def close(self, cancel: bool = False) -> None:
        """Stop the worker processes: after their tasks, or at once when `cancel` (Ctrl-C, a
        failed task: rather than run the queued tasks first)."""
        if self._pool is not None:
            if cancel:
                for process in list(getattr(self._pool, "_processes", {}).values()):
                    process.terminate()
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            self._pool = None

    def __enter__(self) -> LocalDistributor:
        return self

    def __exit__(self, *exc) -> None:
        self.close(cancel=exc[0] is not None)


def _run_bounded(pool, tasks: list, work: Work, workers: int, messages, progress):
    """Keep 2 tasks per worker in flight (inputs stream), feed `progress` from the queue,
    yield each result as its task finishes."""
    tasks = iter(tasks)
    pending: set[Future] = set()
    for task in islice(tasks, 2 * workers):
        pending.add(pool.submit(_run_in_worker, work, task))
    while pending:
        done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        _drain(messages, progress)
        for future in done:
            result = future.result()  # a failed task raises here; finished shards stay done
            for task in islice(tasks, 1):
                pending.add(pool.submit(_run_in_worker, work, task))
            yield result
    _drain(messages, progress)


def _drain(messages, progress: Progress) -> None:
    while True:
        try:
            progress(messages.get_nowait())
        except queue.Empty:
            return


_MESSAGES = None


def _init_worker(setup: Setup | None, threads: int, messages) -> None:
    global _MESSAGES
    # Ctrl-C reaches every process of the terminal's group; the parent decides and stops
    # the workers, so they do not each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cap_threads(threads)
    _MESSAGES = messages
    if setup is not None:
        setup()  # load models now, in parallel with the other workers


def _run_in_worker(work: Work, task):
    return work(task, _MESSAGES.put)


class RanksDistributor(LocalDistributor):
    """Shard i belongs to rank i mod world size (torchrun / SLURM); each rank has local workers.

    Ranks share nothing but the output folder: whichever rank finds every shard done writes the
    manifest.
    """

    name = "ranks"

    def __init__(
        self,
        rank: int | None = None,
        world: int | None = None,
        workers: int = 1,
        setup: Setup | None = None,
    ):
        super().__init__(workers, setup=setup)
        self.rank, self.world = rank_and_world(rank, world)

    def owns(self, shard_id: int) -> bool:
        return shard_id % self.world == self.rank


class RayDistributor:
    """Each task a Ray task on a Ray cluster (`ray.init(address)`; a local one if none).

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
        setup: Setup | None = None,
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
        self.setup = setup

    def owns(self, shard_id: int) -> bool:
        return True

    def map(self, tasks: Iterable[Sized], work: Work, progress: Progress) -> Iterator[Any]:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        remote = ray.remote(_ray_task).options(**self.options)
        limit = self.max_in_flight or max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        threads = max(1, int(self.options["num_cpus"]))
        tasks = iter(tasks)
        args = (self.setup, threads, work)
        pending = {remote.remote(*args, t): len(t) for t in islice(tasks, limit)}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                result = ray.get(ref)  # raises once the task's retries are spent
                progress(pending.pop(ref))
                for task in islice(tasks, 1):
                    pending[remote.remote(*args, task)] = len(task)
                yield result

    def close(self) -> None:
        pass  # the Ray cluster outlives the build

    def __enter__(self) -> RayDistributor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _ray_task(setup: Setup | None, threads: int, work: Work, task):
    cap_threads(threads)
    if setup is not None:
        setup()  # Ray reuses its worker processes: setup is idempotent (models load once)
    return work(task, None)


DISTRIBUTORS: Registry[Callable[..., Distributor]] = Registry("distributor")


@DISTRIBUTORS.register("local")
def _local(recipe, rank: int | None, world: int | None, setup: Setup | None) -> Distributor:
    return LocalDistributor(recipe.workers, setup=setup)


@DISTRIBUTORS.register("ranks")
def _ranks(recipe, rank: int | None, world: int | None, setup: Setup | None) -> Distributor:
    return RanksDistributor(rank, world, recipe.workers, setup)


@DISTRIBUTORS.register("ray")
def _ray(recipe, rank: int | None, world: int | None, setup: Setup | None) -> Distributor:
    cfg = recipe.ray
    gpus = cfg.num_gpus
    if gpus is None:
        gpus = 1 if recipe.edit.editor in GPU_EDITORS else 0
    return RayDistributor(cfg.address, cfg.num_cpus, gpus, cfg.max_retries, setup=setup)


def make_distributor(
    recipe, rank: int | None = None, world: int | None = None, setup: Setup | None = None
) -> Distributor:
    """The distributor the recipe names (`distributor`, `workers`, `ray` section); `setup()`
    runs once in each worker process it starts.

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
    return DISTRIBUTORS.get(name)(recipe, rank, world, setup)
