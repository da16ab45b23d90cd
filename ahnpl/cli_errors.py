"""Error messages a user can act on, shared by the three command-line tools.

pydantic's own messages name the location but not the fix; these list the valid fields of the
section a typo was made in, and check devices before a model is built.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError


def describe_validation_error(err: ValidationError, model: type[BaseModel]) -> str:
    """One line per problem: `section.field: what is wrong (valid fields / allowed values)`."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            parent = _section(model, e["loc"][:-1])
            valid = ", ".join(parent.model_fields) if parent else "?"
            lines.append(f"{loc}: unknown field; valid fields here: {valid}")
        elif e["loc"]:
            lines.append(f"{loc}: {e['msg']} (got {_short(e.get('input'))})")
        else:  # a check across fields: the whole input is no help
            lines.append(e["msg"].removeprefix("Value error, "))
    return "\n".join(lines)


def _section(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return None
        current = field.annotation
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_device(device: str) -> None:
    """Raise ValueError with the fix when a CUDA device is asked for but none is visible."""
    if str(device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"--device {device}: no CUDA device is visible; use --device cpu")
