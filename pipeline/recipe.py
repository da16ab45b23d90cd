"""The build recipe: one validated YAML document with a section per stage (DESIGN §1).

Each stage sees only its own section. Every field can be overridden from the command line as
`section.field=value`; overrides, relative paths (`input.captions`, `input.images`,
`output.out`: relative to the recipe file when written there) and error messages follow the
rules of `ahnpl.config`, shared with training configs. The resolved recipe is saved in the
dataset's manifest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ahnpl.config import PathStr, load_config
from ahnpl.config import Section as _Section
from ahnpl.shards.schema import CORE_NEGATIVE_TYPES, slot_order


class InputConfig(_Section):
    """Where the image-caption pairs come from (DESIGN §3)."""

    source: Literal["coco", "csv", "shapes"] = "coco"
    captions: PathStr | None = Field(None, description="COCO caption JSON, or CSV/TSV file")
    images: PathStr | None = Field(None, description="folder the image file names are relative to")
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
    lexicons: list[str] = Field(
        default_factory=list, description="user lexicon files (JSON) added to the packaged ones"
    )
    held_out: list[str] = Field(
        default_factory=list,
        description="phrases no negative may contain: the compositions of a held-out evaluation",
    )
    wording: str | None = Field(
        None, description="registered rewrite of each negative into its world's words"
    )

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
    out: PathStr | None = Field(None, description="dataset folder or fsspec URL")
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


def load_recipe(
    path: str | Path | None,
    args: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
) -> Recipe:
    """Load a YAML recipe (or defaults when `path` is None) and apply overrides.

    Args:
        path: the recipe file, or None.
        args: `section.field=value` strings (the command line's positional overrides).
        overrides: dotted key -> value (the command line's flags), applied before `args`.
    Raises:
        ahnpl.config.ConfigError: missing file, bad YAML, malformed override, or a field that
            is unknown or has a bad value (one line per problem, naming the file and field).
    """
    return load_config(Recipe, path, overrides, args, kind="recipe")
