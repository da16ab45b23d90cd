"""Rank discovery and device choice, shared by the build and the trainer (ahnpl/devices.py)."""

from __future__ import annotations

import pytest
import torch

from ahnpl.devices import local_rank, rank_and_world, resolve_device


def test_ranks_come_from_torchrun_else_slurm_else_one_process():
    assert rank_and_world(env={}) == (0, 1)
    assert rank_and_world(env={"SLURM_PROCID": "3", "SLURM_NTASKS": "4"}) == (3, 4)
    both = {"RANK": "1", "WORLD_SIZE": "2", "SLURM_PROCID": "3", "SLURM_NTASKS": "4"}
    assert rank_and_world(env=both) == (1, 2)  # torchrun inside an sbatch job
    assert rank_and_world(2, 5, env=both) == (2, 5)  # explicit values win
    with pytest.raises(ValueError, match=r"rank 4 is not in \[0, world size 4\)"):
        rank_and_world(env={"SLURM_PROCID": "4", "SLURM_NTASKS": "4"})
    with pytest.raises(ValueError, match=r"\$RANK='x'"):
        rank_and_world(env={"RANK": "x", "WORLD_SIZE": "2"})


def test_local_rank_and_device():
    assert local_rank({}) == 0
    assert local_rank({"SLURM_LOCALID": "2"}) == 2
    assert local_rank({"LOCAL_RANK": "1", "SLURM_LOCALID": "2"}) == 1
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")
