"""The loss side of training: one Objective per `loss.mode` (open_clip's task pattern, DESIGN §8).

An objective owns everything the training loop would otherwise branch on:
- which inputs it wants: `wants_text_negatives` (`encode` runs the valid text negatives
  through the text tower), `wants_pixel_negatives` (the loader decodes edits and `encode`
  runs them through the vision tower), `encode_invalid_slots` (invalid slots too) and
  `invalid_slot_text` (the text the loader puts in invalid slots; None keeps the stored one);
- its extra parameter groups (`param_groups()`; none today, since α is not learned);
- what happens after each optimizer step (`after_step`: ℓ clamped on the parameter) and at
  the start of each epoch (`on_epoch_start`);
- what it logs besides its loss terms (`log_values`, `margins`).

`forward(Encoded)` returns every loss term by name and their weighted sum as `total`. The
`ahnpl`, `reference` and `clip` objectives are siblings in `OBJECTIVES`; a new loss is a new
entry there.

Pixel negatives across ranks: whether they exist is decided by the configuration, identical on
every rank, never by the batch. A rank whose batch holds no edit passes zero embeddings and an
all-false mask, so every rank runs the same collectives (a rank that skipped them would hang
the others, or abort gloo with a collective mismatch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ahnpl.registry import Registry

from .config import LossConfig
from .distributed import SINGLE, World
from .losses import AHNPLLoss, ClipLoss
from .reference_loss import ReferenceLoss

LOGIT_SCALE_MAX = 100.0


@dataclass
class Encoded:
    """One batch through the model (`encode`), in the model's dtype.

    image, text [B,D] L2-normalised; neg_text [B,K,D] (zeros at invalid slots unless the
    objective encodes them); neg_mask [B,K] bool; pixel [B,K,D] encoded edits (zeros where a
    slot has none) and pixel_mask [B,K] bool, or both None when the objective wants none;
    logit_scale 0-d, ℓ = exp(parameter).
    """

    image: torch.Tensor
    text: torch.Tensor
    neg_text: torch.Tensor
    neg_mask: torch.Tensor
    pixel: torch.Tensor | None
    pixel_mask: torch.Tensor | None
    logit_scale: torch.Tensor


def encode(model: nn.Module, batch: dict, device: torch.device, objective: Objective) -> Encoded:
    """One forward of the (DDP) model over images + edits and captions + negatives."""
    images, texts, mask = batch["images"], batch["texts"], batch["neg_mask"]
    b, k, n_tok = batch["neg_texts"].shape
    neg_tokens = batch["neg_texts"].reshape(b * k, n_tok)
    # Indexing on the CPU copy: no device round trip before the forward.
    if not objective.wants_text_negatives:
        picked = torch.zeros(0, dtype=torch.long)
    elif objective.encode_invalid_slots:
        picked = torch.arange(b * k)
    else:
        picked = mask.reshape(-1).nonzero()[:, 0]
    mask = mask.to(device, non_blocking=True)
    edits = batch["edit_images"] if objective.wants_pixel_negatives else batch["images"][:0]
    all_images = torch.cat([images, edits]).to(device, non_blocking=True)
    all_texts = torch.cat([texts, neg_tokens[picked]]).to(device, non_blocking=True)
    img_f, txt_f, scale = model(all_images, all_texts)
    d = img_f.shape[1]
    tn = txt_f.new_zeros(b * k, d).index_copy(0, picked.to(device), txt_f[b:]).view(b, k, d)
    pixel = pixel_mask = None
    if objective.wants_pixel_negatives:
        edit_index = batch["edit_index"].to(device)
        pixel = img_f.new_zeros(b * k, d).index_copy(0, edit_index, img_f[b:]).view(b, k, d)
        pixel_mask = torch.zeros(b * k, dtype=torch.bool, device=device)
        pixel_mask[edit_index] = True
        pixel_mask = pixel_mask.view(b, k)
    return Encoded(img_f[:b], txt_f[:b], tn, mask, pixel, pixel_mask, scale)


class Objective(nn.Module):
    """Base of the objectives: the hooks the trainer calls, with their default behaviour.

    Args (every subclass): cfg (the `loss` section), num_slots K (from the manifest),
    batch_size B (per rank), world.
    """

    wants_text_negatives: bool = True
    wants_pixel_negatives: bool = False
    encode_invalid_slots: bool = False
    invalid_slot_text: str | None = None

    def __init__(self, cfg: LossConfig, num_slots: int, batch_size: int, world: World) -> None:
        super().__init__()
        self.cfg = cfg
        self.world = world

    def param_groups(self) -> list[dict]:
        """Optimizer groups for parameters the objective owns (outside the model)."""
        return [{"params": [p], "weight_decay": 0.0} for p in self.parameters() if p.requires_grad]

    @torch.no_grad()
    def after_step(self, model: nn.Module) -> None:
        """Keep ℓ = exp(logit_scale) in [1, 100] (open_clip and the published code)."""
        model.logit_scale.clamp_(0, math.log(LOGIT_SCALE_MAX))

    def on_epoch_start(self) -> None:
        """Called before the first step of every epoch."""

    def margins(self) -> dict[str, torch.Tensor]:
        """τ per negative type and side ([K] tensors), for logging."""
        return {}

    def log_values(self) -> dict[str, float]:
        """Scalars to log besides the loss terms."""
        return {}


OBJECTIVES: Registry[type[Objective]] = Registry("loss mode")


@OBJECTIVES.register("ahnpl")
class AHNPLObjective(Objective):
    """DESIGN §8 (`AHNPLLoss`); wants pixel negatives when `image_negatives` is pixel|both."""

    def __init__(self, cfg: LossConfig, num_slots: int, batch_size: int, world: World) -> None:
        super().__init__(cfg, num_slots, batch_size, world)
        self.loss = AHNPLLoss(cfg, num_slots, world)
        self.wants_pixel_negatives = cfg.image_negatives in ("pixel", "both")

    def forward(self, x: Encoded) -> dict[str, torch.Tensor]:
        return self.loss(
            x.image, x.text, x.neg_text, x.neg_mask, x.pixel, x.pixel_mask, x.logit_scale
        )

    def margins(self) -> dict[str, torch.Tensor]:
        return self.loss.margins()

    def log_values(self) -> dict[str, float]:
        return {"alpha": float(self.loss.pos.alpha)}


@OBJECTIVES.register("reference")
class ReferenceObjective(Objective):
    """The published code's loss (`ReferenceLoss`): it encodes every slot, invalid ones
    holding '###' as in its data, and resets its margins at every epoch like its train loop."""

    encode_invalid_slots = True
    invalid_slot_text = "###"

    def __init__(self, cfg: LossConfig, num_slots: int, batch_size: int, world: World) -> None:
        super().__init__(cfg, num_slots, batch_size, world)
        self.loss = ReferenceLoss(cfg, num_slots, batch_size, world)

    def forward(self, x: Encoded) -> dict[str, torch.Tensor]:
        return self.loss(x.image, x.text, x.neg_text, x.neg_mask, None, None, x.logit_scale)

    def on_epoch_start(self) -> None:
        self.loss.reset_margins()

    def margins(self) -> dict[str, torch.Tensor]:
        return self.loss.margins()


@OBJECTIVES.register("clip")
class ClipObjective(Objective):
    """Plain CLIP (`ClipLoss`): captions only, for baselines and the speed comparison."""

    wants_text_negatives = False

    def __init__(self, cfg: LossConfig, num_slots: int, batch_size: int, world: World) -> None:
        super().__init__(cfg, num_slots, batch_size, world)
        self.loss = ClipLoss(world)

    def forward(self, x: Encoded) -> dict[str, torch.Tensor]:
        return self.loss(x.image, x.text, x.logit_scale)


def build_objective(
    cfg: LossConfig, num_slots: int, batch_size: int, world: World = SINGLE
) -> Objective:
    """The objective registered for `cfg.mode`.

    Raises:
        UnknownName: no objective is registered under `cfg.mode`.
        ValueError: `reference` with more than one process.
    """
    return OBJECTIVES.get(cfg.mode)(cfg, num_slots, batch_size, world)
