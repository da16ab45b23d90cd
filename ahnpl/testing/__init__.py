"""Tiny fabricated fixtures shared by the tests and the bench scripts (STYLE 11).

`datasets`: small shard datasets from the bundled photos; `diffusion`: random-weight Stable
Diffusion pipelines built from configs. Never imported by the tools at run time; they need a
repository checkout (the photos under `data/`) and the `[dev]`/`[gen]` extras.
"""
