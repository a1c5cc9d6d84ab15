"""Tidy tables of radiogx results."""

from ._interpretation_tables import enrich_df, masking_df, saliency_df, set_nodes_df
from ._model_tables import bootstrap_df, compare_df, cv_df
from ._survival_tables import survival_df

__all__ = ["cv_df", "compare_df", "bootstrap_df", "masking_df", "saliency_df", "set_nodes_df", "enrich_df", "survival_df"]
