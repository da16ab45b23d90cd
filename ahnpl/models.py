"""Load an open_clip CLIP model by name or config file, with weights from anywhere users keep them.

Shared by `ahnpl.trainer` (the model it fine-tunes) and `ahnpl.evaluation` (the model it scores).
Nothing downloads unless `pretrained` is an open_clip pretrained tag.

Checkpoint files accepted (`create_model(pretrained=PATH)` and `load_checkpoint(PATH)`):
- a checkpoint of `ahnpl-train`: a dict with "state_dict", "model" (name or config path) and
  "model_config" (the open_clip config dict), so it loads without `--model`;
- an open_clip training checkpoint ({"epoch", "name", "state_dict"} with `module.` prefixes);
- published AHNPL / CE-CLIP / NegCLIP files: a bare state dict, or one under "state_dict",
  "model_state_dict" or "model", with `module.`, `model.` or `_orig_mod.` prefixes;
- `.safetensors` files.
Every `torch.load` uses `weights_only=True`.

Activation. OpenAI's CLIP weights were trained with QuickGELU (x·σ(1.702x)); open_clip's plain
names (`ViT-B-32`) build GELU towers and only warn. The activation is therefore decided here:
a pretrained tag takes it from open_clip's pretrained config (`quick_gelu`); a `-quickgelu`
name asks for it; a checkpoint file gives it where it records it (an `ahnpl-train` file's
"model_config", an open_clip training file's "name"). A file that records nothing is built as
the name says, with a warning: a bare state dict does not tell GELU weights from QuickGELU.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

BUNDLED_CONFIGS = Path(__file__).resolve().parent.parent / "trainer" / "configs"
_STATE_KEYS = ("state_dict", "model_state_dict", "model")
_PREFIXES = ("module.", "_orig_mod.", "model.")
QUICKGELU_SUFFIX = "-quickgelu"
log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """An open_clip model with its transforms and tokenizer.

    `name` is the open_clip model name (the config file's stem for a config path);
    `pretrained` the tag or checkpoint path its weights came from ("" for random init);
    `model_config` the open_clip config the model was built from, `quick_gelu` included
    (saved in checkpoints, so that the same network is rebuilt from them).
    """

    model: torch.nn.Module
    preprocess_train: Any
    preprocess_val: Any
    tokenizer: Any
    name: str
    pretrained: str = ""
    model_config: dict[str, Any] = field(default_factory=dict)


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
    if model.endswith(QUICKGELU_SUFFIX):
        base = resolve_model_name(model.removesuffix(QUICKGELU_SUFFIX))
        register_model_config(model, {**open_clip.get_model_config(base), "quick_gelu": True})
        return model
    raise ValueError(
        f"--model {model}: not an open_clip model name nor a config JSON; "
        f"see open_clip.list_models() or pass a path to a model-config JSON"
    )


def register_model_config(name: str, config: dict[str, Any]) -> None:
    """Register an open_clip config dict under `name` (open_clip reads configs from files)."""
    import open_clip

    with tempfile.TemporaryDirectory() as tmp:
        cfg_path = Path(tmp) / f"{name}.json"
        cfg_path.write_text(json.dumps(config))
        open_clip.add_model_config(cfg_path)


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


def read_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """The raw object in a checkpoint file (`weights_only=True`; safetensors as a state dict).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a dict (e.g. a TorchScript archive or a pickled module).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path}: no such file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device=str(device))
    try:
        obj = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # torch raises UnpicklingError and RuntimeError variants
        raise ValueError(
            f"checkpoint {path}: cannot be read with weights_only=True ({err}); convert it to a "
            f"state dict (torch.save(model.state_dict(), ...)) or safetensors"
        ) from err
    if not isinstance(obj, dict):
        raise ValueError(f"checkpoint {path}: holds a {type(obj).__name__}, not a state dict")
    return obj


def extract_state_dict(obj: dict[str, Any], source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The model weights inside a checkpoint dict, with wrapper prefixes stripped.

    Looks under "state_dict", "model_state_dict" and "model" (when that holds tensors), else takes
    the dict itself; strips `module.` (DDP), `_orig_mod.` (torch.compile) and `model.` when every
    key has it.

    Raises:
        ValueError: no tensors found.
    """
    state = obj
    for key in _STATE_KEYS:
        inner = obj.get(key)
        if isinstance(inner, dict) and any(isinstance(v, torch.Tensor) for v in inner.values()):
            state = inner
            break
    state = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise ValueError(f"{source}: no tensors found under {_STATE_KEYS} or at the top level")
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if all(k.startswith(prefix) for k in state):
                state = {k[len(prefix) :]: v for k, v in state.items()}
                changed = True
    return state


def load_weights(model: torch.nn.Module, state_dict: dict[str, torch.Tensor], source: str) -> None:
    """Load `state_dict` into an open_clip model strictly, after open_clip's format fixes.

    Raises:
        ValueError: keys or shapes do not match the architecture (names the first few).
    """
    from open_clip.convert import convert_state_dict
    from open_clip.model import resize_pos_embed, resize_text_pos_embed

    state_dict = convert_state_dict(model, dict(state_dict))
    scale = state_dict.get("logit_scale")
    if scale is not None and scale.ndim != model.logit_scale.ndim:
        state_dict["logit_scale"] = scale.reshape(model.logit_scale.shape)
    if getattr(model, "logit_bias", None) is not None and "logit_bias" not in state_dict:
        state_dict["logit_bias"] = torch.zeros_like(model.logit_bias)
    resize_pos_embed(state_dict, model)
    resize_text_pos_embed(state_dict, model)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as err:
        raise ValueError(
            f"{source}: weights do not fit the model architecture; pass the --model it was "
            f"trained with. {str(err)[:600]}"
        ) from err


def _is_local(pretrained: str) -> bool:
    return bool(pretrained) and (
        Path(pretrained).exists()
        or "/" in pretrained
        or pretrained.endswith((".pt", ".pth", ".bin", ".safetensors"))
    )


def create_model(
    model: str,
    pretrained: str = "",
    device: str | torch.device = "cpu",
    precision: str = "fp32",
) -> LoadedModel:
    """Build an open_clip model and load weights, with the activation they were trained with.

    Args:
        model: open_clip model name, model-config JSON path, or bundled config name; a
            `-quickgelu` suffix builds QuickGELU towers.
        pretrained: "" for random init; an open_clip pretrained tag ("openai", "laion2b_s34b_b79k");
            or a local checkpoint path (any format in the module docstring).
        device: torch device.
        precision: open_clip precision string ("fp32", "bf16", "fp16", "amp").

    Raises:
        FileNotFoundError / ValueError: unknown model or checkpoint path, or weights that do
        not fit the architecture.
    """
    name = resolve_model_name(model)
    local = _is_local(pretrained)
    if local and not Path(pretrained).is_file():
        raise FileNotFoundError(f"--pretrained {pretrained}: no such checkpoint file")
    obj = read_checkpoint(pretrained) if local else None
    return _build(name, pretrained, obj, device, precision)


def _build(
    name: str,
    pretrained: str,
    obj: dict[str, Any] | None,
    device: str | torch.device,
    precision: str,
) -> LoadedModel:
    """`name` resolved; `obj` the read checkpoint file `pretrained`, or None for a tag / ""."""
    import open_clip

    config = copy.deepcopy(open_clip.get_model_config(name))
    named = bool(config.get("quick_gelu"))
    if obj is not None:
        quick = _file_quick_gelu(obj, pretrained, name, named)
    else:
        tag = (open_clip.get_pretrained_cfg(name, pretrained) or {}) if pretrained else {}
        quick = named or bool(tag.get("quick_gelu"))
    config["quick_gelu"] = quick
    with _quiet_random_init_warning(enabled=obj is not None):
        model_obj, preprocess_train, preprocess_val = open_clip.create_model_and_transforms(
            name,
            pretrained=None if obj is not None else (pretrained or None),
            precision="fp32" if obj is not None else precision,
            device="cpu" if obj is not None else device,
            force_quick_gelu=quick,
        )
    if obj is not None:
        load_weights(model_obj, extract_state_dict(obj, source=pretrained), source=pretrained)
        model_obj = _to_precision(model_obj, precision).to(device)
    tokenizer = open_clip.get_tokenizer(name)
    return LoadedModel(
        model_obj, preprocess_train, preprocess_val, tokenizer, name, pretrained, config
    )


def recorded_quick_gelu(obj: dict[str, Any]) -> bool | None:
    """Whether a checkpoint dict records QuickGELU (True), GELU (False), or nothing (None).

    An `ahnpl-train` file holds its "model_config"; an open_clip training file holds the run
    "name", which by open_clip's default naming contains `model_<MODEL>-lr_`.
    """
    config = obj.get("model_config")
    if isinstance(config, dict):
        return bool(config.get("quick_gelu"))
    run = obj.get("name")
    found = re.search(r"model_(\S+?)-lr_", run) if isinstance(run, str) else None
    return found.group(1).endswith(QUICKGELU_SUFFIX) if found else None


def _file_quick_gelu(obj: dict[str, Any], path: str, name: str, named: bool) -> bool:
    """The activation the file records, else the one the name asks for (`named`), warning
    when the file records nothing and the name gives GELU."""
    recorded = recorded_quick_gelu(obj)
    if recorded is None:
        if not named:
            log.warning(
                "%s records no activation: building GELU towers as %s says; if its weights "
                "descend from OpenAI's CLIP (trained with QuickGELU), use --model %s%s",
                path,
                name,
                name,
                QUICKGELU_SUFFIX,
            )
        return named
    if recorded != named and named:
        log.warning("%s records GELU: building GELU towers despite --model %s", path, name)
    return recorded


@contextlib.contextmanager
def _quiet_random_init_warning(enabled: bool):
    """Hide open_clip's "initialized randomly" warning when we load the weights right after."""
    if not enabled:
        yield
        return

    class _Filter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "No pretrained weights loaded" not in record.getMessage()

    root = logging.getLogger()
    f = _Filter()
    root.addFilter(f)
    try:
        yield
    finally:
        root.removeFilter(f)


def _to_precision(model: torch.nn.Module, precision: str) -> torch.nn.Module:
    if precision in ("bf16", "pure_bf16"):
        return model.to(torch.bfloat16)
    if precision in ("fp16", "pure_fp16"):
        return model.to(torch.float16)
    return model


def load_checkpoint(
    path: str | Path,
    model: str | None = None,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
) -> LoadedModel:
    """Load an `ahnpl-train` checkpoint (or any checkpoint file, given `model`).

    The architecture comes from the checkpoint's "model_config" (an open_clip config dict,
    registered with open_clip under the checkpoint's "model" name) unless `model` is given.

    Raises:
        FileNotFoundError: no such file.
        ValueError: neither `model` nor a "model_config" in the checkpoint, or weights that do
        not fit.
    """
    obj = read_checkpoint(path)
    if model is None:
        config = obj.get("model_config")
        if not isinstance(config, dict):
            raise ValueError(
                f"--checkpoint {path}: has no 'model_config'; pass --model with the architecture "
                f"it was trained with"
            )
        model = Path(str(obj.get("model") or "ahnpl-checkpoint")).stem
        if config.get("quick_gelu") and not model.endswith(QUICKGELU_SUFFIX):
            model += QUICKGELU_SUFFIX  # never shadow the plain name's GELU config
        register_model_config(model, config)
    return _build(resolve_model_name(model), str(path), obj, device, precision)


def fingerprint(model: torch.nn.Module) -> str:
    """sha256 (hex) over the model's configuration and its state dict.

    Covers `repr(model)`, which names every module's class and settings (so QuickGELU and GELU
    builds of one config differ, as do widths, heads and image sizes), then every state-dict
    entry: name, dtype, shape and bytes, in key order. Two models with this fingerprint give
    the same outputs; used in every results file.
    """
    h = hashlib.sha256()
    h.update(repr(model).encode())
    for key, value in sorted(model.state_dict().items()):
        t = value.detach().cpu().contiguous()
        h.update(f"{key}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
