"""ahnpl.evaluation: compositional benchmarks (loaders, scoring, report) and `ahnpl-eval`.

`evaluate(model, benchmarks, data_root, images, device, batch_size)` (from `.run`) is the entry
point for code; `register_benchmark` (from `.benchmarks`) adds a benchmark.
"""


def __getattr__(name):
    # Lazy, so `import ahnpl.evaluation` does not import torch.
    if name == "evaluate":
        from ahnpl.evaluation.run import evaluate

        return evaluate
    if name in ("register_benchmark", "get_benchmark", "available_benchmarks", "Item", "ImageRef"):
        from ahnpl.evaluation import benchmarks

        return getattr(benchmarks, name)
    raise AttributeError(name)
