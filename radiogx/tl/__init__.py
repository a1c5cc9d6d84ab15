"""Tools: radiogenomic models and their evaluation (attributions, enrichment and survival follow)."""

from ._train import train

__all__ = ["train"]
