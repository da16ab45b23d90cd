"""Which process this is and which device it uses: one reading of the launcher's environment.

Shared by the build (one process per GPU, shard i to rank i mod world size; DESIGN §7) and the
trainer (DDP under torchrun; DESIGN §8). torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; SLURM
(`srun`) sets SLURM_PROCID, SLURM_NTASKS and SLURM_LOCALID. torchrun's names win when both are
present (torchrun inside an sbatch job).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the caption stage runs without touching torch
    import torch


def _env_int(env: Mapping[str, str], *names: str, default: int) -> int:
    for name in names:
        value = env.get(name)
        if value not in (None, ""):
            try:
                return int(value)
            except ValueError:
                raise ValueError(f"${name}={value!r}: expected an integer") from None
    return default


def rank_and_world(
    rank: int | None = None, world: int | None = None, env: Mapping[str, str] | None = None
) -> tuple[int, int]:
    """(rank, world size): explicit values, else torchrun's RANK/WORLD_SIZE, else SLURM's.

    Raises:
        ValueError: rank outside [0, world size), or a variable that is not an integer.
    """
    env = os.environ if env is None else env
    if rank is None:
        rank = _env_int(env, "RANK", "SLURM_PROCID", default=0)
    if world is None:
        world = _env_int(env, "WORLD_SIZE", "SLURM_NTASKS", default=1)
    if not 0 <= rank < world:
        raise ValueError(f"rank {rank} is not in [0, world size {world})")
    return rank, world


def local_rank(env: Mapping[str, str] | None = None) -> int:
    """This process's index on its node: LOCAL_RANK (torchrun), else SLURM_LOCALID, else 0."""
    env = os.environ if env is None else env
    return _env_int(env, "LOCAL_RANK", "SLURM_LOCALID", default=0)


def resolve_device(device: str) -> torch.device:
    """The torch device for `device`, one process per GPU.

    `"auto"`: this process's GPU (`cuda:<local rank>`, modulo the GPUs visible) when CUDA is
    available, else the CPU. A bare `"cuda"` in a launched job (LOCAL_RANK or SLURM_LOCALID
    set) is this process's GPU too. Anything else (`"cpu"`, `"cuda:1"`, `"mps"`) as given.
    """
    import torch

    launched = any(k in os.environ for k in ("LOCAL_RANK", "SLURM_LOCALID"))
    if device == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device("cuda", local_rank() % torch.cuda.device_count())
    if device == "cuda" and launched and torch.cuda.is_available():
        return torch.device("cuda", local_rank() % torch.cuda.device_count())
    return torch.device(device)
