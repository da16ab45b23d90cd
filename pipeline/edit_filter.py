"""Optional CLIP quality filter for edited images (DESIGN §5, `--filter-model`).

Two cosines per edit, both from one open_clip model loaded with `ahnpl.models.create_model`:

- `score_dir`, the directional similarity of StyleGAN-NADA / InstructPix2Pix §4:
  cos(E_img(edited) - E_img(original), E_txt(negative) - E_txt(caption)), in [-1, 1];
  low means the image did not change the way the caption did;
- `score_img`, cos(E_img(edited), E_img(original)): low means the edit lost the scene, near 1
  means nothing changed.

An edit passes when `score_dir >= min_dir` and `min_img <= score_img <= max_img`; a failing
edit keeps its scores and gets the reason `filter_dir` or `filter_img`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ahnpl.devices import resolve_device

from .edit_config import FilterConfig
from .editing import Editor, EditRequest, EditResult


class EditFilter:
    """Scores edits with a CLIP model and applies the thresholds.

    Args (the fields of `FilterConfig`, the recipe's `edit.filter`, which holds the defaults):
        model: open_clip model name, config JSON or bundled config (`create_model`).
        pretrained: weights for it ("" = random, an open_clip tag, or a local checkpoint).
        min_dir, min_img, max_img: thresholds on the cosines (see the module docstring); the
            defaults are InstructPix2Pix's dataset filter (Brooks et al. 2023, §3.1.2:
            directional >= 0.2, image-image >= 0.75); -1 / 1 switch a bound off.
        device: torch device, or "auto" (the GPU of this rank when there is one);
        batch_size: images per forward pass.
    Raises:
        ValueError (pydantic.ValidationError): an unknown option, a threshold outside
            [-1, 1], or min_img > max_img.
    """

    def __init__(self, model: str, **options: Any) -> None:
        c = FilterConfig(model=model, **options)
        self.model_name, self.pretrained = c.model, c.pretrained
        self.min_dir, self.min_img, self.max_img = c.min_dir, c.min_img, c.max_img
        self.device, self.batch_size = resolve_device(c.device), c.batch_size
        self._loaded = None

    def info(self) -> dict:
        return {
            "model": self.model_name,
            "pretrained": self.pretrained,
            "min_dir": self.min_dir,
            "min_img": self.min_img,
            "max_img": self.max_img,
        }

    @property
    def loaded(self):
        if self._loaded is None:
            from ahnpl.models import create_model

            self._loaded = create_model(self.model_name, self.pretrained, device=self.device)
            self._loaded.model.eval()
        return self._loaded

    @torch.inference_mode()
    def _embed_images(self, images: list) -> torch.Tensor:
        lm = self.loaded
        out = []
        for k in range(0, len(images), self.batch_size):
            x = torch.stack([lm.preprocess_val(im) for im in images[k : k + self.batch_size]])
            out.append(lm.model.encode_image(x.to(self.device)).float())
        return F.normalize(torch.cat(out), dim=-1)

    @torch.inference_mode()
    def _embed_texts(self, texts: list[str]) -> torch.Tensor:
        lm = self.loaded
        tokens = lm.tokenizer(texts).to(self.device)
        return F.normalize(lm.model.encode_text(tokens).float(), dim=-1)

    def scores(self, requests: list[EditRequest], edited: list) -> tuple[list[float], list[float]]:
        """(score_dir, score_img) cosines for each (request, edited PIL image) pair."""
        if not requests:
            return [], []
        originals = self._embed_images([r.image.convert("RGB") for r in requests])
        edits = self._embed_images(edited)
        captions = self._embed_texts([r.caption for r in requests])
        negatives = self._embed_texts([str(r.negative.text) for r in requests])
        score_dir = F.cosine_similarity(edits - originals, negatives - captions, dim=-1)
        score_img = (edits * originals).sum(-1)
        return score_dir.tolist(), score_img.tolist()

    def apply(self, requests: list[EditRequest], results: list[EditResult]) -> list[EditResult]:
        """Score the successful results and turn those under the thresholds into failures."""
        done = [i for i, r in enumerate(results) if r.image is not None]
        dirs, imgs = self.scores([requests[i] for i in done], [results[i].image for i in done])
        out = list(results)
        for i, d, s in zip(done, dirs, imgs):
            if d < self.min_dir:
                out[i] = EditResult(None, "filter_dir", d, s)
            elif not self.min_img <= s <= self.max_img:
                out[i] = EditResult(None, "filter_img", d, s)
            else:
                out[i] = EditResult(results[i].image, None, d, s)
        return out


class FilteredEditor:
    """An editor whose results pass through an `EditFilter`; same interface and name."""

    def __init__(self, editor: Editor, edit_filter: EditFilter) -> None:
        self.editor, self.filter = editor, edit_filter
        self.name = editor.name

    def can_edit(self, negative: Any) -> bool:
        return self.editor.can_edit(negative)

    def edit(self, requests: list[EditRequest]) -> list[EditResult]:
        return self.filter.apply(requests, self.editor.edit(requests))

    def info(self) -> dict:
        return {**self.editor.info(), "filter": self.filter.info()}
