"""Checkpoints: one dict with everything needed to resume, written atomically (DESIGN §8).

Layout of `OUT/checkpoints/latest.pt` (torch.save of plain tensors, numbers, strings, lists and
dicts only, so `torch.load(..., weights_only=True)` reads it and no pickle code runs):

    state_dict       model.state_dict() without `module.` prefixes (open_clip.load_checkpoint
                     and ahnpl.models.create_model(name, pretrained=path) load it)
    model            the --model value given (name or config path)
    model_config     open_clip.get_model_config(name): rebuilds the model without our files
    optimizer, scaler, loss (α, margins), step, samples_seen, rng, config, manifest_sha256
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

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


def load_module_state(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load parameters and buffers whose shapes may differ from the fresh module's (the loss's
    margins start empty and take K entries after the first step)."""
    for name, value in state.items():
        *path, leaf = name.split(".")
        owner = module.get_submodule(".".join(path)) if path else module
        current = getattr(owner, leaf)
        if isinstance(current, nn.Parameter):
            with torch.no_grad():
                current.copy_(value)
        else:
            setattr(owner, leaf, value.to(current.device))
