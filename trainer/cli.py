"""`ahnpl-train [CONFIG.yaml] [options]`: fine-tune an open_clip model on an ahnpl dataset.

Only wiring: options → `TrainConfig` → `ahnpl.trainer.train.train`. Any field without its own
option is set as `section.field=value` after the config, or with `--set section.field=value`
(repeatable), e.g. `ahnpl-train cfg.yaml optim.warmup_steps=0 loss.margin=max`.
Several processes: `torchrun --nproc_per_node N -m ahnpl.trainer.cli ...` (or the console
script path in place of `-m ahnpl.trainer.cli`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from ahnpl.cli_errors import check_device, check_pretrained, one_line_errors
from ahnpl.shards.manifest import load_manifest

from .config import load_config

app = typer.Typer(add_completion=False, help=__doc__)

# Option of `main` → config field it sets (None = not given on the command line).
OPTION_FIELDS = {
    "data": "data.path",
    "out": "run.out",
    "model": "model.name",
    "pretrained": "model.pretrained",
    "batch_size": "data.batch_size",
    "steps": "run.steps",
    "epochs": "run.epochs",
    "lr": "optim.lr",
    "device": "run.device",
    "seed": "run.seed",
    "resume": "run.resume",
    "workers": "data.workers",
    "precision": "run.precision",
    "loss": "loss.mode",
    "margin": "loss.margin",
    "tau_max": "loss.tau_max",
    "lambda_mhn": "loss.lambda_mhn",
    "lambda_dm": "loss.lambda_dm",
    "lambda_pos": "loss.lambda_pos",
    "image_negatives": "loss.image_negatives",
    "image_negatives_per_sample": "data.image_negatives_per_sample",
    "captions_per_image": "data.captions_per_image",
    "log_every": "run.log_every",
    "save_every": "run.save_every",
    "verify_data": "data.verify",
}


@app.command()
def main(
    args: list[str] | None = typer.Argument(
        None, help="[CONFIG.yaml] then any SECTION.FIELD=VALUE overrides", show_default=False
    ),
    data: str | None = typer.Option(None, "--data", help="dataset dir or URL (manifest.json)"),
    out: str | None = typer.Option(None, "--out", help="output directory"),
    model: str | None = typer.Option(None, "--model", help="open_clip name or config JSON"),
    pretrained: str | None = typer.Option(
        None, "--pretrained", help="open_clip tag or checkpoint path; '' = random init"
    ),
    batch_size: int | None = typer.Option(None, "--batch-size", help="samples per rank"),
    steps: int | None = typer.Option(None, "--steps", help="optimizer steps"),
    epochs: float | None = typer.Option(None, "--epochs", help="passes over the data"),
    lr: float | None = typer.Option(None, "--lr"),
    device: str | None = typer.Option(None, "--device", help="cpu | cuda"),
    seed: int | None = typer.Option(None, "--seed"),
    resume: bool = typer.Option(False, "--resume", help="continue from OUT/checkpoints"),
    workers: int | None = typer.Option(None, "--workers", help="loader workers per rank"),
    precision: str | None = typer.Option(None, "--precision", help="fp32 | bf16 | fp16"),
    loss: str | None = typer.Option(None, "--loss", help="ahnpl | reference | clip"),
    margin: str | None = typer.Option(None, "--margin", help="mean | max | fixed"),
    tau_max: float | None = typer.Option(None, "--tau-max", help="margin clamp (logits)"),
    lambda_mhn: float | None = typer.Option(None, "--lambda-mhn"),
    lambda_dm: float | None = typer.Option(None, "--lambda-dm"),
    lambda_pos: float | None = typer.Option(None, "--lambda-pos"),
    image_negatives: str | None = typer.Option(
        None, "--image-negatives", help="pixel | feature | both | none"
    ),
    image_negatives_per_sample: int | None = typer.Option(None, "--image-negatives-per-sample"),
    captions_per_image: str | None = typer.Option(None, "--captions-per-image", help="all|one"),
    log_every: int | None = typer.Option(None, "--log-every"),
    save_every: int | None = typer.Option(None, "--save-every"),
    verify_data: bool = typer.Option(
        False, "--verify-data", help="compare every shard's sha256 with the manifest first"
    ),
    set_: list[str] = typer.Option([], "--set", help="SECTION.FIELD=VALUE (repeatable)"),
) -> None:
    """Train; prints where the checkpoint and metrics are."""
    from .checkpoint import RunFolderError
    from .data import ShardMismatch
    from .train import train

    given = locals()
    # An option left out (None) or a flag not given (False) keeps the config's value.
    overrides = {
        field: None if given[name] is False else given[name]
        for name, field in OPTION_FIELDS.items()
    }
    # --steps and --epochs on the command line replace the other one set in the YAML.
    config, positional = _split_args(args or [])
    sets = positional + list(set_)
    if steps is not None:
        sets.append("run.epochs=null")
    elif epochs is not None:
        sets.append("run.steps=null")
    try:
        cfg = load_config(config, overrides, sets)
        # Checked before the model is built, so a typo costs no minutes.
        check_device(cfg.run.device)
        load_manifest(cfg.data.path)
        check_pretrained(cfg.model.name, cfg.model.pretrained)
    except (ValueError, FileNotFoundError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    # Run-folder and shard errors are the user's to fix; anything else keeps its traceback.
    with one_line_errors(user_errors=(RunFolderError, ShardMismatch)):
        train(cfg)


def _split_args(args: list[str]) -> tuple[Path | None, list[str]]:
    """First positional is the config file unless it is an override; the rest are overrides."""
    config = None
    if args and "=" not in args[0]:
        config, args = Path(args[0]), args[1:]
    bad = [a for a in args if "=" not in a]
    if bad:
        typer.echo(f"error: {bad[0]!r}: expected SECTION.FIELD=VALUE after the config", err=True)
        raise typer.Exit(2)
    return config, list(args)


if __name__ == "__main__":
    app()
