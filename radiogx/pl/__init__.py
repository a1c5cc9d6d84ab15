"""Plots of radiogx results: ``rg.pl.*(adata, ..., ax=None, show=None, return_fig=False)``."""

from ._compare import compare
from ._interpretation import associations, enrichment, masking, running_score, saliency, set_nodes, stability
from ._predictions import predictions
from ._regression import predicted_vs_observed
from ._roc import roc
from ._survival import forest, km

__all__ = ["roc", "compare", "masking", "saliency", "set_nodes", "stability", "enrichment", "running_score", "associations", "km", "forest",
           "predictions", "predicted_vs_observed"]
