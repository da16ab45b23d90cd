"""VALSE (Parcalabescu et al., ACL 2022; Heidelberg-NLP/VALSE).

Files: `<data_root>/valse/<piece>.json` in the published format
`{id: {"image_file", "caption", "foil", "mturk": {"caption": votes, ...}, ...}}`. Protocol of the
authors' CLIP evaluation: only items that at least two of three annotators validated
(`mturk.caption >= 2`), pairwise accuracy (caption above foil) per piece, and the mean over
pieces. The number of items filtered out is reported per piece.
"""

from __future__ import annotations

from pathlib import Path

from ahnpl.evaluation.benchmarks import (
    ImageRef,
    Item,
    ItemList,
    average_accuracy,
    read_json,
    register_benchmark,
)

SOURCE = "https://github.com/Heidelberg-NLP/VALSE/tree/main/data (images: see its README)"
MIN_CAPTION_VOTES = 2


@register_benchmark(
    "valse",
    task="choice",
    summarize=average_accuracy,
    description="VALSE: caption vs foil per linguistic piece, annotator-validated items",
    files=("*.json",),
)
def load(data_root: Path) -> ItemList:
    """Validated items of every `*.json` piece under `data_root/valse`.

    Raises:
        FileNotFoundError: no piece file there.
        ValueError: an item lacks `image_file`, `caption`, `foil` or `mturk`.
    """
    folder = Path(data_root) / "valse"
    files = sorted(folder.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"valse: no *.json piece in {folder}; get them from {SOURCE}")
    items = ItemList(notes={"filtered_by_annotators": {}})
    for path in files:
        piece = path.stem
        filtered = 0
        entries = read_json(path)
        if not entries:
            items.empty_splits[piece] = str(path)
            continue
        for key, entry in entries.items():
            try:
                if entry["mturk"]["caption"] < MIN_CAPTION_VOTES:
                    filtered += 1
                    continue
                caption = entry["caption"]
                # A few pieces store the caption as a one-element list.
                caption = caption[0] if isinstance(caption, list) else caption
                foils = entry["foil"] if isinstance(entry["foil"], list) else [entry["foil"]]
                items.append(
                    Item(
                        key=str(key),
                        split=piece,
                        images=(ImageRef(entry["image_file"]),),
                        positives=(caption,),
                        negatives=tuple(foils),
                        group=str(entry.get("linguistic_phenomena", "")),
                    )
                )
            except (KeyError, TypeError) as err:
                raise ValueError(
                    f"{path}: item {key!r} lacks {err}; expected image_file, caption, foil, "
                    f"mturk.caption"
                ) from err
        items.notes["filtered_by_annotators"][piece] = filtered
    return items
