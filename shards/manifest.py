"""`manifest.json`: what a dataset holds and how to check it (DESIGN §6).

The manifest is data from whoever shared the dataset: it is parsed with pydantic and never
executed. `verify` re-reads every shard and compares it with the manifest.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from typing import Any

import fsspec
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ahnpl.atomic import write_json_atomic  # noqa: F401  (re-exported for callers)

from .io import ShardFormatError, read_shard, shard_metadata
from .layout import DATA_DIR, STATS_NAME, shard_name_problem
from .schema import REJECT_SCHEMA, SCHEMA_VERSION, Reject, slot_order

MANIFEST_NAME = "manifest.json"
REJECTS_NAME = "rejects.parquet"


class ShardEntry(BaseModel):
    """One shard: file name (`data/shard-NNNNN.<ext>`), integrity and content counts."""

    name: str
    sha256: str
    bytes: int
    rows: int
    captions: int
    valid_negatives: dict[str, int]
    edits: int
    edit_failures: dict[str, int] = Field(default_factory=dict)
    captions_without_negative: int = 0
    # Text negatives dropped because they name a held-out composition (`negatives.held_out`).
    held_out_negatives: int = 0
    status: str = "done"


class Totals(BaseModel):
    """Dataset totals. All but `captions_in` follow from the shard entries and the rejects
    (`Totals.from_entries`), and `verify` recomputes them.

    `images_in` = `images` + `images_rejected`: every input row ends in a shard or a reject.
    """

    model_config = ConfigDict(extra="forbid")

    images_in: int
    images: int
    images_rejected: int
    captions_in: int
    captions: int
    captions_without_negative: int
    valid_negatives: dict[str, int]
    edits: int
    edit_failures: dict[str, int]
    shards: int
    bytes: int
    # Text negatives dropped because they name a held-out composition (`negatives.held_out`).
    held_out_negatives: int = 0

    @classmethod
    def from_entries(
        cls,
        entries: list[ShardEntry],
        negative_types: list[str],
        rejects: list[Reject],
        captions_in: int,
    ) -> Totals:
        edit_failures: Counter = Counter()
        for e in entries:
            edit_failures.update(e.edit_failures)
        images = sum(e.rows for e in entries)
        images_rejected = sum(1 for r in rejects if r.level == "image")
        return cls(
            images_in=images + images_rejected,
            images=images,
            images_rejected=images_rejected,
            captions_in=captions_in,
            captions=sum(e.captions for e in entries),
            captions_without_negative=sum(e.captions_without_negative for e in entries),
            valid_negatives={
                t: sum(e.valid_negatives.get(t, 0) for e in entries) for t in negative_types
            },
            edits=sum(e.edits for e in entries),
            edit_failures=dict(sorted(edit_failures.items())),
            shards=len(entries),
            bytes=sum(e.bytes for e in entries),
            held_out_negatives=sum(e.held_out_negatives for e in entries),
        )


class Manifest(BaseModel):
    schema_version: int = SCHEMA_VERSION
    format: str
    negative_types: list[str]
    recipe: dict[str, Any]
    input_fingerprint: str
    versions: dict[str, Any]
    shards: list[ShardEntry]
    totals: Totals
    rejects: dict[str, int]


def join(root: str, name: str) -> str:
    return root.rstrip("/") + "/" + name


def sha256_of(url: str) -> tuple[str, int]:
    """Return (hex sha256, size in bytes) of a file at a local path or fsspec URL."""
    digest = hashlib.sha256()
    size = 0
    with fsspec.open(url, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def load_manifest(root: str) -> Manifest:
    """Read `ROOT/manifest.json`.

    Raises:
        FileNotFoundError: no manifest at `root` (not an ahnpl dataset, or a build that has not
            finished: run `ahnpl-gen build` again to complete it).
        pydantic.ValidationError: the manifest does not match the schema.
    """
    url = join(root, MANIFEST_NAME)
    fs, path = fsspec.core.url_to_fs(url)
    if not fs.exists(path):
        raise FileNotFoundError(
            f"{url}: no manifest; is {root} an ahnpl dataset whose build finished?"
        )
    with fsspec.open(url, "r", encoding="utf-8") as f:
        manifest = Manifest.model_validate(json.load(f))
    if manifest.schema_version > SCHEMA_VERSION:
        raise ValueError(
            f"{url}: schema version {manifest.schema_version} is newer than this ahnpl "
            f"({SCHEMA_VERSION}); upgrade ahnpl"
        )
    return manifest


def shard_urls(root: str, manifest: Manifest) -> list[str]:
    return [join(root, s.name) for s in manifest.shards]


def manifest_sha256(root: str) -> str:
    return sha256_of(join(root, MANIFEST_NAME))[0]


def count_records(records, negative_types: list[str]) -> dict[str, Any]:
    """Content counts of a shard's records, as stored in its `ShardEntry`."""
    valid = Counter({t: 0 for t in negative_types})
    rows = captions = edits = without = 0
    for record in records:
        rows += 1
        captions += len(record.captions)
        edits += len(record.edits)
        for flags in record.neg_valid:
            without += not any(flags)
            for t, ok in zip(negative_types, flags):
                valid[t] += ok
    return {
        "rows": rows,
        "captions": captions,
        "valid_negatives": dict(valid),
        "edits": edits,
        "captions_without_negative": without,
    }


# Recipe fields that never change a shard's bytes: where files are, how many offsets, and how
# the work is spread (a `--limit 15` build's shards are kept by the full build).
RECIPE_FIELDS_OUTSIDE_SHARDS = (
    ("output", "out"),
    ("workers",),
    # Where shards are built does not change their bytes (tests/test_distributors.py).
    ("distributor",),
    ("ray",),
    ("negatives", "n_process"),
    ("negatives", "batch_size"),
    ("input", "limit"),
    ("input", "captions"),
    ("input", "images"),
)


def without_fields(recipe: dict, fields) -> dict:
    """A deep copy of the recipe dict without the dotted `fields` (tuples of keys)."""
    data = json.loads(json.dumps(recipe))
    for path in fields:
        node = data
        for part in path[:-1]:
            node = node.get(part, {})
        node.pop(path[-1], None)
    return data


def recipe_sha256(recipe: dict) -> str:
    """sha256 of the recipe fields that decide a shard's bytes (`recipe` as the manifest stores
    it; the input paths, also `input.input`, are left out since the input fingerprint covers
    what they point at). Every shard of a build records it; `verify` recomputes it from the
    manifest's recipe, so a hand-edited recipe does not pass."""
    fields = (*RECIPE_FIELDS_OUTSIDE_SHARDS, ("input", "input"))
    canonical = json.dumps(without_fields(recipe, fields), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def verify(root: str) -> list[str]:
    """Check a dataset against its manifest, trusting nothing in either (DESIGN §6, §10).

    Checked: shard names (exactly `data/shard-NNNNN.<ext>`, each listed once), files in
    `data/` that the manifest does not list, each shard's presence, size, sha256, schema,
    record slots and key uniqueness (within the shard and across the dataset), its counts
    against its entry, the totals recomputed from the entries and `rejects.parquet`, the
    negative types (known, in slot order, the recipe's), and the corpus statistics counted
    from the input (present, with the recorded sha256). A shard that cannot be read is a
    problem, never an exception.

    Returns:
        Every problem found, one human-readable line each; empty when the dataset is intact.
    Raises:
        FileNotFoundError: no manifest at `root`.
    """
    try:
        manifest = load_manifest(root)
    except FileNotFoundError:
        raise
    except ValidationError as e:
        fields = sorted({".".join(str(p) for p in err["loc"]) for err in e.errors()})
        return [f"{MANIFEST_NAME}: does not match the manifest schema (fields: {fields})"]
    except (ValueError, UnicodeDecodeError) as e:
        return [f"{MANIFEST_NAME}: unreadable ({type(e).__name__}: {e})"]
    fs, base = fsspec.core.url_to_fs(root)
    problems = _check_types(manifest) + _check_names(manifest) + _extra_files(fs, base, manifest)
    problems += _check_statistics(fs, base, manifest)
    seen_keys: dict[str, str] = {}
    checked: set[str] = set()
    for entry in manifest.shards:
        if entry.name in checked or shard_name_problem(entry.name, manifest.format):
            continue  # reported by _check_names; never read a file outside the dataset
        checked.add(entry.name)
        problems += _check_shard(root, fs, base, entry, manifest, seen_keys)
    rejects, reject_problems = _read_rejects(root, fs, base)
    problems += reject_problems
    if rejects is not None:
        problems += _check_totals(manifest, rejects)
    return problems


def _check_types(manifest: Manifest) -> list[str]:
    types = manifest.negative_types
    try:
        ordered = list(slot_order(types))
    except ValueError as e:
        return [f"negative_types: {e}"]
    problems = []
    if ordered != types or len(set(types)) != len(types):
        problems.append(f"negative_types {types}: must be unique and in slot order {ordered}")
    recipe_types = (manifest.recipe.get("negatives") or {}).get("types")
    if recipe_types is not None and recipe_types != types:
        problems.append(f"negative_types {types}: the recipe says {recipe_types}")
    for entry in manifest.shards:
        if set(entry.valid_negatives) != set(types):
            problems.append(
                f"{entry.name}: valid negatives for {sorted(entry.valid_negatives)}, "
                f"the manifest's types are {types}"
            )
    return problems


def _check_statistics(fs, base: str, manifest: Manifest) -> list[str]:
    """The statistics the negatives were chosen by, when the build counted them from its own
    input: the dataset carries them, and they are the bytes whose sha256 the manifest records
    (a resumed or extended build reads them)."""
    negatives = manifest.recipe.get("negatives") or {}
    if negatives.get("stats_file") or negatives.get("stats") not in ("input", "input+bundled"):
        return []  # the bundled statistics or a user's file: not stored in the dataset
    recorded = ((manifest.versions.get("negatives") or {}).get("statistics") or {}).get("sha256")
    path = join(base, STATS_NAME)
    if not fs.exists(path):
        return [f"{STATS_NAME}: missing; the manifest records statistics sha256 {recorded}"]
    data = fs.cat_file(path)
    try:
        data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    except (OSError, EOFError) as e:
        return [f"{STATS_NAME}: unreadable ({e})"]
    if hashlib.sha256(data).hexdigest() != recorded:
        return [f"{STATS_NAME}: sha256 differs from the manifest's ({recorded})"]
    return []


def _check_names(manifest: Manifest) -> list[str]:
    problems = []
    counts = Counter(e.name for e in manifest.shards)
    for name, n in counts.items():
        if n > 1:
            problems.append(f"{name}: listed {n} times in the manifest")
        problem = shard_name_problem(name, manifest.format)
        if problem:
            problems.append(f"{name!r}: {problem}")
    return problems


def _extra_files(fs, base: str, manifest: Manifest) -> list[str]:
    listed = {e.name for e in manifest.shards}
    problems = []
    data = join(base, DATA_DIR)
    if fs.isdir(data):
        for path in sorted(fs.ls(data, detail=False)):
            name = f"{DATA_DIR}/{path.rstrip('/').rsplit('/', 1)[-1]}"
            if name not in listed:
                problems.append(f"{name}: extra file not listed in the manifest")
    return problems


def _check_shard(
    root: str, fs, base: str, entry: ShardEntry, manifest: Manifest, seen_keys: dict[str, str]
) -> list[str]:
    if not fs.exists(join(base, entry.name)):
        return [f"{entry.name}: missing (manifest lists {entry.rows} rows)"]
    url = join(root, entry.name)
    problems = []
    digest, size = sha256_of(url)
    if size != entry.bytes:
        problems.append(f"{entry.name}: {size} bytes, manifest says {entry.bytes}")
    if digest != entry.sha256:
        problems.append(f"{entry.name}: sha256 {digest[:12]}…, manifest says {entry.sha256[:12]}…")
    if entry.rows == 0:
        problems.append(f"{entry.name}: empty shard (0 rows); readers such as datasets refuse it")
    records = []
    try:
        made_by = shard_metadata(url).get("recipe_sha256")
        if made_by is not None and made_by != recipe_sha256(manifest.recipe):
            problems.append(
                f"{entry.name}: made by another recipe than the manifest's (the recipe was "
                "edited after the build, or the shard comes from another build)"
            )
        for record in read_shard(url):
            record.validate(len(manifest.negative_types))
            if record.key in seen_keys:
                problems.append(f"{entry.name}: key {record.key} also in {seen_keys[record.key]}")
            seen_keys.setdefault(record.key, entry.name)
            record.image = b""  # counts need no pixels; keep memory flat
            for edit in record.edits:
                edit.image = b""
            records.append(record)
    except Exception as e:  # a shared dataset can be damaged in any way: report, go on
        return problems + [f"{entry.name}: unreadable ({type(e).__name__}: {e})"]
    counts = count_records(records, manifest.negative_types)
    for field in ("rows", "captions", "edits", "captions_without_negative"):
        if counts[field] != getattr(entry, field):
            problems.append(
                f"{entry.name}: {counts[field]} {field}, manifest says {getattr(entry, field)}"
            )
    if counts["valid_negatives"] != entry.valid_negatives:
        problems.append(f"{entry.name}: valid negatives per type differ from the manifest")
    return problems


def load_rejects(root: str) -> list[Reject]:
    """The rows of `ROOT/rejects.parquet`, in input order.

    Raises:
        FileNotFoundError: no rejects file.
        ShardFormatError: its schema is not the rejects schema.
        pydantic.ValidationError: a row does not fit `Reject`.
    """
    with fsspec.open(join(root, REJECTS_NAME), "rb") as f:
        table = pq.read_table(f)
    if not table.schema.equals(REJECT_SCHEMA):
        raise ShardFormatError(f"{REJECTS_NAME}: schema differs from the rejects schema")
    return [Reject.model_validate(r) for r in table.to_pylist()]


def _read_rejects(root: str, fs, base: str) -> tuple[list[Reject] | None, list[str]]:
    if not fs.exists(join(base, REJECTS_NAME)):
        return None, [f"{REJECTS_NAME}: missing"]
    try:
        return load_rejects(root), []
    except Exception as e:  # damaged file or rows: report, go on
        return None, [f"{REJECTS_NAME}: unreadable ({type(e).__name__}: {e})"]


def _check_totals(manifest: Manifest, rejects: list[Reject]) -> list[str]:
    problems = []
    by_reason = dict(sorted(Counter(r.reason for r in rejects).items()))
    if by_reason != dict(sorted(manifest.rejects.items())):
        problems.append(
            f"rejects: manifest says {manifest.rejects}, {REJECTS_NAME} holds {by_reason}"
        )
    expected = Totals.from_entries(
        manifest.shards, manifest.negative_types, rejects, manifest.totals.captions_in
    )
    for field, value in expected.model_dump().items():
        given = getattr(manifest.totals, field)
        if given != value:
            problems.append(
                f"totals.{field}: manifest says {given}, its shard entries and rejects add up "
                f"to {value}"
            )
    return problems
