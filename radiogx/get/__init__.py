"""Tidy tables of radiogx results, and the one finder of them (:func:`record`)."""

from ._interpretation_tables import (associations_df, attributions_df, enrich_df, masking_df, saliency_df,
                                     set_control_df, set_nodes_df, stability_df, stability_sanity_df,
                                     stability_summary_df)
from ._kind_tables import kind_tables, result_tables
from ._models import autoencoder, model, model_key, trained_traits
from ._model_tables import bootstrap_df, compare_df, cv_df, oof_df, pooled_baseline_scores
from ._prediction_tables import prediction_summary_df, predictions_df, reliability_df
from ._records import (KINDS, Record, each_record, find_record, is_regression, kind_of, linked_record, record,
                       records, trait_entry)
from ._survival_tables import km_df, survival_df

# the public readers (rg.get.<name>); the finder (record, each_record, linked_record, Record, find_record, ...) and
# the export's table helpers are importable from here for radiogx's own modules and extensions
__all__ = ["records", "KINDS", "cv_df", "oof_df", "compare_df", "bootstrap_df", "masking_df", "saliency_df",
           "attributions_df", "set_nodes_df", "enrich_df", "associations_df", "survival_df", "km_df", "predictions_df",
           "prediction_summary_df", "reliability_df", "stability_df", "stability_summary_df", "stability_sanity_df",
           "set_control_df", "model", "autoencoder"]
