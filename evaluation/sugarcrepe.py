"""SugarCrepe (Hsieh et al., NeurIPS 2023; RAIVNLab/sugar-crepe).

Files: `<data_root>/sugarcrepe/{split}.json`, the published format
`{id: {"filename", "caption", "negative_caption"}}` with ids that are not contiguous: we iterate
the ids present. Protocol: image-to-text, the caption must score above its negative; accuracy
per split, then the mean of each category (replace, swap, add) and of all seven splits.
"""

from __future__ import annotations

import json
from pathlib import Path

from ahnpl.evaluation.benchmarks import ImageRef, Item, ItemList, register_benchmark

SPLITS = ("replace_obj", "replace_att", "replace_rel", "swap_obj", "swap_att", "add_obj", "add_att")
SOURCE = "https://github.com/RAIVNLab/sugar-crepe/tree/main/data"


def summarize(splits: dict[str, dict]) -> dict[str, float]:
    """Category means (replace/swap/add) and the mean over the splits present."""
    acc = {name: m["accuracy"] for name, m in splits.items() if m.get("accuracy") is not None}
    out: dict[str, float] = {}
    for category in ("replace", "swap", "add"):
        values = [v for name, v in acc.items() if name.startswith(category + "_")]
        if values:
            out[category] = sum(values) / len(values)
    if acc:
        out["overall"] = sum(acc.values()) / len(acc)
    return out


@register_benchmark("sugarcrepe", task="choice", summarize=summarize)
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
        for key, entry in json.loads(path.read_text()).items():
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
