"""ahnpl.shards: the dataset contract (schema, shard formats, folder layout, manifest) shared
by the generator (`ahnpl.pipeline`) and the trainer (`ahnpl.trainer`)."""

from .io import ShardFormatError, get_writer, read_shard
from .layout import DATA_DIR, PROGRESS_DIR, shard_name
from .manifest import (
    MANIFEST_NAME,
    REJECTS_NAME,
    Manifest,
    ShardEntry,
    Totals,
    load_manifest,
    load_rejects,
    manifest_sha256,
    shard_urls,
    verify,
)
from .schema import (
    ALL_NEGATIVE_TYPES,
    CORE_NEGATIVE_TYPES,
    OPTIONAL_NEGATIVE_TYPES,
    Edit,
    Record,
    Reject,
    check_key,
    normalize_text,
    slot_order,
)

__all__ = [
    "ALL_NEGATIVE_TYPES",
    "CORE_NEGATIVE_TYPES",
    "DATA_DIR",
    "MANIFEST_NAME",
    "OPTIONAL_NEGATIVE_TYPES",
    "PROGRESS_DIR",
    "REJECTS_NAME",
    "Edit",
    "Manifest",
    "Record",
    "Reject",
    "ShardEntry",
    "ShardFormatError",
    "Totals",
    "check_key",
    "get_writer",
    "load_manifest",
    "load_rejects",
    "manifest_sha256",
    "normalize_text",
    "read_shard",
    "shard_name",
    "shard_urls",
    "slot_order",
    "verify",
]
