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
position): per-sample augmentation draws from a generator seeded for that sample, and an edit
gets the same crop as its original. Hence `start_batch` resumes exactly: skipped batches are
never decoded.
"""

from __future__ import annotations

import io
import logging
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count

import torch
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from ahnpl.shards.io import read_shard
from ahnpl.shards.manifest import Manifest, load_manifest, shard_urls

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


def records(url: str, with_edits: bool) -> Iterator:
    """The records of one shard; without edits, Parquet reads skip the edited-image bytes."""
    return read_shard(url, with_edits=with_edits)


def expand(record, epoch: int, captions_per_image: str, want_edits: bool) -> Iterator[RawSample]:
    """One sample per caption of an image row (or one rotating caption)."""
    n = len(record.captions)
    if n == 0:
        return
    if captions_per_image == "one":
        chosen = [(zlib.crc32(record.key.encode()) + epoch) % n]
    else:
        chosen = range(n)
    for c in chosen:
        edits = [(e.slot, e.image) for e in record.edits if e.caption == c] if want_edits else []
        yield RawSample(record.key, record.image, record.captions[c], record.neg_texts[c],
                        record.neg_valid[c], edits)  # fmt: skip


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


class ShardStream(IterableDataset):
    """Endless stream of collated batches from dataset shards (see module docstring).

    Yields dicts: `images` [B,3,H,W] float, `texts` [B,L] long, `neg_texts` [B,K,L] long
    (invalid slots tokenised from their stored text, ""), `neg_mask` [B,K] bool,
    `edit_images` [P,3,H,W] float, `edit_index` [P] long (flat b·K + slot), `keys` list[str].
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
        start_batch: int = 0,
        pixel_negatives: bool = False,
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
        self.start_batch = start_batch
        self.pixel_negatives = pixel_negatives and cfg.image_negatives_per_sample > 0

    def _worker(self) -> tuple[int, int]:
        info = get_worker_info()
        return (0, 1) if info is None else (info.id, info.num_workers)

    def samples(self, epoch: int) -> Iterator[RawSample]:
        """This worker's shuffled samples of one epoch (bytes, not decoded)."""
        wid, workers = self._worker()
        order = list(range(len(self.urls)))
        random.Random(f"shards-{self.seed}-{epoch}").shuffle(order)
        picked, stride, offset = assign_shards(len(order), self.rank, self.world_size, wid, workers)
        mine = [self.urls[order[p]] for p in picked] if picked is not None else [
            self.urls[i] for i in order
        ]  # fmt: skip

        def rows():
            r = 0
            for url in mine:
                for record in records(url, self.pixel_negatives):
                    if r % stride == offset:
                        yield from expand(record, epoch, self.cfg.captions_per_image,
                                          self.pixel_negatives)  # fmt: skip
                    r += 1

        g = self.rank * workers + wid
        rng = random.Random(f"samples-{self.seed}-{epoch}-{g}")
        return shuffle(rows(), self.cfg.shuffle_buffer, rng)

    def __iter__(self) -> Iterator[dict]:
        wid, workers = self._worker()
        bsz = self.cfg.batch_size
        batch: list[tuple] = []
        local = 0  # this worker's batch counter; its global batch index is local·workers + wid
        skipped = 0
        for epoch in count():
            seen = 0
            for sample in self.samples(epoch):
                seen += 1
                index = local * workers + wid
                if index < self.start_batch:
                    # Resuming: batches already trained on are dropped before decoding.
                    skipped += 1
                    if skipped == bsz:
                        local, skipped = local + 1, 0
                    continue
                seed = ((self.seed * 1_000_003 + self.rank) * 1_000_003 + index) * 4096
                decoded = self.decode(sample, seed + len(batch))
                if decoded is None:
                    continue
                batch.append(decoded)
                if len(batch) == bsz:
                    yield self.collate(batch)
                    local, batch = local + 1, []
            if seen == 0:
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
        return {
            "images": images,
            "texts": texts,
            "neg_texts": negs.reshape(len(samples), k, texts.shape[1]),
            "neg_mask": torch.tensor([s.valid for s in samples], dtype=torch.bool).reshape(-1, k),
            "edit_images": (
                torch.stack(edit_images) if edit_images else images.new_zeros(0, *images.shape[1:])
            ),
            "edit_index": torch.tensor(edit_index, dtype=torch.long),
            "keys": [s.key for s in samples],
        }


@dataclass
class TrainData:
    """The loader and what the trainer needs to know about the dataset."""

    loader: DataLoader
    manifest: Manifest
    samples_per_epoch: int
    negative_types: list[str]


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
    start_batch: int = 0,
    pixel_negatives: bool = False,
    pin_memory: bool = False,
) -> TrainData:
    """Open the dataset at `cfg.path` and return an endless batch loader for this rank.

    Raises:
        FileNotFoundError: no manifest at `cfg.path`.
        ValueError: the dataset is empty or has fewer image rows than ranks.
    """
    manifest = load_manifest(cfg.path)
    rows = sum(s.rows for s in manifest.shards)
    if rows < world_size:
        raise ValueError(
            f"{cfg.path}: {rows} image rows for {world_size} ranks; every rank needs data"
        )
    if cfg.captions_per_image == "all" and cfg.shuffle_buffer < 10 * cfg.batch_size:
        log.warning(
            "data.shuffle_buffer=%d is under 10× the batch (%d): the captions of one image will "
            "often share a batch and act as false negatives; raise it or use "
            "captions_per_image=one", cfg.shuffle_buffer, cfg.batch_size,
        )  # fmt: skip
    # Every worker of every rank must receive rows, whatever the epoch's shard order: with
    # whole shards per rank, the poorest rank may get the n // world smallest shards.
    sizes = sorted(s.rows for s in manifest.shards)
    n = len(sizes)
    poorest = sum(sizes[: n // world_size]) if n >= world_size else rows // world_size
    workers = min(cfg.workers, max(1, poorest)) if cfg.workers else 0
    stream = ShardStream(
        shard_urls(cfg.path, manifest), len(manifest.negative_types), transform, tokenizer,
        cfg, seed, rank, world_size, start_batch, pixel_negatives,
    )  # fmt: skip
    loader = DataLoader(
        stream, batch_size=None, num_workers=workers, pin_memory=pin_memory,
        persistent_workers=False, prefetch_factor=4 if workers else None,
        # Its own generator: creating the iterator must not draw from the global torch RNG,
        # or a resumed run would diverge from an uninterrupted one.
        generator=torch.Generator().manual_seed(seed),
    )  # fmt: skip
    return TrainData(
        loader, manifest, samples_per_epoch(manifest, cfg.captions_per_image),
        list(manifest.negative_types),
    )  # fmt: skip
