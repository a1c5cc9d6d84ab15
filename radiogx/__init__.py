"""radiogx: transcriptomic drivers of imaging traits.

Radiogenomic neural networks, gene masking and gene saliency, enrichment and survival analysis on AnnData, after
Smedley, El-Saden & Hsu, Bioinformatics 36(11):3537 (2020), doi:10.1093/bioinformatics/btaa126.
"""

__version__ = "0.8.0"

import os as _os

# torch backs its CPU tensors of 2 MB and more with transparent huge pages when this is set (PyTorch 2.2+, pull
# request 115990; NumPy does the same for its arrays by default): the paper's network allocates 233 MB of gradients
# per step, and its backward pass took 218 ms on 4 KB pages against 174 ms (benchmarks/train_speed.py --paper).
# It takes effect where torch is imported after radiogx, and in the worker processes radiogx starts; 0 turns it off.
_os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

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
