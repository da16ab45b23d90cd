"""The training loop: shards → batches → open_clip model + objective → checkpoints.

Read top to bottom (DESIGN §8). One process or `torchrun --nproc_per_node N`; see
`ahnpl.trainer.distributed` for why per-rank losses give the global-batch gradient. The loss
side (inputs, extra parameters, after-step hooks) belongs to the objective
(`ahnpl.trainer.objective`), so nothing here branches on the loss mode.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from ahnpl.devices import resolve_device
from ahnpl.models import LoadedModel, create_model
from ahnpl.shards.manifest import load_manifest, manifest_sha256

from . import checkpoint as ckpt
from .config import TrainConfig, dump_config
from .curves import write_curves
from .data import StreamOptions, TrainData, build_loader, check_shard_files
from .distributed import World, all_reduce_grads, cleanup, init_distributed
from .metrics import MetricLogger, flatten, run_benchmarks
from .objective import Objective, build_objective, encode

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def lr_at(step: int, cfg: TrainConfig, total: int) -> float:
    """Linear warm-up, then cosine decay to 0 (open_clip's schedule)."""
    warm = cfg.optim.warmup_steps
    if step < warm:
        return cfg.optim.lr * (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    return 0.5 * cfg.optim.lr * (1 + math.cos(math.pi * progress))


def param_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    # No weight decay on gains, biases and the logit scale (open_clip's rule, DESIGN §8).
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            flat = p.ndim < 2 or "bias" in name or "ln" in name or "logit_scale" in name
            (no_decay if flat else decay).append(p)
    return [
        {"params": decay, "weight_decay": cfg.optim.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


@dataclass
class Progress:
    """Counters saved in every checkpoint."""

    step: int = 0
    samples_seen: int = 0
    skipped: int = 0  # steps without an update: non-finite loss, or fp16 overflow
    same_token_negatives: int = 0  # slots made invalid: same tokens as the caption


class Run:
    """The state of one training run, and one optimizer step (`step`)."""

    def __init__(
        self, cfg: TrainConfig, world: World, device: torch.device, model, objective: Objective
    ) -> None:
        self.cfg, self.world, self.device = cfg, world, device
        self.model, self.objective = model, objective
        groups = param_groups(model, cfg) + objective.param_groups()
        o = cfg.optim
        self.optimizer = torch.optim.AdamW(
            groups, lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, fused=o.fused or None
        )
        self.scaler = torch.amp.GradScaler(device.type, enabled=cfg.run.precision == "fp16")
        self.ddp = DDP(model) if world.world_size > 1 else model
        dtype = AMP_DTYPES.get(cfg.run.precision, torch.float32)
        self.amp = torch.autocast(device.type, dtype=dtype, enabled=cfg.run.precision != "fp32")
        self.progress = Progress()
        self.positions: list[list[int]] | None = None  # per loader worker: [epoch, consumed]

    def load(self, state: dict) -> None:
        """Continue from a checkpoint dict (`ahnpl.trainer.checkpoint`)."""
        self.model.load_state_dict(state["state_dict"])
        self.objective.load_state_dict(state["loss"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        fields = Progress.__dataclass_fields__
        self.progress = Progress(**{k: state[k] for k in fields if k in state})
        rank = min(self.world.rank, len(state["rng"]) - 1)
        ckpt.set_rng_state(state["rng"][rank])
        self.positions = state["data"][rank]

    def step(self, batch: dict, lr: float) -> dict[str, torch.Tensor]:
        """One optimizer step on `batch`; returns the loss terms of this rank."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with self.amp:
            encoded = encode(self.ddp, batch, self.device, self.objective)
        terms = self.objective(encoded)  # fp32, outside autocast
        loss = terms["total"]
        # A non-finite loss on any rank skips the update everywhere (counted and logged).
        finite = self.world.sum(torch.isfinite(loss.detach()).float()) == self.world.world_size
        if finite:
            self.scaler.scale(loss).backward()
            all_reduce_grads(list(self.objective.parameters()), self.world)
            if self.cfg.optim.grad_clip:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
            scale = self.scaler.get_scale()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            # The scaler skips the step on inf/NaN gradients and lowers its scale.
            finite = self.scaler.get_scale() >= scale
        self.progress.skipped += not finite
        self.optimizer.zero_grad(set_to_none=True)
        self.objective.after_step(self.model)
        self.progress.step += 1
        self.progress.samples_seen += self.cfg.data.batch_size * self.world.world_size
        self.progress.same_token_negatives += batch["same_tokens"]
        wid, epoch, consumed = batch["position"]
        self.positions[wid] = [epoch, consumed]
        terms["logit_scale"] = encoded.logit_scale.detach()
        return terms

    def save(self, path: Path, loaded: LoadedModel, manifest_hash: str) -> None:
        """Write the checkpoint; every rank's RNG state and stream positions go into rank 0's."""
        local = [ckpt.rng_state(), self.positions]
        gathered = [local]
        if self.world.world_size > 1:
            gathered = [None] * self.world.world_size
            torch.distributed.all_gather_object(gathered, local)
        if self.world.is_main:
            state = {
                "state_dict": ckpt.strip_module(self.model.state_dict()),
                "model": self.cfg.model.name,
                "model_config": loaded.model_config,
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(),
                "loss": self.objective.state_dict(),
                **asdict(self.progress),
                "rng": [g[0] for g in gathered],
                "data": [g[1] for g in gathered],
                "config": self.cfg.model_dump(),
                "manifest_sha256": manifest_hash,
            }
            ckpt.save_atomic(state, path)

    def log_row(self, terms: dict, data: TrainData, rate: float) -> dict[str, float]:
        scale = terms.pop("logit_scale")
        row = flatten(
            {k: self.world.mean(x) for k, x in terms.items()},
            self.objective.margins(),
            data.negative_types,
        )
        row.update(self.objective.log_values())
        row.update(
            logit_scale=float(scale),
            lr=self.optimizer.param_groups[0]["lr"],
            samples_per_s=rate,
            skipped_steps=self.progress.skipped,
            same_token_negatives=self.progress.same_token_negatives,
            samples_seen=self.progress.samples_seen,
        )
        return row


def check_run(cfg: TrainConfig, world: World) -> dict | None:
    """The checkpoint to resume from (or None), after the run-folder checks of
    `checkpoint.open_run`; rank 0 prints "resumed from step N". Raises RunFolderError."""
    state = ckpt.open_run(cfg.run.out, cfg.run.resume, cfg.model_dump(), world.is_main)
    if state is not None and world.is_main:
        print(f"resumed from step {state['step']} ({ckpt.RUN_FILES[0]} in {cfg.run.out})")
        before = state["config"]["run"]
        for key in ckpt.SCHEDULE_FIELDS:
            field = key.split(".")[1]
            if before.get(field) != getattr(cfg.run, field):
                print(
                    f"note: {key} was {before.get(field)}, now {getattr(cfg.run, field)}: the "
                    f"LR schedule is recomputed for the new length"
                )
    return state


def train(cfg: TrainConfig) -> Path:
    """Run training as configured; return the path of the last checkpoint.

    Raises:
        ValueError: the run folder holds another run, or a resume changes the config.
        ShardMismatch: a shard of the dataset is missing or has another size than listed.
    """
    world = init_distributed(cfg.run.device)
    try:
        last = _train(cfg, world)
        # Leave together: a rank that exits while a peer still writes its checkpoint or
        # talks to the rendezvous store (rank 0 hosts it under SLURM) takes the peer down.
        world.barrier()
        return last
    finally:
        cleanup()


def _train(cfg: TrainConfig, world: World) -> Path:
    device = resolve_device(cfg.run.device)
    out = Path(cfg.run.out)
    ckpt_path = out / ckpt.RUN_FILES[0]
    state = check_run(cfg, world)
    check_shard_files(cfg.data.path, load_manifest(cfg.data.path))
    world.barrier()  # every rank has seen the folder before rank 0 writes into it
    if world.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(dump_config(cfg))

    torch.manual_seed(cfg.run.seed)  # same initial weights on every rank
    loaded = create_model(cfg.model.name, cfg.model.pretrained, device=device)
    num_slots = len(load_manifest(cfg.data.path).negative_types)
    objective = build_objective(cfg.loss, num_slots, cfg.data.batch_size, world).to(device)
    run = Run(cfg, world, device, loaded.model, objective)
    if state is not None:
        run.load(state)
    options = StreamOptions(
        start_batch=run.progress.step,
        resume=run.positions,
        pixel_negatives=objective.wants_pixel_negatives,
        invalid_slot_text=objective.invalid_slot_text,
    )
    # A synthetic world whose captions name positions has no use for crops (they move them).
    transform = loaded.preprocess_train if cfg.data.augment == "crop" else loaded.preprocess_val
    data = build_loader(
        cfg.data,
        transform,
        loaded.tokenizer,
        cfg.run.seed,
        world.rank,
        world.world_size,
        options,
        pin_memory=device.type == "cuda",
    )
    run.positions = run.positions or [[0, 0] for _ in range(data.workers)]
    global_batch = cfg.data.batch_size * world.world_size
    steps_per_epoch = max(1, data.samples_per_epoch // global_batch)
    total = cfg.run.steps or math.ceil(cfg.run.epochs * data.samples_per_epoch / global_batch)
    manifest_hash = manifest_sha256(cfg.data.path)
    if state is not None and state["manifest_sha256"] != manifest_hash:
        print(f"warning: {cfg.data.path} changed since the checkpoint (manifest sha256)")

    resumed_at = None if state is None else state["step"]
    logger = MetricLogger(out, world.is_main, cfg.run.tensorboard, resumed_at)
    p = run.progress
    t0, seen0 = time.perf_counter(), p.samples_seen
    run.model.train()
    # A terminal gets a progress bar; logs and pipes get only the per-log-step lines.
    bar = tqdm(total=total, initial=p.step, unit="step", disable=None if world.is_main else True)
    for batch in data.loader:
        if p.step >= total:
            break
        if p.step % steps_per_epoch == 0:
            objective.on_epoch_start()
        terms = run.step(batch, lr_at(p.step, cfg, total))
        bar.update(1)
        if p.step % cfg.run.log_every == 0 or p.step == total:
            rate = (p.samples_seen - seen0) / max(time.perf_counter() - t0, 1e-9)
            logger.log(p.step, run.log_row(terms, data, rate))
            t0, seen0 = time.perf_counter(), p.samples_seen
        if p.step % cfg.run.save_every == 0 or p.step == total:
            run.save(ckpt_path, loaded, manifest_hash)
            if world.is_main:
                write_curves(out / "metrics.csv")  # curves.png, redrawn at each checkpoint
        if cfg.eval.every and world.is_main and (p.step % cfg.eval.every == 0 or p.step == total):
            run_benchmarks(cfg.eval, loaded, device, p.step, out)
    bar.close()
    logger.close()
    if p.step < total:  # the stream is endless: only a failing loader ends it early
        raise RuntimeError(f"rank {world.rank}: data ran out at step {p.step} of {total}")
    if world.is_main:
        print(
            f"checkpoint: {ckpt_path} (step {p.step}, {p.samples_seen} samples, "
            f"{p.skipped} skipped steps); metrics: {out / 'metrics.csv'}"
        )
    return ckpt_path
