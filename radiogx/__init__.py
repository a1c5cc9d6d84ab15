"""radiogx: transcriptomic drivers of imaging traits.

Radiogenomic neural networks, gene masking and gene saliency, enrichment and survival analysis on AnnData, after
Smedley, El-Saden & Hsu, Bioinformatics 36(11):3537 (2020), doi:10.1093/bioinformatics/btaa126.
"""

__version__ = "0.3.0"

from ._settings import settings  # noqa: E402
from . import datasets, get, io, nn, pl, pp, tl, workflow  # noqa: E402

__all__ = ["settings", "datasets", "io", "pp", "tl", "pl", "get", "nn", "workflow", "__version__"]
