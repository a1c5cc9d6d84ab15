"""Tidy tables of the survival results."""

from __future__ import annotations

import pandas as pd
from anndata import AnnData

from ._records import find_record

__all__ = ["survival_df", "km_df"]


def survival_df(adata: AnnData, *, key: str | None = None, multivariable: bool = False) -> pd.DataFrame:
    """Cox and log-rank results of :func:`radiogx.tl.survival` (or its multivariable model); ``key``: its
    ``key_added`` (``None``: ``"survival"``, else the only survival record).

    Returns
    -------
    DataFrame with ``term``, ``coef``, ``hazard_ratio``, ``ci_lower``, ``ci_upper``, ``pval``, ``padj``,
    ``fit_flag`` (``""``, or why the fit's Wald test and interval cannot be trusted), ``pval_method`` (``"wald"``, or
    ``"likelihood_ratio"`` for a flagged fit), ``wald_pval``, ``lr_pval``, ``n``, ``events``,
    ``events_per_parameter`` (and ``feature``, ``concordance``, ``ph_pval``, ``logrank_stat``, ``logrank_pval``, ``unit`` and
    ``sd`` per feature: a continuous feature's hazard ratio is per sd of it by default).
    """
    record = adata.uns[find_record(adata, "survival", key)]
    if multivariable:
        if "multivariable" not in record:
            raise ValueError("no multivariable model: run rg.tl.survival with selection='stepwise_aic', 'backward_aic' or 'penalized'")
        return record["multivariable"].copy()
    df = record["results"].copy()
    cols = ["term", "coef", "hazard_ratio", "ci_lower", "ci_upper", "pval", "padj", "fit_flag", "pval_method",
            "wald_pval", "lr_pval", "n", "events", "events_per_parameter", "feature", "concordance", "ph_pval",
            "logrank_stat", "logrank_pval", "unit", "sd"]
    return df[[c for c in cols if c in df.columns]]  # unit and sd: radiogx >= 0.5; the fit checks: >= 0.8


def km_df(adata: AnnData, *, key: str | None = None, feature: str | None = None) -> pd.DataFrame:
    """Kaplan-Meier estimates of :func:`radiogx.tl.survival` (categorical and boolean features; continuous ones split
    at their median), as drawn by
    :func:`radiogx.pl.km`; ``key``: its ``key_added`` (``None``: ``"survival"``, else the only survival record).

    Returns
    -------
    DataFrame with ``feature``, ``group``, ``time``, ``survival``, ``ci_lower``, ``ci_upper`` (the pointwise 95%
    confidence interval of the survival probability, lifelines' exponential Greenwood) and ``at_risk``.
    """
    record = adata.uns[find_record(adata, "survival", key)]
    table = record.get("km")
    table = pd.DataFrame(columns=["feature", "group", "time", "survival", "ci_lower", "ci_upper", "at_risk"]) \
        if table is None else table.copy()
    if feature is not None:
        if feature not in set(table["feature"]):
            raise ValueError(f"no Kaplan-Meier estimates for {feature!r}; features with curves: "
                             f"{sorted(set(table['feature']))}")
        table = table[table["feature"] == feature]
    return table.reset_index(drop=True)
