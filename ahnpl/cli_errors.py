"""Error messages a user can act on, shared by the three command-line tools.

pydantic's own messages name the location but not the fix; these list the valid fields of the
section a typo was made in. Devices and pretrained tags are checked before a model is built,
and `one_line_errors` turns what users cause (a file that is not there, a model that is not in
the local cache while the hub is unreachable, a CUDA device on a machine without one, an
unknown pretrained tag) into one `error:` line naming the fix, on every command. Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import os
import re
import typing
from collections.abc import Iterator
from typing import Any

import typer
from pydantic import BaseModel, ValidationError

# What the user can do instead, per command (`one_line_errors(fixes=...)`).
OFFLINE_FIX_MODEL = "pass a local checkpoint file with --pretrained PATH (or '' for random init)"
OFFLINE_FIX_EDITOR = (
    "pass a local folder written by save_pretrained (--editor-model PATH), or use --editor flip"
)
CUDA_FIX = "use --device cpu"
OPEN_CLIP_SAFETENSORS, OPEN_CLIP_BIN = "open_clip_model.safetensors", "open_clip_pytorch_model.bin"
# Raised by the checks and loaders with a message meant for the user.
USER_ERRORS: tuple[type[BaseException], ...] = (FileNotFoundError, ValueError, ImportError)


def describe_validation_error(err: ValidationError, model: type[BaseModel]) -> str:
    """One line per problem: `section.field: what is wrong (valid fields / allowed values)`."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            parent = _section(model, e["loc"][:-1])
            # An excluded field is filled in by the program (a union's tag), not by the user.
            fields = parent.model_fields if parent else {}
            valid = ", ".join(n for n, f in fields.items() if not f.exclude) or "?"
            lines.append(f"{loc}: unknown field; valid fields here: {valid}")
        elif e["type"] == "value_error":  # our own validators: the message says it all
            lines.append(f"{loc}: {e['msg'].removeprefix('Value error, ')}")
        elif e["loc"]:
            lines.append(f"{loc}: {e['msg']} (got {_short(e.get('input'))})")
        else:  # a check across fields: the whole input is no help
            lines.append(e["msg"].removeprefix("Value error, "))
    return "\n".join(lines)


def _section(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        if not _is_model(current):  # a union keyed by a tag: pydantic puts the tag in `loc`
            current = next((m for m in _members(current) if _tagged(m, part)), None)
            continue
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = field.annotation
    return current if _is_model(current) else None


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _members(t: Any) -> list[type[BaseModel]]:
    return [m for a in typing.get_args(t) for m in ([a] if _is_model(a) else _members(a))]


def _tagged(model: type[BaseModel], tag: Any) -> bool:
    """Whether a Literal field of `model` allows `tag` (the discriminator of its union)."""
    return any(tag in typing.get_args(f.annotation) for f in model.model_fields.values())


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_device(device: str | None, option: str = "--device", fix: str = CUDA_FIX) -> None:
    """Raise ValueError with the fix when a CUDA device is asked for but none is visible.

    `option` is how the user set it (`--device`, `edit.options.device`); "auto" and None pass.
    """
    if str(device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"{option} {device}: no CUDA device is visible; {fix}")


def check_pretrained(model: str, pretrained: str | None, option: str = "--pretrained") -> None:
    """Raise ValueError when `pretrained` is neither a local file nor a tag open_clip knows for
    `model` (checked before any download, so a typo costs no minutes).

    Raises:
        ValueError: lists the tags open_clip has for `model`.
    """
    if not pretrained or os.path.exists(pretrained) or "/" in pretrained or "." in pretrained:
        return  # random init, or a path: models.create_model reports a missing file
    import open_clip

    from ahnpl.models import resolve_model_name

    name = resolve_model_name(model)
    tags = open_clip.list_pretrained_tags_by_model(name)
    if pretrained not in tags:
        known = ", ".join(tags[:6]) + (f" and {len(tags) - 6} more" if len(tags) > 6 else "")
        raise ValueError(
            f"{option} {pretrained}: not a pretrained tag of {name} "
            f"(open_clip has: {known or 'none'}); or pass a local checkpoint file"
        )
    hf_hub = open_clip.get_pretrained_cfg(name, pretrained).get("hf_hub", "")
    if hub_offline() and hf_hub and not _open_clip_weights_cached(hf_hub):
        raise ValueError(
            f"{option} {pretrained} ({hf_hub.rstrip('/')}): not in the local cache and the hub "
            f"cannot be reached (HF_HUB_OFFLINE is set); pass a local checkpoint file with "
            f"{option}{'=' if option.startswith('edit.') else ' '}PATH (or '' for random init)"
        )


def _open_clip_weights_cached(hf_hub: str) -> bool:
    # open_clip's own file names for hub weights (pretrained.download_pretrained_from_hf):
    # "org/model/" means the default names, "org/model/file" that file.
    from huggingface_hub import try_to_load_from_cache

    parts = hf_hub.strip("/").split("/")
    repo, filename = "/".join(parts[:2]), "/".join(parts[2:])
    names = [filename] if filename else [OPEN_CLIP_SAFETENSORS, OPEN_CLIP_BIN]
    return any(isinstance(try_to_load_from_cache(repo, n), str) for n in names)


def hub_offline() -> bool:
    """True when the Hugging Face hub is switched off for this process (`HF_HUB_OFFLINE`)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def check_hub_model(model: str | None, option: str, fix: str = OFFLINE_FIX_EDITOR) -> None:
    """With the hub offline, raise ValueError before any work when the diffusers pipeline
    `model` (a hub id, not a local folder) is not in the local cache.

    Online, nothing is checked here: the download may well succeed.
    """
    if not model or not hub_offline() or os.path.exists(os.path.expanduser(model)):
        return
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(model, "model_index.json")
    except ValueError:  # not a valid repo id: the loader names the problem
        return
    if not isinstance(cached, str):
        raise ValueError(
            f"{option} {model}: not in the local cache and the hub cannot be reached "
            f"(HF_HUB_OFFLINE is set); {fix}"
        )


@contextlib.contextmanager
def one_line_errors(
    offline_fix: str = OFFLINE_FIX_MODEL,
    cuda_fix: str = CUDA_FIX,
    user_errors: tuple[type[BaseException], ...] = USER_ERRORS,
    offline_subject: str = "a model",
) -> Iterator[None]:
    """Print `error: <message>` and exit with status 2 for errors the user can fix.

    `offline_fix` and `cuda_fix` name the way out on this command (a local path; `--editor flip`;
    `--device cpu`). `user_errors` are the exception types whose message is shown as it is
    (what the checks and loaders raise); pass () around code where such an error is a bug.
    `offline_subject` names the model when the hub's error does not (`--editor-model ID`).
    Other exceptions propagate with their traceback.
    """
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as err:
        message = explain(err, offline_fix, cuda_fix, user_errors, offline_subject)
        if message is None:
            raise
        typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def explain(
    err: BaseException,
    offline_fix: str = OFFLINE_FIX_MODEL,
    cuda_fix: str = CUDA_FIX,
    user_errors: tuple[type[BaseException], ...] = USER_ERRORS,
    offline_subject: str = "a model",
) -> str | None:
    """The one-line message for an error the user caused, or None for anything else."""
    chain = list(_chain(err))
    text = " ".join(str(e) for e in chain)
    if _is_hub_unreachable(chain, text):
        what = _what_failed(text, offline_subject)
        return f"{what}: not in the local cache and the hub cannot be reached; {offline_fix}"
    if _is_cuda_missing(text):
        return f"no CUDA device is visible ({_first_line(err)}); {cuda_fix}"
    if not isinstance(err, user_errors):
        return None
    if isinstance(err, KeyError) and err.args:
        return str(err.args[0])
    return _first_line(err) if isinstance(err, ValidationError) else str(err)


def _chain(err: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


_HUB_PHRASES = (
    "cannot find the requested files in the local cache",
    "cannot find the requested files in the disk cache",
    "outgoing traffic has been disabled",
    "we couldn't connect to",
    "failed to download weights for tag",
    "offline mode is enabled",
)


def _is_hub_unreachable(chain: list[BaseException], text: str) -> bool:
    names = {type(e).__name__ for e in chain}
    if names & {"LocalEntryNotFoundError", "OfflineModeIsEnabled"}:
        return True
    lowered = text.lower()
    return any(phrase in lowered for phrase in _HUB_PHRASES)


def _what_failed(text: str, default: str) -> str:
    tag = re.search(r"weights for tag '([^']+)'", text)
    repo = re.search(r"for ([\w.-]+/[\w.-]+)\.", text) or re.search(
        r"^([\w.-]+/[\w.-]+) does not appear", text
    )
    if tag:
        return f"--pretrained {tag.group(1)}" + (f" ({repo.group(1)})" if repo else "")
    if repo:
        return f"model {repo.group(1)}"
    return default


def _is_cuda_missing(text: str) -> bool:
    lowered = text.lower()
    return any(
        phrase in lowered
        for phrase in (
            "torch not compiled with cuda enabled",
            "found no nvidia driver",
            "no cuda gpus are available",
            "cuda driver initialization failed",
        )
    )


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
