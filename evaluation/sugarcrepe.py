"""SugarCrepe (Hsieh et al., NeurIPS 2023; RAIVNLab/sugar-crepe).

Files: `<data_root>/sugarcrepe/{split}.json`, the published format
`{id: {"filename", "caption", "negative_caption"}}` with ids that are not contiguous: we iterate
the ids present. Protocol: image-to-text, the caption must score above its negative; accuracy
per split. Summary: the mean of each category's splits (replace, swap, add), the unweighted
mean of the splits (`split_mean`) and the item-weighted overall accuracy the authors report
(`overall`: correct items over scored items, all splits together). The published splits hold
245 (swap_obj) to 2,062 (add_obj) items, so the two differ whenever large and small splits score
differently.
"""

from __future__ import annotations

from pathlib import Path

from ahnpl.evaluation.benchmarks import ImageRef, Item, ItemList, read_json, register_benchmark

SPLITS = ("replace_obj", "replace_att", "replace_rel", "swap_obj", "swap_att", "add_obj", "add_att")
SOURCE = "https://github.com/RAIVNLab/sugar-crepe/tree/main/data"


FIGURES = {
    "replace": "mean of the replace_* splits",
    "swap": "mean of the swap_* splits",
    "add": "mean of the add_* splits",
    "split_mean": "unweighted mean of the splits",
    "overall": "item-weighted: correct / scored over all splits (the authors' overall)",
}


def summarize(splits: dict[str, dict]) -> dict[str, float]:
    """Category means, the unweighted mean of the splits and the item-weighted overall.

    Each split's metrics need `accuracy` (fraction) and `n_scored` (items it is over).
    """
    scored = {n: m for n, m in splits.items() if m.get("accuracy") is not None and m["n_scored"]}
    acc = {name: m["accuracy"] for name, m in scored.items()}
    out: dict[str, float] = {}
    for category in ("replace", "swap", "add"):
        values = [v for name, v in acc.items() if name.startswith(category + "_")]
        if values:
            out[category] = sum(values) / len(values)
    if acc:
        out["split_mean"] = sum(acc.values()) / len(acc)
        n = sum(m["n_scored"] for m in scored.values())
        out["overall"] = sum(m["accuracy"] * m["n_scored"] for m in scored.values()) / n
    return out


@register_benchmark(
    "sugarcrepe",
    task="choice",
    summarize=summarize,
    description="SugarCrepe: caption vs an LLM-written hard negative, 7 splits (COCO val2017)",
    files=tuple(f"{s}.json" for s in SPLITS),
    figures=FIGURES,
)
def load(data_root: Path) -> ItemList:
    """Items of every split file found under `data_root/sugarcrepe`.

    Raises:
        FileNotFoundError: none of the seven split files is there.
        ValueError: an entry lacks `filename`, `caption` or `negative_caption`.
    """
    folder = Path(data_root) / "sugarcrepe"
    present = [s for s in SPLITS if (folder / f"{s}.json").is_file()]
    if not present:
        raise FileNotFoundError(
            f"sugarcrepe: no split file ({', '.join(s + '.json' for s in SPLITS)}) in {folder}; "
            f"get them from {SOURCE}"
        )
    items = ItemList(notes={"splits_missing": [s for s in SPLITS if s not in present]})
    for split in present:
        path = folder / f"{split}.json"
        entries = read_json(path)
        if not entries:
            items.empty_splits[split] = str(path)
            continue
        if not isinstance(entries, dict):
            raise ValueError(f"{path}: expected {{id: {{filename, caption, negative_caption}}}}")
        for key, entry in entries.items():
            try:
                items.append(
                    Item(
                        key=str(key),
                        split=split,
                        images=(ImageRef(entry["filename"]),),
                        positives=(entry["caption"],),
                        negatives=(entry["negative_caption"],),
                    )
                )
            except (KeyError, TypeError) as err:
                raise ValueError(
                    f"{path}: item {key!r} lacks {err}; expected filename, caption, "
                    f"negative_caption"
                ) from err
    return items
