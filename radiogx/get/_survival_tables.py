"""Tidy tables of the survival results."""

from __future__ import annotations

import pandas as pd
from anndata import AnnData

from ._records import find_record

__all__ = ["survival_df"]


def survival_df(adata: AnnData, *, key: str | None = None, multivariable: bool = False) -> pd.DataFrame:
    """Cox and log-rank results of :func:`radiogx.tl.survival` (or its multivariable model); ``key``: its
    ``key_added`` (``None``: ``"survival"``, else the only survival record).

    Returns
    -------
    DataFrame with ``term``, ``coef``, ``hazard_ratio``, ``ci_lower``, ``ci_upper``, ``pval``, ``padj``, ``n``,
    ``events`` (and ``feature``, ``concordance``, ``ph_pval``, ``logrank_stat``, ``logrank_pval`` per feature).
    """
    record = adata.uns[find_record(adata, "survival", key, "survival")]
    if multivariable:
        if "multivariable" not in record:
            raise ValueError("no multivariable model: run rg.tl.survival with selection='stepwise_aic', 'backward_aic' or 'penalized'")
        return record["multivariable"].copy()
    df = record["results"].copy()
    return df[["term", "coef", "hazard_ratio", "ci_lower", "ci_upper", "pval", "padj", "n", "events", "feature",
               "concordance", "ph_pval", "logrank_stat", "logrank_pval"]]
