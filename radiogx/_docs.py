"""Parameter descriptions shared by several tools' docstrings (scanpy's ``doc_params``): written once, placed where a
docstring says ``{name}``."""

from __future__ import annotations

from collections.abc import Callable

DOCS = {
    "device": """device
        Where torch computes: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``; ``None``: ``rg.settings.device``.
        Recorded in the result's ``params`` with the arithmetic precision.""",
    "models_key": """key, key_added
        Where ``train`` recorded the models (``None``: ``"radiogx"``, else the only model record); the prefix of
        what is written.""",
    "copy": """copy
        Work on a copy of ``adata`` and return it; ``adata`` stays unchanged.""",
}


def doc_params(func: Callable) -> Callable:
    """Put :data:`DOCS` where ``func``'s docstring says ``{name}`` (other braces are left as they are)."""
    for name, text in DOCS.items():
        func.__doc__ = func.__doc__.replace("{" + name + "}", text)
    return func
