"""Tidy tables of the model results (cross-validation, baselines, bootstrap)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from .._metrics import regression_scores, score_auc
from ._records import is_regression, record

__all__ = ["cv_df", "oof_df", "compare_df", "bootstrap_df", "pooled_baseline_scores"]


def _store(adata: AnnData, kind: str, key: str | None) -> dict:
    """The per-trait store of the ``kind`` result (``{}`` when ``key`` is ``None`` and adata holds none)."""
    found = record(adata, kind, key, missing_ok=True)
    return {} if found is None else found.data


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
    DataFrame with ``trait``, ``protocol``, ``fold``, ``n_train``, ``n_test``, ``roc_auc``, ``pr_auc`` (a continuous
    trait: ``r2``, ``spearman``, ``rmse``), ``best_epoch``, ``config``, ``selection_score``.
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
    (one row per patient and class; a binary trait's row is its positive class, the last of its classes). A continuous
    trait's rows have ``observed`` and ``predicted`` values instead (the label, target and probability empty).
    """
    store = _store(adata, "model", key)
    frames = []
    for t in _traits(store, trait, "network", "rg.tl.train(adata, trait)"):
        oof, classes = store[t]["oof"], [str(c) for c in store[t]["classes"]]
        if is_regression(store[t]):
            frames.append(pd.DataFrame({"trait": t, "patient": oof.index.astype(str), "fold": oof["fold"].to_numpy(),
                                        "observed": oof["observed"].to_numpy(dtype=float),
                                        "predicted": oof["predicted"].to_numpy(dtype=float)}))
            continue
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
    DataFrame with ``trait``, ``model``, ``metric`` (``"roc_auc"``, or ``"r2"`` for a continuous trait), ``roc_auc``
    (mean over folds), ``roc_auc_sd``, ``pr_auc`` (mean over folds), ``n_folds``, ``roc_auc_pooled`` (the AUC of the
    pooled out-of-fold predictions), and for a continuous trait ``r2``, ``r2_sd``, ``spearman``, ``rmse`` (means over
    folds) and ``r2_pooled`` instead of the AUCs; ``best_model`` (highest score of the trait: the bootstrap's
    statistic when it ran, else the pooled AUC or R^2), ``network_wins`` and ``network_verdict``: per trait, whether
    the network beats the baselines, from the simultaneous bootstrap intervals of network minus each baseline
    (``"yes"``: every one above 0 and the network's own interval above chance, 0.5 AUC or 0 R^2; ``"no"``: some
    baseline clearly better; ``"equivalent"``: every baseline within the margin that matters, at the AUC ceiling
    with the network, or beaten; ``"unclear"`` otherwise), read from
    :func:`radiogx.tl.bootstrap` (``method="oof"``) when it ran, else from the pooled AUCs alone (and saying so), and
    one line saying why; the network first.
    """
    comp = _store(adata, "compare", compare_key)
    nets = _store(adata, "model", key)
    boots = _store(adata, "bootstrap", bootstrap_key)
    rows = []
    def fold_means(cvt: pd.DataFrame, regression: bool) -> dict:
        if regression:
            return {"metric": "r2", "r2": cvt["r2"].mean(), "r2_sd": cvt["r2"].std(ddof=1),
                    "spearman": cvt["spearman"].mean(), "rmse": cvt["rmse"].mean(), "n_folds": len(cvt)}
        return {"metric": "roc_auc", "roc_auc": cvt["roc_auc"].mean(), "roc_auc_sd": cvt["roc_auc"].std(ddof=1),
                "pr_auc": cvt["pr_auc"].mean(), "n_folds": len(cvt)}

    for t in _traits({**nets, **comp}, trait, "model", "rg.tl.train or rg.tl.compare"):
        if t in nets:
            regression = is_regression(nets[t])
            pooled_key = "r2_pooled" if regression else "roc_auc_pooled"
            rows.append({"trait": t, "model": "network", **fold_means(nets[t]["cv"], regression),
                         pooled_key: float(nets[t]["summary"][pooled_key])})
        if t in comp:
            regression = is_regression(comp[t])
            pooled = pooled_baseline_scores(comp[t])
            for m, g in comp[t]["folds"].groupby("model", sort=False):
                rows.append({"trait": t, "model": m, **fold_means(g, regression),
                             ("r2_pooled" if regression else "roc_auc_pooled"): pooled.get(m, np.nan)})
    out = pd.DataFrame(rows)
    columns = ["trait", "model", "metric", "roc_auc", "roc_auc_sd", "pr_auc", "n_folds", "roc_auc_pooled"]
    if "r2" in out.columns:
        columns += ["r2", "r2_sd", "spearman", "rmse", "r2_pooled"]
    out = out.reindex(columns=columns)
    out["n_folds"] = out["n_folds"].astype(np.int64)
    best, wins, verdicts = {}, {}, {}
    for t, g in out.groupby("trait", sort=False):
        boot = boots.get(t)
        score = g.set_index("model")["r2_pooled" if g["metric"].iloc[0] == "r2" else "roc_auc_pooled"]
        if boot is not None and boot["params"].get("method") == "oof":  # the bootstrap's statistic
            score = boot["summary"].set_index("model")["estimate"].reindex(score.index)
        best[t] = str(score.idxmax()) if score.notna().any() else ""
        wins[t], verdicts[t] = _verdict(g, boot)
    out["best_model"] = out["trait"].map(best)
    out["network_wins"] = out["trait"].map(wins)
    out["network_verdict"] = out["trait"].map(verdicts)
    return out


def pooled_baseline_scores(record: dict) -> dict[str, float]:
    """Pooled out-of-fold ROC-AUC of each baseline of a compare record (macro one-vs-rest for multiclass; R^2 for a
    continuous trait)."""
    oof, classes = record["oof"], list(record["classes"])
    if is_regression(record):
        return {m: regression_scores(oof["observed"].to_numpy(), oof[m].to_numpy())["r2"]
                for m in record["params"]["models"]}
    if "label" not in oof.columns:  # results of radiogx < 0.2
        return {}
    y = pd.Categorical(oof["label"].astype(str), categories=classes).codes
    n = len(classes)
    return {m: score_auc(y, oof[[m] if n == 2 else [f"{m}_{k}" for k in range(n)]].to_numpy(), n)
            for m in record["params"]["models"]}


def _verdict(models: pd.DataFrame, boot: dict | None) -> tuple[str, str]:
    """Does the network beat the baselines of one trait? ``("yes" | "no" | "equivalent" | "unclear", one line saying
    why)``, from the bootstrap's per-baseline verdicts (simultaneous intervals over the baselines, a margin that
    matters, the AUC ceiling; see :func:`radiogx.tl.bootstrap`)."""
    if "network" not in set(models["model"]) or len(models) < 2:
        return "unclear", "no baselines to compare with" if len(models) < 2 else "no network"
    regression = models["metric"].iloc[0] == "r2"
    name, floor, pooled_col = ("R^2", 0.0, "r2_pooled") if regression else ("AUC", 0.5, "roc_auc_pooled")
    chance = ""
    if boot is not None and boot["params"].get("method") == "oof" and len(boot["differences"]):
        d = boot["differences"].copy()
        p = boot["params"]
        level = f"{p['ci']:.0%}"
        net = boot["summary"].set_index("model").loc["network"]
        if net["ci_lower"] <= floor:
            chance = (f"; the network itself is not clearly better than chance ({name} {net['estimate']:.3f}, {level} "
                      f"CI [{net['ci_lower']:.3f}, {net['ci_upper']:.3f}])")
        if "verdict" not in d.columns:  # records of radiogx < 0.8: per-comparison intervals, no margin, no ceiling
            d["sim_lower"], d["sim_upper"] = d["ci_lower"], d["ci_upper"]
            d["verdict"] = np.where(d["ci_upper"] < 0, "worse", np.where(d["ci_lower"] > 0, "better", "unclear"))
            kind = f"{level} CIs of the differences, each alone (radiogx < 0.8)"
        else:
            kind = f"simultaneous {level} CIs of the differences over {len(d)} baselines"
        margin = float(p.get("margin", 0.0))
        summary = boot["summary"].set_index("model")["estimate"]
        by = {v: d[d["verdict"] == v] for v in ("worse", "better", "equivalent", "ceiling", "unclear")}
        if len(by["worse"]):
            w = by["worse"].sort_values("estimate").iloc[0]
            return "no", (f"network worse than {', '.join(by['worse']['baseline'])} (vs {w['baseline']}: "
                          f"{w['estimate']:+.3f}, {kind}: [{w['sim_lower']:+.3f}, {w['sim_upper']:+.3f}])" + chance)
        if len(by["better"]) == len(d):
            return ("unclear" if chance else "yes"), f"network better than every baseline ({kind} above 0)" + chance
        if not len(by["unclear"]):  # every baseline: better, equivalent or at the ceiling
            parts = []
            if len(by["ceiling"]):
                top = summary.reindex(by["ceiling"]["baseline"]).idxmax()
                ceiling = float(p.get("ceiling", 0.99))
                parts.append(f"indistinguishable at the ceiling from {', '.join(by['ceiling']['baseline'])} (network "
                             f"{name} {summary['network']:.3f}, {top} {summary[top]:.3f}: both >= {ceiling:g}, where "
                             "intervals of differences say nothing)")
            if len(by["equivalent"]):
                parts.append(f"equivalent to {', '.join(by['equivalent']['baseline'])} ({kind} within "
                             f"+-{margin:g} {name})")
            if len(by["better"]):
                parts.append(f"better than {', '.join(by['better']['baseline'])}")
            return ("unclear" if chance else "equivalent"), "network " + "; ".join(parts) + chance
        u = by["unclear"]
        return "unclear", (f"no clear difference between the network and {', '.join(u['baseline'])} ({kind} cover 0 "
                           f"and reach beyond +-{margin:g} {name})" + chance)
    net = float(models.loc[models["model"] == "network", pooled_col].iloc[0])
    others = models[models["model"] != "network"].dropna(subset=[pooled_col])
    if not len(others):
        return "unclear", f"no pooled {name}s to compare"
    top = others.loc[others[pooled_col].idxmax()]
    if net >= top[pooled_col]:
        return "unclear", (f"network highest pooled {name} ({net:.3f} vs {top['model']} {top[pooled_col]:.3f}; no "
                           "interval: run rg.tl.bootstrap)")
    return "no", (f"network below {top['model']} (pooled {name} {net:.3f} vs {top[pooled_col]:.3f}; no interval: run "
                  "rg.tl.bootstrap)")


def bootstrap_df(adata: AnnData, *, trait: str | None = None, differences: bool = False,
                 key: str | None = None) -> pd.DataFrame:
    """Bootstrap intervals of each model's AUC or R^2 (or, with ``differences=True``, of network minus baseline), from
    :func:`radiogx.tl.bootstrap` (``key``: its ``key_added``; ``None``: ``"radiogx_bootstrap"``, else the only one).

    Returns
    -------
    DataFrame with ``trait``, ``model`` (or ``baseline``), ``estimate`` (the bootstrap's statistic on all patients:
    the pooled out-of-fold AUC, or the CV mean with ``statistic="fold_mean"``, or their difference; NaN for the refit
    scheme), ``mean`` (over resamples), ``ci_lower``, ``ci_upper`` (and ``fraction_positive`` for
    differences), ``metric`` (``"roc_auc"`` or ``"r2"``), ``method`` and ``covers``: what the interval covers.
    """
    store = _store(adata, "bootstrap", key)
    frames = []
    for t in _traits(store, trait, "bootstrap", "rg.tl.bootstrap(adata, trait)"):
        df = store[t]["differences" if differences else "summary"].copy()
        if "estimate" not in df.columns:  # results of radiogx < 0.2 (refit scheme only)
            df.insert(1, "estimate", np.nan)
        params = store[t]["params"]
        df.insert(0, "trait", t)
        df["metric"] = str(params.get("metric", "roc_auc"))
        df["method"] = str(params.get("method", "refit"))
        df["covers"] = str(params.get("covers", "percentile interval of the refit bootstrap"))
        frames.append(df)
    return pd.concat(frames, ignore_index=True)
