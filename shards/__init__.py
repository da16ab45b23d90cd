"""ahnpl.shards: the dataset contract (schema, shard formats, manifest) shared by the
generator (`ahnpl.pipeline`) and the trainer (`ahnpl.trainer`)."""

from .io import ShardFormatError, get_writer, read_shard
from .manifest import Manifest, ShardEntry, load_manifest, manifest_sha256, shard_urls, verify
from .schema import (
    ALL_NEGATIVE_TYPES,
    CORE_NEGATIVE_TYPES,
    OPTIONAL_NEGATIVE_TYPES,
    Edit,
    Record,
    slot_order,
)

__all__ = [
    "ALL_NEGATIVE_TYPES",
    "CORE_NEGATIVE_TYPES",
    "OPTIONAL_NEGATIVE_TYPES",
    "Edit",
    "Manifest",
    "Record",
    "ShardEntry",
    "ShardFormatError",
    "get_writer",
    "load_manifest",
    "manifest_sha256",
    "read_shard",
    "shard_urls",
    "slot_order",
    "verify",
]
