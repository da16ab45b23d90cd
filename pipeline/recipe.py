"""The build recipe: one validated YAML document with a section per stage (DESIGN §1).

Each stage sees only its own section. Every field can be overridden from the command line as
`section.field=value` (the value is parsed as YAML, so `negatives.types=[relation,object]`
works); the resolved recipe is saved in the dataset's manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ahnpl.shards.schema import CORE_NEGATIVE_TYPES, slot_order


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputConfig(_Section):
    """Where the image-caption pairs come from (DESIGN §3)."""

    source: Literal["coco", "csv", "shapes"] = "coco"
    captions: str | None = Field(None, description="COCO caption JSON, or CSV/TSV file")
    images: str | None = Field(None, description="folder the image file names are relative to")
    image_column: str = "filepath"
    caption_column: str = "title"
    limit: int | None = Field(None, ge=1, description="use only the first N input images")
    count: int = Field(1000, ge=1, description="images to render (source: shapes)")
    split: Literal["train", "test"] = Field("train", description="shapes world split")


class ImagesConfig(_Section):
    """Image checks applied before anything is stored (DESIGN §10)."""

    max_pixels: int = Field(89_478_485, ge=1, description="larger images are rejected (bombs)")
    min_side: int = Field(8, ge=1, description="images with a smaller side are rejected")
    resize_max_side: int | None = Field(None, ge=8, description="downscale before storing")
    jpeg_quality: int = Field(95, ge=1, le=100)


class NegativesConfig(_Section):
    """Text hard negatives (DESIGN §4)."""

    types: list[str] = Field(default_factory=lambda: list(CORE_NEGATIVE_TYPES))
    spacy_model: str | None = None
    n_process: int = Field(1, ge=1)
    batch_size: int = Field(256, ge=1)

    @field_validator("types")
    @classmethod
    def _known_types(cls, v: list[str]) -> list[str]:
        return list(slot_order(v))


class EditConfig(_Section):
    """Image hard negatives (DESIGN §5).

    `options` go to the editor as keyword arguments (model, steps, guidance, dtype, its
    `batch_size`...); the build hands the editor a whole shard's edits at once so it can batch
    across images.
    """

    editor: str = "none"
    edits_per_image: int = Field(1, ge=0)
    types: list[str] | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class OutputConfig(_Section):
    out: str | None = None
    format: Literal["parquet", "webdataset"] = "parquet"
    images_per_shard: int = Field(1000, ge=1)


class Recipe(_Section):
    input: InputConfig = Field(default_factory=InputConfig)
    images: ImagesConfig = Field(default_factory=ImagesConfig)
    negatives: NegativesConfig = Field(default_factory=NegativesConfig)
    edit: EditConfig = Field(default_factory=EditConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    seed: int = 0
    workers: int = Field(1, ge=1, description="local processes, one shard at a time each")


def apply_override(data: dict, assignment: str) -> None:
    """Set `a.b=value` in a nested dict; the value is parsed with `yaml.safe_load`.

    Raises:
        ValueError: the assignment has no `=`.
    """
    if "=" not in assignment:
        raise ValueError(f"override {assignment!r}: expected section.field=value")
    dotted, raw = assignment.split("=", 1)
    *parents, leaf = dotted.strip().split(".")
    node = data
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = yaml.safe_load(raw)


def load_recipe(path: str | Path | None, overrides: list[str] = ()) -> Recipe:
    """Load a YAML recipe (or defaults when `path` is None) and apply overrides.

    Raises:
        FileNotFoundError: the recipe file does not exist.
        pydantic.ValidationError: a field is unknown or has a bad value (the message names it).
    """
    data: dict = {}
    if path is not None:
        if not Path(path).is_file():
            raise FileNotFoundError(f"recipe {path}: no such file (see manifests/ for examples)")
        text = Path(path).read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a recipe is a YAML mapping of sections")
        # Relative input paths in a recipe are relative to the recipe file, not the cwd.
        base = Path(path).resolve().parent
        section = data.get("input") or {}
        for key in ("captions", "images"):
            value = section.get(key)
            if isinstance(value, str) and "://" not in value and not Path(value).is_absolute():
                section[key] = str((base / value).resolve())
    for assignment in overrides:
        apply_override(data, assignment)
    return Recipe.model_validate(data)
