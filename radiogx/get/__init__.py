"""Tidy tables of radiogx results."""

from ._interpretation_tables import associations_df, enrich_df, masking_df, saliency_df, set_nodes_df
from ._model_tables import bootstrap_df, compare_df, cv_df, oof_df
from ._prediction_tables import prediction_summary_df, predictions_df
from ._records import KINDS, records
from ._survival_tables import km_df, survival_df

__all__ = ["records", "KINDS", "cv_df", "oof_df", "compare_df", "bootstrap_df", "masking_df", "saliency_df", "set_nodes_df",
           "enrich_df", "associations_df", "survival_df", "km_df", "predictions_df",
           "prediction_summary_df"]
