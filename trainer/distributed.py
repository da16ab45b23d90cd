"""Process group set-up for torchrun, and the collectives the losses need (DESIGN §8).

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

from ahnpl.devices import local_rank


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
    """Join the torchrun process group if launched by torchrun, else return a 1-process World.

    Uses NCCL for CUDA and gloo for CPU. With CUDA each rank takes `cuda:LOCAL_RANK`.
    """
    if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return SINGLE
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if device.startswith("cuda"):
            torch.cuda.set_device(local_rank())
        dist.init_process_group(backend=backend)
    return World(rank=dist.get_rank(), world_size=dist.get_world_size())


def local_device(device: str, world: World) -> torch.device:
    """`cuda` becomes `cuda:LOCAL_RANK` under torchrun; anything else is returned as is."""
    if device == "cuda" and world.world_size > 1:
        return torch.device("cuda", local_rank())
    return torch.device(device)


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
