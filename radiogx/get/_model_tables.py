"""Tidy tables of the model results (cross-validation, baselines, bootstrap)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from ..nn._fit import score_auc
from ._records import find_record, records

__all__ = ["cv_df", "oof_df", "compare_df", "bootstrap_df"]


def _optional_key(adata: AnnData, kind: str, key: str | None) -> str | None:
    """The ``adata.uns`` key of the ``kind`` result (``None`` when ``key`` is ``None`` and adata holds none)."""
    if key is None and records(adata, kind).empty:
        return None
    return find_record(adata, kind, key)


def _store(adata: AnnData, kind: str, key: str | None) -> dict:
    """The per-trait store of the ``kind`` result (``{}`` when ``key`` is ``None`` and adata holds none)."""
    found = _optional_key(adata, kind, key)
    return {} if found is None else adata.uns[found]


def _traits(store: dict, trait: str | None, what: str, hint: str) -> list[str]:
    if not store:
        raise ValueError(f"no {what} results in adata: run {hint} first")
    if trait is None:
        return list(store)
    if trait not in store:
        raise ValueError(f"no {what} results for trait {trait!r}; available: {list(store)}")
    return [trait]


def cv_df(adata: AnnData, *, trait: str | None = None, key: str | None = None) -> pd.DataFrame:
    """Per-fold cross-validation of the networks from :func:`radiogx.tl.train` (``key``: its ``key_added``;
    ``None``: ``"radiogx"``, else the only model record).

    Returns
    -------
    DataFrame with ``trait``, ``protocol``, ``fold``, ``n_train``, ``n_test``, ``roc_auc``, ``pr_auc``,
    ``best_epoch``, ``config``, ``selection_score``.
    """
    store = _store(adata, "model", key)
    frames = []
    for t in _traits(store, trait, "network", "rg.tl.train(adata, trait)"):
        df = store[t]["cv"].copy()
        df.insert(0, "protocol", store[t]["params"]["protocol"])
        df.insert(0, "trait", t)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def oof_df(adata: AnnData, *, trait: str | None = None, key: str | None = None) -> pd.DataFrame:
    """Out-of-fold predictions of the networks from :func:`radiogx.tl.train`: each patient scored by the network of
    the fold that held it out (what the cross-validated AUCs and :func:`radiogx.pl.roc` use).

    ``key``: the ``key_added`` of the train call (``None``: ``"radiogx"``, else the only model record).

    Returns
    -------
    DataFrame with ``trait``, ``patient``, ``fold``, ``label`` (the observed class), ``target`` and ``probability``
    (one row per patient and class; a binary trait's row is its positive class, the last of its classes).
    """
    store = _store(adata, "model", key)
    frames = []
    for t in _traits(store, trait, "network", "rg.tl.train(adata, trait)"):
        oof, classes = store[t]["oof"], [str(c) for c in store[t]["classes"]]
        targets = classes[-1:] if len(classes) == 2 else classes
        for i, target in enumerate(targets):
            frames.append(pd.DataFrame({"trait": t, "patient": oof.index.astype(str), "fold": oof["fold"].to_numpy(),
                                        "label": oof["label"].astype(str).to_numpy(), "target": target,
                                        "probability": oof[f"p_{i}"].to_numpy(dtype=float)}))
    return pd.concat(frames, ignore_index=True)


def compare_df(adata: AnnData, *, trait: str | None = None, key: str | None = None, compare_key: str | None = None,
               bootstrap_key: str | None = None) -> pd.DataFrame:
    """The network and the baselines side by side, on the same outer folds, and which model wins.

    ``key``, ``compare_key``, ``bootstrap_key``: the ``key_added`` of the train, compare and bootstrap calls
    (``None``: their defaults ``"radiogx"``, ``"radiogx_compare"``, ``"radiogx_bootstrap"``, else the only record of
    each kind, or none).

    Returns
    -------
    DataFrame with ``trait``, ``model``, ``roc_auc`` (mean over folds), ``roc_auc_sd``, ``pr_auc`` (mean over
    folds), ``n_folds``, ``roc_auc_pooled`` (the AUC of the pooled out-of-fold predictions), ``best_model`` (highest
    AUC of the trait: the bootstrap's statistic when it ran, else the pooled AUC), ``network_wins`` and ``network_verdict``: per trait, whether the network beats the
    baselines (``"yes"``: every paired bootstrap interval of network minus baseline above 0 and the network's own
    interval above 0.5; ``"no"``: some baseline clearly better; ``"unclear"`` otherwise), read from
    :func:`radiogx.tl.bootstrap` (``method="oof"``) when it ran, else from the pooled AUCs alone (and saying so), and
    one line saying why; the network first.
    """
    comp = _store(adata, "compare", compare_key)
    nets = _store(adata, "model", key)
    boots = _store(adata, "bootstrap", bootstrap_key)
    rows = []
    for t in _traits({**nets, **comp}, trait, "model", "rg.tl.train or rg.tl.compare"):
        if t in nets:
            cvt = nets[t]["cv"]
            rows.append({"trait": t, "model": "network", "roc_auc": cvt["roc_auc"].mean(), "roc_auc_sd": cvt["roc_auc"].std(ddof=1),
                         "pr_auc": cvt["pr_auc"].mean(), "n_folds": len(cvt),
                         "roc_auc_pooled": float(nets[t]["summary"]["roc_auc_pooled"])})
        if t in comp:
            pooled = _pooled_baseline_aucs(comp[t])
            for m, g in comp[t]["folds"].groupby("model", sort=False):
                rows.append({"trait": t, "model": m, "roc_auc": g["roc_auc"].mean(), "roc_auc_sd": g["roc_auc"].std(ddof=1),
                             "pr_auc": g["pr_auc"].mean(), "n_folds": len(g), "roc_auc_pooled": pooled.get(m, np.nan)})
    out = pd.DataFrame(rows)
    out["n_folds"] = out["n_folds"].astype(np.int64)
    best, wins, verdicts = {}, {}, {}
    for t, g in out.groupby("trait", sort=False):
        boot = boots.get(t)
        score = g.set_index("model")["roc_auc_pooled"]
        if boot is not None and boot["params"].get("method") == "oof":  # the bootstrap's statistic
            score = boot["summary"].set_index("model")["estimate"].reindex(score.index)
        best[t] = str(score.idxmax()) if score.notna().any() else ""
        wins[t], verdicts[t] = _verdict(g, boot)
    out["best_model"] = out["trait"].map(best)
    out["network_wins"] = out["trait"].map(wins)
    out["network_verdict"] = out["trait"].map(verdicts)
    return out


def _pooled_baseline_aucs(record: dict) -> dict[str, float]:
    """Pooled out-of-fold ROC-AUC of each baseline of a compare record (macro one-vs-rest for multiclass)."""
    oof, classes = record["oof"], list(record["classes"])
    if "label" not in oof.columns:  # results of radiogx < 0.2
        return {}
    y = pd.Categorical(oof["label"].astype(str), categories=classes).codes
    n = len(classes)
    return {m: score_auc(y, oof[[m] if n == 2 else [f"{m}_{k}" for k in range(n)]].to_numpy(), n)
            for m in record["params"]["models"]}


def _verdict(models: pd.DataFrame, boot: dict | None) -> tuple[str, str]:
    """Does the network beat the baselines of one trait? ``("yes" | "no" | "unclear", one line saying why)``."""
    if "network" not in set(models["model"]) or len(models) < 2:
        return "unclear", "no baselines to compare with" if len(models) < 2 else "no network"
    chance = ""
    if boot is not None and boot["params"].get("method") == "oof" and len(boot["differences"]):
        d = boot["differences"]
        level = f"{boot['params']['ci']:.0%}"
        net = boot["summary"].set_index("model").loc["network"]
        if net["ci_lower"] <= 0.5:
            chance = (f"; the network itself is not clearly better than chance (AUC {net['estimate']:.3f}, {level} CI "
                      f"[{net['ci_lower']:.3f}, {net['ci_upper']:.3f}])")
        worse = d[d["ci_upper"] < 0]
        if len(worse):
            w = worse.sort_values("estimate").iloc[0]
            return "no", (f"network worse than {', '.join(worse['baseline'])} (vs {w['baseline']}: {w['estimate']:+.3f}, "
                          f"{level} CI [{w['ci_lower']:+.3f}, {w['ci_upper']:+.3f}])" + chance)
        if (d["ci_lower"] > 0).all():
            return ("unclear" if chance else "yes"), (f"network better than every baseline ({level} CIs of the "
                                                      "differences above 0)" + chance)
        unclear = d[d["ci_lower"] <= 0]
        return "unclear", (f"no clear difference between the network and {', '.join(unclear['baseline'])} "
                           f"({level} CIs of the differences cover 0)" + chance)
    net = float(models.loc[models["model"] == "network", "roc_auc_pooled"].iloc[0])
    others = models[models["model"] != "network"].dropna(subset=["roc_auc_pooled"])
    if not len(others):
        return "unclear", "no pooled AUCs to compare"
    top = others.loc[others["roc_auc_pooled"].idxmax()]
    if net >= top["roc_auc_pooled"]:
        return "unclear", (f"network highest pooled AUC ({net:.3f} vs {top['model']} {top['roc_auc_pooled']:.3f}; no "
                           "interval: run rg.tl.bootstrap)")
    return "no", (f"network below {top['model']} (pooled AUC {net:.3f} vs {top['roc_auc_pooled']:.3f}; no interval: run "
                  "rg.tl.bootstrap)")


def bootstrap_df(adata: AnnData, *, trait: str | None = None, differences: bool = False,
                 key: str | None = None) -> pd.DataFrame:
    """Bootstrap intervals of each model's AUC (or, with ``differences=True``, of network minus baseline), from
    :func:`radiogx.tl.bootstrap` (``key``: its ``key_added``; ``None``: ``"radiogx_bootstrap"``, else the only one).

    Returns
    -------
    DataFrame with ``trait``, ``model`` (or ``baseline``), ``estimate`` (the bootstrap's statistic on all patients:
    the pooled out-of-fold AUC, or the CV mean with ``statistic="fold_mean"``, or their difference; NaN for the refit
    scheme), ``mean`` (over resamples), ``ci_lower``, ``ci_upper`` (and ``fraction_positive`` for
    differences), ``method`` and ``covers``: what the interval covers.
    """
    store = _store(adata, "bootstrap", key)
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
