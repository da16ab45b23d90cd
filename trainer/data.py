"""Streaming loader: shards → (image, caption, its negatives, its edits) samples → batches.

DESIGN §8. Stages, in order, each in a DataLoader worker:
  1. shard order shuffled per epoch (seed, epoch), identical on every rank;
  2. split by rank and worker: whole shards when there are at least ranks×workers shards, else
     rows striped across ranks/workers (no rank is ever left without data);
  3. each image row expanded into one sample per caption (`captions_per_image: all`) or one
     caption per image per pass, rotating with the epoch (`one`);
  4. a seeded shuffle buffer (seed, epoch, worker) holding encoded bytes only, so memory is
     bounded by the buffer whatever the dataset size;
  5. batching, then decoding, augmentation and tokenisation of the kept batches.

The stream is endless (epoch after epoch); the trainer counts steps and takes the number of
samples per epoch from the manifest. Everything random is a function of (seed, epoch, worker,
position), through `ahnpl.seeding.derive_seed`: per-sample augmentation draws from a generator
seeded for that sample, and an edit gets the same crop as its original.

Exact resume, for any worker count. Worker w's batches are the global batches j·W + w; every
batch carries its worker's stream position after it, `(worker, epoch, samples consumed)`, and
the trainer checkpoints the last position of each worker. A resumed loader renumbers its
workers so that the DataLoader's first worker holds global batch `start_batch` (a fresh
DataLoader always starts its round-robin at worker 0), and each worker skips to its position
without decoding, so undecodable samples in the skipped range cannot shift the stream.

Integrity: every shard's size (and a Parquet shard's row count) is compared with the manifest
when it is opened, and its row count again when it ends; `data.verify` also compares every
shard's sha256 before training. Shard names come from the manifest, never from a listing.
A text negative whose tokens equal its caption's once both are truncated to the context
length is marked invalid and counted (`same_tokens` in a batch).
"""

from __future__ import annotations

import io
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count

import fsspec
import pyarrow.parquet as pq
import torch
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from ahnpl.seeding import derive_seed, python_rng
from ahnpl.shards.io import read_shard
from ahnpl.shards.manifest import Manifest, ShardEntry, load_manifest, sha256_of, shard_urls

from .config import DataConfig

log = logging.getLogger(__name__)


@dataclass
class RawSample:
    """One (image, caption) pair before decoding; bytes are shared with the image row."""

    key: str
    image: bytes
    caption: str
    negatives: list[str]
    valid: list[bool]
    edits: list[tuple[int, bytes]] = field(default_factory=list)  # (slot, encoded image)


def assign_shards(
    n_shards: int, rank: int, world: int, wid: int, workers: int
) -> tuple[list[int] | None, int, int]:
    """Which shard positions a (rank, worker) reads, and which rows of them.

    Returns (positions or None for all, row_stride, row_offset): the worker keeps row r of its
    shard stream when r % row_stride == row_offset.
    """
    total = world * workers
    me = rank * workers + wid
    if n_shards >= total:
        return list(range(me, n_shards, total)), 1, 0
    if n_shards >= world:
        return list(range(rank, n_shards, world)), workers, wid
    return None, total, me


class ShardMismatch(ValueError):
    """A shard does not match its manifest entry (size, rows or sha256)."""


def checked_records(url: str, entry: ShardEntry | None, with_edits: bool) -> Iterator:
    """The records of one shard, after checking it against its manifest entry.

    Without edits, Parquet reads skip the edited-image bytes. With `entry`, the size (and for
    Parquet the row count in the footer) is compared when the shard is opened, and the number
    of records read when it ends.

    Raises:
        ShardMismatch: the shard differs from `entry` (e.g. a shard of another dataset).
    """
    if entry is not None:
        fs, path = fsspec.core.url_to_fs(url)
        size = fs.size(path)
        rows = None
        if url.endswith(".parquet"):
            with fs.open(path, "rb") as f:
                rows = pq.read_metadata(f).num_rows
        if size != entry.bytes or (rows is not None and rows != entry.rows):
            found = f"{size} bytes" + (f", {rows} rows" if rows is not None else "")
            raise ShardMismatch(_mismatch(url, found, f"{entry.bytes} bytes, {entry.rows} rows"))
    n = 0
    for record in read_shard(url, with_edits=with_edits):
        n += 1
        yield record
    if entry is not None and n != entry.rows:
        raise ShardMismatch(_mismatch(url, f"{n} rows", f"{entry.rows} rows"))


def _mismatch(url: str, found: str, listed: str) -> str:
    return (
        f"{url}: {found}, the manifest lists {listed}; the shard is not the one this dataset "
        f"was built with (`ahnpl-gen verify` lists every difference)"
    )


def check_shard_files(root: str, manifest: Manifest) -> None:
    """Check that every shard the manifest lists exists with its listed size (a stat each).

    Run in the main process before a run folder or loader workers exist, so a copy that lost
    or truncated a shard stops the run with one line instead of a worker traceback mid-epoch.

    Raises:
        ShardMismatch: the first shard that is missing or has another size.
    """
    for entry, url in zip(manifest.shards, shard_urls(root, manifest)):
        fs, path = fsspec.core.url_to_fs(url)
        if not fs.exists(path):
            raise ShardMismatch(
                f"{url}: missing, the manifest lists it ({entry.rows} rows); "
                "`ahnpl-gen verify` lists every difference"
            )
        size = fs.size(path)
        if size != entry.bytes:
            raise ShardMismatch(_mismatch(url, f"{size} bytes", f"{entry.bytes} bytes"))


def verify_shards(root: str, manifest: Manifest) -> None:
    """Compare the sha256 and size of every shard with the manifest (`data.verify`).

    Raises:
        ShardMismatch: the first shard that differs.
    """
    for entry, url in zip(manifest.shards, shard_urls(root, manifest)):
        digest, size = sha256_of(url)
        if digest != entry.sha256 or size != entry.bytes:
            raise ShardMismatch(
                _mismatch(url, f"sha256 {digest[:12]}…", f"sha256 {entry.sha256[:12]}…")
            )


def expand(
    record, epoch: int, captions_per_image: str, want_edits: bool, min_score: float | None = None
) -> Iterator[RawSample]:
    """One sample per caption of an image row (or one rotating caption).

    With `min_score` (`data.min_negative_score`), a hard negative whose stored plausibility
    (natural log) is below it counts as absent, and so do its image edits: the corpus
    statistics' score ranks how plausible a negative is (docs/negatives.md, "Independent
    reading"). A negative stored without a score is kept.
    """
    n = len(record.captions)
    if n == 0:
        return
    if captions_per_image == "one":
        chosen = [derive_seed("caption", record.key, epoch) % n]
    else:
        chosen = range(n)
    for c in chosen:
        edits = [(e.slot, e.image) for e in record.edits if e.caption == c] if want_edits else []
        negatives, valid = record.neg_texts[c], record.neg_valid[c]
        if min_score is not None and record.neg_scores is not None:
            scores = record.neg_scores[c]
            valid = [v and (x is None or x >= min_score) for v, x in zip(valid, scores)]
            edits = [(slot, image) for slot, image in edits if valid[slot]]
        yield RawSample(record.key, record.image, record.captions[c], negatives, valid, edits)


def shuffle(items: Iterator, bufsize: int, rng: random.Random) -> Iterator:
    """Reservoir-style shuffle: fill `bufsize`, then emit a random element per new one."""
    buf: list = []
    for item in items:
        if len(buf) < bufsize:
            buf.append(item)
            continue
        i = rng.randrange(len(buf))
        buf[i], item = item, buf[i]
        yield item
    rng.shuffle(buf)
    yield from buf


def _seeded(transform: Callable, img: Image.Image, seed: int) -> torch.Tensor:
    # torchvision draws augmentation parameters from the global CPU generator; seeding it per
    # sample makes the crop a function of the sample (exact resume, same crop for an edit), and
    # the caller's state is restored so training randomness is untouched. (The CPU generator
    # directly: torch.manual_seed would also queue a CUDA re-seed with a captured traceback.)
    gen = torch.default_generator
    state = gen.get_state()
    gen.manual_seed(seed)
    try:
        return transform(img)
    finally:
        gen.set_state(state)


def decode_image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img if img.mode == "RGB" else img.convert("RGB")


@dataclass
class StreamOptions:
    """What the objective and the run ask of the stream (defaults: a fresh plain stream).

    entries: the manifest entry of each url (checked when opened; None skips the checks);
    start_batch: the global batch to start at; resume: per worker, (epoch, samples consumed)
    after its last trained batch (from the checkpoint; None = from the start);
    pixel_negatives: decode the edits; invalid_slot_text: the text of invalid slots (None
    keeps the stored text).
    """

    entries: list[ShardEntry] | None = None
    start_batch: int = 0
    resume: list[tuple[int, int]] | None = None
    pixel_negatives: bool = False
    invalid_slot_text: str | None = None


class ShardStream(IterableDataset):
    """Endless stream of collated batches from dataset shards (see module docstring).

    Yields dicts: `images` [B,3,H,W] float, `texts` [B,L] long, `neg_texts` [B,K,L] long
    (invalid slots tokenised from `invalid_slot_text` or their stored text), `neg_mask` [B,K]
    bool, `edit_images` [P,3,H,W] float, `edit_index` [P] long (flat b·K + slot), `keys`
    list[str], `same_tokens` int (slots made invalid: same tokens as the caption), `index`
    int (global batch index), `position` (worker, epoch, samples consumed after this batch).
    """

    def __init__(
        self,
        urls: list[str],
        num_slots: int,
        transform: Callable,
        tokenizer: Callable,
        cfg: DataConfig,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        options: StreamOptions | None = None,
    ) -> None:
        super().__init__()
        if not urls:
            raise ValueError("dataset has no shards: nothing to train on")
        self.urls = urls
        self.num_slots = num_slots
        self.transform = transform
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.opts = options or StreamOptions()
        self.pixel_negatives = self.opts.pixel_negatives and cfg.image_negatives_per_sample > 0

    def _worker(self) -> tuple[int, int]:
        """(logical worker id, workers): renumbered so that worker 0 holds `start_batch`."""
        info = get_worker_info()
        if info is None:
            return 0, 1
        return (info.id + self.opts.start_batch) % info.num_workers, info.num_workers

    def samples(self, epoch: int) -> Iterator[RawSample]:
        """This worker's shuffled samples of one epoch (bytes, not decoded)."""
        wid, workers = self._worker()
        order = list(range(len(self.urls)))
        python_rng("shards", self.seed, epoch).shuffle(order)
        picked, stride, offset = assign_shards(len(order), self.rank, self.world_size, wid, workers)
        mine = order if picked is None else [order[p] for p in picked]
        entries = self.opts.entries

        def rows():
            r = 0
            for i in mine:
                entry = entries[i] if entries is not None else None
                for record in checked_records(self.urls[i], entry, self.pixel_negatives):
                    if r % stride == offset:
                        yield from expand(
                            record,
                            epoch,
                            self.cfg.captions_per_image,
                            self.pixel_negatives,
                            self.cfg.min_negative_score,
                        )
                    r += 1

        rng = python_rng("samples", self.seed, epoch, self.rank * workers + wid)
        return shuffle(rows(), self.cfg.shuffle_buffer, rng)

    def __iter__(self) -> Iterator[dict]:
        wid, workers = self._worker()
        bsz = self.cfg.batch_size
        start = self.opts.start_batch
        # This worker's batches are j·workers + wid; the first one not trained on yet:
        local = max(0, -(-(start - wid) // workers))
        first_epoch, skip = self.opts.resume[wid] if self.opts.resume else (0, 0)
        batch: list[tuple] = []
        for epoch in count(first_epoch):
            consumed = 0
            for sample in self.samples(epoch):
                consumed += 1
                if epoch == first_epoch and consumed <= skip:
                    continue  # trained on before the checkpoint: dropped before decoding
                index = local * workers + wid
                seed = derive_seed("augment", self.seed, self.rank, index, len(batch))
                decoded = self.decode(sample, seed)
                if decoded is None:
                    continue
                batch.append(decoded)
                if len(batch) == bsz:
                    out = self.collate(batch)
                    out.update(index=index, position=(wid, epoch, consumed))
                    yield out
                    local, batch = local + 1, []
            if consumed == 0:
                raise RuntimeError(
                    f"rank {self.rank} worker {wid} received no samples: the dataset has fewer "
                    f"image rows than ranks × workers; lower --workers or use more data"
                )

    def decode(self, s: RawSample, seed: int) -> tuple | None:
        """(sample, image [3,H,W], [(slot, edit image)]) or None when skipped on error."""
        try:
            image = _seeded(self.transform, decode_image(s.image), seed)
            edits = s.edits
            cap = self.cfg.image_negatives_per_sample
            if len(edits) > cap:
                edits = random.Random(seed).sample(edits, cap)
            out = []
            for slot, data in sorted(edits, key=lambda e: e[0]):
                if not 0 <= slot < self.num_slots:
                    raise ValueError(f"edit slot {slot} outside 0..{self.num_slots - 1}")
                out.append((slot, _seeded(self.transform, decode_image(data), seed)))
            if len(s.negatives) != self.num_slots or len(s.valid) != self.num_slots:
                raise ValueError(
                    f"{len(s.negatives)} negative slots, the manifest lists {self.num_slots}"
                )
        except Exception as e:  # noqa: BLE001 — the error policy decides
            if self.cfg.on_error == "raise":
                raise ValueError(f"sample {s.key} (caption {s.caption!r}): {e}") from e
            log.warning("skipping sample %s: %s", s.key, e)
            return None
        return s, image, out

    def collate(self, batch: list[tuple]) -> dict:
        k = self.num_slots
        samples = [s for s, _, _ in batch]
        edit_images = [img for _, _, edits in batch for _, img in edits]
        edit_index = [b * k + slot for b, (_, _, edits) in enumerate(batch) for slot, _ in edits]
        images = torch.stack([img for _, img, _ in batch])
        texts = self.tokenizer([s.caption for s in samples])
        negs = self.tokenizer([n for s in samples for n in s.negatives] or [""])[: len(samples) * k]
        negs = negs.reshape(len(samples), k, texts.shape[1])
        valid = torch.tensor([s.valid for s in samples], dtype=torch.bool).reshape(-1, k)
        # A negative equal to its caption once both are truncated is no negative at all.
        same = (negs == texts[:, None, :]).all(-1) & valid
        valid &= ~same
        if self.opts.invalid_slot_text is not None:
            negs[~valid] = self.tokenizer([self.opts.invalid_slot_text])[0]
        return {
            "images": images,
            "texts": texts,
            "neg_texts": negs,
            "neg_mask": valid,
            "edit_images": (
                torch.stack(edit_images) if edit_images else images.new_zeros(0, *images.shape[1:])
            ),
            "edit_index": torch.tensor(edit_index, dtype=torch.long),
            "keys": [s.key for s in samples],
            "same_tokens": int(same.sum()),
        }


@dataclass
class TrainData:
    """The loader and what the trainer needs to know about the dataset."""

    loader: DataLoader
    manifest: Manifest
    samples_per_epoch: int
    negative_types: list[str]
    workers: int  # streams per rank (loader workers, or 1 in the main process)


def samples_per_epoch(manifest: Manifest, captions_per_image: str) -> int:
    """Samples in one pass, from the manifest (never counted by reading)."""
    if captions_per_image == "one":
        return sum(s.rows for s in manifest.shards)
    return sum(s.captions for s in manifest.shards)


def build_loader(
    cfg: DataConfig,
    transform: Callable,
    tokenizer: Callable,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
    options: StreamOptions | None = None,
    pin_memory: bool = False,
) -> TrainData:
    """Open the dataset at `cfg.path` and return an endless batch loader for this rank.

    `options.entries` is filled from the manifest. `options.resume`, when given, must hold
    one position per loader worker (`TrainData.workers`, at least 1).

    Raises:
        FileNotFoundError: no manifest at `cfg.path`.
        ValueError: the dataset is empty, has fewer image rows than ranks, or `resume` was
            written with another number of workers.
        ShardMismatch: `cfg.verify` and a shard's sha256 differs from the manifest.
    """
    manifest = load_manifest(cfg.path)
    rows = sum(s.rows for s in manifest.shards)
    if rows < world_size:
        raise ValueError(
            f"{cfg.path}: {rows} image rows for {world_size} ranks; every rank needs data"
        )
    if cfg.verify:
        verify_shards(cfg.path, manifest)
    if cfg.captions_per_image == "all" and cfg.shuffle_buffer < 10 * cfg.batch_size:
        log.warning(
            "data.shuffle_buffer=%d is under 10× the batch (%d): the captions of one image will "
            "often share a batch and act as false negatives; raise it or use "
            "captions_per_image=one",
            cfg.shuffle_buffer,
            cfg.batch_size,
        )
    workers = effective_workers(cfg.workers, manifest, world_size)
    options = options or StreamOptions()
    options.entries = list(manifest.shards)
    if options.resume is not None and len(options.resume) != max(1, workers):
        raise ValueError(
            f"the checkpoint was written with {len(options.resume)} loader worker(s) per rank, "
            f"this run has {max(1, workers)}; resume with the same --workers"
        )
    urls = shard_urls(cfg.path, manifest)
    stream = ShardStream(
        urls,
        len(manifest.negative_types),
        transform,
        tokenizer,
        cfg,
        seed,
        rank,
        world_size,
        options,
    )
    loader = DataLoader(
        stream,
        batch_size=None,
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
        # Its own generator: creating the iterator must not draw from the global torch RNG,
        # or a resumed run would diverge from an uninterrupted one.
        generator=torch.Generator().manual_seed(seed),
    )
    per_epoch = samples_per_epoch(manifest, cfg.captions_per_image)
    return TrainData(loader, manifest, per_epoch, list(manifest.negative_types), max(1, workers))


def effective_workers(requested: int, manifest: Manifest, world_size: int) -> int:
    """Loader workers per rank: never more than the poorest rank has image rows.

    Every worker of every rank must receive rows, whatever the epoch's shard order: with
    whole shards per rank, the poorest rank may get the n // world smallest shards.
    """
    if not requested:
        return 0
    sizes = sorted(s.rows for s in manifest.shards)
    n = len(sizes)
    poorest = sum(sizes[: n // world_size]) if n >= world_size else sum(sizes) // world_size
    return min(requested, max(1, poorest))
