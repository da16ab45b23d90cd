"""What a build folder holds, and which of its shards a build may keep (DESIGN §7).

`DIR/_progress/build.json` records the recipe identity and input fingerprint of the build that
owns the folder. A build into a folder of another recipe or input refuses and names every field
that differs (`--overwrite` starts again). Each finished shard has a marker,
`DIR/_progress/shard-NNNNN.json`, written last, that proves what the shard is: recipe hash,
input fingerprint, offset range, file name, size and sha256. A resumed build keeps a shard only
when all of these match and the file on disk still has that size and sha256; anything else is
removed and rebuilt from scratch.

The recipe identity is the recipe minus what cannot change a shard's bytes (`output.out`,
`workers`, `negatives.n_process` / `batch_size`) and minus `input.limit` and the input paths:
the limit only changes which offsets exist, and the offset range of each marker covers it (so
`--limit 15` then a full build keeps the shards whose offsets are unchanged), while the input
fingerprint covers what the paths point at. Model versions (spaCy, editor) are recorded
by the worker in each marker; shards of different versions never share a manifest.
"""

from __future__ import annotations

import hashlib
import json
import re

import fsspec
from pydantic import BaseModel, ConfigDict

from ahnpl.atomic import is_temporary, write_json_atomic
from ahnpl.shards.layout import DATA_DIR, PROGRESS_DIR
from ahnpl.shards.manifest import (
    MANIFEST_NAME,
    RECIPE_FIELDS_OUTSIDE_SHARDS,
    REJECTS_NAME,
    ShardEntry,
    join,
    sha256_of,
    without_fields,
)
from ahnpl.shards.schema import Reject

from .recipe import Recipe

STATE_NAME = f"{PROGRESS_DIR}/build.json"
# What `--overwrite` removes: everything a build writes, nothing else.
_BUILD_OUTPUTS = (DATA_DIR, PROGRESS_DIR, MANIFEST_NAME, REJECTS_NAME, "README.md")


_LEGACY_SHARD = re.compile(r"^shard-\d{5,}\.(parquet|tar)(\.tmp)?$")
_SHARD_FILE = re.compile(r"^shard-(\d{5,})\.(parquet|tar|json)$")  # in data/ or _progress/


class BuildConflict(ValueError):
    """The folder holds another build (other recipe or input); the message says what differs."""


class BuildState(BaseModel):
    """`_progress/build.json`: the build that owns the folder."""

    model_config = ConfigDict(extra="forbid")

    recipe_hash: str
    recipe: dict
    input_fingerprint: str


class ShardMarker(BaseModel):
    """`_progress/shard-NNNNN.json`, written after the shard file: proof of what it is.

    `entry` is None when every input of the shard was rejected (no file is written: an empty
    shard breaks readers). `offsets` is the half-open range [start, stop) of global input
    offsets the shard covers.
    """

    model_config = ConfigDict(extra="forbid")

    shard: int
    recipe_hash: str
    input_fingerprint: str
    statistics_sha256: str = ""  # the corpus statistics the negatives were chosen by
    offsets: tuple[int, int]
    images_in: int
    captions_in: int
    entry: ShardEntry | None
    rejects: list[Reject]
    versions: dict = {}  # the models as loaded by the worker that built the shard


def recipe_identity(recipe: Recipe) -> dict:
    """The recipe fields that decide a shard's bytes, as a JSON-ready dict."""
    return without_fields(recipe.model_dump(mode="json"), RECIPE_FIELDS_OUTSIDE_SHARDS)


def recipe_hash(recipe: Recipe) -> str:
    canonical = json.dumps(recipe_identity(recipe), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def check_versions(markers: list[ShardMarker]) -> dict:
    """The model versions all `markers` share.

    Raises:
        BuildConflict: shards were built with different versions (a model was upgraded
            between runs); names each version and its shard count.
    """
    seen: dict[str, list[int]] = {}
    for m in markers:
        # The interpreter's patch level does not change a shard's bytes; models do.
        models = {k: v for k, v in m.versions.items() if k != "python"}
        seen.setdefault(json.dumps(models, sort_keys=True), []).append(m.shard)
    if len(seen) > 1:
        kinds = "; ".join(f"{len(ids)} shard(s) with {v}" for v, ids in seen.items())
        raise BuildConflict(
            f"the shards were built with different model versions ({kinds}); the manifest "
            "is not written: build into another --out, or remove the folder and rebuild"
        )
    return markers[0].versions if markers else {}


def marker_name(shard_id: int) -> str:
    return f"{PROGRESS_DIR}/shard-{shard_id:05d}.json"


def _flatten(data, prefix: str = "") -> dict:
    if isinstance(data, dict) and data:
        out = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}


def state_differences(old: BuildState, new: BuildState) -> list[str]:
    """`field old → new` for every field of the recipe identity or input that differs."""
    a, b = _flatten(old.recipe), _flatten(new.recipe)
    diffs = [
        f"{k} {json.dumps(a.get(k))} → {json.dumps(b.get(k))}"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    ]
    if old.input_fingerprint != new.input_fingerprint:
        diffs.append(
            f"input fingerprint {old.input_fingerprint[:19]}… → {new.input_fingerprint[:19]}…"
        )
    return diffs


class BuildFolder:
    """The `_progress/` state of one output folder (local path or fsspec URL)."""

    def __init__(self, out: str):
        self.out = out.rstrip("/")
        self.fs, self.base = fsspec.core.url_to_fs(self.out)

    def _exists(self, name: str) -> bool:
        return self.fs.exists(join(self.base, name))

    def _rm(self, name: str) -> None:
        if self._exists(name):
            self.fs.rm(join(self.base, name), recursive=True)

    def clear(self) -> None:
        """Remove every file a build writes (`--overwrite`); other files are left alone.

        The lock folder stays: it is held by this very build.
        """
        for name in _BUILD_OUTPUTS:
            if name != PROGRESS_DIR:
                self._rm(name)
        for path in self.fs.ls(self.base, detail=False):
            if _LEGACY_SHARD.match(path.rstrip("/").rsplit("/", 1)[-1]):
                self.fs.rm(path)  # shards of builds from before the data/ folder
        progress = join(self.base, PROGRESS_DIR)
        if self.fs.isdir(progress):
            for path in self.fs.ls(progress, detail=False):
                if path.rstrip("/").rsplit("/", 1)[-1] != "lock":
                    self.fs.rm(path, recursive=True)

    def claim(self, state: BuildState) -> None:
        """Make the folder this build's, or check that it already is.

        Raises:
            BuildConflict: the folder holds another build, or files that are no build's.
        """
        if self._exists(STATE_NAME):
            with fsspec.open(join(self.out, STATE_NAME), "r", encoding="utf-8") as f:
                old = BuildState.model_validate(json.load(f))
            diffs = state_differences(old, state)
            if diffs:
                raise BuildConflict(
                    f"{self.out} holds a build of another recipe or input ({'; '.join(diffs)}): "
                    "pass --overwrite to start again, or choose another --out"
                )
            return
        if self._exists(MANIFEST_NAME) or self._exists(DATA_DIR):
            raise BuildConflict(
                f"{self.out} holds a dataset without build state (copied, or built by an older "
                "ahnpl): pass --overwrite to start again, or choose another --out"
            )
        self.fs.makedirs(join(self.base, PROGRESS_DIR), exist_ok=True)
        write_json_atomic(join(self.out, STATE_NAME), state.model_dump(mode="json"))

    def read_marker(self, shard_id: int) -> ShardMarker | None:
        """The shard's marker, or None when it is absent or unreadable."""
        if not self._exists(marker_name(shard_id)):
            return None
        try:
            with fsspec.open(join(self.out, marker_name(shard_id)), "r", encoding="utf-8") as f:
                return ShardMarker.model_validate(json.load(f))
        except (ValueError, OSError):
            return None

    def write_marker(self, marker: ShardMarker) -> None:
        write_json_atomic(join(self.out, marker_name(marker.shard)), marker.model_dump(mode="json"))

    def check_kept(self, shard_id: int, expected: dict, name: str, full: bool = True) -> str | None:
        """Why the shard on disk cannot be kept (None: it is exactly what was expected).

        `expected` holds this build's `recipe_hash`, `input_fingerprint` and `offsets`;
        `name` is the shard file this build would write. With `full`, the file's sha256 is
        recomputed; otherwise only its size is checked (for other ranks' shards).
        """
        marker = self.read_marker(shard_id)
        if marker is None:
            return "no marker"
        for field, value in expected.items():
            if getattr(marker, field) != value:
                return f"its marker's {field} {getattr(marker, field)} is not {value}"
        if marker.entry is None:
            return "a shard file exists but the marker says none" if self._exists(name) else None
        if marker.entry.name != name:
            return f"marker names {marker.entry.name}"
        if not self._exists(name):
            return "shard file missing"
        size = self.fs.size(join(self.base, name))
        if size != marker.entry.bytes:
            return f"{size} bytes, marker says {marker.entry.bytes}"
        if full and sha256_of(join(self.out, name))[0] != marker.entry.sha256:
            return "sha256 differs from the marker"
        return None

    def discard(self, shard_id: int, name: str) -> None:
        """Remove a shard's marker, file and temporary leftovers, so it is rebuilt cleanly."""
        self._rm(marker_name(shard_id))
        self._rm(name)
        self.remove_temporaries(name)

    def outside(self, planned: set[int]) -> list[str]:
        """The shard files and markers whose shard ids `planned` lacks: what an earlier build
        of more offsets left (`--limit 10` after a full build), sorted."""
        found = []
        for folder in (DATA_DIR, PROGRESS_DIR):
            if not self._exists(folder):
                continue
            for path in self.fs.ls(join(self.base, folder), detail=False):
                name = path.rstrip("/").rsplit("/", 1)[-1]
                match = _SHARD_FILE.match(name)
                if match and int(match.group(1)) not in planned:
                    found.append(f"{folder}/{name}")
        return sorted(found)

    def remove_temporaries(self, name: str) -> None:
        """Remove temporary files left next to `name` by a killed writer."""
        folder, _, final = join(self.base, name).rpartition("/")
        if not self.fs.isdir(folder):
            return
        for path in self.fs.ls(folder, detail=False):
            if is_temporary(path, final):
                self.fs.rm(path)
