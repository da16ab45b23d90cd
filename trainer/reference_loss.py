"""The published AHNPL code's single-GPU loss, reproduced exactly (`loss.mode=reference`).

Source: nynu-BDAI/AHNPL `open_clip/loss.py::Clip_DALoss` (single-GPU branch) as its
`training/train.py` builds it: `hardnegative`, `mar_loss`, `neg_loss`, and *not*
`positive_margin_loss` (so no positive term), with thresholds reset to 0 at the start of every
epoch and clamped to [0, upper_bound] after each step. Its data holds '###' in invalid slots,
and those slots are encoded like any other (`ReferenceObjective` asks the loader for both).
Where it departs from DESIGN §8 (notation of `ahnpl.trainer.losses`):

1. Contrastive: image→text scores *all* B·K negatives, invalid slots included. Text→image
   has no image negatives.
2. Negative loss (its `neg_loss`, our `mhn`): text side CE(ℓ·t @ t⁻_flat.T [B,B·K], target
   arange(B)); image side CE(ℓ·v @ u⁻_flat.T, arange(B)). The target of row i is *flat
   negative i* (negative i mod K of sample i // K), not the positive. No masking. Image
   negatives are always u = v + ‖Δ‖·normalize(Δ, eps=1e-8), Δ = stopgrad(t⁻ − t).
3. Margin (its `mar_loss`): da_ij = s(v_i,t⁻_ij)·m_ij, gt_ij = s(v_i,t_i); mean over all
   entries of relu(τ_j + da_ij − gt_ij)·m_ij, with τ from the *previous step*. New τ after
   the step: `mean`: mean_i gt_ij minus the mean over entries ≠ 0 of column j of da; `max`:
   max_i (gt_ij·m_ij − da_ij) / 5 (5 hard-coded, whatever K); `fixed`: constant. Non-fixed
   τ clamped to [0, τ_max]. No image-side margin.
4. At K = 1 its `.squeeze()` turns s(v,t⁻) [B,1,1] into [B], and `* valid_caption_mask`
   [B,1] broadcasts that to [B,B]: da_ij = s(v_j,t⁻_j)·m_i and gt_ij = s(v_i,t_i). The margin
   then compares every caption with every sample's negative and τ has one entry per batch
   column; this reproduces it (τ has B entries at K = 1, K entries otherwise).
5. Total = itc + λ_dm·dm + λ_mhn·mhn (λ_pos unused; `pos` is logged as 0).
Single process only (its multi-GPU branch differs again).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .config import LossConfig
from .distributed import SINGLE, World
from .losses import HardNegativeLoss, f32


class ReferenceLoss(HardNegativeLoss):
    """Same call and output keys as `AHNPLLoss`; see the module docstring for the definitions.

    Args:
        cfg: the loss section (`margin`, `margin_fixed`, `tau_max`, `lambda_dm`, `lambda_mhn`).
        num_slots: K, negative slots per caption (manifest order).
        batch_size: B; τ has B entries when K = 1 (item 4), K otherwise.
    Raises:
        ValueError: more than one process.
    """

    def __init__(
        self, cfg: LossConfig, num_slots: int, batch_size: int, world: World = SINGLE
    ) -> None:
        super().__init__()
        if world.world_size > 1:
            raise ValueError(
                "loss.mode=reference reproduces the published single-GPU loss; run it on one "
                "process or use loss.mode=ahnpl"
            )
        self.cfg = cfg
        width = batch_size if num_slots == 1 else num_slots
        self.register_buffer("tau", torch.zeros(width), persistent=True)
        self.reset_margins()

    def reset_margins(self) -> None:
        """Its train loop starts every epoch with thresholds = 0 (or the fixed value)."""
        self.tau.fill_(self.cfg.margin_fixed if self.cfg.margin == "fixed" else 0.0)

    def margins(self) -> dict[str, torch.Tensor]:
        return {"text": self.tau, "image": self.tau.new_zeros(0)}

    def compute(self, v, t, tn, m, u, n, logit_scale) -> dict[str, torch.Tensor]:
        v, t, tn = f32(v), f32(t), f32(tn)
        scale = f32(torch.as_tensor(logit_scale, device=v.device))
        return self._terms(v, t, tn, m.to(v.dtype), scale)

    def _terms(self, v, t, tn, mask, scale) -> dict[str, torch.Tensor]:
        b, k, d = tn.shape
        labels = torch.arange(b, device=v.device)
        tn_flat = tn.reshape(-1, d)
        base = scale * v @ t.T
        i2t = scale * v @ torch.cat([t, tn_flat]).T
        itc = (F.cross_entropy(i2t, labels) + F.cross_entropy(base.T, labels)) / 2

        da = scale * torch.einsum("bkd,bd->bk", tn, v)
        if k == 1:  # its .squeeze(): [B,1] → [B], broadcast against the [B,1] mask (item 4)
            da = da[:, 0]
        da = da * mask
        gt = base.diag()[:, None].expand_as(da)
        tau = self.tau.to(dtype=da.dtype, device=da.device)
        dm = (F.relu(tau + da - gt) * mask).mean()
        self._update_tau(gt.detach(), da.detach(), mask)

        diff = tn - t[:, None, :]
        step = diff.norm(dim=-1, keepdim=True) * F.normalize(diff, dim=-1, eps=1e-8)
        u = v[:, None, :] + step.detach()
        text_side = F.cross_entropy(scale * t @ tn_flat.T, labels)
        image_side = F.cross_entropy(scale * v @ u.reshape(-1, d).T, labels)
        mhn = text_side + image_side

        total = itc + self.cfg.lambda_dm * dm + self.cfg.lambda_mhn * mhn
        zero = torch.zeros_like(total)
        return {
            "itc": itc,
            "mhn_text": text_side,
            "mhn_image": image_side,
            "mhn": mhn,
            "dm_text": dm,
            "dm_image": zero,
            "dm": dm,
            "pos": zero,
            "total": total,
        }

    @torch.no_grad()
    def _update_tau(self, gt: torch.Tensor, da: torch.Tensor, mask: torch.Tensor) -> None:
        if self.cfg.margin == "fixed":
            return
        if self.cfg.margin == "mean":
            nz = da != 0
            counts = nz.sum(0)
            avg = torch.where(counts > 0, (da * nz).sum(0) / counts.clamp_min(1), 0.0)
            tau = gt.mean(0) - avg
        else:
            tau = (gt * mask - da).max(0).values / 5
        self.tau = tau.clamp(0.0, self.cfg.tau_max).clone()  # same shape, the input's dtype
