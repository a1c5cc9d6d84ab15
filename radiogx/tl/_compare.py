"""Classical baselines on the network's outer folds, with nested grid search (the paper's baselines, Smedley, El-Saden & Hsu 2020)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from joblib import Parallel, delayed
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from .._docs import doc_params
from .. import __version__
from .._logging import log_added
from .._settings import settings
from .._metrics import regression_scores, score_auc, score_pr_auc
from .._registry import baselines
from ._baselines import BASELINE_GRIDS, REGRESSION_GRIDS, baseline_estimator, baseline_scores  # noqa: F401
from ._grid_search import nested_search
from ._record import write_record
from ..get import record as find_result
from ._folds import child_seed, outer_folds
from .._traits import trait_data

__all__ = ["compare", "baseline_estimator", "BASELINE_GRIDS", "REGRESSION_GRIDS", "baseline_scores"]

def _pipeline(name: str, seed: int, regression: bool, n_classes: int):
    """``StandardScaler`` then the model; a regressor also learns on the target standardised within its training
    patients (``TransformedTargetRegressor``), and predicts on the trait's scale."""
    model = baseline_estimator(name, seed, regression=regression, n_classes=n_classes)
    pipe = Pipeline([("scale", StandardScaler()), ("model", model)])
    return TransformedTargetRegressor(pipe, transformer=StandardScaler()) if regression else pipe


def _model_key(name: str) -> int:
    """A number of the baseline's name: its seeds do not depend on which other baselines a call lists."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def _model_prefix(regression: bool) -> str:
    """How :func:`_pipeline`'s model step names its parameters (``set_params``, grids, ``fit`` keywords)."""
    return "regressor__model__" if regression else "model__"


def _fit_baseline(name, grid, x, y, train, test, n_classes, seed, inner_cv, regression=False):
    b = baselines("regression" if regression else "classification")[name]
    scores, best, inner_score = nested_search(b, grid, x, y, train, test, n_classes, seed, inner_cv)
    best = {k: (v.item() if hasattr(v, "item") else v) for k, v in best.items()}
    return name, scores, best, inner_score


@doc_params
def compare(
    adata: AnnData,
    trait: str,
    *,
    models: Sequence[str] | None = None,
    param_grids: Mapping[str, Mapping[str, Sequence]] | None = None,
    cv: int | None = None,
    task: Literal["auto", "classification", "regression"] = "auto",
    transform: Literal["none", "logit", "log"] = "none",
    inner_cv: int = 3,
    seed: int | None = None,
    n_jobs: int | None = None,
    key: str | None = None,
    key_added: str = "radiogx_compare",
    copy: bool = False,
) -> AnnData | None:
    """Evaluate classical baselines on the same outer folds as the network, by nested grid search.

    Each outer training fold runs the search of scikit-learn's ``GridSearchCV`` over ``Pipeline(StandardScaler,
    model)`` (genes standardised inside every split) with ``inner_cv`` stratified inner folds scored by ROC-AUC
    (one-vs-rest macro for multiclass), refits the best settings on the whole training fold and scores the outer
    fold's patients. Work that grid points share is done once per split: the SVM's kernel matrix serves every ``C``
    and kernel, and gradient boosting's model with the most trees is scored at each smaller number of trees of the
    grid (its first trees are those models). The random forest is tuned by its out-of-bag ROC-AUC (R^2) on the whole
    training fold instead of inner folds (Breiman 2001: each patient scored by the trees that never saw it), and the
    chosen forest is the refit; xgboost bins each gene into 16 quantiles (32 in radiogx 0.8). At the paper's size
    ``compare`` runs 3.1x faster than radiogx 0.8's search, its pooled nested AUCs within 0.005 of 0.8's (xgboost's
    within 0.011 on a trait where it is at chance; ``benchmarks/compare_speed.py``). The outer folds are the
    network's (read from ``adata.uns[key][trait]`` when :func:`radiogx.tl.train` ran, else made with the same
    ``StratifiedKFold(cv, shuffle=True, random_state=seed)``), so every model sees the same patients.

    A continuous trait (see :func:`radiogx.tl.train`'s ``task``) is regressed by the training mean (the floor),
    ridge, lasso, elastic net, SVR, random forest and gradient boosting (xgboost), each on the target standardised
    within its training patients, the grid search scored by R^2 (shuffled ``KFold`` inner folds), the outer folds by
    R^2, Spearman's rho and the RMSE.

    Parameters
    ----------
    adata
        Patients x genes with the trait in ``obs``.
    trait
        Column of ``adata.obs``.
    models
        Classes: any of ``"logit_l1"`` (L1-penalised logistic regression, correctly: the paper's "L1" was L2),
        ``"logit_l2"``, ``"svm"``, ``"random_forest"``, ``"gbt"`` (xgboost, class-balanced sample weights). A
        continuous trait: any of ``"mean"``, ``"ridge"``, ``"lasso"``, ``"elastic_net"``, ``"svr"``,
        ``"random_forest"``, ``"gbt"``. ``None``: every baseline of the trait's task.
    param_grids
        Grids that replace the registered ones (``rg.tl.methods()``) per model.
    cv
        Outer folds when no network was trained (default 10); must match the network's when one was.
    task, transform
        How the trait is modelled when no network was trained (as :func:`radiogx.tl.train`); with a network, its own.
    inner_cv
        Inner folds of the grid search (a baseline tuned out of bag has none).
    seed
        Seed of the folds and the models; ``None`` uses the network's seed, else ``rg.settings.seed``.
    n_jobs
        (model, fold) pairs run in parallel; results do not depend on it.
    key
        Where :func:`radiogx.tl.train` recorded the network; ``None``: ``"radiogx"``, else the only model record
        (none: the baselines alone, on folds of their own).
    key_added
        ``adata.uns[key_added][trait]`` receives ``folds`` (DataFrame: ``model``, ``fold``, ``roc_auc``, ``pr_auc``,
        ``best_params`` (JSON), ``inner_score`` (the chosen point's mean inner score; a forest's out-of-bag score);
        ``r2``, ``spearman`` and ``rmse`` instead of the AUCs for a continuous trait), ``oof`` (out-of-fold scores: a
        column per model for binary traits, ``<model>_<j>`` for class ``j`` of ``classes`` otherwise, and each
        patient's ``label``; a continuous trait's predicted values per model and its ``observed`` values),
        ``classes`` and ``params`` (with ``task``).
    {copy}

    Returns
    -------
    ``None``, or the modified copy with ``copy=True``. Writes ``adata.uns[key_added][trait]`` (a ``"compare"`` record,
    listed by :func:`radiogx.get.records`), read by :func:`radiogx.get.compare_df` and drawn by
    :func:`radiogx.pl.compare` and :func:`radiogx.pl.roc`.
    """
    adata = adata.copy() if copy else adata
    trained = find_result(adata, "model", key, missing_ok=True)  # none: the baselines alone, on folds of their own
    key = trained.key if trained is not None else None
    record = trained.entry(trait) if trained is not None else None
    if seed is None:
        seed = int(record["params"]["seed"]) if record else settings.seed
    n_jobs = settings.n_jobs if n_jobs is None else n_jobs
    input_transform = "none"  # the baselines see the network's inputs: its within-patient transform too
    if record is not None:
        task = str(record["params"].get("task", "classification"))
        transform = str(record["params"].get("transform", "none"))
        input_transform = str(record["params"].get("input_transform", "none"))
    data = trait_data(adata, trait, task=task, transform=transform, func="compare")  # checks the trait and the task
    regression = data.is_regression
    available = {m: dict(b.grid) for m, b in baselines("regression" if regression else "classification").items()}
    models = list(available) if models is None else list(models)
    unknown = [m for m in models if m not in available]
    if unknown or not models:
        raise ValueError(f"unknown baselines {unknown} for a {'continuous' if regression else 'categorical'} trait "
                         f"{trait!r}; choose from {sorted(available)}")
    grids = {m: dict((param_grids or {}).get(m, available[m])) for m in models}
    if record is not None:
        net_cv = int(record["params"]["cv"])
        if cv is not None and cv != net_cv:
            raise ValueError(f"cv={cv} differs from the network's {net_cv} folds; leave cv=None to use the same folds")
        cv = net_cv
    cv = 10 if cv is None else cv
    data = trait_data(adata, trait, cv=max(cv, inner_cv), func="compare", task=data.task, transform=data.transform,
                      input_transform=input_transform)
    if record is not None:
        folds = record["oof"]["fold"].reindex(pd.Index(data.obs_names, dtype=str)).to_numpy()
        if np.isnan(folds.astype(float)).any():
            raise ValueError(f"the patients labelled for {trait!r} changed since rg.tl.train; train the network again")
        folds = folds.astype(np.int64)
    else:
        folds = outer_folds(data.y, cv, seed)
    jobs = [delayed(_fit_baseline)(m, grids[m], data.x, data.y, np.flatnonzero(folds != k), np.flatnonzero(folds == k),
                                   data.n_classes, child_seed(seed, k, _model_key(m)), inner_cv, regression)
            for m in models for k in range(cv)]
    results = list(tqdm(Parallel(n_jobs=n_jobs, return_as="generator")(jobs), total=len(jobs),
                        desc=f"compare {trait} ({len(models)} baselines x {cv} folds)", disable=not settings.show_progress))
    width = 1 if data.n_classes in (0, 2) else data.n_classes
    oof = {m: np.zeros((len(data.y), width)) for m in models}
    rows = []
    for (m, scores, best, inner_score), k in zip(results, [k for _ in models for k in range(cv)]):
        test = folds == k
        oof[m][test] = scores
        metrics = (regression_scores(data.y[test], scores) if regression else
                   {"roc_auc": score_auc(data.y[test], scores, data.n_classes),
                    "pr_auc": score_pr_auc(data.y[test], scores, data.n_classes)})
        rows.append({"model": m, "fold": k, **metrics, "best_params": json.dumps(best, sort_keys=True, default=repr),
                     "inner_score": inner_score})
    oof_df = pd.DataFrame(index=pd.Index(data.obs_names, dtype=str))
    oof_df["fold"] = folds
    if regression:
        oof_df["observed"] = data.y
    else:
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
        "params": {"kind": "compare", "task": data.task, "transform": data.transform,
                   "input_transform": input_transform,
                   "model_key": key if record is not None else "", "models": list(models),
                   "grids": repr(grids),
                   "grids_json": json.dumps(grids, default=lambda v: v.item() if hasattr(v, "item") else repr(v)),
                   "cv": int(cv), "inner_cv": int(inner_cv), "seed": int(seed),
                   "same_folds_as_network": record is not None, "radiogx_version": __version__},
        "added": log_added("compare", uns=key_added),
    })
    return adata if copy else None
