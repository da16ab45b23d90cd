"""The training loop: shards → batches → open_clip model + AHNPL losses → checkpoints.

Read top to bottom (DESIGN §8). One process or `torchrun --nproc_per_node N`; see
`ahnpl.trainer.distributed` for why per-rank losses give the global-batch gradient.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from ahnpl.models import create_model
from ahnpl.shards.manifest import manifest_sha256

from . import checkpoint as ckpt
from .config import TrainConfig, dump_config
from .curves import write_curves
from .data import build_loader
from .distributed import all_reduce_grads, cleanup, init_distributed, local_device
from .losses import build_loss, clamp_logit_scale_
from .metrics import MetricLogger, flatten, run_benchmarks

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def lr_at(step: int, cfg: TrainConfig, total: int) -> float:
    """Linear warm-up, then cosine decay to 0 (open_clip's schedule)."""
    warm = cfg.optim.warmup_steps
    if step < warm:
        return cfg.optim.lr * (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    return 0.5 * cfg.optim.lr * (1 + math.cos(math.pi * progress))


def param_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    # No weight decay on gains, biases, the logit scale and α (open_clip's rule, DESIGN §8).
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            flat = p.ndim < 2 or "bias" in name or "ln" in name or "logit_scale" in name
            (no_decay if flat else decay).append(p)
    return [
        {"params": decay, "weight_decay": cfg.optim.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def encode(model, batch: dict, device: torch.device, encode_invalid: bool):
    """One forward through the (DDP) model for images + edits and captions + negatives.

    Returns v [B,D], t [B,D], tn [B,K,D] (zeros at invalid slots unless `encode_invalid`),
    mask [B,K], pixel [B,K,D], pixel_mask [B,K], ℓ.
    """
    images, texts, mask = batch["images"], batch["texts"], batch["neg_mask"]
    b, k, n_tok = batch["neg_texts"].shape
    neg_tokens = batch["neg_texts"].reshape(b * k, n_tok)
    # Indexing on the CPU copy: no device round trip before the forward.
    picked = torch.arange(b * k) if encode_invalid else mask.reshape(-1).nonzero()[:, 0]
    mask = mask.to(device, non_blocking=True)
    all_images = torch.cat([images, batch["edit_images"]]).to(device, non_blocking=True)
    all_texts = torch.cat([texts, neg_tokens[picked]]).to(device, non_blocking=True)
    img_f, txt_f, scale = model(all_images, all_texts)
    d = img_f.shape[1]
    tn = txt_f.new_zeros(b * k, d).index_copy(0, picked.to(device), txt_f[b:]).view(b, k, d)
    edit_index = batch["edit_index"].to(device)
    pixel = img_f.new_zeros(b * k, d).index_copy(0, edit_index, img_f[b:]).view(b, k, d)
    pixel_mask = torch.zeros(b * k, dtype=torch.bool, device=device)
    pixel_mask[edit_index] = True
    return img_f[:b], txt_f[:b], tn, mask, pixel, pixel_mask.view(b, k), scale


def train(cfg: TrainConfig) -> Path:
    """Run training as configured; return the path of the last checkpoint."""
    world = init_distributed(cfg.run.device)
    device = local_device(cfg.run.device, world)
    out = Path(cfg.run.out)
    ckpt_path = out / "checkpoints" / "latest.pt"
    state = ckpt.load(ckpt_path) if cfg.run.resume and ckpt_path.is_file() else None
    if cfg.run.resume and state is None and world.is_main:
        print(f"--resume: no checkpoint at {ckpt_path} yet; starting from step 0")
    if world.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(dump_config(cfg))

    torch.manual_seed(cfg.run.seed)  # same initial weights on every rank
    loaded = create_model(cfg.model.name, cfg.model.pretrained, device=device)
    model = loaded.model
    loss_fn = build_loss(cfg.loss, world).to(device)
    optimizer = torch.optim.AdamW(
        param_groups(model, cfg),
        lr=cfg.optim.lr,
        betas=(cfg.optim.beta1, cfg.optim.beta2),
        eps=cfg.optim.eps,
    )
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.run.precision == "fp16")
    step, samples_seen, skipped = 0, 0, 0
    if state is not None:
        model.load_state_dict(state["state_dict"])
        ckpt.load_module_state(loss_fn, state["loss"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        step, samples_seen, skipped = state["step"], state["samples_seen"], state["skipped"]

    pixel = cfg.loss.mode == "ahnpl" and cfg.loss.image_negatives in ("pixel", "both")
    data = build_loader(cfg.data, loaded.preprocess_train, loaded.tokenizer, cfg.run.seed,
                        world.rank, world.world_size, start_batch=step, pixel_negatives=pixel,
                        pin_memory=device.type == "cuda")  # fmt: skip
    global_batch = cfg.data.batch_size * world.world_size
    steps_per_epoch = max(1, data.samples_per_epoch // global_batch)
    total = cfg.run.steps or math.ceil(cfg.run.epochs * data.samples_per_epoch / global_batch)
    manifest_hash = manifest_sha256(cfg.data.path)
    if state is not None:
        if state["manifest_sha256"] != manifest_hash:
            print(f"warning: {cfg.data.path} changed since the checkpoint (manifest sha256)")
        ckpt.set_rng_state(state["rng"][world.rank] if world.rank < len(state["rng"]) else
                           state["rng"][0])  # fmt: skip

    ddp = DDP(model) if world.world_size > 1 else model
    amp = torch.autocast(device.type, dtype=AMP_DTYPES.get(cfg.run.precision, torch.float32),
                         enabled=cfg.run.precision != "fp32")  # fmt: skip
    logger = MetricLogger(out, world.is_main, cfg.run.tensorboard)
    extra = [p for p in loss_fn.parameters() if p.requires_grad]
    t0, seen0 = time.perf_counter(), samples_seen

    def save() -> None:
        # Every rank's RNG state travels in rank 0's file.
        rngs = [ckpt.rng_state()]
        if world.world_size > 1:
            rngs = [None] * world.world_size
            torch.distributed.all_gather_object(rngs, ckpt.rng_state())
        if world.is_main:
            ckpt.save_atomic({
                "state_dict": ckpt.strip_module(model.state_dict()),
                "model": cfg.model.name,
                "model_config": loaded.model_config,
                "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
                "loss": loss_fn.state_dict(), "step": step, "samples_seen": samples_seen,
                "skipped": skipped, "rng": rngs, "config": cfg.model_dump(),
                "manifest_sha256": manifest_hash,
            }, ckpt_path)  # fmt: skip
            write_curves(out / "metrics.csv")  # curves.png, redrawn at each checkpoint

    model.train()
    # A terminal gets a progress bar; logs and pipes get only the per-log-step lines.
    bar = tqdm(total=total, initial=step, unit="step", disable=None if world.is_main else True)
    for batch in data.loader:
        if step >= total:
            break
        if step % steps_per_epoch == 0 and cfg.loss.mode == "reference":
            loss_fn.on_epoch_start()  # the reference loss resets its margins each epoch
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg, total)

        with amp:
            v, t, tn, mask, pix, pix_mask, scale = encode(
                ddp, batch, device, encode_invalid=cfg.loss.mode == "reference"
            )
        # The loss runs in fp32 outside autocast (its own forward also disables autocast).
        has_pixel = pixel and bool(pix_mask.any())
        terms = loss_fn(v, t, tn, mask, pix if has_pixel else None,
                        pix_mask if has_pixel else None, scale)  # fmt: skip
        loss = terms["total"]

        # A non-finite loss on any rank skips the update everywhere (counted and logged).
        finite = world.sum(torch.isfinite(loss.detach()).float()) == world.world_size
        if finite:
            scaler.scale(loss).backward()
            all_reduce_grads(extra, world)
            if cfg.optim.grad_clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
            scaler.step(optimizer)
            scaler.update()
        else:
            skipped += 1
        optimizer.zero_grad(set_to_none=True)
        clamp_logit_scale_(model)
        step += 1
        samples_seen += global_batch
        bar.update(1)

        if step % cfg.run.log_every == 0 or step == total:
            row = flatten({k: world.mean(x) for k, x in terms.items()}, loss_fn.margins(),
                          data.negative_types)  # fmt: skip
            elapsed = time.perf_counter() - t0
            alpha = loss_fn.pos.alpha if cfg.loss.mode == "ahnpl" else None
            row.update(alpha=float(alpha) if alpha is not None else float("nan"),
                       logit_scale=float(scale.detach()), lr=optimizer.param_groups[0]["lr"],
                       samples_per_s=(samples_seen - seen0) / max(elapsed, 1e-9),
                       skipped_steps=skipped, samples_seen=samples_seen)  # fmt: skip
            logger.log(step, row)
            t0, seen0 = time.perf_counter(), samples_seen
        if step % cfg.run.save_every == 0 or step == total:
            save()
        if cfg.eval.every and world.is_main and (step % cfg.eval.every == 0 or step == total):
            run_benchmarks(cfg.eval, loaded, device, step, out)

    bar.close()
    logger.close()
    if step < total:  # the stream is endless: only a failing loader ends it early
        raise RuntimeError(f"rank {world.rank}: data ran out at step {step} of {total}")
    if world.is_main:
        print(f"checkpoint: {ckpt_path} (step {step}, {samples_seen} samples, "
              f"{skipped} skipped steps); metrics: {out / 'metrics.csv'}")  # fmt: skip
    cleanup()
    return ckpt_path
