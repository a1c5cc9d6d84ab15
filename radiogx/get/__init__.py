"""Tidy tables of radiogx results."""

from ._model_tables import bootstrap_df, compare_df, cv_df

__all__ = ["cv_df", "compare_df", "bootstrap_df"]
