"""Tidy tables of the model results (cross-validation, baselines, bootstrap)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

__all__ = ["cv_df", "compare_df", "bootstrap_df"]


def _traits(store: dict, trait: str | None, what: str, hint: str) -> list[str]:
    if not store:
        raise ValueError(f"no {what} results in adata: run {hint} first")
    if trait is None:
        return list(store)
    if trait not in store:
        raise ValueError(f"no {what} results for trait {trait!r}; available: {list(store)}")
    return [trait]


def cv_df(adata: AnnData, *, trait: str | None = None, key: str = "radiogx") -> pd.DataFrame:
    """Per-fold cross-validation of the networks from :func:`radiogx.tl.train`.

    Returns
    -------
    DataFrame with ``trait``, ``protocol``, ``fold``, ``n_train``, ``n_test``, ``roc_auc``, ``pr_auc``,
    ``best_epoch``, ``config``, ``selection_score``.
    """
    store = {t: r for t, r in adata.uns.get(key, {}).items() if isinstance(r, dict) and "cv" in r}
    frames = []
    for t in _traits(store, trait, "network", "rg.tl.train(adata, trait)"):
        df = store[t]["cv"].copy()
        df.insert(0, "protocol", store[t]["params"]["protocol"])
        df.insert(0, "trait", t)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def compare_df(adata: AnnData, *, trait: str | None = None, key: str = "radiogx",
               compare_key: str = "radiogx_compare") -> pd.DataFrame:
    """The network and the baselines side by side, on the same outer folds.

    Returns
    -------
    DataFrame with ``trait``, ``model``, ``roc_auc`` (mean over folds), ``roc_auc_sd``, ``pr_auc`` (mean over
    folds), ``n_folds``; the network first.
    """
    comp = adata.uns.get(compare_key, {})
    nets = {t: r for t, r in adata.uns.get(key, {}).items() if isinstance(r, dict) and "cv" in r}
    rows = []
    for t in _traits({**nets, **comp}, trait, "model", "rg.tl.train or rg.tl.compare"):
        if t in nets:
            cvt = nets[t]["cv"]
            rows.append({"trait": t, "model": "network", "roc_auc": cvt["roc_auc"].mean(), "roc_auc_sd": cvt["roc_auc"].std(ddof=1),
                         "pr_auc": cvt["pr_auc"].mean(), "n_folds": len(cvt)})
        if t in comp:
            for m, g in comp[t]["folds"].groupby("model", sort=False):
                rows.append({"trait": t, "model": m, "roc_auc": g["roc_auc"].mean(), "roc_auc_sd": g["roc_auc"].std(ddof=1),
                             "pr_auc": g["pr_auc"].mean(), "n_folds": len(g)})
    out = pd.DataFrame(rows)
    out["n_folds"] = out["n_folds"].astype(np.int64)
    return out


def bootstrap_df(adata: AnnData, *, trait: str | None = None, differences: bool = False,
                 key_added: str = "radiogx_bootstrap") -> pd.DataFrame:
    """Bootstrap intervals of each model's AUC (or, with ``differences=True``, of network minus baseline), from
    :func:`radiogx.tl.bootstrap`.

    Returns
    -------
    DataFrame with ``trait``, ``model`` (or ``baseline``), ``estimate`` (the pooled out-of-fold AUC or difference;
    NaN for the refit scheme), ``mean`` (over resamples), ``ci_lower``, ``ci_upper`` (and ``fraction_positive`` for
    differences), ``method`` and ``covers``: what the interval covers.
    """
    store = adata.uns.get(key_added, {})
    frames = []
    for t in _traits(store, trait, "bootstrap", "rg.tl.bootstrap(adata, trait)"):
        df = store[t]["differences" if differences else "summary"].copy()
        if "estimate" not in df.columns:  # results of radiogx < 0.2 (refit scheme only)
            df.insert(1, "estimate", np.nan)
        params = store[t]["params"]
        df.insert(0, "trait", t)
        df["method"] = str(params.get("method", "refit"))
        df["covers"] = str(params.get("covers", "percentile interval of the refit bootstrap"))
        frames.append(df)
    return pd.concat(frames, ignore_index=True)
