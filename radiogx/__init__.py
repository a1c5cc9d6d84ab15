"""radiogx: transcriptomic drivers of imaging traits.

Radiogenomic neural networks, gene masking and gene saliency, enrichment and survival analysis on AnnData, after
Smedley, El-Saden & Hsu, Bioinformatics 36(11):3537 (2020), doi:10.1093/bioinformatics/btaa126.
"""

__version__ = "0.8.0"

from ._settings import settings  # noqa: E402

__all__ = ["settings", "datasets", "io", "pp", "tl", "pl", "get", "nn", "workflow", "__version__"]
_SUBPACKAGES = frozenset(__all__) - {"settings", "__version__"}


def __getattr__(name: str):
    """The subpackages load on first use (PEP 562), so that ``import radiogx`` does not load torch, scikit-learn,
    matplotlib or lifelines before they are needed."""
    if name in _SUBPACKAGES:
        import importlib

        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBPACKAGES)
