"""The recipe's `edit:` section, typed per editor (DESIGN §5). No torch, no diffusers.

    edit:
      editor: instruct-pix2pix          # a name in `ahnpl.pipeline.editors.EDITORS`
      edits_per_image: 1
      types: [attribute, object]        # the one list of types that get an image edit
      options: {model: timbrooks/instruct-pix2pix, steps: 20}   # this editor's own fields
      filter: {model: ViT-B-32, pretrained: openai, min_dir: 0.2}  # optional CLIP filter

`options` is a pydantic union keyed by `editor`: each editor has its own options model, so a
misspelt or foreign option is an error naming the valid ones. `types` left out means the
editor's default; a type the editor cannot edit is an error, never a silent zero edits.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import Field, field_validator, model_validator

from ahnpl.config import Section
from ahnpl.shards.schema import ALL_NEGATIVE_TYPES, slot_order


class EditorOptions(Section):
    """Fields every editor takes. `editor` is filled in from `edit.editor` (not written)."""

    # What the editor can express at all (None: every type) and what it edits by default.
    editable_types: ClassVar[tuple[str, ...] | None] = None
    default_types: ClassVar[tuple[str, ...] | None] = None

    editor: str = Field(exclude=True)
    batch_size: int = Field(1, ge=1, description="edits per model call")
    device: str | None = Field(None, description="torch device; None: the editor's default")


class NoneOptions(EditorOptions):
    editable_types: ClassVar[tuple[str, ...] | None] = ()
    default_types: ClassVar[tuple[str, ...] | None] = ()
    editor: Literal["none"] = Field("none", exclude=True)


class FlipOptions(EditorOptions):
    editable_types: ClassVar[tuple[str, ...] | None] = ("relation",)
    default_types: ClassVar[tuple[str, ...] | None] = ("relation",)
    editor: Literal["flip"] = Field("flip", exclude=True)


class RenderOptions(EditorOptions):
    """The shapes world's exact renderer: any type whose negative it can draw."""

    editor: Literal["render"] = Field("render", exclude=True)
    held_out: bool = Field(
        True, description="refuse to draw a held-out composition into a training image"
    )


class DiffusionOptions(EditorOptions):
    """instruct-pix2pix and img2img (SDEdit); see `ahnpl.pipeline.diffusion`."""

    # A relation is a layout change a diffusion edit does not make reliably (DESIGN §5:
    # relations only via flip).
    editable_types: ClassVar[tuple[str, ...] | None] = tuple(
        t for t in ALL_NEGATIVE_TYPES if t != "relation"
    )
    default_types: ClassVar[tuple[str, ...] | None] = ("attribute", "object", "verb")

    editor: Literal["instruct-pix2pix", "img2img"] = Field(exclude=True)
    model: str = Field(..., description="diffusers hub id or local pipeline directory")
    revision: str | None = Field(None, description="hub revision (branch, tag or commit)")
    variant: str | None = Field(None, description='weight file variant, e.g. "fp16"')
    local_files_only: bool = False
    device: str = Field("auto", description='"auto" (cuda:$LOCAL_RANK when available), "cpu"...')
    dtype: Literal["fp32", "bf16", "fp16"] = "bf16"
    vae_dtype: Literal["fp32", "bf16"] = "fp32"
    steps: int = Field(20, ge=1)
    guidance_scale: float = Field(7.5, ge=0.0, description="text guidance")
    image_guidance_scale: float = Field(1.5, ge=0.0, description="instruct-pix2pix only")
    strength: float = Field(0.6, gt=0.0, le=1.0, description="img2img only: noise level")
    resolution: int = Field(512, ge=8, description="working size of the longer side, pixels")
    size_multiple: int | None = Field(None, ge=1, description="default: the VAE scale factor")
    batch_size: int = Field(8, ge=1)
    blank_std: float = Field(0.02, ge=0.0, description="std (0..1 scale) under which = blank")

    @model_validator(mode="after")
    def _some_denoising(self) -> DiffusionOptions:
        if self.editor == "img2img" and int(self.steps * self.strength) < 1:
            # SDEdit runs the last steps*strength of the schedule; zero steps is no edit.
            raise ValueError(
                f"editor img2img: steps={self.steps} x strength={self.strength} < 1 denoising "
                "step; raise steps or strength (SD-Turbo: steps=2, strength=0.5, "
                "guidance_scale=0)"
            )
        return self


# One member per editor name; a new editor adds its options model here (docs/ARCHITECTURE.md).
AnyEditorOptions = Annotated[
    NoneOptions | FlipOptions | RenderOptions | DiffusionOptions,
    Field(discriminator="editor"),
]
EditorName = Literal["none", "flip", "instruct-pix2pix", "img2img", "render"]
EDITOR_NAMES: tuple[str, ...] = get_args(EditorName)


class FilterConfig(Section):
    """The optional CLIP quality filter (`ahnpl.pipeline.edit_filter`).

    Thresholds are cosines: an edit passes when `score_dir >= min_dir` and
    `min_img <= score_img <= max_img`. The defaults are InstructPix2Pix's dataset filter (Brooks
    et al. 2023, §3.1.2: directional >= 0.2, image-image >= 0.75); -1 / 1 switch a bound off.
    """

    model: str = Field(..., description="open_clip model name, config JSON or bundled config")
    pretrained: str = Field("", description="'' = random, an open_clip tag, or a checkpoint")
    min_dir: float = Field(0.2, ge=-1.0, le=1.0)
    min_img: float = Field(0.75, ge=-1.0, le=1.0)
    max_img: float = Field(1.0, ge=-1.0, le=1.0)
    device: str = Field("auto", description='"auto": the GPU of this rank when there is one')
    batch_size: int = Field(32, ge=1, description="images per forward pass")

    @model_validator(mode="after")
    def _ordered(self) -> FilterConfig:
        if self.min_img > self.max_img:
            raise ValueError(f"filter min_img={self.min_img} > max_img={self.max_img}")
        return self


class EditConfig(Section):
    """Image hard negatives (DESIGN §5). The build hands the editor a whole shard's edits at
    once so it can batch across images."""

    editor: EditorName = "none"
    edits_per_image: int = Field(1, ge=0)
    types: list[str] | None = Field(
        None, description="negative types that get an image edit; None: the editor's default"
    )
    options: AnyEditorOptions = Field(default_factory=NoneOptions)
    filter: FilterConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _options_of_the_editor(cls, data: Any) -> Any:
        # The union is keyed by the sibling `editor` field: copy it in. An unknown editor is
        # reported once, on `editor`, not again on `options`.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        editor = data.get("editor", "none")
        options = data.get("options")
        if editor not in EDITOR_NAMES:
            data.pop("options", None)
        elif options is None or isinstance(options, dict):
            data["options"] = {**(options or {}), "editor": editor}
        return data

    @field_validator("types")
    @classmethod
    def _known_types(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else list(slot_order(v))

    @model_validator(mode="after")
    def _types_the_editor_can_edit(self) -> EditConfig:
        options = type(self.options)
        if self.types is None:
            if options.default_types is not None:
                self.types = list(options.default_types)
            return self
        editable = options.editable_types
        refused = [t for t in self.types if editable is not None and t not in editable]
        if refused:
            can = ", ".join(editable) if editable else "nothing"
            hint = "; relations get images from editor flip" if "relation" in refused else ""
            raise ValueError(
                f"types lists {', '.join(refused)}, which editor {self.editor} cannot edit "
                f"(it edits: {can}){hint}"
            )
        return self
