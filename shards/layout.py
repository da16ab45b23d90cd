"""Where files live inside a dataset folder (DESIGN §6).

    DIR/manifest.json         what the dataset holds (the contract's entry point)
    DIR/README.md             the dataset card
    DIR/rejects.parquet       every input row that was not stored, with its reason
    DIR/corpus_stats.json.gz  the corpus statistics counted from the build's own input (DESIGN §4)
    DIR/data/shard-NNNNN.parquet  (or .tar)  the shards, numbered by global input offset
    DIR/_progress/            build state: per-shard markers, the build lock

Shard names in the manifest are exactly `data/shard-NNNNN.<ext>`: relative, one folder, no
`..`, so a dataset can never point a reader outside itself.
"""

from __future__ import annotations

import re

DATA_DIR = "data"
STATS_NAME = "corpus_stats.json.gz"
PROGRESS_DIR = "_progress"
SHARD_SUFFIXES = {"parquet": ".parquet", "webdataset": ".tar"}
_SHARD_NAME_RE = re.compile(r"^data/shard-(\d{5,})\.(parquet|tar)$")


def shard_name(shard_id: int, fmt: str) -> str:
    """`data/shard-00042.parquet` for shard 42 of a Parquet dataset.

    Raises:
        ValueError: unknown format, or a negative shard id.
    """
    if fmt not in SHARD_SUFFIXES:
        raise ValueError(f"format {fmt!r}: choose one of {sorted(SHARD_SUFFIXES)}")
    if shard_id < 0:
        raise ValueError(f"shard id {shard_id}: must be >= 0")
    return f"{DATA_DIR}/shard-{shard_id:05d}{SHARD_SUFFIXES[fmt]}"


def shard_name_problem(name: str, fmt: str) -> str | None:
    """Why `name` is not a valid manifest shard name for `fmt`, or None when it is."""
    match = _SHARD_NAME_RE.match(name)
    if match is None:
        return f"name {name!r} is not of the form {DATA_DIR}/shard-NNNNN{SHARD_SUFFIXES[fmt]}"
    if "." + match.group(2) != SHARD_SUFFIXES.get(fmt):
        return f"name {name!r} does not match the manifest format {fmt!r}"
    return None
