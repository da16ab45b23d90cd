"""Trainer test helpers: the datasets of `ahnpl.testing.datasets` (re-exported, as the tests
use them as `fx.make_records`, `fx.write_dataset`) and the DDP gradient-equivalence helpers.
"""

from __future__ import annotations

from ahnpl.testing.datasets import (  # noqa: F401  (re-exported for the tests)
    COCO_MINI,
    REPO,
    jpeg,
    make_records,
    negative,
    write_dataset,
)

# --- DDP gradient-equivalence helpers (spawned processes import this module by name) ---------


class TinyEncoder:
    """A two-tower linear 'CLIP' built on demand (torch imported lazily for spawn)."""

    @staticmethod
    def build(din: int = 7, d: int = 5):
        import torch
        from torch import nn

        class Tiny(nn.Module):
            def __init__(self):
                super().__init__()
                g = torch.Generator().manual_seed(0)
                self.img = nn.Parameter(torch.randn(d, din, generator=g, dtype=torch.float64))
                self.txt = nn.Parameter(torch.randn(d, din, generator=g, dtype=torch.float64))
                self.logit_scale = nn.Parameter(torch.tensor(2.0, dtype=torch.float64))

            def forward(self, images, texts):
                norm = torch.nn.functional.normalize
                return (
                    norm(images @ self.img.T, dim=-1),
                    norm(texts @ self.txt.T, dim=-1),
                    self.logit_scale.exp(),
                )

        return Tiny()


def ddp_inputs(g_batch: int = 6, k: int = 3, din: int = 7):
    import torch

    gen = torch.Generator().manual_seed(1)
    x_img = torch.randn(g_batch, din, generator=gen, dtype=torch.float64)
    x_txt = torch.randn(g_batch, din, generator=gen, dtype=torch.float64)
    x_neg = torch.randn(g_batch, k, din, generator=gen, dtype=torch.float64)
    x_pix = torch.randn(g_batch, k, din, generator=gen, dtype=torch.float64)
    m = torch.rand(g_batch, k, generator=gen) < 0.6
    n = torch.rand(g_batch, k, generator=gen) < 0.3
    m[0] = False  # a row without any valid text negative
    return x_img, x_txt, x_neg, x_pix, m, n


def ddp_step(model, loss_fn, rows: slice, world):
    """Forward + backward of one rank's rows; returns the global (logged) loss terms."""
    import torch

    x_img, x_txt, x_neg, x_pix, m, n = (x[rows] for x in ddp_inputs())
    b, k, din = x_neg.shape
    img_f, txt_f, scale = model(
        torch.cat([x_img, x_pix.reshape(-1, din)]), torch.cat([x_txt, x_neg.reshape(-1, din)])
    )
    v, t = img_f[:b], txt_f[:b]
    tn, pix = txt_f[b:].reshape(b, k, -1), img_f[b:].reshape(b, k, -1)
    terms = loss_fn(v, t, tn, m, pix, n, scale)
    terms["total"].backward()
    return {key: world.mean(x) for key, x in terms.items()}


MARGINS = ("mean", "max")


def ddp_loss_config(margin: str = "mean"):
    from ahnpl.trainer.config import LossConfig

    # α from the batch under `max`: its mean cosine is a global statistic too.
    return LossConfig(
        image_negatives="both",
        itc_image_negatives=True,
        margin=margin,
        alpha=0.9,
        alpha_from="batch" if margin == "max" else "fixed",
        lambda_mhn=0.5,
        lambda_dm=0.7,
        lambda_pos=0.3,
    )


def ddp_grad_worker(rank: int, world_size: int, out_dir: str) -> None:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    from ahnpl.trainer.distributed import World
    from ahnpl.trainer.losses import AHNPLLoss

    torch.set_num_threads(1)
    # A file rendezvous: no TCP store server thread in rank 0 that a peer still connected at
    # exit can abort (seen once in CI as SIGABRT after the results were written).
    dist.init_process_group(
        "gloo", init_method=f"file://{out_dir}/rendezvous", rank=rank, world_size=world_size
    )
    try:
        world = World(rank, world_size)
        for margin in MARGINS:
            model = DDP(TinyEncoder.build())
            loss_fn = AHNPLLoss(ddp_loss_config(margin), 3, world).double()
            per = 6 // world_size
            terms = ddp_step(model, loss_fn, slice(rank * per, (rank + 1) * per), world)
            grads = {name: p.grad for name, p in model.module.named_parameters()}
            state = {"grads": grads, "terms": terms, "tau": loss_fn.margins()}
            state["alpha"] = loss_fn.pos.alpha
            torch.save(state, f"{out_dir}/{margin}-rank{rank}.pt")
            del model
        dist.barrier()  # no rank tears the group down while a peer still uses it
    finally:
        dist.destroy_process_group()


def run_ranks(cmd: list[str], timeout: float = 240):
    """Run a torchrun command in its own session; on a hang, kill every rank and fail."""
    import os
    import signal
    import subprocess

    import pytest

    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"the ranks hung (killed after {timeout:.0f} s)")
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
