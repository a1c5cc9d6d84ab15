"""Plots of radiogx results: ``rg.pl.*(adata, ..., ax=None, show=None, return_fig=False)``."""

from ._compare import compare
from ._interpretation import associations, enrichment, masking, running_score, saliency
from ._roc import roc
from ._survival import forest, km

__all__ = ["roc", "compare", "masking", "saliency", "enrichment", "running_score", "associations", "km", "forest"]
