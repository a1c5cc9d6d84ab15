"""Plots of radiogx results: ``rg.pl.*(adata, ..., ax=None, show=None, return_fig=False)``."""

from ._compare import compare
from ._roc import roc

__all__ = ["roc", "compare"]
