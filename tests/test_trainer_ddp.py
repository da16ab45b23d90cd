"""DDP (gloo, 2 CPU processes): gradients equal one process on the concatenated batch."""

from __future__ import annotations

import socket

import pytest
import torch
import torch.multiprocessing as mp
import trainer_fixtures as fx

from ahnpl.trainer.distributed import World
from ahnpl.trainer.losses import AHNPLLoss


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_gradients_equal_single_process(tmp_path):
    mp.spawn(fx.ddp_grad_worker, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)

    for margin in fx.MARGINS:
        model = fx.TinyEncoder.build()
        loss_fn = AHNPLLoss(fx.ddp_loss_config(margin), World()).double()
        terms = fx.ddp_step(model, loss_fn, slice(0, 6), World())
        want = {name: p.grad for name, p in model.named_parameters()}
        assert all(g is not None and g.abs().sum() > 0 for g in want.values())

        for rank in range(2):
            got = torch.load(tmp_path / f"{margin}-rank{rank}.pt", weights_only=True)
            for name, grad in want.items():
                assert torch.allclose(got["grads"][name], grad, rtol=1e-10, atol=1e-12), name
            for key, value in terms.items():
                assert got["terms"][key].item() == pytest.approx(value.item(), rel=1e-10), key
            # Margins come from global statistics: both ranks hold the single-process τ.
            for side, tau in loss_fn.margins().items():
                assert torch.allclose(got["tau"][side], tau, rtol=1e-10), (margin, side)
            assert got["alpha"].item() == pytest.approx(loss_fn.pos.alpha.item(), rel=1e-12)
