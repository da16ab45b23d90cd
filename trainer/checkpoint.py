"""Checkpoints: one dict with everything needed to resume, written atomically (DESIGN §8).

Layout of `OUT/checkpoints/latest.pt` (torch.save of plain tensors, numbers, strings, lists and
dicts only, so `torch.load(..., weights_only=True)` reads it and no pickle code runs):

    state_dict       model.state_dict() without `module.` prefixes (open_clip.load_checkpoint
                     and ahnpl.models.create_model(name, pretrained=path) load it)
    model            the --model value given (name or config path)
    model_config     the open_clip config the model was built from, `quick_gelu` included:
                     rebuilds the same network without our files
    optimizer, scaler, loss (the objective's state dict: margins), step, samples_seen,
    skipped, same_token_negatives, rng (per rank), data (per rank, per loader worker: the
    stream position [epoch, samples consumed] after its last trained batch), config,
    manifest_sha256

Run folders (open_clip's habit): a folder that already holds a run is refused unless
`--resume` is given; on resume the checkpoint's config is compared with this one, and any field
that changes the model, loss, data stream or optimisation is named in a one-line error.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ahnpl.atomic import atomic_write


def save_atomic(state: dict[str, Any], path: str | Path) -> Path:
    """torch.save to a temporary name in the same folder, then os.replace: a crash never
    leaves a truncated file under the final name."""
    path = Path(path)
    with atomic_write(str(path)) as f:
        torch.save(state, f)
    return path


def load(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with weights_only=True (no code from the file is executed).

    Raises:
        FileNotFoundError: no file at `path`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path}: no such file (nothing to resume from)")
    return torch.load(path, map_location="cpu", weights_only=True)


def strip_module(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix("module."): v for k, v in state_dict.items()}


def rng_state() -> dict[str, Any]:
    """Python, NumPy and torch RNG states as tensors/lists (weights_only-safe)."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.random.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.random.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RunFolderError(ValueError):
    """The run folder cannot be used as asked (a one-line message for the CLI)."""


RUN_FILES = ("checkpoints/latest.pt", "metrics.csv", "config.yaml")
# Fields that may change on resume without changing what is trained.
FREE_ON_RESUME = (
    "run.resume",
    "run.out",
    "run.log_every",
    "run.save_every",
    "run.tensorboard",
    "run.device",
    "data.path",
    "data.verify",
    "eval.",
)
SCHEDULE_FIELDS = ("run.steps", "run.epochs")


def _flat(tree: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_changes(old: dict, new: dict) -> dict[str, tuple[Any, Any]]:
    """Dotted field → (old, new) for every field whose value differs."""
    a, b = _flat(old), _flat(new)
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def open_run(
    out: str | Path, resume: bool, config: dict, verbose: bool = True
) -> dict[str, Any] | None:
    """Check the run folder `out` and return the checkpoint to resume from, if any.

    Args:
        out: the run folder; resume: `--resume` given; config: this run's `model_dump()`;
        verbose: print a line when `--resume` finds no checkpoint.
    Returns:
        The checkpoint dict, or None for a fresh start (also when `--resume` finds none).
    Raises:
        RunFolderError: `out` holds a run and `resume` is False; or the checkpoint's config
            differs in a field outside `FREE_ON_RESUME` and `SCHEDULE_FIELDS` (one line
            naming each field, old → new).
    """
    out = Path(out)
    found = [name for name in RUN_FILES if (out / name).exists()]
    if not resume:
        if found:
            raise RunFolderError(
                f"--out {out} already holds a run ({', '.join(found)}); pass --resume to "
                f"continue it, or choose a new --out"
            )
        return None
    path = out / RUN_FILES[0]
    if not path.is_file():
        if verbose:
            print(f"--resume: no checkpoint at {path} yet; starting from step 0")
        return None
    state = load(path)
    changed = config_changes(state["config"], config)
    fixed = {
        k: v
        for k, v in changed.items()
        if not k.startswith(FREE_ON_RESUME) and k not in SCHEDULE_FIELDS
    }
    if fixed:
        fields = ", ".join(f"{k} ({a!r} → {b!r})" for k, (a, b) in fixed.items())
        raise RunFolderError(
            f"--resume: {path} was trained with another config: {fields}; restore them, or "
            f"start a new --out"
        )
    return state
