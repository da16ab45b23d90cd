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
    mp.spawn(fx.ddp_grad_worker, args=(2, str(tmp_path)), nprocs=2, join=True)

    for margin in fx.MARGINS:
        model = fx.TinyEncoder.build()
        loss_fn = AHNPLLoss(fx.ddp_loss_config(margin), 3, World()).double()
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


@pytest.mark.slow
def test_pixel_negatives_on_only_one_rank_neither_hang_nor_abort(tmp_path):
    """`image_negatives=pixel` where one rank's batches never hold an edited image (only
    shard 0 has edits, and each rank reads whole shards): both ranks run the same collectives,
    train to the end and leave the process group cleanly."""
    import sys
    from pathlib import Path

    records = fx.make_records(8, 32)
    for r in records[2:]:
        r.edits = []
    data = fx.write_dataset(tmp_path / "ds", records, 2)
    torchrun = Path(sys.executable).parent / "torchrun"
    args = f"--nproc_per_node 2 --master_port {free_port()} -m ahnpl.trainer.cli --data {data}"
    args += f" --out {tmp_path / 'run'} --model ahnpl-tiny --batch-size 4 --steps 3"
    args += " --workers 0 --log-every 1 --image-negatives pixel optim.warmup_steps=0"
    cmd = [str(torchrun), *args.split()]
    result = fx.run_ranks(cmd)
    assert result.returncode == 0, result.stderr[-3000:]
    for bad in ("Traceback", "collective", "abort", "Connection closed"):
        assert bad not in result.stderr, result.stderr[-3000:]
    state = torch.load(tmp_path / "run" / "checkpoints" / "latest.pt", weights_only=True)
    assert state["step"] == 3 and state["skipped"] == 0
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    col = rows[0].split(",").index("loss/mhn_image")
    # One rank's pixel negatives are scored on every step: the global term is not zero.
    assert all(float(r.split(",")[col]) > 0 for r in rows[1:])


@pytest.mark.slow
def test_two_slurm_tasks_form_one_process_group(tmp_path):
    """`srun --ntasks 2` sets SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID and no torchrun
    variables: the two tasks join one gloo group (the checkpoint holds both ranks' RNG
    states) instead of training twice as independent single processes."""
    import sys

    data = fx.write_dataset(tmp_path / "ds", fx.make_records(8, 32), 2)
    args = f"-m ahnpl.trainer.cli --data {data} --out {tmp_path / 'run'} --model ahnpl-tiny"
    args += " --batch-size 4 --steps 2 --workers 0 --log-every 1 optim.warmup_steps=0"
    launch = "env -u RANK -u WORLD_SIZE -u LOCAL_RANK SLURM_NTASKS=2 MASTER_ADDR=127.0.0.1"
    launch += f" MASTER_PORT={free_port()}"
    script = (
        f"{launch} SLURM_PROCID=0 SLURM_LOCALID=0 {sys.executable} {args} & a=$!\n"
        f"{launch} SLURM_PROCID=1 SLURM_LOCALID=1 {sys.executable} {args} & b=$!\n"
        "wait $a; ra=$?; wait $b; rb=$?; exit $((ra | rb))\n"
    )
    result = fx.run_ranks(["bash", "-c", script])
    assert result.returncode == 0, result.stderr[-3000:]
    state = torch.load(tmp_path / "run" / "checkpoints" / "latest.pt", weights_only=True)
    assert state["step"] == 2 and len(state["rng"]) == 2


def test_a_slurm_task_without_a_rendezvous_address_fails_in_one_line(monkeypatch):
    """Without MASTER_ADDR/MASTER_PORT, env:// would wait forever; the error says what to set."""
    from ahnpl.trainer.distributed import init_distributed

    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLURM_PROCID", "1")
    monkeypatch.setenv("SLURM_NTASKS", "2")
    with pytest.raises(RuntimeError, match="set MASTER_ADDR and MASTER_PORT"):
        init_distributed("cpu")
