"""Visual Spatial Reasoning (Liu et al., TACL 2023; cambridgeltl/visual-spatial-reasoning).

Files: `<data_root>/vsr/*.jsonl` as published (`image`, `caption`, `label` 1 true / 0 false,
`relation`). VSR is a true/false task; a dual encoder gives no calibrated yes/no, so we score it
the way contrastive benchmarks are scored: every (true caption, false caption) pair on the same
image is a two-way choice, the true one must score higher. One split per file (e.g. the
random or zero-shot test split); the group is the true caption's relation. Images whose captions
are all true or all false form no pair and are counted in the notes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from ahnpl.evaluation.benchmarks import ImageRef, Item, ItemList, register_benchmark

SOURCE = "https://github.com/cambridgeltl/visual-spatial-reasoning/tree/master/data (COCO images)"


@register_benchmark(
    "vsr",
    task="choice",
    description="Visual Spatial Reasoning: true vs false spatial caption of one image (COCO 2017)",
    files=("*.jsonl",),
)
def load(data_root: Path) -> ItemList:
    """Pairs of true/false captions per image from every `*.jsonl` under `data_root/vsr`.

    Raises:
        FileNotFoundError: no *.jsonl there.
        ValueError: a line is not JSON or lacks image, caption or label.
    """
    folder = Path(data_root) / "vsr"
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"vsr: no *.jsonl in {folder}; get them from {SOURCE}")
    items = ItemList(notes={"captions": 0, "images_without_pair": 0})
    for path in files:
        by_image: dict[str, dict[int, list[tuple[str, str]]]] = defaultdict(lambda: {0: [], 1: []})
        for line_no, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                label = int(row["label"])
                if label not in (0, 1):
                    raise ValueError(f"label {label} is not 0 or 1")
                by_image[row["image"]][label].append((row["caption"], row.get("relation", "")))
            except (KeyError, ValueError, TypeError) as err:
                raise ValueError(f"{path}: line {line_no}: {err}") from err
            items.notes["captions"] += 1
        if not by_image:
            items.empty_splits[path.stem] = str(path)
        for image, captions in by_image.items():
            if not captions[0] or not captions[1]:
                items.notes["images_without_pair"] += 1
                continue
            for t, (true_caption, relation) in enumerate(captions[1]):
                for f, (false_caption, _) in enumerate(captions[0]):
                    items.append(
                        Item(
                            key=f"{image}:{t}:{f}",
                            split=path.stem,
                            images=(ImageRef(image),),
                            positives=(true_caption,),
                            negatives=(false_caption,),
                            group=relation,
                        )
                    )
    return items
