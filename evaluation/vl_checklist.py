"""VL-CheckList (Zhao et al., 2022; om-ai-lab/VL-CheckList).

Files: any `*.json` under `<data_root>/vl_checklist/`, each in the published format
`[[image_path, {"POS": [caption, ...], "NEG": [foil, ...]}], ...]`. The category (Object,
Attribute, Relation) is the folder under `vl_checklist/` (`Attribute/vg/color.json`, the
repository layout) or the file name's first word (`attribute_vg_state.json`). Protocol, as in
the authors' `evaluate.py`: the first positive caption against the first foil of each entry
(`POS[0]` vs `NEG[0]`; entries listing more are counted in the notes), accuracy per file, then
the mean per category. Images (VG, SWiG, HAKE, HICO) are found under the image folders; those
missing are counted.
"""

from __future__ import annotations

from pathlib import Path

from ahnpl.evaluation.benchmarks import ImageRef, Item, ItemList, read_json, register_benchmark

CATEGORIES = ("object", "attribute", "relation")
SOURCE = "https://github.com/om-ai-lab/VL-CheckList (data/ and its DATASETS.md)"


def _category(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    first = rel.parts[0] if len(rel.parts) > 1 else rel.stem.split("_")[0]
    first = first.lower()
    if first not in CATEGORIES:
        raise ValueError(
            f"{path}: cannot tell its VL-CheckList category; put it under "
            f"vl_checklist/{{Object,Attribute,Relation}}/ or name it "
            f"<category>_<source>_<type>.json"
        )
    return first


def _split_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    if len(rel.parts) > 1:
        return "/".join(p.lower() for p in rel.parts)
    return "/".join(rel.stem.split("_", 2))


def summarize(splits: dict[str, dict]) -> dict[str, float]:
    out: dict[str, float] = {}
    for category in CATEGORIES:
        acc = [
            m["accuracy"]
            for name, m in splits.items()
            if name.split("/")[0] == category and m.get("accuracy") is not None
        ]
        if acc:
            out[category] = sum(acc) / len(acc)
    if out:
        out["average"] = sum(out.values()) / len(out)
    return out


@register_benchmark(
    "vl_checklist",
    task="choice",
    summarize=summarize,
    description="VL-CheckList: POS[0] vs NEG[0] per entry; object, attribute, relation (VG, SWiG…)",
    files=("*/**/*.json", "*.json"),
)
def load(data_root: Path) -> ItemList:
    """One item per entry (POS[0] vs NEG[0]) of every file under `data_root/vl_checklist`.

    Raises:
        FileNotFoundError: no annotation file there.
        ValueError: an entry is not `[image_path, {"POS": [...], "NEG": [...]}]`.
    """
    root = Path(data_root) / "vl_checklist"
    files = sorted(root.rglob("*.json"))
    if not files:
        raise FileNotFoundError(f"vl_checklist: no *.json in {root}; get them from {SOURCE}")
    items = ItemList(notes={"entries_with_more_than_one_pos_or_neg": 0})
    for path in files:
        category = _category(path, root)
        split = _split_name(path, root)
        entries = read_json(path)
        if not entries:
            items.empty_splits[split] = str(path)
            continue
        for row, entry in enumerate(entries):
            try:
                image, texts = entry
                positives, foils = texts["POS"], texts["NEG"]
                pos, neg = positives[0], foils[0]
            except (ValueError, KeyError, TypeError, IndexError) as err:
                raise ValueError(
                    f"{path}: entry {row} is not "
                    f"[image_path, {{'POS': [...], 'NEG': [...]}}] ({err})"
                ) from err
            items.notes["entries_with_more_than_one_pos_or_neg"] += len(positives) * len(foils) > 1
            items.append(
                Item(
                    key=str(row),
                    split=split,
                    images=(ImageRef(image),),
                    positives=(pos,),
                    negatives=(neg,),
                    group=category,
                )
            )
    return items
