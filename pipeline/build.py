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
from collections.abc import Iterator
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
    recipe_sha256,
    sha256_of,
)
from ahnpl.shards.schema import REJECT_SCHEMA, SCHEMA_VERSION, Edit, Record, Reject, normalize_text

from .distributors import Distributor, Progress, keep_torch_out, make_distributor, needs_torch
from .held_out import HeldOut, reword, with_source_negatives
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
        made_by = recipe_sha256(recipe.as_given())
        self.writer = get_writer(recipe.output.format, self.types, edit_members, made_by)
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
        records, rejects, edit_failures, held_out = self.make_records(items, progress)
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
                held_out_negatives=held_out,
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
    ) -> tuple[list[Record], list[Reject], Counter, int]:
        """Items → records, rejects, edit failures and the count of dropped held-out negatives,
        `CHUNK_IMAGES` images at a time (a worker holds one chunk of decoded images);
        `progress(n)` after each chunk."""
        records: list[Record] = []
        rejects: list[Reject] = []
        failures: Counter = Counter()
        held_out = 0
        for start in range(0, len(items), CHUNK_IMAGES):
            chunk = items[start : start + CHUNK_IMAGES]
            part, part_rejects, part_failures, part_held_out = self.make_chunk(chunk)
            records += part
            rejects += part_rejects
            failures.update(part_failures)
            held_out += part_held_out
            if progress is not None:
                progress(len(chunk))
        return records, rejects, failures, held_out

    def make_chunk(self, items: list[InputItem]) -> tuple[list[Record], list[Reject], Counter, int]:
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
        # Before edit planning: a dropped slot is invalid, so it gets no image negative either.
        flat = [caption for captions in groups for caption in captions]
        negatives_flat, _ = reword(self.recipe.negatives.wording, flat, negatives_flat)
        negatives_flat, held_out = self.held_out.drop(negatives_flat)
        records: list[Record] = []
        requests = []
        pos = 0
        for item, captions, image in kept:
            negatives = negatives_flat[pos : pos + len(captions)]
            pos += len(captions)
            record = self.make_record(item, captions, image, negatives)
            records.append(record)
            if self.editor is not None:
                requests += self.edit_requests(record.key, image.pil, captions, negatives)
        edit_failures = self.attach_edits(records, requests)
        return records, rejects, edit_failures, held_out

    @staticmethod
    def make_record(item: InputItem, captions: list[str], image, negatives) -> Record:
        """The record of one decoded image (`images.load_image`), its usable captions and
        their negatives (one row of type slots per caption, None where none was made)."""
        return Record(
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
        """Edit the whole chunk in one call, so the editor batches across images."""
        if not requests:
            return Counter()
        return self.attach(records, requests, self.editor.edit(requests))

    def attach(self, records: list[Record], requests: list, results: list) -> Counter:
        """JPEG-encode each edited image into its record; returns failed edits by reason."""
        failures: Counter = Counter()
        by_key = {r.key: r for r in records}
        for req, result in zip(requests, results):
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


class _ProcessState:
    """What one process keeps between the tasks of a build: the opened input source and the
    shard builder (spaCy, any editor model). One slot each: a worker serves one build."""

    def __init__(self):
        self.source: tuple[str, object] | None = None
        self.builder: tuple[tuple, ShardBuilder] | None = None

    def release(self) -> None:
        self.source = self.builder = None


_PROCESS = _ProcessState()


def _source(recipe_json: str):
    if _PROCESS.source is None or _PROCESS.source[0] != recipe_json:
        recipe = Recipe.model_validate_json(recipe_json)
        _PROCESS.source = (recipe_json, open_source(recipe.input, recipe.seed))
    return _PROCESS.source[1]


class WorkerSetup:
    """Run at the start of each build worker process (idempotent): keep torch out of a
    worker that never needs it (`distributors.keep_torch_out`), then load spaCy, in parallel
    with the other workers rather than in the first task."""

    def __init__(self, recipe_json: str):
        self.recipe_json = recipe_json

    def __call__(self) -> None:
        from .caption_parse import shared_spacy

        recipe = Recipe.model_validate_json(self.recipe_json)
        if not needs_torch(recipe):
            keep_torch_out()
        shared_spacy(recipe.negatives.spacy_model)


class StatsWork:
    """Count one shard's captions for the corpus statistics (`corpus_stats.count_captions`);
    picklable. The captions are the ones the shards will parse: a caption the build rejects
    (empty, past the parser's limit) is not counted either."""

    def __init__(self, recipe_json: str):
        self.recipe_json = recipe_json

    def count(self, captions: list[str]) -> tuple[dict, int, str]:
        from .corpus_stats import count_captions

        cfg = Recipe.model_validate_json(self.recipe_json).negatives
        return count_captions(captions, cfg.spacy_model, lexicon_paths=tuple(cfg.lexicons))

    def __call__(self, spec: ShardSpec, progress: Progress | None = None):
        texts = (c for item in _source(self.recipe_json).read(spec) for c in item.captions)
        captions = [t for t in map(_clean, texts) if t and len(t) < DEFAULT_MAX_CAPTION_CHARS]
        result = self.count(captions)
        if progress is not None:
            progress(len(spec))
        return result


class ShardWork:
    """Build one shard; picklable (the recipe travels as JSON), one builder per process.

    `work(spec, progress)` reads the shard's items from the source (opened once per process),
    writes the shard and its marker and returns the `ShardMarker` (see `ShardBuilder`).
    """

    def __init__(
        self, recipe_json: str, out: str, identity: dict | None = None, stats: str | None = None
    ):
        self.recipe_json = recipe_json
        self.out = out
        self.identity = identity  # recipe hash, input fingerprint, statistics_sha256
        self.stats = stats  # the corpus statistics file fixed for the build (None: bundled)

    def builder(self) -> ShardBuilder:
        key = (self.recipe_json, self.out, json.dumps(self.identity, sort_keys=True), self.stats)
        if _PROCESS.builder is None or _PROCESS.builder[0] != key:
            recipe = Recipe.model_validate_json(self.recipe_json)
            _PROCESS.builder = (key, ShardBuilder(recipe, self.out, self.identity, self.stats))
        return _PROCESS.builder[1]

    def __call__(self, spec: ShardSpec, progress: Progress | None = None) -> ShardMarker:
        items = list(_source(self.recipe_json).read(spec))
        return self.builder()(spec.shard_id, items, progress=progress)


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
    source = open_source(recipe.input, recipe.seed)
    plan = source.plan(recipe.output.images_per_shard)
    recipe = with_source_negatives(recipe, plan.negatives)
    identity = {"recipe_hash": recipe_hash(recipe), "input_fingerprint": plan.fingerprint}
    folder = BuildFolder(out)
    state = BuildState(recipe=recipe_identity(recipe), **identity)
    shards = {spec.shard_id: spec for spec in plan.shards}
    try:
        folder.claim(state)
        _refuse_to_shrink(folder, out, set(shards))
    except BuildConflict:
        if not overwrite:
            raise
        folder.clear()
        folder.claim(state)
    recipe_json = recipe.model_dump_json()
    _PROCESS.source = (recipe_json, source)  # in-process work reads the source opened here
    setup = WorkerSetup(recipe_json)
    try:
        with make_distributor(recipe, rank, world, setup) as distributor:
            stats, stats_seconds = _statistics_step(recipe, plan, out, distributor, progress)
            # Every negative depends on the statistics: a shard made with others is not kept.
            identity["statistics_sha256"] = _statistics_sha256(stats)
            work = ShardWork(recipe_json, out, identity, stats)
            builder = work.builder()  # loads no model until a shard is built here
            todo, notes = _shards_to_build(
                folder, distributor, builder, shards, identity, retry_rejects
            )
            todo_specs = [shards[i] for i in todo]
            where = f"build rank {rank}/{world} ({distributor.name})"
            for _marker in _with_bar(distributor, todo_specs, work, progress, where):
                pass  # each shard wrote its marker
    finally:
        _PROCESS.release()
    if len(shards) < recipe.workers and distributor.name != "ray":
        notes.append(
            f"{len(shards)} shard(s) for {recipe.workers} workers: the shard is the unit of "
            "work, so some workers had none (a smaller --images-per-shard would use them)"
        )
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


def _refuse_to_shrink(folder: BuildFolder, out: str, planned: set[int]) -> None:
    """A build of fewer offsets than the folder holds would drop finished shards: that
    takes `--overwrite` (or another `--out`), never a silent note."""
    past = folder.outside(planned)
    if past:
        raise BuildConflict(
            f"{out} holds shards past this build's input ({', '.join(past[:3])}"
            f"{', …' if len(past) > 3 else ''}; a smaller --limit?): pass --overwrite to "
            "rebuild the folder with this input, or choose another --out"
        )


def _shards_to_build(
    folder, distributor, builder, shards, identity, retry_rejects
) -> tuple[list, list[str]]:
    """This process's shards that are not provably done (discarded, to be rebuilt from
    nothing), and a note for each one rebuilt for a reason other than having no marker."""
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
    return todo, notes


def _with_bar(distributor: Distributor, tasks, work, progress: bool, desc: str) -> Iterator:
    """Every task through the distributor, a progress bar counting images; yields the
    results as they come."""
    bar = tqdm(
        total=sum(len(t) for t in tasks), unit="img", disable=None if progress else True, desc=desc
    )
    try:
        yield from distributor.map(tasks, work, bar.update)
    finally:
        bar.close()


def _clean(caption: str) -> str:
    return normalize_text(caption).strip()


def _statistics_step(
    recipe: Recipe, plan: InputPlan, out: str, distributor: Distributor, progress: bool
) -> tuple[str | None, float]:
    """The negatives' corpus statistics, fixed before any shard (owned by the negatives
    module: `corpus_stats.stats_for_build`); returns (statistics file or None, seconds).

    Every shard's captions are counted on the distributor's workers (all shards, also
    under `ranks`: the statistics are the whole input's), and the counts merged here, so
    the file is the same bytes whoever counts; every worker then reads that one file.
    """
    from .corpus_stats import merge, stats_for_build

    cfg = recipe.negatives
    work = StatsWork(recipe.model_dump_json())

    def count() -> tuple[dict, int, str]:
        if not plan.shards:
            return work.count([])
        counts, n, models = {}, 0, set()
        parts = _with_bar(distributor, plan.shards, work, progress, "corpus statistics")
        for part_counts, part_n, model in parts:  # merged as they come: one part held
            counts, n = merge(counts, part_counts), n + part_n
            models.add(model)
        return counts, n, ", ".join(sorted(models))

    key = json.dumps(
        [plan.fingerprint, sum(len(spec) for spec in plan.shards), cfg.stats, cfg.spacy_model]
        + [str(path) for path in cfg.lexicons]
    )
    return stats_for_build(
        cfg.stats_file or cfg.stats, (), out, cfg.spacy_model, cfg.lexicons, key, count=count
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
