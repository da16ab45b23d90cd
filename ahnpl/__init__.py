"""ahnpl: Adaptive Hard Negative Perturbation Learning (arXiv 2505.15576)."""

__version__ = "0.1.0"
