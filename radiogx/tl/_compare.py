"""Classical baselines on the network's outer folds, with nested grid search (the paper's baselines, Smedley, El-Saden & Hsu 2020)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from joblib import Parallel, delayed
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.class_weight import compute_sample_weight
from tqdm.auto import tqdm
from xgboost import XGBClassifier

from .. import __version__
from .._logging import log_added
from .._settings import settings
from ..nn._fit import score_auc, score_pr_auc
from ._record import write_record
from ._trait import child_seed, outer_folds, trait_data

__all__ = ["compare", "baseline_estimator", "BASELINE_GRIDS", "baseline_scores"]

_C = list(np.logspace(-3, 2, 6))

#: The default grids, smaller than the paper's (1,000-8,000 configurations per model) but spanning the same ranges.
BASELINE_GRIDS: dict[str, dict[str, list]] = {
    "logit_l1": {"C": _C},
    "logit_l2": {"C": _C},
    "svm": {"C": list(np.logspace(-3, 3, 7)), "kernel": ["linear", "rbf"]},
    "random_forest": {"max_features": ["sqrt", "log2"], "criterion": ["gini", "entropy"]},
    "gbt": {"max_depth": [1, 3], "n_estimators": [100, 300], "learning_rate": [0.1]},
}


def baseline_estimator(name: str, seed: int):
    """A fresh baseline classifier. ``logit_l1`` really is L1-penalised (the paper's "l1" logit was L2 by a bug)."""
    if name == "logit_l1":
        return LogisticRegression(l1_ratio=1.0, solver="saga", class_weight="balanced", max_iter=5000, tol=1e-3,
                                  random_state=seed)
    if name == "logit_l2":
        return LogisticRegression(l1_ratio=0.0, solver="lbfgs", class_weight="balanced", max_iter=5000)
    if name == "svm":
        return SVC(class_weight="balanced", random_state=seed)
    if name == "random_forest":
        return RandomForestClassifier(n_estimators=300, class_weight="balanced", random_state=seed, n_jobs=1)
    if name == "gbt":
        return XGBClassifier(gamma=0.01, n_jobs=1, random_state=seed, tree_method="hist", verbosity=0)
    raise ValueError(f"unknown baseline {name!r}; choose from {sorted(BASELINE_GRIDS)}")


def baseline_scores(estimator, x: np.ndarray, n_classes: int) -> np.ndarray:
    """Ranking scores of a fitted baseline: positive-class probability or decision value (binary), per class otherwise."""
    if not isinstance(estimator[-1], SVC):
        p = estimator.predict_proba(x)
        return p[:, 1:2] if n_classes == 2 else p
    d = estimator.decision_function(x)
    return d.reshape(-1, 1) if n_classes == 2 else d


def _fit_baseline(name, grid, x, y, train, test, n_classes, seed, inner_cv):
    pipe = Pipeline([("scale", StandardScaler()), ("model", baseline_estimator(name, seed))])
    inner = StratifiedKFold(inner_cv, shuffle=True, random_state=seed)
    def scoring(estimator, x_, y_):
        return score_auc(y_, baseline_scores(estimator, x_, n_classes), n_classes)

    search = GridSearchCV(pipe, {f"model__{k}": v for k, v in grid.items()}, scoring=scoring, cv=inner, n_jobs=1,
                          error_score="raise")
    fit_params = {"model__sample_weight": compute_sample_weight("balanced", y[train])} if name == "gbt" else {}
    search.fit(x[train], y[train], **fit_params)
    scores = baseline_scores(search.best_estimator_, x[test], n_classes)
    best = {k.removeprefix("model__"): (v.item() if hasattr(v, "item") else v) for k, v in search.best_params_.items()}
    return name, scores, best, float(search.best_score_)


def compare(
    adata: AnnData,
    trait: str,
    *,
    models: Sequence[str] = ("logit_l1", "logit_l2", "svm", "random_forest", "gbt"),
    param_grids: Mapping[str, Mapping[str, Sequence]] | None = None,
    cv: int | None = None,
    inner_cv: int = 3,
    seed: int | None = None,
    n_jobs: int | None = None,
    key: str = "radiogx",
    key_added: str = "radiogx_compare",
    copy: bool = False,
) -> AnnData | None:
    """Evaluate classical baselines on the same outer folds as the network, by nested grid search.

    Each outer training fold runs a ``GridSearchCV`` of ``Pipeline(StandardScaler, model)`` (scaling inside the
    pipeline, so inside every split) with ``inner_cv`` stratified inner folds scored by ROC-AUC (one-vs-rest macro for
    multiclass), refits the best settings on the whole training fold and scores the outer fold's patients. The outer
    folds are the network's (read from ``adata.uns[key][trait]`` when :func:`radiogx.tl.train` ran, else made with the
    same ``StratifiedKFold(cv, shuffle=True, random_state=seed)``), so every model sees the same patients.

    Parameters
    ----------
    adata
        Patients x genes with the trait in ``obs``.
    trait
        Column of ``adata.obs``.
    models
        Any of ``"logit_l1"`` (L1-penalised logistic regression, correctly: the paper's "L1" was L2),
        ``"logit_l2"``, ``"svm"``, ``"random_forest"``, ``"gbt"`` (xgboost, class-balanced sample weights).
    param_grids
        Grids that replace :data:`BASELINE_GRIDS` per model.
    cv
        Outer folds when no network was trained (default 10); must match the network's when one was.
    inner_cv
        Inner folds of the grid search.
    seed
        Seed of the folds and the models; ``None`` uses the network's seed, else ``rg.settings.seed``.
    n_jobs
        (model, fold) pairs run in parallel; results do not depend on it.
    key
        Where :func:`radiogx.tl.train` recorded the network.
    key_added
        ``adata.uns[key_added][trait]`` receives ``folds`` (DataFrame: ``model``, ``fold``, ``roc_auc``, ``pr_auc``,
        ``best_params`` (JSON), ``inner_score``), ``oof`` (out-of-fold scores: a column per model for binary traits, ``<model>_<j>``
        for class ``j`` of ``classes`` otherwise, and each patient's ``label``), ``classes`` and ``params``.
    copy
        Work on a copy of ``adata`` and return it; ``adata`` stays unchanged.

    Returns
    -------
    ``None``, or the modified copy with ``copy=True``. Writes ``adata.uns[key_added][trait]`` (a ``"compare"`` record,
    listed by :func:`radiogx.get.records`), read by :func:`radiogx.get.compare_df` and drawn by
    :func:`radiogx.pl.compare` and :func:`radiogx.pl.roc`.
    """
    adata = adata.copy() if copy else adata
    record = adata.uns.get(key, {}).get(trait)
    if seed is None:
        seed = int(record["params"]["seed"]) if record else settings.seed
    n_jobs = settings.n_jobs if n_jobs is None else n_jobs
    unknown = [m for m in models if m not in BASELINE_GRIDS]
    if unknown or not models:
        raise ValueError(f"unknown baselines {unknown}; choose from {sorted(BASELINE_GRIDS)}")
    grids = {m: dict((param_grids or {}).get(m, BASELINE_GRIDS[m])) for m in models}
    if record is not None:
        net_cv = int(record["params"]["cv"])
        if cv is not None and cv != net_cv:
            raise ValueError(f"cv={cv} differs from the network's {net_cv} folds; leave cv=None to use the same folds")
        cv = net_cv
    cv = 10 if cv is None else cv
    data = trait_data(adata, trait, cv=max(cv, inner_cv), func="compare")
    if record is not None:
        folds = record["oof"]["fold"].reindex(pd.Index(data.obs_names, dtype=str)).to_numpy()
        if np.isnan(folds.astype(float)).any():
            raise ValueError(f"the patients labelled for {trait!r} changed since rg.tl.train; train the network again")
        folds = folds.astype(np.int64)
    else:
        folds = outer_folds(data.y, cv, seed)
    jobs = [delayed(_fit_baseline)(m, grids[m], data.x, data.y, np.flatnonzero(folds != k), np.flatnonzero(folds == k),
                                   data.n_classes, child_seed(seed, k, i), inner_cv)
            for i, m in enumerate(models) for k in range(cv)]
    results = list(tqdm(Parallel(n_jobs=n_jobs, return_as="generator")(jobs), total=len(jobs),
                        desc=f"compare {trait} ({len(models)} baselines x {cv} folds)", disable=not settings.show_progress))
    width = 1 if data.n_classes == 2 else data.n_classes
    oof = {m: np.zeros((len(data.y), width)) for m in models}
    rows = []
    for (m, scores, best, inner_score), k in zip(results, [k for _ in models for k in range(cv)]):
        test = folds == k
        oof[m][test] = scores
        rows.append({"model": m, "fold": k, "roc_auc": score_auc(data.y[test], scores, data.n_classes),
                     "pr_auc": score_pr_auc(data.y[test], scores, data.n_classes), "best_params": json.dumps(best, sort_keys=True, default=repr),
                     "inner_score": inner_score})
    oof_df = pd.DataFrame(index=pd.Index(data.obs_names, dtype=str))
    oof_df["fold"] = folds
    oof_df["label"] = pd.Categorical([data.classes[i] for i in data.y], categories=data.classes)
    for m in models:
        if width == 1:
            oof_df[m] = oof[m][:, 0]
        else:
            for j in range(len(data.classes)):
                oof_df[f"{m}_{j}"] = oof[m][:, j]  # class j of "classes"; names may hold "/", which h5ad keys may not
    write_record(adata, key_added, tool="compare", trait=trait, record={
        "folds": pd.DataFrame(rows),
        "oof": oof_df,
        "classes": list(data.classes),
        "params": {"kind": "compare", "model_key": key if record is not None else "", "models": list(models),
                   "grids": repr(grids), "cv": int(cv), "inner_cv": int(inner_cv), "seed": int(seed),
                   "same_folds_as_network": record is not None, "radiogx_version": __version__},
        "added": log_added("compare", uns=key_added),
    })
    return adata if copy else None
