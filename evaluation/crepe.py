"""CREPE productivity (Ma et al., CVPR 2023; RAIVNLab/CREPE).

Files: `<data_root>/crepe/prod_vg_hard_negs_{swap,negate,atom}_complexity_{4..12}.csv` as
published (columns image_id, caption, hard_negs (a Python list literal), x, y, width, height).
Protocol: the image cropped to the (x, y, width, height) box, the caption against its hard
negatives (Recall@1 among caption + negatives, ties wrong); one split per file. Images are Visual
Genome `<image_id>.jpg`.
"""

from __future__ import annotations

import ast
import csv
from pathlib import Path

from ahnpl.evaluation.benchmarks import (
    ImageRef,
    Item,
    ItemList,
    average_accuracy,
    register_benchmark,
)

SOURCE = "https://github.com/RAIVNLab/CREPE/tree/master/data (images: Visual Genome)"


@register_benchmark(
    "crepe",
    task="choice",
    summarize=average_accuracy,
    description="CREPE productivity: caption vs hard negatives on a cropped VG region (R@1)",
    files=("*.csv",),
)
def load(data_root: Path) -> ItemList:
    """Items of every `*.csv` under `data_root/crepe`.

    Raises:
        FileNotFoundError: no CSV there.
        ValueError: a row lacks a column or its hard_negs is not a list literal.
    """
    folder = Path(data_root) / "crepe"
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"crepe: no *.csv in {folder}; get them from {SOURCE}")
    items = ItemList()
    for path in files:
        split = path.stem.removeprefix("prod_vg_hard_negs_")
        before = len(items)
        with path.open(newline="") as f:
            for row_no, row in enumerate(csv.DictReader(f), start=2):
                try:
                    # literal_eval parses literals only; nothing from the file is executed.
                    negs = ast.literal_eval(row["hard_negs"])
                    if not isinstance(negs, list) or not all(isinstance(n, str) for n in negs):
                        raise ValueError("hard_negs is not a list of strings")
                    box = tuple(float(row[k]) for k in ("x", "y", "width", "height"))
                    items.append(
                        Item(
                            key=f"{row_no}",
                            split=split,
                            images=(ImageRef(f"{row['image_id']}.jpg", box),),
                            positives=(row["caption"],),
                            negatives=tuple(negs),
                        )
                    )
                except (KeyError, ValueError, SyntaxError) as err:
                    raise ValueError(f"{path}: line {row_no}: {err}") from err
        if len(items) == before:
            items.empty_splits[split] = str(path)
    return items
