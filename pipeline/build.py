"""The build driver: input → text negatives → image edits → shards + manifest (DESIGN §7).

The shard is the unit of work, retry and resume. Shard i holds the input items with global
offsets [i·N, (i+1)·N), whatever was rejected, and belongs to rank i mod world size. A shard is
written under a temporary name, renamed, then marked done (`_progress/shard-i.json`, which
proves what the shard is and carries its counts and rejects: `resume.py`); a restarted build
keeps the shards whose marker and file match this build and rebuilds the rest from scratch,
so it ends with the same bytes as an uninterrupted build. A lock (`lock.py`) keeps other
builds out of the folder. The manifest is written once every shard is done, by whichever rank
finishes last.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field

from tqdm import tqdm

from ahnpl import __version__
from ahnpl.atomic import atomic_target, write_bytes_atomic, write_json_atomic
from ahnpl.devices import rank_and_world
from ahnpl.shards.card import write_card
from ahnpl.shards.io import encode_table, get_writer
from ahnpl.shards.layout import shard_name
from ahnpl.shards.manifest import (
    MANIFEST_NAME,
    REJECTS_NAME,
    Manifest,
    ShardEntry,
    Totals,
    count_records,
    join,
    sha256_of,
)
from ahnpl.shards.schema import REJECT_SCHEMA, SCHEMA_VERSION, Edit, Record, Reject, normalize_text

from .distributors import Progress, ShardWork, make_distributor
from .images import ImageReject, encode_jpeg, load_image, read_bytes
from .inputs import InputItem, InputPlan, ShardSpec, open_source
from .lock import BuildLock
from .recipe import Recipe
from .resume import (
    BuildConflict,
    BuildFolder,
    BuildState,
    ShardMarker,
    check_versions,
    recipe_hash,
    recipe_identity,
)

# Reasons that may not hold on a second try (the file appears, the network comes back):
# `--retry-rejects` rebuilds the shards that hold one.
RETRYABLE_REASONS = frozenset({"missing_image", "read_error"})
# Images per step of a shard: decoded, edited and reported to the progress bar together, so a
# worker holds this many decoded images, not a whole shard's.
CHUNK_IMAGES = 32
# spaCy refuses longer texts (its `nlp.max_length`); used when the parser does not say.
DEFAULT_MAX_CAPTION_CHARS = 1_000_000


@dataclass
class BuildResult:
    out: str
    manifest: Manifest | None  # None when other ranks still have shards to build
    built: int  # shards built by this call
    skipped: int  # shards found done and kept
    notes: list[str] = field(default_factory=list)  # stale locks, shards rebuilt, and why
    stats_seconds: float = 0.0  # the statistics pass (0 when reused or not counted)


class ShardBuilder:
    """Builds whole shards; configured once per worker process, then called per shard.

    Per-sample problems become rejects or counted edit failures; only an error that would
    make every shard fail (a bug, a missing model) propagates.
    """

    def __init__(
        self, recipe: Recipe, out: str, identity: dict | None = None, stats: str | None = None
    ):
        self.recipe = recipe
        self.out = out
        self.stats = stats  # statistics file the negatives use (None: bundled); see build()
        # recipe_hash and input_fingerprint, copied into every marker this builder writes.
        self.identity = identity or {"recipe_hash": recipe_hash(recipe), "input_fingerprint": ""}
        self.types = list(recipe.negatives.types)
        # Every tar sample gets one member per edit the budget allows (uniform samples).
        edit_members = recipe.edit.edits_per_image if recipe.edit.editor != "none" else 0
        self.writer = get_writer(recipe.output.format, self.types, edit_members)
        self._negatives = None
        self._editor = None

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
                stats=self.stats,
                lexicons=tuple(cfg.lexicons),
            )
        return self._negatives

    @property
    def editor(self):
        if self._editor is None and self.recipe.edit.editor != "none":
            from .editors import editor_from_config

            self._editor = editor_from_config(self.recipe.edit)
        return self._editor

    def shard_name(self, shard_id: int) -> str:
        return shard_name(shard_id, self.recipe.output.format)

    def __call__(
        self, shard_id: int, items: list[InputItem], progress: Progress | None = None
    ) -> ShardMarker:
        """Build one shard: write its file (none when every item was rejected), then its
        marker; `progress(n)` after each chunk of n images. Returns the marker."""
        records, rejects, edit_failures = self.make_records(items, progress)
        entry = None
        if records:
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
        marker = ShardMarker(
            shard=shard_id,
            offsets=(items[0].offset, items[-1].offset + 1),
            images_in=len(items),
            captions_in=sum(len(i.captions) for i in items),
            entry=entry,
            rejects=rejects,
            versions=self.versions(),
            **self.identity,
        )
        BuildFolder(self.out).write_marker(marker)
        return marker

    def usable_captions(self, item: InputItem, rejects: list[Reject]) -> list[str]:
        """The item's captions, NFC-normalised and stripped; empty or over-long ones are
        recorded as caption rejects (a caption past the parser's limit would stop the build)."""
        limit = getattr(getattr(self.negatives, "nlp", None), "max_length", None)
        limit = limit or DEFAULT_MAX_CAPTION_CHARS
        captions = []
        for c, caption in enumerate(item.captions):
            text = normalize_text(caption).strip()
            if not text:
                rejects.append(_reject(item, "caption", "empty_caption", f"caption {c} is empty"))
            elif len(text) >= limit:
                detail = (
                    f"row {item.offset}, caption {c}: {len(text):,} characters, over the "
                    f"parser's limit of {limit:,}"
                )
                rejects.append(_reject(item, "caption", "caption_too_long", detail))
            else:
                captions.append(text)
        return captions

    def make_records(
        self, items: list[InputItem], progress: Progress | None = None
    ) -> tuple[list[Record], list[Reject], Counter]:
        """Items → records, rejects and edit failures, `CHUNK_IMAGES` images at a time (a
        worker holds one chunk of decoded images); `progress(n)` after each chunk."""
        records: list[Record] = []
        rejects: list[Reject] = []
        failures: Counter = Counter()
        for start in range(0, len(items), CHUNK_IMAGES):
            chunk = items[start : start + CHUNK_IMAGES]
            part, part_rejects, part_failures = self.make_chunk(chunk)
            records += part
            rejects += part_rejects
            failures.update(part_failures)
            if progress is not None:
                progress(len(chunk))
        return records, rejects, failures

    def make_chunk(self, items: list[InputItem]) -> tuple[list[Record], list[Reject], Counter]:
        rejects: list[Reject] = []
        kept: list[tuple[InputItem, list[str], object]] = []
        for item in items:
            if item.reject is not None:
                rejects.append(_reject(item, "image", *item.reject))
                continue
            captions = self.usable_captions(item, rejects)
            if not captions:
                detail = f"{len(item.captions)} caption(s), none usable"
                rejects.append(_reject(item, "image", "no_usable_caption", detail))
                continue
            try:
                data = item.image if item.image is not None else read_bytes(item.path)
                image = load_image(data, self.recipe.images)
            except ImageReject as e:
                rejects.append(_reject(item, "image", e.reason, e.detail))
                continue
            kept.append((item, captions, image))

        # The captions of one image are each other's siblings (false-for-the-image check).
        groups = [captions for _, captions, _ in kept]
        negatives_flat = [row for rows in self.negatives.generate_groups(groups) for row in rows]
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
                neg_scores=[[n.score if n else None for n in row] for row in negatives],
            )
            records.append(record)
            if self.editor is not None:
                requests += self.edit_requests(record.key, image.pil, captions, negatives)
        edit_failures = self.attach_edits(records, requests)
        return records, rejects, edit_failures

    def edit_requests(self, key: str, pil, captions, negatives) -> list:
        from .editors import EditRequest, item_seed, plan_edits

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
                seed=item_seed(key, c, s, self.recipe.seed),
            )
            for c, s in pairs
        ]

    def attach_edits(self, records: list[Record], requests: list) -> Counter:
        """Edit the whole shard in one call, so the editor batches across images."""
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
                    seed=req.seed,
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
            "negatives": self.negatives.plausibility_info(),
        }
        if self.editor is not None:
            versions["editor"] = self.editor.info()
        return versions


def _reject(item: InputItem, level: str, reason: str, detail: str) -> Reject:
    return Reject(
        offset=item.offset,
        level=level,
        source_id=item.source_id,
        path=item.path,
        reason=reason,
        detail=detail,
    )


def build(
    recipe: Recipe,
    rank: int | None = None,
    world: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    retry_rejects: bool = False,
) -> BuildResult:
    """Build (or resume) this rank's shards, then the manifest if every shard is done.

    `overwrite` replaces a folder that holds another build; `retry_rejects` rebuilds the
    shards whose rejects may not hold on a second try (`RETRYABLE_REASONS`).

    Raises:
        ValueError: the recipe has no output folder or input.
        BuildConflict: the folder holds a build of another recipe or input.
        LockHeld: another build is running into the folder.
        KeyboardInterrupt: Ctrl-C; finished shards stay done, workers are stopped.
    """
    if not recipe.output.out:
        raise ValueError("output.out is not set: pass --out DIR")
    rank, world = rank_and_world(rank, world)
    out = recipe.output.out.rstrip("/")
    with BuildLock(out, rank, world, recipe_hash(recipe)) as lock:
        result = _build_locked(recipe, out, rank, world, progress, overwrite, retry_rejects)
    result.notes[:0] = lock.notes
    return result


def _build_locked(recipe, out, rank, world, progress, overwrite, retry_rejects) -> BuildResult:
    distributor = make_distributor(recipe, rank, world)
    source = open_source(recipe.input, recipe.seed)
    plan = source.plan(recipe.output.images_per_shard)
    identity = {"recipe_hash": recipe_hash(recipe), "input_fingerprint": plan.fingerprint}
    folder = BuildFolder(out)
    state = BuildState(recipe=recipe_identity(recipe), **identity)
    try:
        folder.claim(state)
    except BuildConflict:
        if not overwrite:
            raise
        folder.clear()
        folder.claim(state)
    shards = {spec.shard_id: spec for spec in plan.shards}
    stats, stats_seconds = _statistics_step(recipe, source, plan, out)
    # Every negative depends on the statistics: a shard made with others is not kept.
    identity["statistics_sha256"] = _statistics_sha256(stats)
    work = ShardWork(recipe.model_dump_json(), out, identity, stats)
    builder = work.builder()
    notes: list[str] = []
    todo = []
    for shard_id in sorted(shards):
        if not distributor.owns(shard_id):
            continue
        name = builder.shard_name(shard_id)
        folder.remove_temporaries(name)
        problem = folder.check_kept(shard_id, _expected(identity, shards[shard_id]), name)
        if problem is None and retry_rejects:
            marker = folder.read_marker(shard_id)
            retry = sorted({r.reason for r in marker.rejects} & RETRYABLE_REASONS)
            problem = f"retrying its {', '.join(retry)} rejects" if retry else None
        if problem is None:
            continue
        if problem != "no marker":
            notes.append(f"{name}: rebuilt ({problem})")
        # Not provably done: it may be half-written or another build's. Rebuild from nothing.
        folder.discard(shard_id, name)
        todo.append(shard_id)
    bar = tqdm(
        total=sum(len(shards[i]) for i in todo),
        unit="img",
        disable=None if progress else True,
        desc=f"build rank {rank}/{world} ({distributor.name})",
    )
    try:
        distributor.run([shards[i] for i in todo], work, bar.update)
    finally:
        bar.close()

    manifest = None
    done = all(
        folder.check_kept(i, _expected(identity, shards[i]), builder.shard_name(i), full=False)
        is None
        for i in shards
    )
    if done:
        manifest = finalize(out, recipe, plan, builder, sorted(shards))
    skipped = sum(1 for i in shards if distributor.owns(i)) - len(todo)
    return BuildResult(out, manifest, len(todo), skipped, notes, stats_seconds)


def _clean(caption: str) -> str:
    return normalize_text(caption).strip()


def _statistics_step(recipe: Recipe, source, plan: InputPlan, out: str) -> tuple[str | None, float]:
    """The negatives' corpus statistics, fixed before any shard (owned by the negatives
    module: `corpus_stats.stats_for_build`); returns (statistics file or None, seconds).
    The captions are streamed shard by shard from the source."""
    from .corpus_stats import stats_for_build

    cfg = recipe.negatives
    # The captions the shards will parse: a caption the build rejects (empty, past the
    # parser's limit) must not reach the statistics' parse either.
    texts = (c for spec in plan.shards for item in source.read(spec) for c in item.captions)
    captions = (t for t in map(_clean, texts) if t and len(t) < DEFAULT_MAX_CAPTION_CHARS)
    key = json.dumps(
        [plan.fingerprint, sum(len(spec) for spec in plan.shards), cfg.stats, cfg.spacy_model]
        + [str(path) for path in cfg.lexicons]
    )
    return stats_for_build(
        cfg.stats_file or cfg.stats, captions, out, cfg.spacy_model, cfg.lexicons, key
    )


def _statistics_sha256(stats: str | None) -> str:
    from .corpus_stats import open_stats

    return open_stats(stats).sha256


def _expected(identity: dict, spec: ShardSpec) -> dict:
    return {**identity, "offsets": (spec.start, spec.stop)}


def finalize(
    out: str, recipe: Recipe, plan: InputPlan, builder: ShardBuilder, shard_ids: list[int]
) -> Manifest:
    """Merge the per-shard markers into `rejects.parquet` and `manifest.json`."""
    folder = BuildFolder(out)
    markers = [folder.read_marker(i) for i in shard_ids]
    # The workers' record of the models: finalizing loads none, and never mixes versions.
    versions = check_versions(markers)
    entries = [m.entry for m in markers if m.entry is not None]
    rejects = [Reject.model_validate(r) for r in plan.rejects]
    rejects += [r for m in markers for r in m.rejects]
    rows = [r.model_dump() for r in rejects]
    write_bytes_atomic(join(out, REJECTS_NAME), encode_table(rows, REJECT_SCHEMA))

    types = list(recipe.negatives.types)
    captions_in = sum(m.captions_in for m in markers)
    manifest = Manifest(
        schema_version=SCHEMA_VERSION,
        format=recipe.output.format,
        negative_types=types,
        recipe=recipe.as_given(),
        input_fingerprint=plan.fingerprint,
        versions=versions,
        shards=entries,
        totals=Totals.from_entries(entries, types, rejects, captions_in),
        rejects=dict(sorted(Counter(r.reason for r in rejects).items())),
    )
    write_json_atomic(join(out, MANIFEST_NAME), manifest.model_dump(mode="json"))
    write_card(out, manifest)
    return manifest
