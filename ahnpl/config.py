"""One YAML config loader for build recipes and training configs (DESIGN §1, STYLE 12).

A config is a YAML mapping of sections, each a pydantic model derived from `Section` (unknown
keys are errors). `load_config` reads it with `yaml.safe_load`, applies overrides, resolves
relative paths and validates once. The rules, the same for every command:

Overrides, `section.field=value`:
    the value is parsed as YAML (`negatives.types=[relation,object]`, `run.steps=5`,
    `output.out=null`); an empty value, `a.b=`, is null, exactly as `b:` in a YAML file is
    (write `a.b=""` for the empty string). Missing sections are created; a dotted key that
    runs through a value that is not a section (`seed.x=1`) is a ValueError naming the key.
Paths, fields typed `PathStr` (or a list of them):
    a relative path written in the YAML file is relative to that file's folder; a relative
    path given on the command line, or a relative default, is relative to the working
    directory. All are made absolute on load, so a saved resolved config means the same from
    anywhere. URLs (`s3://`, `hf://`, `file://`...) and absolute paths are left alone; `~` is
    expanded.
Errors:
    every problem raises `ConfigError` (a ValueError) whose message names the file, the field
    and what is valid, one line per problem:
    `recipe demo.yaml: edit.optoins: unknown field; valid fields here: editor, ...`.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ahnpl.cli_errors import describe_validation_error


class Section(BaseModel):
    """Base of every config section: unknown keys are typos, not extensions."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class ConfigError(ValueError):
    """A config that cannot be read or does not validate; the message says where and why."""


class _PathMarker:
    def __repr__(self) -> str:
        return "PathStr"


PATH = _PathMarker()
PathStr = Annotated[str, PATH]
"""A `str` field holding a local path or URL, resolved by the rules above."""

M = TypeVar("M", bound=BaseModel)


def parse_override(assignment: str) -> tuple[str, Any]:
    """`"loss.margin=max"` -> `("loss.margin", "max")`; the value is parsed as YAML.

    Raises:
        ConfigError: no `=`, an empty key or key part, or a value that is not valid YAML.
    """
    if "=" not in assignment:
        raise ConfigError(f"override {assignment!r}: expected SECTION.FIELD=VALUE")
    key, raw = assignment.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {assignment!r}: expected SECTION.FIELD=VALUE")
    try:
        return key, yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise ConfigError(f"override {assignment!r}: the value is not valid YAML ({e})") from None


def set_dotted(tree: dict, key: str, value: Any) -> None:
    """Set `tree[a][b] = value` for `key = "a.b"`, creating missing sections.

    Raises:
        ConfigError: a part of `key` before the last names a value that is not a section.
    """
    *parents, leaf = key.split(".")
    node = tree
    for depth, part in enumerate(parents):
        child = node.setdefault(part, {})
        if child is None:  # `section:` with nothing under it in YAML
            child = node[part] = {}
        if not isinstance(child, dict):
            where = ".".join(parents[: depth + 1])
            raise ConfigError(f"override {key}: {where} is a value ({child!r}), not a section")
        node = child
    node[leaf] = value


def read_yaml(path: str | Path, kind: str = "config") -> dict:
    """The mapping in YAML file `path` (empty file -> {}).

    Raises:
        ConfigError: no such file, not valid YAML, or not a mapping at the top level.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{kind} {path}: no such file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{kind} {path}: not valid YAML: {' '.join(str(e).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{kind} {path}: the top level must be a mapping of sections")
    return data


def load_config(
    model: type[M],
    path: str | Path | None,
    overrides: Mapping[str, Any] | None = None,
    args: Sequence[str] = (),
    kind: str = "config",
) -> M:
    """Read YAML `path` (or start from defaults), apply overrides, resolve paths, validate.

    Args:
        model: the top-level `Section` subclass (e.g. `Recipe`, `TrainConfig`).
        path: YAML file, or None for defaults.
        overrides: dotted key -> value, applied as given (None sets null; leave out what the
            user did not set). Command-line flags go here.
        args: `section.field=value` strings, applied after `overrides`, in order.
        kind: what the document is, for messages ("recipe", "training config").
    Raises:
        ConfigError: the file is missing or not a YAML mapping, an override is malformed, or
            validation fails; one line per problem, naming the file and the field.
    """
    tree: dict = {}
    if path is not None:
        tree = read_yaml(path, kind)
        resolve_paths(model, tree, Path(path).resolve().parent)
    given = set()
    for key, value in (overrides or {}).items():
        set_dotted(tree, key, value)
        given.add(key)
    for assignment in args:
        key, value = parse_override(assignment)
        set_dotted(tree, key, value)
        given.add(key)
    try:
        cfg = model.model_validate(tree)
    except ValidationError as e:
        lines = describe_validation_error(e, model).splitlines()
        raise ConfigError("\n".join(_where(line, kind, path, given) for line in lines)) from None
    # What is still relative came from the command line or a default: the working directory.
    return _absolute(cfg, Path.cwd())


def _where(line: str, kind: str, path: str | Path | None, given: set[str]) -> str:
    """Prefix a validation line with where its field was set: a flag/override or the file."""
    field = line.split(":", 1)[0]
    # A user fixing a typo looks where it was typed: the command line, not the recipe file.
    if any(field == k or field.startswith(k + ".") or k.startswith(field + ".") for k in given):
        return f"{kind} override: {line}"
    return f"{kind} {path}: {line}" if path is not None else f"{kind}: {line}"


def dump_config(cfg: BaseModel) -> str:
    """The resolved config as YAML, in field order (what is saved next to an output)."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)


def resolve_paths(model: type[BaseModel], tree: dict, base: Path) -> None:
    """Make the relative `PathStr` values of raw `tree` (for `model`) absolute against `base`."""
    for name, value in tree.items():
        field = model.model_fields.get(name) if isinstance(name, str) else None
        if field is None:
            continue
        # pydantic moves a field's top-level Annotated metadata into FieldInfo.metadata.
        if _is_path(field.annotation) or any(m is PATH for m in field.metadata):
            tree[name] = _resolve(value, base)
        elif isinstance(value, dict):
            for section in _sections(field.annotation):
                resolve_paths(section, value, base)


def _absolute(cfg: M, base: Path) -> M:
    """`cfg` with every relative `PathStr` value made absolute against `base`."""
    updates: dict[str, Any] = {}
    for name, field in type(cfg).model_fields.items():
        value = getattr(cfg, name)
        if _is_path(field.annotation) or any(m is PATH for m in field.metadata):
            resolved = _resolve(value, base)
        elif isinstance(value, BaseModel):
            resolved = _absolute(value, base)
        else:
            continue
        if resolved != value:
            updates[name] = resolved
    return cfg.model_copy(update=updates) if updates else cfg


def _is_path(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        if any(m is PATH for m in annotation.__metadata__):
            return True
        return _is_path(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (Union, types.UnionType, list, tuple):
        return any(_is_path(a) for a in typing.get_args(annotation) if a is not type(None))
    return False


def _sections(annotation: Any) -> list[type[BaseModel]]:
    """The Section models a field may hold (one, or each member of a union)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [s for a in typing.get_args(annotation) for s in _sections(a)]


def _resolve(value: Any, base: Path) -> Any:
    if isinstance(value, list):
        return [_resolve(v, base) for v in value]
    if not isinstance(value, str) or not value or "://" in value:
        return value
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())
