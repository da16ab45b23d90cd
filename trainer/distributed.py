"""Process group set-up for torchrun and SLURM, and the collectives the losses need (DESIGN §8).

The losses are written once for any world size through `World`: `gather` concatenates a tensor
from every rank with gradients flowing back to the rank that produced each row; `sum` and `max`
reduce statistics without gradients (margins, normalisers). With one process every method is
the identity, so the single-process loss is the same code path.

Gradient equivalence: each rank computes a *local* loss (its own rows against the gathered
columns), scaled by `world_size / global_count`; DDP averages gradients over ranks, and the
backward of `gather` sums the contributions of every rank, so the update equals one process on
the concatenated batch (tested in tests/test_trainer_ddp.py).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ahnpl.devices import local_rank, rank_and_world


@dataclass(frozen=True)
class World:
    """Rank and size of the process group (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate `x` [n, ...] from all ranks along dim 0, with gradients.

        Every rank must pass the same shape. Bool tensors travel as uint8 (gloo has no bool).
        """
        if self.world_size == 1:
            return x
        if x.dtype == torch.bool:
            parts = [torch.empty_like(x, dtype=torch.uint8) for _ in range(self.world_size)]
            dist.all_gather(parts, x.to(torch.uint8).contiguous())
            return torch.cat(parts).bool()
        import torch.distributed.nn.functional as dnn

        with warnings.catch_warnings():
            # Deprecated in favour of a private API that lacks gloo/CPU autograd support.
            warnings.simplefilter("ignore", FutureWarning)
            return torch.cat(dnn.all_gather(x), dim=0)

    def sum(self, x: torch.Tensor) -> torch.Tensor:
        """Sum of `x` over ranks, detached (statistics and normalisers, never gradients)."""
        x = x.detach().clone()
        if self.world_size > 1:
            dist.all_reduce(x, op=dist.ReduceOp.SUM)
        return x

    def max(self, x: torch.Tensor) -> torch.Tensor:
        """Element-wise max of `x` over ranks, detached."""
        x = x.detach().clone()
        if self.world_size > 1:
            dist.all_reduce(x, op=dist.ReduceOp.MAX)
        return x

    def barrier(self) -> None:
        """Wait until every rank gets here."""
        if self.world_size > 1:
            dist.barrier()

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of `x` over ranks, detached (for logging)."""
        return self.sum(x) / self.world_size


SINGLE = World()


def init_distributed(device: str) -> World:
    """Join the process group when launched by torchrun or SLURM, else a 1-process World.

    Rank and world size come from `ahnpl.devices.rank_and_world` (torchrun's RANK/WORLD_SIZE,
    else SLURM's SLURM_PROCID/SLURM_NTASKS), the same reading the build uses. The rendezvous is
    `env://`: torchrun sets MASTER_ADDR/MASTER_PORT; under `srun` the job script exports them.
    Uses NCCL for CUDA and gloo for CPU. With CUDA each rank takes `cuda:<local rank>`.

    Raises:
        RuntimeError: a multi-process launch without MASTER_ADDR or MASTER_PORT.
    """
    rank, world_size = rank_and_world()
    if world_size == 1:
        return SINGLE
    missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(k)]
    if missing and not dist.is_initialized():
        # Without them env:// would wait forever for a rendezvous that never comes.
        raise RuntimeError(
            f"rank {rank} of {world_size}: set {' and '.join(missing)} (under SLURM: "
            "export MASTER_ADDR=$(scontrol show hostnames $SLURM_JOB_NODELIST | head -n1) "
            "MASTER_PORT=29500 in the job script)"
        )
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if device.startswith("cuda"):
            torch.cuda.set_device(local_rank())
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return World(rank=dist.get_rank(), world_size=dist.get_world_size())


def all_reduce_grads(params: list[torch.nn.Parameter], world: World) -> None:
    """Average gradients of parameters that live outside the DDP module (the loss's α)."""
    if world.world_size == 1:
        return
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= world.world_size


def cleanup() -> None:
    """Leave the process group (every rank, also after an error, so none is left waiting)."""
    if dist.is_initialized():
        dist.destroy_process_group()
