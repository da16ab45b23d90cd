"""Load an open_clip CLIP model by name or config file, with weights from anywhere users keep them.

Shared by `ahnpl.trainer` (the model it fine-tunes) and `ahnpl.evaluation` (the model it scores).
Nothing downloads unless `pretrained` is an open_clip pretrained tag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

BUNDLED_CONFIGS = Path(__file__).resolve().parent.parent / "trainer" / "configs"


@dataclass
class LoadedModel:
    """An open_clip model with its transforms and tokenizer.

    `name` is the open_clip model name (the config file's stem for a config path).
    """

    model: torch.nn.Module
    preprocess_train: Any
    preprocess_val: Any
    tokenizer: Any
    name: str


def resolve_model_name(model: str) -> str:
    """Register a config JSON with open_clip when `model` is a path; return the model name.

    `model` is an open_clip model name ("ViT-B-32"), a path to an open_clip model-config JSON,
    or the stem of a config bundled with ahnpl ("ahnpl-tiny").

    Raises:
        FileNotFoundError: `model` looks like a path (ends in .json) but does not exist.
        ValueError: the name is neither an open_clip model nor a bundled config.
    """
    import open_clip

    path = Path(model)
    if path.suffix == ".json":
        if not path.is_file():
            raise FileNotFoundError(f"--model {model}: no such model-config JSON file")
        json.loads(path.read_text())  # a clear JSON error before open_clip's
        open_clip.add_model_config(path)
        return path.stem
    if model in open_clip.list_models():
        return model
    bundled = _bundled_config(model)
    if bundled is not None:
        open_clip.add_model_config(bundled)
        return model
    raise ValueError(
        f"--model {model}: not an open_clip model name nor a config JSON; "
        f"see open_clip.list_models() or pass a path to a model-config JSON"
    )


def _bundled_config(name: str) -> Path | None:
    try:
        from importlib.resources import files

        candidate = files("ahnpl.trainer.configs") / f"{name}.json"
        if candidate.is_file():
            return Path(str(candidate))
    except ModuleNotFoundError:
        pass
    candidate = BUNDLED_CONFIGS / f"{name}.json"
    return candidate if candidate.is_file() else None


def create_model(
    model: str,
    pretrained: str = "",
    device: str | torch.device = "cpu",
    precision: str = "fp32",
) -> LoadedModel:
    """Build an open_clip model and load weights.

    Args:
        model: open_clip model name, model-config JSON path, or bundled config name.
        pretrained: "" for random init; an open_clip pretrained tag ("openai", "laion2b_s34b_b79k");
            or a local checkpoint path: an `ahnpl-train` checkpoint, an open_clip training
            checkpoint, or a published AHNPL / CE-CLIP / NegCLIP file (a bare state dict or
            one under a `state_dict` key, `module.` prefixes stripped). Loading uses
            `weights_only=True`.
        device: torch device.
        precision: open_clip precision string ("fp32", "bf16", "fp16", "amp").

    Raises:
        FileNotFoundError / ValueError: unknown model or checkpoint path.
    """
    import open_clip

    name = resolve_model_name(model)
    local = bool(pretrained) and (
        Path(pretrained).exists()
        or "/" in pretrained
        or pretrained.endswith((".pt", ".bin", ".safetensors"))
    )
    if local and not Path(pretrained).is_file():
        raise FileNotFoundError(f"--pretrained {pretrained}: no such checkpoint file")
    model_obj, preprocess_train, preprocess_val = open_clip.create_model_and_transforms(
        name,
        pretrained=(pretrained or None) if not local else None,
        precision=precision,
        device=device,
    )
    if local:
        open_clip.load_checkpoint(
            model_obj, pretrained, strict=True, weights_only=True, device=device
        )
    tokenizer = open_clip.get_tokenizer(name)
    return LoadedModel(model_obj, preprocess_train, preprocess_val, tokenizer, name)
