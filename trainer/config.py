"""Training configuration: typed sections, YAML in, every field overridable (DESIGN §1, §8).

A config is YAML holding the sections below; the CLI overlays its options and any number of
`section.field=value` pairs, then validates once. Overrides, relative paths (`data.path`,
`run.out`, `eval.data_root`, `eval.images`: relative to the config file when written there)
and error messages follow the rules of `ahnpl.config`, shared with build recipes. The resolved
config is saved next to the output (`OUT/config.yaml`) and inside every checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from ahnpl import config as _config
from ahnpl.config import PathStr, dump_config  # noqa: F401  (re-exported for the trainer)
from ahnpl.config import Section as _Section


class ModelConfig(_Section):
    name: str = Field("ahnpl-tiny", description="open_clip name, model-config JSON, or bundled")
    pretrained: str = Field("", description="open_clip tag or checkpoint path; '' = random init")


class DataConfig(_Section):
    path: PathStr = Field("", description="dataset directory or fsspec URL holding manifest.json")
    batch_size: int = Field(32, ge=1, description="samples (captions) per rank per step")
    workers: int = Field(2, ge=0, description="DataLoader worker processes per rank")
    shuffle_buffer: int = Field(2000, ge=1, description="samples held by the shuffle buffer")
    captions_per_image: Literal["all", "one"] = "all"
    image_negatives_per_sample: int = Field(2, ge=0, description="pixel negatives cap")
    on_error: Literal["skip", "raise"] = Field("skip", description="undecodable sample policy")
    augment: Literal["crop", "none"] = Field(
        "crop",
        description="training images: the model's training transform (open_clip: a random "
        "resized crop) or `none`, its evaluation transform (no randomness)",
    )
    verify: bool = Field(
        False, description="compare every shard's sha256 with the manifest before training"
    )
    min_negative_score: float | None = Field(
        None,
        le=0,
        description="train only on hard negatives whose stored plausibility (`neg_scores`, "
        "natural log, ≤ 0) is at least this; the others, and their image edits, count as "
        "absent (None = all; a negative stored without a score is kept)",
    )


class LossConfig(_Section):
    mode: Literal["ahnpl", "reference", "clip"] = Field(
        "ahnpl", description="ahnpl = DESIGN §8; reference = published code; clip = plain CLIP"
    )
    lambda_mhn: float = Field(0.2, ge=0)
    lambda_dm: float = Field(0.2, ge=0)
    lambda_pos: float = Field(0.2, ge=0)
    margin: Literal["mean", "max", "fixed"] = "mean"
    margin_fixed: float = Field(8.0, ge=0, description="τ for margin=fixed (logit units)")
    tau_max: float = Field(10.0, ge=0, description="upper clamp of τ (logit units)")
    margin_ema: float = Field(0.0, ge=0, lt=1, description="EMA factor for τ; 0 = batch only")
    # `self` is the default because the shapes world measured it best (docs/TRAINING.md).
    mhn_form: Literal["positive", "self"] = Field(
        "self", description="anchor of the MHN terms: the cross-modal pair or itself"
    )
    alpha: float = Field(
        0.3, ge=-1.0, le=1.0, description="α of the positive alignment (cosine), alpha_from=fixed"
    )
    alpha_from: Literal["fixed", "batch"] = Field(
        "fixed", description="α: the fixed `alpha`, or the batch's mean cos(v,t) (detached)"
    )
    image_negatives: Literal["pixel", "feature", "both", "none"] = "both"
    itc_image_negatives: bool = Field(
        False, description="add valid image negatives to the text→image contrastive candidates"
    )


class OptimConfig(_Section):
    lr: float = Field(1e-5, gt=0)
    weight_decay: float = Field(0.1, ge=0)
    beta1: float = 0.9
    beta2: float = 0.98
    eps: float = 1e-6
    warmup_steps: int = Field(50, ge=0)
    grad_clip: float | None = Field(None, gt=0, description="max global grad norm; None = off")
    fused: bool = Field(
        False, description="AdamW's fused kernel: one pass per parameter, the same update"
    )


class RunConfig(_Section):
    out: PathStr = Field("runs/ahnpl", description="output directory")
    steps: int | None = Field(None, ge=1, description="optimizer steps (or use epochs)")
    epochs: float | None = Field(None, gt=0, description="passes over the manifest's samples")
    seed: int = 0
    device: str = "cpu"
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    log_every: int = Field(10, ge=1)
    save_every: int = Field(500, ge=1, description="steps between checkpoints")
    resume: bool = False
    tensorboard: bool = False


class EvalConfig(_Section):
    every: int = Field(0, ge=0, description="steps between benchmark runs; 0 = off")
    benchmarks: list[str] = Field(default_factory=lambda: ["sugarcrepe"])
    data_root: PathStr = "data/benchmarks"
    images: list[PathStr] = Field(default_factory=list, description="image folders to search")
    batch_size: int = Field(64, ge=1)


class TrainConfig(_Section):
    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    run: RunConfig = RunConfig()
    eval: EvalConfig = EvalConfig()

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if not self.data.path:
            raise ValueError("data.path is empty: pass --data DIR_OR_URL (a dataset directory)")
        if (self.run.steps is None) == (self.run.epochs is None):
            raise ValueError("set exactly one of run.steps (--steps N) or run.epochs (--epochs E)")
        return self


def load_config(
    path: str | Path | None, overrides: dict[str, Any] | None = None, sets: Sequence[str] = ()
) -> TrainConfig:
    """Read a YAML config (or start from defaults), apply overrides, validate.

    Args:
        path: YAML file or None.
        overrides: dotted keys → values from explicit CLI options (None values are ignored).
        sets: "section.field=value" strings (positional overrides and `--set`).
    Raises:
        ahnpl.config.ConfigError (a ValueError): missing file, bad YAML, malformed override, or
            a field that fails validation (one line per problem, naming the file and field).
    """
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    return _config.load_config(TrainConfig, path, given, sets, kind="training config")
