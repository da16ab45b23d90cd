"""Scoring against hand-computed accuracies and recalls, ties included; truncation counting."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ahnpl.evaluation.benchmarks import ImageRef, Item
from ahnpl.evaluation.scoring import (
    Encoded,
    encode_texts,
    score_choice,
    score_retrieval,
    score_winoground,
)


def _encoded(images: list[list[float]], texts: dict[str, list[float]]) -> Encoded:
    return Encoded(
        image_emb=torch.tensor(images),
        image_ok=torch.ones(len(images), dtype=torch.bool),
        image_index={(Path(f"{i}.jpg"), None): i for i in range(len(images))},
        text_emb=torch.tensor(list(texts.values())),
        text_row={t: i for i, t in enumerate(texts)},
    )


def _item(pos, negs, group=""):
    return Item("k", "s", (ImageRef("0.jpg"),), (pos,), tuple(negs), group)


def test_choice_accuracy_counts_a_tie_as_wrong():
    # Image 0 = [1, 0]; image 1 = [0, 1]. Scores are dot products.
    enc = _encoded(
        [[1.0, 0.0], [0.0, 1.0]],
        {"a": [0.9, 0.1], "b": [0.5, 0.5], "c": [0.9, 0.0], "d": [0.2, 0.8], "e": [0.9, 0.3]},
    )
    items = [
        _item("a", ["b"], "g1"),  # img0: .9 > .5 -> right
        _item("c", ["a"], "g1"),  # img0: .9 == .9 -> tie -> wrong
        _item("d", ["b", "a"], "g2"),  # img1: .8 > max(.5, .1) -> right
        _item("b", ["d", "e"], "g2"),  # img1: .5 < .8 -> wrong
    ]
    rows = torch.tensor([0, 0, 1, 1])
    m = score_choice(items, rows, enc)
    assert m["accuracy"] == pytest.approx(2 / 4)
    assert m["n_scored"] == 4
    assert m["groups"] == {"g1": {"accuracy": 0.5, "n": 2}, "g2": {"accuracy": 0.5, "n": 2}}
    assert m["n_identical_after_truncation"] == 0


def test_winoground_text_image_group_scores():
    # s_ij = image i . caption j
    enc = _encoded([[1.0, 0.0], [0.0, 1.0]], {"c0": [0.8, 0.2], "c1": [0.3, 0.7], "x": [0.5, 0.5]})
    right = Item("0", "all", (ImageRef("0.jpg"), ImageRef("1.jpg")), ("c0", "c1"))
    # Text: image 0 prefers c0 (.8 > .5), image 1 prefers x (.5 > .2): right. Image: c0 prefers
    # image 0 (.8 > .2) but x ties (.5 == .5): wrong, so the group is wrong too.
    tie = Item("1", "all", (ImageRef("0.jpg"), ImageRef("1.jpg")), ("c0", "x"))
    # Captions swapped: everything wrong.
    swapped = Item("2", "all", (ImageRef("0.jpg"), ImageRef("1.jpg")), ("c1", "c0"))
    m = score_winoground([right, tie, swapped], torch.tensor([[0, 1]] * 3), enc)
    assert m["text"] == pytest.approx(2 / 3)
    assert m["image"] == pytest.approx(1 / 3)
    assert m["group"] == pytest.approx(1 / 3)


def test_retrieval_recalls_any_caption_counts_for_image_to_text():
    # 3 images (one-hot), 2 captions each; hand-ranked below.
    enc = _encoded(
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        {
            "a0": [0.1, 0.9, 0.0],  # of image 0, closer to image 1
            "a1": [0.6, 0.0, 0.0],  # of image 0
            "b0": [0.7, 0.8, 0.0],  # of image 1
            "b1": [0.0, 0.1, 0.0],  # of image 1
            "c0": [0.0, 0.0, 0.5],  # of image 2
            "c1": [0.5, 0.0, 0.5],  # of image 2: ties image 0 and image 2
        },
    )
    items = [
        Item("0", "all", (ImageRef("0.jpg"),), ("a0", "a1")),
        Item("1", "all", (ImageRef("1.jpg"),), ("b0", "b1")),
        Item("2", "all", (ImageRef("2.jpg"),), ("c0", "c1")),
    ]
    m = score_retrieval(items, torch.tensor([0, 1, 2]), enc, ks=(1, 2))
    # i2t: image 0 best own a1=.6, others >= .6: b0 .7 -> rank 1 (miss @1, hit @2).
    #      image 1 best own b0=.8, a0 .9 above -> rank 1. image 2 best own .5, none other -> 0.
    assert m["i2t_R@1"] == pytest.approx(1 / 3)
    assert m["i2t_R@2"] == pytest.approx(1.0)
    # t2i: a0 own .1 < image 1 .9 -> rank 1; a1 rank 0; b0 own .8 > .7 -> 0; b1 own .1 -> 0;
    #      c0 rank 0; c1 own .5 ties image 0 .5 -> rank 1 (tie is wrong).
    assert m["t2i_R@1"] == pytest.approx(4 / 6)
    assert m["t2i_R@2"] == pytest.approx(1.0)


def test_truncation_keeps_end_token_and_identical_pairs_are_counted_and_wrong():
    import open_clip

    class Stub:
        tokenizer = staticmethod(open_clip.get_tokenizer("ViT-B-32"))

        class model:  # noqa: N801 - stands in for the open_clip model
            @staticmethod
            def encode_text(tokens, normalize=True):
                return torch.nn.functional.normalize(tokens.float(), dim=-1)

    long = " ".join(["a photo of a dog"] * 20)
    caption, foil = long + " on the left", long + " on the right"
    tokens = Stub.tokenizer([caption, foil])
    assert tokens.shape[1] == 77 and torch.equal(tokens[0], tokens[1])
    assert tokens[0, -1] == Stub.tokenizer.eot_token_id
    emb, rows = encode_texts(Stub, [caption, foil, "a cat"], "cpu", batch_size=2)
    assert rows[0] == rows[1] != rows[2] and emb.shape[0] == 2
    enc = Encoded(
        image_emb=emb[:1].clone(),
        image_ok=torch.ones(1, dtype=torch.bool),
        image_index={},
        text_emb=emb,
        text_row={caption: int(rows[0]), foil: int(rows[1]), "a cat": int(rows[2])},
    )
    m = score_choice([_item(caption, [foil]), _item(caption, ["a cat"])], torch.tensor([0, 0]), enc)
    assert m["n_identical_after_truncation"] == 1
    assert m["accuracy"] == 0.5  # the identical pair ties: wrong
