"""AHNPL losses (DESIGN §8; Huang et al., arXiv 2505.15576, §3).

Notation. B samples per rank, K negative slots (manifest slot order), D embedding width.
v_i = image embedding, t_i = caption embedding, t⁻_ij = text negative j of caption i, u⁻_ij =
image negative; all L2-normalised (u⁻ from feature perturbation is v_i + stopgrad(t⁻_ij − t_i)
and is not renormalised, as in the reference code). m_ij / n_ij = validity of t⁻_ij / u⁻_ij.
ℓ = exp(logit_scale) and s(a, b) = ℓ·a·b: every score and margin is in *logit units* except
the positive alignment, which compares cosines. ℓ is used as given: the trainer clamps the
parameter to ℓ ≤ 100 after each step, because a clamp here would give ℓ no gradient at 100
(exp(log 100) in fp32 is just above 100), where OpenAI checkpoints start. Every loss runs in
fp32 with autocast disabled, whatever the caller's autocast state.

Each term is a module whose forward takes a `Features` and returns one scalar; `AHNPLLoss`
weights and sums them and returns every term by name:

    L = L_itc + λ_mhn·(L_mhn^T + L_mhn^I) + λ_dm·(L_dm^T + L_dm^I) + λ_pos·L_pos

`loss.mhn_form` picks the anchor of the multimodal hard-negative terms (DESIGN §8): `positive`
(the cross-modal pair, s(v_i,t_i)) or `self` (the embedding itself, s(t_i,t_i)).

Distributed: terms are *local* (this rank's rows against the gathered columns) and scaled by
world_size / global_count, so that DDP's gradient average equals one process on the global
batch; normalisers and margins use global statistics (see `ahnpl.trainer.distributed`). The
values returned per rank are therefore world_size × (this rank's share); their mean over ranks
is the global loss, which is what the trainer logs.

`loss.mode = reference` (`ahnpl.trainer.reference_loss`) reproduces the published code
instead; its deviations from the definitions here are listed there and in docs/TRAINING.md.
The trainer reaches these modules through `ahnpl.trainer.objective`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import LossConfig
from .distributed import SINGLE, World


def f32(x: torch.Tensor | None) -> torch.Tensor | None:
    # Losses run in fp32; float64 (gradcheck) passes through unchanged.
    if x is None or x.dtype == torch.float64:
        return x
    return x.float()


@dataclass
class Features:
    """Everything a term may read, local rows and the gathered (global) columns.

    Shapes: v, t [B,D]; tn [B,K,D]; m [B,K] bool; u [B,K,D] or None; n, pixel [B,K] bool or
    None (`pixel`: slots whose u⁻ is an encoded edited image, not a feature perturbation);
    scale: 0-d tensor, ℓ. `all_*`: the same gathered over ranks (= local with one process);
    `offset`: index of this rank's first row in the global batch.
    """

    v: torch.Tensor
    t: torch.Tensor
    tn: torch.Tensor
    m: torch.Tensor
    u: torch.Tensor | None
    n: torch.Tensor | None
    pixel: torch.Tensor | None
    scale: torch.Tensor
    all_v: torch.Tensor
    all_t: torch.Tensor
    all_tn: torch.Tensor
    all_m: torch.Tensor
    all_u: torch.Tensor | None
    all_n: torch.Tensor | None
    offset: int
    world: World

    @property
    def global_batch(self) -> int:
        return self.all_v.shape[0]

    @classmethod
    def gathered(cls, v, t, tn, m, u, n, pixel, scale, world: World, gather_u: bool) -> Features:
        """The local rows and their columns gathered over `world` (with gradients); the image
        negatives only when `gather_u` (they are contrastive candidates), and no collective
        for slots that do not exist (K = 0: plain CLIP)."""
        b, k, d = tn.shape
        gather_u = gather_u and u is not None
        if k:
            all_tn, all_m = world.gather(tn), world.gather(m)
        else:
            all_tn = tn.new_zeros(world.world_size * b, 0, d)
            all_m = m.new_zeros(world.world_size * b, 0)
        return cls(
            v=v,
            t=t,
            tn=tn,
            m=m,
            u=u,
            n=n,
            pixel=pixel,
            scale=scale,
            all_v=world.gather(v),
            all_t=world.gather(t),
            all_tn=all_tn,
            all_m=all_m,
            all_u=world.gather(u) if gather_u else None,
            all_n=world.gather(n) if gather_u else None,
            offset=world.rank * b,
            world=world,
        )


def _zero(f: Features) -> torch.Tensor:
    # A zero that stays in the graph keeps DDP and autograd shapes uniform.
    return f.v.new_zeros(()) + 0.0 * f.v.sum()  # +0.0, never -0.0 in the logs


class ContrastiveHN(nn.Module):
    """L_itc = ½(L_i2t + L_t2i), hard-negative contrastive loss (DESIGN §8, paper eq. 1-2).

    L_i2t: row i of this rank scores v_i against every caption of the global batch and every
    *valid* text negative of the global batch (invalid slots are removed, never scored);
    target t_i. L_t2i: t_i against every image of the global batch, plus the valid image
    negatives when `itc_image_negatives`; target v_i. Mean over the global batch. Logit units.
    """

    name = "itc"

    def __init__(self, use_negatives: bool = True, image_negatives: bool = False) -> None:
        super().__init__()
        self.use_negatives = use_negatives
        self.image_negatives = image_negatives

    def forward(self, f: Features) -> torch.Tensor:
        b, d = f.v.shape
        labels = torch.arange(b, device=f.v.device) + f.offset
        texts = f.all_t
        if self.use_negatives:
            texts = torch.cat([texts, f.all_tn.reshape(-1, d)[f.all_m.reshape(-1)]])
        images = f.all_v
        if self.image_negatives and f.all_u is not None:
            images = torch.cat([images, f.all_u.reshape(-1, d)[f.all_n.reshape(-1)]])
        i2t = F.cross_entropy(f.scale * f.v @ texts.T, labels, reduction="sum")
        t2i = F.cross_entropy(f.scale * f.t @ images.T, labels, reduction="sum")
        return 0.5 * (i2t + t2i) * f.world.world_size / f.global_batch


def _mhn(f: Features, pos: torch.Tensor, neg: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """mean over rows with a valid slot of −log(e^pos / (e^pos + Σ_j mask_j e^neg_j))."""
    logits = torch.cat([pos[:, None], neg.masked_fill(~mask, float("-inf"))], dim=1)
    per_row = torch.logsumexp(logits, dim=1) - pos
    has = mask.any(dim=1)
    count = f.world.sum(has.sum())
    if count == 0:
        return _zero(f)
    per_row = torch.where(has, per_row, torch.zeros_like(per_row))
    return per_row.sum() * f.world.world_size / count


class MultimodalHN(nn.Module):
    """L_mhn^T (`side="text"`) or L_mhn^I (`side="image"`), intra-modal (DESIGN §8).

    Text side, a_i = t_i, negatives t⁻_ij, mask m, cross-modal partner v_i; image side, a_i =
    v_i, negatives u⁻_ij (pixel negatives and/or feature perturbations, see
    `compose_image_negatives`), mask n, partner t_i.
    With p_i = s(partner_i, a_i) and q_ij = s(a_i, neg_ij), sums over valid slots:
    `positive` form: mean_i −log(e^{p_i} / (e^{p_i} + Σ_j e^{q_ij}));
    `self` form: mean_i log(1 + Σ_j e^{q_ij − s(a_i,a_i)}).
    Mean over the samples (global batch) with at least one valid slot; 0 when there is none.
    """

    def __init__(self, side: str = "text", form: str = "positive") -> None:
        super().__init__()
        self.side = side
        self.form = form
        self.name = f"mhn_{side}"

    def forward(self, f: Features) -> torch.Tensor:
        if self.side == "text":
            a, partner, negs, mask = f.t, f.v, f.tn, f.m
        else:
            if f.u is None:
                return _zero(f)
            a, partner, negs, mask = f.v, f.t, f.u, f.n
        anchor = a if self.form == "self" else partner
        pos = f.scale * (anchor * a).sum(-1)
        neg = f.scale * torch.einsum("bd,bkd->bk", a, negs)
        return _mhn(f, pos, neg, mask)


class DynamicMargin(nn.Module):
    """L_dm = Σ m_ij·max(0, τ_j − gap_ij) / Σ m_ij, with τ per negative type from the batch.

    Text side: gap_ij = s(v_i,t_i) − s(v_i,t⁻_ij), mask m. Image side (`side="image"`): gap_ij =
    s(t_i,v_i) − s(t_i,u⁻_ij) over *pixel* image negatives only. Logit units.
    τ_j (detached): `mean` = mean over valid i of gap_ij; `max` = max over valid i of gap_ij / K;
    `fixed` = `margin_fixed`; then clamped to [0, τ_max]; with `margin_ema` > 0,
    τ_j ← β·τ_j(prev) + (1−β)·τ_j(batch) for types seen in the batch (the first batch that
    has a type sets its τ). Statistics are global over ranks. A type with no valid slot in
    the batch keeps its previous τ (0 at start). Buffers `tau` [K] (the margins of the last
    call, for logging and checkpoints) and `seen` [K] bool.
    """

    def __init__(self, cfg: LossConfig, num_slots: int, side: str = "text") -> None:
        super().__init__()
        self.cfg = cfg
        self.side = side
        self.name = f"dm_{side}"
        # Fixed [K] shapes, so a checkpoint loads with a plain load_state_dict.
        self.register_buffer("tau", torch.zeros(num_slots), persistent=True)
        self.register_buffer("seen", torch.zeros(num_slots, dtype=torch.bool), persistent=True)

    def margins(self, gap: torch.Tensor, mask: torch.Tensor, world: World) -> torch.Tensor:
        k = gap.shape[1]
        gap = gap.detach()
        count = world.sum(mask.sum(0).to(gap.dtype))
        here = count > 0
        if self.cfg.margin == "fixed":
            batch = torch.full((k,), self.cfg.margin_fixed, dtype=gap.dtype, device=gap.device)
        elif self.cfg.margin == "mean":
            total = world.sum(torch.where(mask, gap, torch.zeros_like(gap)).sum(0))
            batch = total / count.clamp_min(1)
        else:
            neg_inf = torch.full_like(gap, float("-inf"))
            batch = world.max(torch.where(mask, gap, neg_inf).max(0).values) / k
        batch = batch.clamp(0.0, self.cfg.tau_max)
        prev = self.tau.to(dtype=gap.dtype)
        beta = self.cfg.margin_ema
        # The EMA starts at a type's first batch statistic, not at the initial 0.
        smoothed = torch.where(self.seen, beta * prev + (1 - beta) * batch, batch)
        tau = torch.where(here, smoothed if beta > 0 else batch, prev)
        self.tau = tau.detach().clone()  # same [K] shape; the dtype of the computation
        self.seen = self.seen | here
        return tau

    def forward(self, f: Features) -> torch.Tensor:
        if self.side == "text":
            a, pos_other, negs, mask = f.v, f.t, f.tn, f.m
        else:
            if f.u is None or f.pixel is None:
                return _zero(f)
            a, pos_other, negs, mask = f.t, f.v, f.u, f.pixel
        pos = f.scale * (a * pos_other).sum(-1)
        gap = pos[:, None] - f.scale * torch.einsum("bd,bkd->bk", a, negs)
        tau = self.margins(gap, mask, f.world)
        count = f.world.sum(mask.sum())
        if count == 0:
            return _zero(f)
        hinge = torch.where(mask, F.relu(tau[None, :] - gap), torch.zeros_like(gap))
        return hinge.sum() * f.world.world_size / count


class PositiveAlignment(nn.Module):
    """L_pos = mean_i max(0, α − cos(v_i, t_i)) (cosine units), α without gradient.

    A learnable α only falls (∂L_pos/∂α = mean 1[cos < α] ≥ 0 on every batch), so α is
    `alpha_from: fixed` (the hyperparameter `loss.alpha`) or `batch` (the global batch's mean
    cos(v_i, t_i), detached: the term lifts the pairs below the batch mean). `self.alpha` holds
    the α of the last call, for logging.
    """

    name = "pos"

    def __init__(self, alpha: float, alpha_from: str = "fixed") -> None:
        super().__init__()
        self.alpha_from = alpha_from
        self.register_buffer("alpha", torch.tensor(float(alpha)), persistent=False)

    def forward(self, f: Features) -> torch.Tensor:
        cos = (f.v * f.t).sum(-1)
        if self.alpha_from == "batch":
            self.alpha = f.world.sum(cos.detach().sum()) / f.global_batch
        alpha = self.alpha.to(cos.dtype)
        return F.relu(alpha - cos).sum() * f.world.world_size / f.global_batch


def feature_perturbation(v: torch.Tensor, t: torch.Tensor, tn: torch.Tensor) -> torch.Tensor:
    """u⁻_ij = v_i + stopgrad(t⁻_ij − t_i): the text edit moved onto the image ([B,K,D]).

    Gradients reach v only: the perturbation is a fixed direction, as in the reference code.
    """
    return v[:, None, :] + (tn - t[:, None, :]).detach()


def compose_image_negatives(
    mode: str,
    v: torch.Tensor,
    t: torch.Tensor,
    tn: torch.Tensor,
    m: torch.Tensor,
    pixel_emb: torch.Tensor | None,
    pixel_mask: torch.Tensor | None,
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """Pick the image negative of every slot (DESIGN §8): returns (u [B,K,D], n, pixel).

    mode `pixel`: encoded edits only; `feature`: perturbations of every valid text slot;
    `both`: the edit where one exists, else the perturbation; `none`: (None, None, None).
    """
    if mode == "none":
        return None, None, None
    b, k = m.shape
    no_pixel = torch.zeros(b, k, dtype=torch.bool, device=m.device)
    has_pixel = pixel_emb is not None and pixel_mask is not None and mode in ("pixel", "both")
    pmask = pixel_mask if has_pixel else no_pixel
    if mode == "pixel":
        return (pixel_emb, pmask, pmask) if has_pixel else (None, None, None)
    feat = feature_perturbation(v, t, tn)
    if not has_pixel:
        return feat, m, no_pixel
    u = torch.where(pmask[..., None], pixel_emb.to(feat.dtype), feat)
    return u, pmask | m, pmask


class HardNegativeLoss(nn.Module):
    """The shared entry of every objective's loss: shapes checked, then fp32 with autocast off.

    forward(image_emb [B,D], text_emb [B,D], neg_text_emb [B,K,D], neg_text_mask [B,K] bool,
    neg_image_emb [B,K,D] or None, neg_image_mask [B,K] bool or None, logit_scale 0-d) →
    `compute(...)` of the subclass, with the same arguments, under disabled autocast.

    Raises:
        ValueError: shapes disagree (the message names the argument).
    """

    def forward(
        self,
        image_emb: torch.Tensor,
        text_emb: torch.Tensor,
        neg_text_emb: torch.Tensor,
        neg_text_mask: torch.Tensor,
        neg_image_emb: torch.Tensor | None,
        neg_image_mask: torch.Tensor | None,
        logit_scale: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        args = (image_emb, text_emb, neg_text_emb, neg_text_mask, neg_image_emb, neg_image_mask)
        check_shapes(*args)
        with torch.autocast(image_emb.device.type, enabled=False):
            return self.compute(*args, logit_scale)

    def compute(self, v, t, tn, m, u, n, logit_scale) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class AHNPLLoss(HardNegativeLoss):
    """The DESIGN §8 loss, every term by name.

    forward(image_emb [B,D], text_emb [B,D], neg_text_emb [B,K,D], neg_text_mask [B,K] bool,
    neg_image_emb [B,K,D] or None, neg_image_mask [B,K] bool or None, logit_scale 0-d) → dict
    with `itc, mhn_text, mhn_image, mhn, dm_text, dm_image, dm, pos, total` (0-d tensors).

    `neg_image_emb` are *pixel* negatives (encoded edited images, with gradients); the feature
    perturbations are made here according to `cfg.image_negatives`. Embeddings must be
    L2-normalised; `logit_scale` is ℓ = exp(param), used unclamped. Rows of invalid slots in
    `neg_text_emb` may hold anything finite (zeros); they are never scored.

    Raises:
        ValueError: shapes disagree (the message names the argument).
    """

    def __init__(self, cfg: LossConfig, num_slots: int, world: World = SINGLE) -> None:
        super().__init__()
        self.cfg = cfg
        self.world = world
        self.itc = ContrastiveHN(image_negatives=cfg.itc_image_negatives)
        self.mhn_text = MultimodalHN("text", cfg.mhn_form)
        self.mhn_image = MultimodalHN("image", cfg.mhn_form)
        self.dm_text = DynamicMargin(cfg, num_slots, "text")
        self.dm_image = DynamicMargin(cfg, num_slots, "image")
        self.pos = PositiveAlignment(cfg.alpha, cfg.alpha_from)

    def margins(self) -> dict[str, torch.Tensor]:
        return {"text": self.dm_text.tau, "image": self.dm_image.tau}

    def compute(self, v, t, tn, m, u, n, logit_scale) -> dict[str, torch.Tensor]:
        return self.terms(self.features(v, t, tn, m, u, n, logit_scale))

    def features(
        self,
        image_emb,
        text_emb,
        neg_text_emb,
        neg_text_mask,
        neg_image_emb,
        neg_image_mask,
        logit_scale,
    ) -> Features:
        """fp32 copies of the inputs, the composed image negatives and the gathered columns."""
        v, t, tn = f32(image_emb), f32(text_emb), f32(neg_text_emb)
        m = neg_text_mask.bool()
        scale = f32(torch.as_tensor(logit_scale, device=v.device))
        pmask = None if neg_image_mask is None else neg_image_mask.bool()
        u, n, pixel = compose_image_negatives(
            self.cfg.image_negatives, v, t, tn, m, f32(neg_image_emb), pmask
        )
        return Features.gathered(
            v, t, tn, m, u, n, pixel, scale, self.world, self.itc.image_negatives
        )

    def terms(self, f: Features) -> dict[str, torch.Tensor]:
        """Every term by name, and their weighted sum as `total`."""
        out = {"itc": self.itc(f)}
        out["mhn_text"] = self.mhn_text(f)
        out["mhn_image"] = self.mhn_image(f)
        out["mhn"] = out["mhn_text"] + out["mhn_image"]
        out["dm_text"] = self.dm_text(f)
        out["dm_image"] = self.dm_image(f)
        out["dm"] = out["dm_text"] + out["dm_image"]
        out["pos"] = self.pos(f)
        c = self.cfg
        out["total"] = (
            out["itc"]
            + c.lambda_mhn * out["mhn"]
            + c.lambda_dm * out["dm"]
            + c.lambda_pos * out["pos"]
        )
        return out


def check_shapes(v, t, tn, m, u, n) -> None:
    """Raise ValueError naming the argument whose shape disagrees with image_emb [B,D]."""
    if v.dim() != 2 or t.shape != v.shape:
        raise ValueError(f"image_emb {tuple(v.shape)} and text_emb {tuple(t.shape)}: need [B,D]")
    b, d = v.shape
    if tn.dim() != 3 or tn.shape[0] != b or tn.shape[2] != d:
        raise ValueError(f"neg_text_emb {tuple(tn.shape)}: need [B={b},K,D={d}]")
    if m.shape != tn.shape[:2]:
        raise ValueError(f"neg_text_mask {tuple(m.shape)}: need [B,K]={tuple(tn.shape[:2])}")
    if (u is None) != (n is None):
        raise ValueError("neg_image_emb and neg_image_mask: pass both or neither")
    if u is not None and (u.shape != tn.shape or n.shape != m.shape):
        raise ValueError(
            f"neg_image_emb {tuple(u.shape)} / neg_image_mask {tuple(n.shape)}: need "
            f"{tuple(tn.shape)} / {tuple(m.shape)}"
        )


class ClipLoss(nn.Module):
    """Plain CLIP (`loss.mode=clip`): L_itc over the captions only, no negatives.

    forward(image_emb [B,D], text_emb [B,D], logit_scale 0-d) → {"itc", "total"} (fp32).
    """

    def __init__(self, world: World = SINGLE) -> None:
        super().__init__()
        self.world = world
        self.itc = ContrastiveHN(use_negatives=False)

    def forward(self, image_emb, text_emb, logit_scale) -> dict[str, torch.Tensor]:
        with torch.autocast(image_emb.device.type, enabled=False):
            v, t = f32(image_emb), f32(text_emb)
            b, d = v.shape
            none = v.new_zeros(b, 0, d)
            mask = torch.zeros(b, 0, dtype=torch.bool, device=v.device)
            scale = f32(torch.as_tensor(logit_scale, device=v.device))
            f = Features.gathered(v, t, none, mask, None, None, None, scale, self.world, False)
            itc = self.itc(f)
        return {"itc": itc, "total": itc}
