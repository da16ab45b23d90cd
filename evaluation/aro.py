"""ARO: Attribution, Relation, Order (Yuksekgonul et al., ICLR 2023;
mertyg/vision-language-models-are-bows).

Files under `<data_root>/aro/`: `visual_genome_relation.json`, `visual_genome_attribution.json`
(published, images from the authors' `vgr_vga_images.zip`), and the Karpathy test captions for
the order splits (see `ahnpl.evaluation.retrieval.find_karpathy`). Splits present are loaded;
absent ones are listed in the notes.

Protocol, as in the authors' `dataset_zoo` and `main_aro.py`:
- VG-Relation / VG-Attribution: the image cropped to the item's box; the caption options in the
  published order [false_caption, true_caption]; correct when the true caption scores strictly
  higher. VG-Relation macro accuracy: mean over relations, without the authors' list of
  symmetric relations. VG-Attribution macro: mean over attribute pairs with at least 25 items.
- COCO-Order / Flickr30k-Order: each test caption against its four perturbations (shuffle nouns
  and adjectives, shuffle all but nouns and adjectives, shuffle within trigrams, shuffle trigrams),
  every text lower-cased and cut to 30 words (`pre_caption`). Deviations, for reproducibility:
  perturbations are seeded per caption, from `derive_seed("aro-order", seed, split, item key,
  attempt)` (the authors use the global RNG); tokens come from spaCy
  (the authors use NLTK for the trigram shuffles); a perturbation with the same words and
  punctuation as its caption is redrawn up to `MAX_REDRAWS` times and then dropped (counted in
  the notes), since it could never be beaten and would count as wrong.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ahnpl.evaluation.benchmarks import ImageRef, Item, ItemList, register_benchmark
from ahnpl.evaluation.retrieval import find_karpathy, load_karpathy
from ahnpl.nlp import load_spacy
from ahnpl.seeding import numpy_rng

SOURCE = "https://github.com/mertyg/vision-language-models-are-bows (dataset_zoo/aro_datasets.py)"
ORDER_SEED = 0
MAX_WORDS = 30
MAX_REDRAWS = 10
MIN_ATTRIBUTE_ITEMS = 25

# The authors' list from main_aro.py, verbatim: relations left out of the VG-Relation macro.
SYMMETRIC_RELATIONS = frozenset(
    r.strip()
    for r in """
    adjusting, attached to, between, bigger than, biting, boarding, brushing, chewing, cleaning,
    climbing, close to, coming from, coming out of, contain, crossing, dragging, draped over,
    drinking, drinking from, driving, driving down, driving on, eating from, eating in,
    enclosing, exiting, facing, filled with, floating in, floating on, flying, flying above,
    flying in, flying over, flying through, full of, going down, going into, going through,
    grazing in, growing in, growing on, guiding, hanging from, hanging in, hanging off,
    hanging over, higher than, holding onto, hugging, in between, jumping off, jumping on,
    jumping over, kept in, larger than, leading, leaning over, leaving, licking, longer than,
    looking in, looking into, looking out, looking over, looking through, lying next to,
    lying on top of, making, mixed with, mounted on, moving, on the back of, on the edge of,
    on the front of, on the other side of, opening, painted on, parked at, parked beside,
    parked by, parked in, parked in front of, parked near, parked next to, perched on, petting,
    piled on, playing, playing in, playing on, playing with, pouring, reaching for, reading,
    reflected on, riding on, running in, running on, running through, seen through,
    sitting behind, sitting beside, sitting by, sitting in front of, sitting near,
    sitting next to, sitting under, skiing down, skiing on, sleeping in, sleeping on,
    smiling at, sniffing, splashing, sprinkled on, stacked on, standing against,
    standing around, standing behind, standing beside, standing in front of, standing near,
    standing next to, staring at, stuck in, surrounding, swimming in, swinging, talking to,
    topped with, touching, traveling down, traveling on, tying, typing on, underneath,
    wading in, waiting for, walking across, walking by, walking down, walking next to,
    walking through, working in, working on, worn on, wrapped around, wrapped in, by, of, near,
    next to, with, beside, on the side of, around
""".split(",")
)

NOUN_TAGS = {"NN", "NNS", "NNP", "NNPS"}
ADJ_TAGS = {"JJ", "JJR", "JJS"}


def pre_caption(caption: str, max_words: int = MAX_WORDS) -> str:
    """The authors' caption normalisation: lower-case, punctuation to spaces, first max_words."""
    caption = re.sub(r"([.!\"()*#:;~])", " ", caption.lower())
    caption = re.sub(r"\s{2,}", " ", caption).rstrip("\n").strip(" ")
    words = caption.split(" ")
    return " ".join(words[:max_words]) if len(words) > max_words else caption


_WORDS = re.compile(r"[\w']+|[^\w\s]")


def _same_words(a: str, b: str) -> bool:
    # "man , riding" and "man, riding" differ as strings but not as tokens: still no foil.
    return _WORDS.findall(a) == _WORDS.findall(b)


def summarize(splits: dict[str, dict]) -> dict[str, float]:
    """Macro accuracies of the VG splits and the Precision@1 of the order splits."""
    out: dict[str, float] = {}
    rel = splits.get("vg_relation", {}).get("groups", {})
    kept = [g["accuracy"] for name, g in rel.items() if name not in SYMMETRIC_RELATIONS]
    if kept:
        out["vg_relation_macro"] = sum(kept) / len(kept)
    att = splits.get("vg_attribution", {}).get("groups", {})
    kept = [g["accuracy"] for g in att.values() if g["n"] >= MIN_ATTRIBUTE_ITEMS]
    if kept:
        out["vg_attribution_macro"] = sum(kept) / len(kept)
    for split in ("coco_order", "flickr30k_order"):
        if splits.get(split, {}).get("accuracy") is not None:
            out[split] = splits[split]["accuracy"]
    return out


def _vg_items(path: Path, split: str, group_of) -> list[Item]:
    items = []
    for row, entry in enumerate(json.loads(path.read_text())):
        try:
            box = tuple(float(entry[k]) for k in ("bbox_x", "bbox_y", "bbox_w", "bbox_h"))
            items.append(
                Item(
                    key=str(row),
                    split=split,
                    images=(ImageRef(entry["image_path"], box),),
                    positives=(entry["true_caption"],),
                    negatives=(entry["false_caption"],),
                    group=group_of(entry),
                )
            )
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise ValueError(
                f"{path}: entry {row} lacks {err}; expected image_path, bbox_x/y/w/h, "
                f"true_caption, false_caption"
            ) from err
    return items


def _load_spacy():
    # The tagger alone: the perturbations read part-of-speech tags and token texts.
    return load_spacy(
        exclude=("ner", "parser", "lemmatizer"), require=("tagger",), purpose="ARO's order splits"
    )


def _trigrams(tokens: list[str]) -> list[list[str]]:
    return [tokens[i : i + 3] for i in range(0, len(tokens), 3)]


def perturbations(tokens: list[str], tags: list[str], rng: np.random.Generator) -> list[str]:
    """The four ARO order perturbations of one tokenised caption, in the authors' order."""
    text = np.array(tokens, dtype=object)
    nouns = [i for i, t in enumerate(tags) if t in NOUN_TAGS]
    adjs = [i for i, t in enumerate(tags) if t in ADJ_TAGS]
    a = text.copy()
    a[nouns] = rng.permutation(a[nouns])
    a[adjs] = rng.permutation(a[adjs])
    b = text.copy()
    others = [i for i, t in enumerate(tags) if t not in NOUN_TAGS | ADJ_TAGS]
    b[others] = rng.permutation(b[others])
    within = [list(rng.permutation(t)) for t in _trigrams(tokens)]
    grams = _trigrams(tokens)
    across = [grams[i] for i in rng.permutation(len(grams))]
    return [
        " ".join(a),
        " ".join(b),
        " ".join(" ".join(t) for t in within),
        " ".join(" ".join(t) for t in across),
    ]


def order_items(pairs: list[tuple[str, list[str]]], split: str, seed: int = ORDER_SEED) -> ItemList:
    """Order items of [(image, captions)]: caption vs its four seeded perturbations.

    A perturbation equal to the caption (after `pre_caption`) is redrawn with the next seed up
    to MAX_REDRAWS times, then dropped; `notes` counts both.
    """
    nlp = _load_spacy()
    flat = [(image, c, cap) for image, caps in pairs for c, cap in enumerate(caps)]
    items = ItemList(notes={"perturbations_redrawn": 0, "perturbations_dropped": 0})
    docs = nlp.pipe((cap for _, _, cap in flat), batch_size=256)
    for (image, c, caption), doc in zip(flat, docs, strict=True):
        tokens = [t.text for t in doc]
        tags = [t.tag_ for t in doc]
        truth = pre_caption(caption)
        foils: list[str | None] = [None] * 4
        for attempt in range(MAX_REDRAWS + 1):
            rng = numpy_rng("aro-order", seed, split, f"{image}#{c}", attempt)
            for k, candidate in enumerate(perturbations(tokens, tags, rng)):
                if foils[k] is None and not _same_words(pre_caption(candidate), truth):
                    foils[k] = pre_caption(candidate)
                    items.notes["perturbations_redrawn"] += attempt > 0
            if all(f is not None for f in foils):
                break
        items.notes["perturbations_dropped"] += sum(f is None for f in foils)
        negatives = tuple(f for f in foils if f is not None)
        if not negatives:
            continue  # nothing to order (e.g. a one-word caption); counted as 4 dropped
        items.append(
            Item(
                key=f"{image}#{c}",
                split=split,
                images=(ImageRef(image),),
                positives=(truth,),
                negatives=negatives,
            )
        )
    return items


@register_benchmark(
    "aro",
    task="choice",
    summarize=summarize,
    description="ARO: VG-Relation, VG-Attribution (cropped), COCO/Flickr30k-Order",
    files=("visual_genome_relation.json", "visual_genome_attribution.json"),
)
def load(data_root: Path) -> ItemList:
    """Items of the ARO splits whose files are under `data_root`.

    Raises:
        FileNotFoundError: none of the four splits' files is there.
        ValueError: malformed entries (file and entry named).
    """
    folder = Path(data_root) / "aro"
    items = ItemList(notes={"splits_missing": []})
    rel = folder / "visual_genome_relation.json"
    att = folder / "visual_genome_attribution.json"
    if rel.is_file():
        items.extend(_vg_items(rel, "vg_relation", lambda e: e["relation_name"]))
    else:
        items.notes["splits_missing"].append("vg_relation")
    if att.is_file():
        items.extend(
            _vg_items(att, "vg_attribution", lambda e: f"{e['attributes'][0]}_{e['attributes'][1]}")
        )
    else:
        items.notes["splits_missing"].append("vg_attribution")
    for dataset in ("coco", "flickr30k"):
        split = f"{dataset}_order"
        try:
            path = find_karpathy(data_root, dataset)
        except FileNotFoundError:
            items.notes["splits_missing"].append(split)
            continue
        order = order_items(load_karpathy(path), split)
        items.extend(order)
        for k, v in order.notes.items():
            items.notes[f"{split}_{k}"] = v
    if len(items.notes["splits_missing"]) == 4:
        raise FileNotFoundError(
            f"aro: none of visual_genome_relation.json, visual_genome_attribution.json, "
            f"or a Karpathy test file under {folder}; get them from {SOURCE}"
        )
    return items
