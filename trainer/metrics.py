"""Training metrics to the console, a CSV file and (optionally) TensorBoard.

Only rank 0 writes. The CSV (`OUT/metrics.csv`) gets one row per logged step; its columns are
fixed by the first row (every loss term, margins per negative type, α, ℓ, lr, samples/s).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import torch
from tqdm import tqdm


def flatten(
    terms: dict[str, torch.Tensor], margins: dict[str, torch.Tensor], types: list[str]
) -> dict[str, float]:
    """Scalars for logging: `loss/<term>` and `margin/<side>/<type>` (logit units)."""
    row = {f"loss/{k}": float(v) for k, v in terms.items()}
    for side, tau in margins.items():
        if tau.numel() == len(types):
            row.update({f"margin/{side}/{t}": float(x) for t, x in zip(types, tau.tolist())})
    return row


class MetricLogger:
    """Rows to `OUT/metrics.csv` (and TensorBoard). `resumed_at`: the checkpoint step a run
    resumes from; rows a killed run logged after it are dropped, since they are redone."""

    def __init__(
        self, out: Path, enabled: bool, tensorboard: bool = False, resumed_at: int | None = None
    ) -> None:
        self.enabled = enabled
        self.path = out / "metrics.csv"
        self.fields: list[str] | None = None
        self.tb = None
        if enabled and tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out / "tensorboard"))
        if enabled and self.path.is_file():
            lines = self.path.read_text().splitlines(keepends=True)
            self.fields = lines[0].strip().split(",") if lines else None
            if resumed_at is not None and lines:
                kept = [x for x in lines[1:] if int(x.split(",", 1)[0]) <= resumed_at]
                self.path.write_text("".join(lines[:1] + kept))

    def log(self, step: int, row: dict[str, float]) -> None:
        if not self.enabled:
            return
        row = {"step": step, **row}
        new = self.fields is None
        if new:
            self.fields = list(row)
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)
        if self.tb is not None:
            for k, v in row.items():
                if k != "step":
                    self.tb.add_scalar(k, v, step)
        terms = " ".join(
            f"{k.split('/', 1)[1]} {v:.4f}" for k, v in row.items() if k.startswith("loss/")
        )
        tqdm.write(  # above the progress bar, not through it
            f"step {step} | {terms} | α {row.get('alpha', float('nan')):.3f} "
            f"ℓ {row['logit_scale']:.2f} lr {row['lr']:.2e} | {row['samples_per_s']:.1f} samples/s",
        )

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def run_benchmarks(cfg, loaded, device, step: int, out: Path) -> dict[str, float]:
    """Score the model being trained with `ahnpl.evaluation` (rank 0 only, DESIGN §2 flow);
    append `{"step", figures...}` to `OUT/eval.jsonl` and print the summary figures.

    `cfg` is the `eval` config section; `loaded` the LoadedModel whose `model` is training.
    """
    from ahnpl.evaluation.report import scalar_figures
    from ahnpl.evaluation.run import evaluate

    results = evaluate(
        loaded,
        cfg.benchmarks,
        data_root=cfg.data_root,
        images=cfg.images,
        device=device,
        batch_size=cfg.batch_size,
        workers=0,
    )
    flat = scalar_figures(results)
    with (out / "eval.jsonl").open("a") as f:
        f.write(json.dumps({"step": step, **flat}) + "\n")
    summary = {k: v for k, v in flat.items() if k.count("/") == 1}
    print(f"eval step {step} | " + " ".join(f"{k} {v:.4f}" for k, v in summary.items()), flush=True)
    return flat
