"""Which input source reads an input, from its name and first bytes (`input.source` unset).

Its own module so that the recipe (which records the detected source) and the sources
(`ahnpl.pipeline.inputs`, which read the recipe's `input` section) do not import each other.
"""

from __future__ import annotations

from typing import Any

import fsspec


def detect_source(cfg: Any) -> str:
    """Guess the source from the input's name, then its first bytes.

    Args:
        cfg: `ahnpl.pipeline.recipe.InputConfig` (reads `.input`, `.captions`).

    Raises:
        ValueError: nothing to detect from, or an input that is none of the known kinds.
    """
    target = cfg.input or cfg.captions
    if not target:
        raise ValueError(
            "no input: pass --input PATH_GLOB_OR_URL (or --captions FILE for COCO), "
            "or --source shapes"
        )
    lower = target.lower().rstrip("/")
    if lower.startswith("hf://datasets/"):
        return "hf"
    for suffix, name in ((".json", "coco"), (".csv", "csv"), (".tsv", "tsv")):
        if lower.endswith(suffix):
            return name
    if lower.endswith(".parquet") or lower.endswith(".tar") or "*" in lower or "{" in lower:
        return "webdataset" if ".tar" in lower else "parquet"
    fs, path = fsspec.core.url_to_fs(target)
    if fs.isdir(path):
        names = [p.rsplit("/", 1)[-1] for p in fs.ls(path, detail=False)]
        if {"dataset_info.json", "state.json", "dataset_dict.json"} & set(names):
            return "hf"
        # img2dataset's tar output keeps a metadata-only Parquet beside each tar: tars first.
        if any(n.endswith(".tar") for n in names):
            return "webdataset"
        if any(n.endswith(".parquet") for n in names):
            return "parquet"
        raise ValueError(f"{target}: a folder without Parquet, tars or a saved HF dataset")
    if not fs.exists(path):
        raise FileNotFoundError(f"input {target}: no such file or folder (--input)")
    with fs.open(path, "rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    return "coco" if head.startswith(b"{") else "csv"
