"""Encode each unique image and text once, in batches, and score benchmark items.

Scores are cosine similarities of L2-normalised embeddings (the logit scale does not change a
ranking). A tie counts as wrong everywhere: a caption must score strictly above every foil, a
retrieval target strictly above every other candidate. Texts longer than the context length are
truncated by the model's open_clip tokenizer, which keeps the end token; texts are deduplicated
by their token rows, so a caption and foil that become identical after truncation share one
embedding, tie, and are counted (`n_identical_after_truncation`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from ahnpl.evaluation.benchmarks import Item

MIN_IMAGES_FOR_WORKERS = 256
_COCO2014 = re.compile(r"COCO_(?:train|val|test)2014_(\d{12})\.jpg$")


class ImageResolver:
    """Find a benchmark's image file among the image folders.

    For each folder it tries the path as written, its file name alone, and for COCO 2014 names
    (`COCO_val2014_000000551780.jpg`) the 2017 name (`000000551780.jpg`), so one COCO folder
    serves SugarCrepe, VALSE and the Karpathy files.
    """

    def __init__(self, roots: Sequence[Path]):
        self.roots = [Path(r) for r in roots]
        self._cache: dict[str, Path | None] = {}

    def resolve(self, name: str) -> Path | None:
        """The existing file for `name`, or None when no folder has it."""
        if name in self._cache:
            return self._cache[name]
        found = None
        path = Path(name)
        candidates = [path.name]
        match = _COCO2014.search(path.name)
        if match:
            candidates.append(f"{match.group(1)}.jpg")
        if path.is_absolute():
            found = path if path.is_file() else None
        else:
            for root in self.roots:
                for rel in (name, *candidates):
                    if (root / rel).is_file():
                        found = root / rel
                        break
                if found is not None:
                    break
        self._cache[name] = found
        return found


class _ImageSet(torch.utils.data.Dataset):
    """Decode + crop + preprocess; an unreadable file yields ok=False instead of raising."""

    def __init__(self, refs: list[tuple[Path, tuple[float, ...] | None]], preprocess):
        self.refs = refs
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, index: int):
        path, box = self.refs[index]
        try:
            with Image.open(path) as img:
                img = img.convert("RGB")
                if box is not None:
                    x, y, w, h = box
                    img = img.crop((x, y, x + w, y + h))
                return index, self.preprocess(img), True
        except (OSError, ValueError, Image.DecompressionBombError):
            return index, None, False


def _collate(batch):
    index = torch.tensor([b[0] for b in batch])
    ok = torch.tensor([b[2] for b in batch])
    tensors = [b[1] for b in batch if b[2]]
    return index, (torch.stack(tensors) if tensors else None), ok


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    # The trainer may hand over its DDP wrapper; the encoders live on the wrapped module.
    return getattr(model, "module", model)


def _model_dtype(module: torch.nn.Module) -> torch.dtype:
    return next(module.parameters()).dtype


@torch.inference_mode()
def encode_images(
    loaded, refs: list[tuple[Path, tuple[float, ...] | None]], device, batch_size: int, workers: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings [N, D] float32 (L2-normalised, on CPU) and ok [N] bool (False: unreadable)."""
    model = _unwrap(loaded.model)
    dtype = _model_dtype(model.visual)
    out: torch.Tensor | None = None
    ok = torch.zeros(len(refs), dtype=torch.bool)
    loader = torch.utils.data.DataLoader(
        _ImageSet(refs, loaded.preprocess_val),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=_collate,
    )
    for index, pixels, good in loader:
        ok[index] = good
        if pixels is None:
            continue
        pixels = pixels.to(device=device, dtype=dtype)
        emb = model.encode_image(pixels, normalize=True).float().cpu()
        if out is None:
            out = torch.zeros(len(refs), emb.shape[1])
        out[index[good]] = emb
    if out is None:
        out = torch.zeros(len(refs), 1)
    return out, ok


@torch.inference_mode()
def encode_texts(
    loaded, texts: list[str], device, batch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings of the unique token rows [U, D] float32 and, per text, its row index [N].

    Texts are tokenised with the model's tokenizer (truncation keeps the end token); texts with
    equal token rows are encoded once.
    """
    if not texts:
        return torch.zeros(0, 1), torch.zeros(0, dtype=torch.long)
    tokens = loaded.tokenizer(texts)
    unique, inverse = torch.unique(tokens, dim=0, return_inverse=True)
    encode = _unwrap(loaded.model).encode_text
    chunks = [
        encode(unique[i : i + batch_size].to(device), normalize=True).float().cpu()
        for i in range(0, len(unique), batch_size)
    ]
    return torch.cat(chunks), inverse


@dataclass
class Encoded:
    """Embeddings of one evaluation run, indexed by text string and resolved image ref."""

    image_emb: torch.Tensor
    image_ok: torch.Tensor
    image_index: dict[tuple[Path, tuple[float, ...] | None], int]
    text_emb: torch.Tensor
    text_row: dict[str, int]

    def text(self, texts: Sequence[str]) -> torch.Tensor:
        return torch.tensor([self.text_row[t] for t in texts], dtype=torch.long)


def encode_all(
    loaded,
    images: list[tuple[Path, tuple[float, ...] | None]],
    texts: list[str],
    device="cpu",
    batch_size: int = 64,
    workers: int | None = None,
) -> Encoded:
    """Encode unique images (resolved path, box) and unique texts, in eval mode.

    The model's train/eval mode is restored afterwards, so the trainer can call this mid-run.
    """
    unique_images = list(dict.fromkeys(images))
    if workers is None:
        # Starting decode processes costs more than it saves below a few hundred images.
        many = len(unique_images) >= MIN_IMAGES_FOR_WORKERS
        workers = min(8, (os.cpu_count() or 1) // 2) if many else 0
    unique_texts = list(dict.fromkeys(texts))
    was_training = loaded.model.training
    loaded.model.eval()
    try:
        img_emb, img_ok = encode_images(loaded, unique_images, device, batch_size, workers)
        txt_emb, inverse = encode_texts(loaded, unique_texts, device, batch_size)
    finally:
        loaded.model.train(was_training)
    return Encoded(
        image_emb=img_emb,
        image_ok=img_ok,
        image_index={ref: i for i, ref in enumerate(unique_images)},
        text_emb=txt_emb,
        text_row=dict(zip(unique_texts, inverse.tolist(), strict=True)),
    )


def _frac(hits: torch.Tensor) -> float:
    """Exact fraction of True entries (a float32 mean would be off in the 8th digit)."""
    return int(hits.sum()) / hits.numel()


def _group_metrics(correct: torch.Tensor, groups: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    if not any(groups):
        return out
    for name in sorted(set(groups)):
        mask = torch.tensor([g == name for g in groups])
        out[name] = {"accuracy": _frac(correct[mask]), "n": int(mask.sum())}
    return out


def score_choice(items: Sequence[Item], image_rows: torch.Tensor, enc: Encoded) -> dict:
    """Accuracy of "choice" items: positives[0] strictly above every negative.

    Args:
        items: items of one split whose images are all readable.
        image_rows: [len(items)] row of each item's image in `enc.image_emb`.
    Returns:
        {"accuracy", "n_scored", "n_identical_after_truncation", "groups"?}.
    """
    if not items:
        return {"accuracy": None, "n_scored": 0, "n_identical_after_truncation": 0}
    pos = enc.text([it.positives[0] for it in items])
    item_of_neg = torch.tensor([i for i, it in enumerate(items) for _ in it.negatives])
    neg = enc.text([n for it in items for n in it.negatives])
    v = enc.image_emb[image_rows]
    pos_score = (v * enc.text_emb[pos]).sum(-1)
    neg_score = (v[item_of_neg] * enc.text_emb[neg]).sum(-1)
    best_neg = torch.full_like(pos_score, -torch.inf).scatter_reduce(
        0, item_of_neg, neg_score, reduce="amax"
    )
    correct = pos_score > best_neg
    identical = torch.zeros(len(items), dtype=torch.bool)
    identical[item_of_neg[neg == pos[item_of_neg]]] = True
    out = {
        "accuracy": _frac(correct),
        "n_scored": len(items),
        "n_identical_after_truncation": int(identical.sum()),
    }
    groups = _group_metrics(correct, [it.group for it in items])
    if groups:
        out["groups"] = groups
    return out


def score_winoground(items: Sequence[Item], image_rows: torch.Tensor, enc: Encoded) -> dict:
    """Winoground text, image and group scores (Thrush et al. 2022, §3.2), ties wrong.

    `image_rows` is [len(items), 2]: rows of image_0 and image_1.
    """
    if not items:
        return {"text": None, "image": None, "group": None, "n_scored": 0}
    v0, v1 = enc.image_emb[image_rows[:, 0]], enc.image_emb[image_rows[:, 1]]
    c0 = enc.text_emb[enc.text([it.positives[0] for it in items])]
    c1 = enc.text_emb[enc.text([it.positives[1] for it in items])]
    s00, s01 = (v0 * c0).sum(-1), (v0 * c1).sum(-1)  # s_ij: image i, caption j
    s10, s11 = (v1 * c0).sum(-1), (v1 * c1).sum(-1)
    text = (s00 > s01) & (s11 > s10)
    image = (s00 > s10) & (s11 > s01)
    group = text & image
    out = {
        "text": _frac(text),
        "image": _frac(image),
        "group": _frac(group),
        "n_scored": len(items),
    }
    tags = [it.group for it in items]
    if any(tags):
        out["groups"] = {
            tag: {
                "text": _frac(text[m]),
                "image": _frac(image[m]),
                "group": _frac(group[m]),
                "n": int(m.sum()),
            }
            for tag in sorted(set(tags))
            for m in [torch.tensor([t == tag for t in tags])]
        }
    return out


def score_retrieval(
    items: Sequence[Item], image_rows: torch.Tensor, enc: Encoded, ks=(1, 5, 10), chunk: int = 1024
) -> dict:
    """Recall@K both ways over the corpus of `items` (one item per image, its captions).

    image->text: a hit when the best of the image's own captions has fewer than K other captions
    scoring at least as high. text->image: a hit when fewer than K other images score at least as
    high as the caption's own image. Values are fractions in [0, 1].
    """
    if not items:
        return {"n_scored": 0}
    owner = torch.tensor([i for i, it in enumerate(items) for _ in it.positives])
    t = enc.text_emb[enc.text([c for it in items for c in it.positives])]
    v = enc.image_emb[image_rows]
    i2t_rank = torch.empty(len(items), dtype=torch.long)
    t2i_rank = torch.zeros(len(owner), dtype=torch.long)
    own_t2i = (v[owner] * t).sum(-1)  # score of each caption with its own image
    for start in range(0, len(items), chunk):
        stop = min(start + chunk, len(items))
        s = v[start:stop] @ t.T  # [chunk, n_texts]
        rows = torch.arange(start, stop)
        is_own = owner[None, :] == rows[:, None]
        best_own = s.masked_fill(~is_own, -torch.inf).amax(1)
        i2t_rank[start:stop] = ((s >= best_own[:, None]) & ~is_own).sum(1)
        t2i_rank += ((s >= own_t2i[None, :]) & ~is_own).sum(0)
    out: dict = {"n_scored": len(items), "n_texts": len(owner)}
    for k in ks:
        out[f"i2t_R@{k}"] = _frac(i2t_rank < k)
    for k in ks:
        out[f"t2i_R@{k}"] = _frac(t2i_rank < k)
    out["rsum"] = sum(out[f"{d}_R@{k}"] for d in ("i2t", "t2i") for k in ks)
    return out


SCORERS = {"choice": score_choice, "winoground": score_winoground, "retrieval": score_retrieval}
