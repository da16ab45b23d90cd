"""The build driver: input → text negatives → image edits → shards + manifest (DESIGN §7).

The shard is the unit of work, retry and resume. Shard i holds the input items with global
offsets [i·N, (i+1)·N), whatever was rejected, and belongs to rank i mod world size. A shard is
written under a temporary name, renamed, then marked done (`_progress/shard-i.json`, which
also carries its counts and rejects); a restarted build skips done shards and rebuilds the
rest from scratch, so it ends with the same bytes as an uninterrupted build. The manifest is
written once every shard is done, by whichever rank finishes last (or `--finalize`).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context

import fsspec
from tqdm import tqdm

from ahnpl import __version__
from ahnpl.atomic import atomic_target, write_bytes_atomic, write_json_atomic
from ahnpl.shards.io import encode_table, get_writer
from ahnpl.shards.manifest import (
    MANIFEST_NAME,
    REJECTS_NAME,
    Manifest,
    ShardEntry,
    count_records,
    join,
    sha256_of,
)
from ahnpl.shards.schema import REJECT_SCHEMA, SCHEMA_VERSION, Edit, Record

from . import shapes as _shapes  # noqa: F401  (registers editor "render", source "shapes")
from .held_out import HeldOut, reword, with_source_negatives
from .images import ImageReject, encode_jpeg, load_image, read_bytes
from .inputs import InputItem, InputSet, read_input
from .recipe import Recipe

PROGRESS_DIR = "_progress"


@dataclass
class BuildResult:
    out: str
    manifest: Manifest | None  # None when other ranks still have shards to build
    built: int  # shards built by this call
    skipped: int  # shards found done and kept


def rank_and_world(rank: int | None = None, world: int | None = None) -> tuple[int, int]:
    """This process's share of the shards: explicit values, else torchrun, else SLURM."""
    env = os.environ
    if rank is None:
        rank = int(env.get("RANK", env.get("SLURM_PROCID", 0)))
    if world is None:
        world = int(env.get("WORLD_SIZE", env.get("SLURM_NTASKS", 1)))
    if not 0 <= rank < world:
        raise ValueError(f"rank {rank} is not in [0, world size {world})")
    return rank, world


class ShardBuilder:
    """Builds whole shards; configured once per worker process, then called per shard.

    Per-sample problems become rejects or counted edit failures; only an error that would
    make every shard fail (a bug, a missing model) propagates.
    """

    def __init__(self, recipe: Recipe, out: str):
        self.recipe = recipe
        self.out = out
        self.types = list(recipe.negatives.types)
        self.writer = get_writer(recipe.output.format)
        self._negatives = None
        self._editor = None
        self.held_out = HeldOut(recipe.negatives.held_out)

    @property
    def negatives(self):
        if self._negatives is None:
            from .negatives import NegativeGenerator

            cfg = self.recipe.negatives
            # Inside a build worker the parse runs in-process; parallelism is across shards.
            n_process = cfg.n_process if self.recipe.workers == 1 else 1
            self._negatives = NegativeGenerator(
                types=self.types,
                spacy_model=cfg.spacy_model,
                seed=self.recipe.seed,
                n_process=n_process,
                batch_size=cfg.batch_size,
                lexicons=tuple(cfg.lexicons),
            )
        return self._negatives

    @property
    def editor(self):
        if self._editor is None and self.recipe.edit.editor != "none":
            from .editors import get_editor

            self._editor = get_editor(self.recipe.edit.editor, **self.recipe.edit.options)
        return self._editor

    def shard_name(self, shard_id: int) -> str:
        return f"shard-{shard_id:05d}{self.writer.suffix}"

    def __call__(self, shard_id: int, items: list[InputItem]) -> dict:
        records, rejects, edit_failures, held_out = self.make_records(items)
        name = self.shard_name(shard_id)
        url = join(self.out, name)
        with atomic_target(url) as tmp:
            self.writer.write(records, tmp)
        digest, size = sha256_of(url)
        entry = ShardEntry(
            name=name,
            sha256=digest,
            bytes=size,
            edit_failures=dict(edit_failures),
            **count_records(records, self.types),
        )
        marker = {
            "shard": shard_id,
            "entry": entry.model_dump(),
            "rejects": rejects,
            "images_in": len(items),
            "held_out_negatives": held_out,
        }
        write_json_atomic(join(self.out, f"{PROGRESS_DIR}/shard-{shard_id:05d}.json"), marker)
        return marker

    def make_records(self, items: list[InputItem]) -> tuple[list[Record], list[dict], Counter, int]:
        rejects: list[dict] = []
        kept: list[tuple[InputItem, list[str], object]] = []
        for item in items:
            captions = []
            for c, caption in enumerate(item.captions):
                if caption.strip():
                    captions.append(caption.strip())
                else:
                    rejects.append(
                        _reject(item, "caption", "empty_caption", f"caption {c} is empty")
                    )
            if not captions:
                rejects.append(
                    _reject(
                        item,
                        "image",
                        "no_usable_caption",
                        f"{len(item.captions)} caption(s), none with text",
                    )
                )
                continue
            try:
                data = item.image if item.image is not None else read_bytes(item.path)
                image = load_image(data, self.recipe.images)
            except ImageReject as e:
                rejects.append(_reject(item, "image", e.reason, e.detail))
                continue
            kept.append((item, captions, image))

        flat = [caption for _, captions, _ in kept for caption in captions]
        negatives_flat = list(self.negatives.generate(flat)) if flat else []
        # Before edit planning: a dropped slot is invalid, so it gets no image negative either.
        negatives_flat, _ = reword(self.recipe.negatives.wording, flat, negatives_flat)
        negatives_flat, held_out = self.held_out.drop(negatives_flat)
        records: list[Record] = []
        requests = []
        pos = 0
        for item, captions, image in kept:
            negatives = negatives_flat[pos : pos + len(captions)]
            pos += len(captions)
            record = Record(
                key=f"{item.offset:09d}",
                image=image.jpeg,
                width=image.width,
                height=image.height,
                source_id=item.source_id,
                captions=captions,
                neg_texts=[[n.text if n else "" for n in row] for row in negatives],
                neg_valid=[[n is not None for n in row] for row in negatives],
            )
            records.append(record)
            if self.editor is not None:
                requests += self.edit_requests(record.key, image.pil, captions, negatives)
        edit_failures = self.attach_edits(records, requests)
        return records, rejects, edit_failures, held_out

    def edit_requests(self, key: str, pil, captions, negatives) -> list:
        from .editors import EditRequest, plan_edits

        cfg = self.recipe.edit
        pairs = plan_edits(negatives, self.editor, cfg.edits_per_image, cfg.types)
        return [
            EditRequest(
                key=key,
                caption_index=c,
                slot=s,
                image=pil,
                caption=captions[c],
                negative=negatives[c][s],
                seed=self.recipe.seed,
            )
            for c, s in pairs
        ]

    def attach_edits(self, records: list[Record], requests: list) -> Counter:
        """Edit the whole shard in one call, so the editor batches across images."""
        from .editors import item_seed

        failures: Counter = Counter()
        if not requests:
            return failures
        by_key = {r.key: r for r in records}
        for req, result in zip(requests, self.editor.edit(requests)):
            if result.image is None:
                failures[result.reason or "unknown"] += 1
                continue
            by_key[req.key].edits.append(
                Edit(
                    caption=req.caption_index,
                    slot=req.slot,
                    image=encode_jpeg(result.image, self.recipe.images.jpeg_quality),
                    editor=self.editor.name,
                    seed=item_seed(req.key, req.caption_index, req.slot, req.seed),
                    score_dir=result.score_dir,
                    score_img=result.score_img,
                )
            )
        return failures

    def versions(self) -> dict:
        versions = {
            "ahnpl": __version__,
            "python": sys.version.split()[0],
            "spacy_model": self.negatives.model_info(),
        }
        if self.editor is not None:
            versions["editor"] = self.editor.info()
        return versions


def _reject(item: InputItem, level: str, reason: str, detail: str) -> dict:
    return {
        "offset": item.offset,
        "level": level,
        "source_id": item.source_id,
        "path": item.path,
        "reason": reason,
        "detail": detail,
    }


# Worker processes hold one ShardBuilder each (spaCy and any editor model load once).
_WORKER: ShardBuilder | None = None


def _init_worker(recipe_json: str, out: str) -> None:
    global _WORKER
    _WORKER = ShardBuilder(Recipe.model_validate_json(recipe_json), out)


def _run_in_worker(shard_id: int, items: list[InputItem]) -> dict:
    return _WORKER(shard_id, items)


def build(
    recipe: Recipe, rank: int | None = None, world: int | None = None, progress: bool = True
) -> BuildResult:
    """Build (or resume) this rank's shards, then the manifest if every shard is done.

    Raises:
        ValueError: the recipe has no output folder or input.
    """
    if not recipe.output.out:
        raise ValueError("output.out is not set: pass --out DIR")
    rank, world = rank_and_world(rank, world)
    out = recipe.output.out.rstrip("/")
    fs, base = fsspec.core.url_to_fs(out)
    fs.makedirs(join(base, PROGRESS_DIR), exist_ok=True)
    inputs = read_input(recipe.input, recipe.seed)
    recipe = with_source_negatives(recipe, inputs.held_out, inputs.lexicons, inputs.wording)
    n = recipe.output.images_per_shard
    shards = {i // n: inputs.items[i : i + n] for i in range(0, len(inputs.items), n)}
    builder = ShardBuilder(recipe, out)

    todo = []
    skipped = 0
    for shard_id in sorted(shards):
        if shard_id % world != rank:
            continue
        if _is_done(fs, base, builder, shard_id):
            skipped += 1
            continue
        # A shard that is not marked done may be half-written: rebuild it from nothing.
        for leftover in (builder.shard_name(shard_id), builder.shard_name(shard_id) + ".tmp"):
            if fs.exists(join(base, leftover)):
                fs.rm(join(base, leftover))
        todo.append(shard_id)

    bar = tqdm(
        total=sum(len(shards[i]) for i in todo),
        unit="img",
        disable=None if progress else True,
        desc=f"build rank {rank}/{world}",
    )
    if recipe.workers == 1 or len(todo) <= 1:
        for shard_id in todo:
            builder(shard_id, shards[shard_id])
            bar.update(len(shards[shard_id]))
    else:
        with ProcessPoolExecutor(
            max_workers=min(recipe.workers, len(todo)),
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(recipe.model_dump_json(), out),
        ) as pool:
            futures = {pool.submit(_run_in_worker, i, shards[i]): i for i in todo}
            for future in as_completed(futures):
                future.result()  # a failed shard raises here; finished shards stay done
                bar.update(len(shards[futures[future]]))
    bar.close()

    manifest = None
    if all(_is_done(fs, base, builder, i) for i in shards):
        manifest = finalize(out, recipe, inputs, builder, sorted(shards))
    return BuildResult(out, manifest, len(todo), skipped)


def _is_done(fs, base: str, builder: ShardBuilder, shard_id: int) -> bool:
    return fs.exists(join(base, f"{PROGRESS_DIR}/shard-{shard_id:05d}.json")) and fs.exists(
        join(base, builder.shard_name(shard_id))
    )


def finalize(
    out: str, recipe: Recipe, inputs: InputSet, builder: ShardBuilder, shard_ids: list[int]
) -> Manifest:
    """Merge the per-shard markers into `rejects.parquet` and `manifest.json`."""
    markers = []
    for shard_id in shard_ids:
        with fsspec.open(join(out, f"{PROGRESS_DIR}/shard-{shard_id:05d}.json"), "r") as f:
            markers.append(json.load(f))
    entries = [ShardEntry.model_validate(m["entry"]) for m in markers]
    rejects = list(inputs.rejects) + [r for m in markers for r in m["rejects"]]
    write_bytes_atomic(join(out, REJECTS_NAME), encode_table(rejects, REJECT_SCHEMA))

    types = list(recipe.negatives.types)
    by_reason = Counter(r["reason"] for r in rejects)
    image_rejects = sum(1 for r in rejects if r["level"] == "image")
    edit_failures: Counter = Counter()
    for e in entries:
        edit_failures.update(e.edit_failures)
    totals = {
        "images_in": len(inputs.items) + sum(1 for r in inputs.rejects if r["level"] == "image"),
        "images": sum(e.rows for e in entries),
        "images_rejected": image_rejects,
        "captions_in": sum(len(i.captions) for i in inputs.items),
        "captions": sum(e.captions for e in entries),
        "captions_without_negative": sum(e.captions_without_negative for e in entries),
        "valid_negatives": {t: sum(e.valid_negatives.get(t, 0) for e in entries) for t in types},
        # Text negatives dropped because they name a held-out composition (`negatives.held_out`).
        "held_out_negatives": sum(m.get("held_out_negatives", 0) for m in markers),
        "edits": sum(e.edits for e in entries),
        "edit_failures": dict(sorted(edit_failures.items())),
        "shards": len(entries),
        "bytes": sum(e.bytes for e in entries),
    }
    manifest = Manifest(
        schema_version=SCHEMA_VERSION,
        format=recipe.output.format,
        negative_types=types,
        recipe=recipe.model_dump(mode="json"),
        input_fingerprint=inputs.fingerprint,
        versions=builder.versions(),
        shards=entries,
        totals=totals,
        rejects=dict(sorted(by_reason.items())),
    )
    write_json_atomic(join(out, MANIFEST_NAME), manifest.model_dump(mode="json"))
    return manifest
