"""The dataset card: `README.md` at the dataset root, written when the manifest is (DESIGN §6).

Its YAML header is what `datasets.load_dataset(DIR)` reads: `configs` names the shard files
(so `manifest.json`, `_progress/` and `rejects.parquet` stay out of the data), and
`dataset_info.features` types every column, the images as `Image()`. The features come from
`ARROW_SCHEMA`, so a column added to the schema is on the card too. The body gives the slot
names, the statistics, how to load the data, the recipe and the licence note.
"""

from __future__ import annotations

import json

import pyarrow as pa
import yaml

from .manifest import Manifest, join
from .schema import ARROW_SCHEMA

CARD_NAME = "README.md"

# Binary fields holding an encoded image (the row's image and each edit's image).
_IMAGE_FIELDS = ("image",)

_LICENCE = """\
The images and captions keep the licence and terms of use of the input dataset they were read
from (for COCO: the Flickr terms of each photo and the COCO annotation licence, CC BY 4.0); ahnpl
does not relicense them. The text hard negatives and edited images are derived from those
inputs and are shared under the same terms. Check the input's terms before redistributing."""


def _yaml_type(field: pa.Field):
    t = field.type
    if field.name in _IMAGE_FIELDS and (pa.types.is_binary(t) or pa.types.is_large_binary(t)):
        return "image"
    if pa.types.is_struct(t):
        return [_yaml_field(t.field(i)) for i in range(t.num_fields)]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = _yaml_type(t.value_field)
        # `list: [...]` for a list of structs, `sequence:` for lists of values: both forms are
        # read the same way by datasets 2.x to 5.x.
        return {"list": inner} if isinstance(inner, list) else {"sequence": inner}
    if pa.types.is_large_string(t):
        return "large_string"
    return {"halffloat": "float16", "float": "float32", "double": "float64"}.get(str(t), str(t))


def _yaml_field(field: pa.Field) -> dict:
    kind = _yaml_type(field)
    if isinstance(kind, str):
        return {"name": field.name, "dtype": kind}
    if isinstance(kind, list):
        return {"name": field.name, "struct": kind}
    return {"name": field.name, **kind}


def parquet_features() -> list[dict]:
    """`dataset_info.features` of a Parquet dataset: one entry per `ARROW_SCHEMA` column."""
    return [_yaml_field(f) for f in ARROW_SCHEMA]


def webdataset_features(edit_members: int) -> list[dict]:
    """Features of a tar dataset as `datasets`' webdataset builder yields it: one column per
    member suffix (`jpg`, `json`, `edit<N>.jpg`) plus `__key__` and `__url__`."""
    image_free = [f for f in ARROW_SCHEMA if f.name not in ("image", "edits")]
    edit = ARROW_SCHEMA.field("edits").type.value_type
    edit_fields = [edit.field(i) for i in range(edit.num_fields) if edit.field(i).name != "image"]
    edit_fields = [
        pa.field(f.name, pa.float64()) if f.name.startswith("score") else f for f in edit_fields
    ]
    meta = pa.struct(
        [
            *image_free,
            pa.field("edits", pa.list_(pa.struct(edit_fields))),
            pa.field("schema_version", pa.int64()),
            pa.field("negative_types", pa.list_(pa.string())),
        ]
    )
    features = [
        {"name": "jpg", "dtype": "image"},
        {"name": "json", "struct": _yaml_type(pa.field("json", meta))},
    ]
    features += [{"name": f"edit{n}.jpg", "dtype": "image"} for n in range(edit_members)]
    return features + [
        {"name": "__key__", "dtype": "string"},
        {"name": "__url__", "dtype": "string"},
    ]


def data_files(manifest: Manifest) -> str | list[str]:
    """The shard files the card names: a glob when every shard has rows, else the list of
    the non-empty ones (readers stumble on files without rows)."""
    names = [s.name for s in manifest.shards if s.rows > 0]
    if len(names) < len(manifest.shards):
        return names
    folder = names[0].rsplit("/", 1)[0] + "/" if names and "/" in names[0] else ""
    suffix = ".parquet" if manifest.format == "parquet" else ".tar"
    return f"{folder}shard-*{suffix}"


def _totals(manifest: Manifest) -> dict:
    t = manifest.totals
    return t if isinstance(t, dict) else t.model_dump()


def card_header(manifest: Manifest) -> dict:
    edit_members = _edit_members(manifest)
    t = _totals(manifest)
    if manifest.format == "parquet":
        features = parquet_features()
    else:
        features = webdataset_features(edit_members)
    return {
        "license": "other",
        "pretty_name": f"ahnpl hard negatives ({t.get('images', 0)} images)",
        "tags": ["ahnpl", "hard-negatives", "clip", "compositional-reasoning", "image-text"],
        "task_categories": ["zero-shot-image-classification", "image-to-text"],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": "train", "path": data_files(manifest)}],
            }
        ],
        "dataset_info": {
            "features": features,
            "splits": [
                {
                    "name": "train",
                    "num_bytes": t.get("bytes", 0),
                    "num_examples": t.get("images", 0),
                }
            ],
        },
    }


def _edit_members(manifest: Manifest) -> int:
    edit = manifest.recipe.get("edit", {})
    return int(edit.get("edits_per_image", 0)) if edit.get("editor", "none") != "none" else 0


def render_card(manifest: Manifest) -> str:
    """The whole `README.md` text: YAML header, then Markdown."""
    header = yaml.safe_dump(card_header(manifest), sort_keys=False, allow_unicode=True)
    t = _totals(manifest)
    files = data_files(manifest)
    pattern = files if isinstance(files, str) else files[0].rsplit("/", 1)[0] + "/*"
    lines = [
        "---",
        header.rstrip(),
        "---",
        "",
        "# Hard-negative image-text dataset (ahnpl)",
        "",
        "Built by `ahnpl-gen build` (AHNPL, arXiv 2505.15576): one row per image with its",
        "captions, one text hard negative per caption and negative type, and image edits.",
        f"Format: {manifest.format}, schema version {manifest.schema_version}; shards "
        f"`{pattern}`; `manifest.json` lists each shard with its sha256 (`ahnpl-gen verify`).",
        "",
        "## Negative types (slot order)",
        "",
        '`neg_texts[c][s]` is the negative of caption `c` of type `s` ("" when the caption has',
        "none; `neg_valid[c][s]` says which exist):",
        "",
        *[f"{s}. `{name}`" for s, name in enumerate(manifest.negative_types)],
        "",
        "## Statistics",
        "",
        "| | count |",
        "|---|---:|",
        *[
            f"| {label} | {t.get(key, 0)} |"
            for key, label in (
                ("images_in", "input images"),
                ("images", "images stored"),
                ("images_rejected", "images rejected"),
                ("captions", "captions"),
                ("captions_without_negative", "captions without a negative"),
                ("edits", "image edits"),
                ("shards", "shards"),
            )
        ],
        *[f"| valid `{k}` negatives | {v} |" for k, v in t.get("valid_negatives", {}).items()],
        "",
        "Rejected inputs, by reason (rows of `rejects.parquet`):",
        "",
        *([f"- `{k}`: {v}" for k, v in manifest.rejects.items()] or ["- none"]),
        "",
        *_format_notes(manifest),
        "## Recipe",
        "",
        "```yaml",
        yaml.safe_dump(manifest.recipe, sort_keys=False, allow_unicode=True).rstrip(),
        "```",
        "",
        f"Input fingerprint: `{manifest.input_fingerprint}`. Versions: "
        f"`{json.dumps(manifest.versions, ensure_ascii=False)}`.",
        "",
        "## Licence",
        "",
        _LICENCE,
        "",
    ]
    return "\n".join(lines)


def _format_notes(manifest: Manifest) -> list[str]:
    if manifest.format == "parquet":
        return [
            "## Load",
            "",
            "```python",
            "from datasets import load_dataset",
            'ds = load_dataset("DIR", split="train")  # image: PIL image; edits[i].image too',
            "```",
            "",
        ]
    members = _edit_members(manifest)
    edits = [
        f"and `edit0.jpg` ... `edit{members - 1}.jpg`: an entry of `json.edits` with",
        "`caption: -1` marks a slot without an edit (its image is a 1x1 placeholder), so every",
        "sample has the same members. Scores are NaN when no quality filter ran.",
    ]
    return [
        "## Load",
        "",
        "Each tar sample has `jpg` and `json` (every field but the bytes, with the slot names)",
        *(edits if members else ["(this build has no image edits)."]),
        "",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("DIR", split="train")  # jpg: PIL image, json: the record',
        "```",
        "",
    ]


def write_card(root: str, manifest: Manifest) -> str:
    """Write `ROOT/README.md` atomically; return its URL."""
    from ahnpl.atomic import write_text_atomic

    url = join(root, CARD_NAME)
    write_text_atomic(url, render_card(manifest))
    return url
