"""Zero-shot image-text retrieval on COCO Karpathy test (5k images) and Flickr30k test (1k).

Files (first found wins), under `<data_root>/retrieval/`, `<data_root>/karpathy/` or
`<data_root>/aro/`:
- COCO: `coco_karpathy_test.json` (the BLIP/ARO list `[{"image", "caption": [...]}]`) or
  Karpathy's `dataset_coco.json` (`{"images": [{"filepath", "filename", "split", "sentences"}]}`,
  split "test").
- Flickr30k: `flickr30k_test.json` (BLIP list) or `dataset_flickr30k.json` (Karpathy, "test").
Protocol: one corpus per benchmark; R@1/5/10 image->text (a hit when any of the image's captions
ranks within K) and text->image (its own image within K). A tie ranks the correct entry below
the tied one.
"""

from __future__ import annotations

import json
from pathlib import Path

from ahnpl.evaluation.benchmarks import ImageRef, Item, ItemList, register_benchmark

FILES = {
    "coco": ("coco_karpathy_test.json", "dataset_coco.json"),
    "flickr30k": ("flickr30k_test.json", "dataset_flickr30k.json"),
}
FOLDERS = ("retrieval", "karpathy", "aro")
SOURCE = (
    "Karpathy splits (cs.stanford.edu/people/karpathy/deepimagesent: dataset_coco.json, "
    "dataset_flickr30k.json) or BLIP's coco_karpathy_test.json / flickr30k_test.json"
)


def find_karpathy(data_root: Path, dataset: str) -> Path:
    """Path of the Karpathy test annotation of `dataset` ("coco" or "flickr30k").

    Raises:
        FileNotFoundError: none of the accepted files is in any accepted folder.
    """
    tried = []
    for folder in FOLDERS:
        for name in FILES[dataset]:
            path = Path(data_root) / folder / name
            tried.append(str(path))
            if path.is_file():
                return path
    raise FileNotFoundError(
        f"{dataset}: no Karpathy test file; tried {', '.join(tried)}; get it from {SOURCE}"
    )


def load_karpathy(path: Path, split: str = "test") -> list[tuple[str, list[str]]]:
    """[(image path as written, its captions)] of `split`, from either accepted format.

    Raises:
        ValueError: the file is neither format.
    """
    data = json.loads(Path(path).read_text())
    out: list[tuple[str, list[str]]] = []
    if isinstance(data, dict) and "images" in data:
        for image in data["images"]:
            if image.get("split") != split:
                continue
            name = "/".join(p for p in (image.get("filepath", ""), image["filename"]) if p)
            out.append((name, [s["raw"] for s in image["sentences"]]))
    elif isinstance(data, list):
        for row, entry in enumerate(data):
            if not isinstance(entry, dict) or "image" not in entry or "caption" not in entry:
                raise ValueError(f"{path}: entry {row} lacks 'image' or 'caption'")
            captions = entry["caption"]
            out.append((entry["image"], [captions] if isinstance(captions, str) else captions))
    else:
        raise ValueError(
            f"{path}: neither a Karpathy split file ({{'images': [...]}}) nor a BLIP list"
        )
    return out


def _items(data_root: Path, dataset: str) -> ItemList:
    path = find_karpathy(data_root, dataset)
    return ItemList(
        Item(key=image, split=dataset, images=(ImageRef(image),), positives=tuple(captions))
        for image, captions in load_karpathy(path)
    )


@register_benchmark(
    "retrieval_coco",
    task="retrieval",
    description="zero-shot retrieval, COCO Karpathy test 5k: R@1/5/10 both ways",
    files=FILES["coco"],
    folders=FOLDERS,
)
def load_coco(data_root: Path) -> ItemList:
    """COCO Karpathy test: one item per image with its (usually 5) captions."""
    return _items(data_root, "coco")


@register_benchmark(
    "retrieval_flickr30k",
    task="retrieval",
    description="zero-shot retrieval, Flickr30k test 1k: R@1/5/10 both ways",
    files=FILES["flickr30k"],
    folders=FOLDERS,
)
def load_flickr30k(data_root: Path) -> ItemList:
    """Flickr30k Karpathy test: one item per image with its 5 captions."""
    return _items(data_root, "flickr30k")
