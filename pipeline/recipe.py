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

from pydantic import Field, PrivateAttr, field_validator, model_validator

from ahnpl.config import PathStr, load_config, parse_override, read_yaml
from ahnpl.config import Section as _Section
from ahnpl.shards.schema import CORE_NEGATIVE_TYPES, slot_order

from .edit_config import EditConfig


class InputConfig(_Section):
    """Where the image-caption pairs come from (DESIGN §3; sources in `ahnpl.pipeline.inputs`)."""

    source: Literal["coco", "csv", "tsv", "webdataset", "parquet", "hf", "shapes"] | None = Field(
        None, description="input kind; detected from --input / --captions when not set"
    )
    input: PathStr | None = Field(
        None,
        description="input file, folder, glob or URL (CSV/TSV, tars, Parquet, a saved HF "
        "dataset; hf://datasets/ORG/NAME for a dataset in the local HF cache)",
    )
    captions: PathStr | None = Field(None, description="COCO caption JSON")
    images: PathStr | None = Field(None, description="folder the image file names are relative to")
    image_column: str | None = Field(
        None, description="column (tar suffix) of the image path or bytes; default per source"
    )
    caption_column: str | None = Field(
        None, description="column (tar suffix) of the caption(s); default per source"
    )
    separator: str | None = Field(None, description="CSV/TSV separator; sniffed when not set")
    limit: int | None = Field(None, ge=1, description="use only the first N input images")
    count: int = Field(1000, ge=1, description="images to render (source: shapes)")
    split: str = Field("train", description="shapes world split (train|test), or an HF split")

    @model_validator(mode="after")
    def _shapes_split(self) -> InputConfig:
        if self.source == "shapes" and self.split not in ("train", "test"):
            raise ValueError(f"input.split {self.split!r}: the shapes world has train and test")
        return self


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
    stats: Literal["input", "input+bundled", "bundled"] = Field(
        "input",
        description="plausibility statistics: the input's own, plus the bundled, or bundled",
    )
    stats_file: PathStr | None = Field(
        None, description="statistics made by `ahnpl-gen stats` (used instead of `stats`)"
    )
    lexicons: list[PathStr] = Field(default_factory=list, description="user lexicon files")
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


class OutputConfig(_Section):
    out: PathStr | None = Field(None, description="dataset folder or fsspec URL")
    format: Literal["parquet", "webdataset"] = "parquet"
    images_per_shard: int = Field(1000, ge=1)


class RayConfig(_Section):
    """Ray tasks of `distributor: ray` (one task per shard; `ahnpl.pipeline.distributors`)."""

    address: str | None = Field(None, description='cluster address ("auto", "ray://host:10001")')
    num_cpus: float = Field(1, gt=0, description="CPUs per shard task (the caption stage)")
    num_gpus: float | None = Field(
        None, ge=0, description="GPUs per shard task; default 1 for a model editor, else 0"
    )
    max_retries: int = Field(3, ge=0, description="retries of a failed or killed shard task")


class Recipe(_Section):
    input: InputConfig = Field(default_factory=InputConfig)
    images: ImagesConfig = Field(default_factory=ImagesConfig)
    negatives: NegativesConfig = Field(default_factory=NegativesConfig)
    edit: EditConfig = Field(default_factory=EditConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    seed: int = 0
    workers: int = Field(1, ge=1, description="local processes, one shard at a time each")
    distributor: str = Field(
        "auto", description="auto | local | ranks | ray (auto: ranks under torchrun / SLURM)"
    )
    ray: RayConfig = Field(default_factory=RayConfig)

    @field_validator("distributor")
    @classmethod
    def _known_distributor(cls, v: str) -> str:
        from .distributors import DISTRIBUTORS

        if v != "auto":
            DISTRIBUTORS.get(v)  # UnknownName (a ValueError) lists the registered names
        return v

    # Input paths as written in the recipe file, before they were resolved against its folder.
    _given_paths: dict[str, str] = PrivateAttr(default_factory=dict)

    def as_given(self) -> dict:
        """The recipe as JSON, input paths as the user gave them (what the manifest keeps:
        paths resolved on the building machine mean nothing to whoever receives the data)."""
        data = self.model_dump(mode="json")
        data["input"].update(self._given_paths)
        return data


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
    recipe = _with_detected_source(load_config(Recipe, path, overrides, args, kind="recipe"))
    recipe._given_paths = _given_input_paths(path, overrides, args)
    return recipe


def _given_input_paths(path, overrides, args) -> dict[str, str]:
    """`input.captions` / `input.images` / `input.input` as the user wrote them."""
    given: dict[str, Any] = {}
    if path is not None:
        section = read_yaml(path, "recipe").get("input") or {}
        given.update({k: section[k] for k in ("captions", "images", "input") if k in section})
    pairs = list((overrides or {}).items()) + [parse_override(a) for a in args]
    for key, value in pairs:
        if key in ("input.captions", "input.images", "input.input"):
            given[key.split(".", 1)[1]] = value
    return {k: v for k, v in given.items() if isinstance(v, str)}


def _with_detected_source(recipe: Recipe) -> Recipe:
    """`input.source` detected from the input when not given, so the recipe, its hash and the
    manifest name what is read. An input that cannot be detected stays None: the build then
    says why, naming the flag."""
    from .input_detect import detect_source

    if recipe.input.source is not None:
        return recipe
    try:
        source = detect_source(recipe.input)
    except (ValueError, OSError):
        return recipe
    return recipe.model_copy(update={"input": recipe.input.model_copy(update={"source": source})})
