"""Repeats of a classical baseline for :func:`radiogx.tl.stability`: the baseline's nested grid search run again on
new outer splits, its out-of-fold contributions (:func:`radiogx.tl.importance`'s) scored per gene, and the label
randomisation check on permuted labels."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from anndata import AnnData
from sklearn.metrics import r2_score

from .._metrics import score_auc
from .._registry import baseline
from .._traits import TraitData, trait_data
from ..get import record as find_result
from ._compare import _model_key
from ._folds import child_seed, outer_folds
from ._grid_search import nested_search
from ._importance import _best_baseline, fold_contributions
from ._stability_stats import as_shares, cohort_scores

__all__ = ["CompareSettings", "compare_settings", "baseline_repeat"]


@dataclass(frozen=True)
class CompareSettings:
    """What :func:`radiogx.tl.compare` ran a baseline with, read from its record."""

    name: str
    task: str
    grid: dict
    cv: int
    inner_cv: int
    data: TraitData

    @property
    def regression(self) -> bool:
        return self.task == "regression"

    @property
    def codes(self) -> list[int | None]:
        """The label code of each attributed output (``None``: a continuous trait)."""
        n = self.data.n_classes
        return [None] if self.regression else ([n - 1] if n == 2 else list(range(n)))

    @property
    def outputs(self) -> list[str | None]:
        """Each attributed output's class (``None``: the one output of a binary or continuous trait)."""
        return [None] if self.regression or self.data.n_classes == 2 else list(self.data.classes)


def compare_settings(adata: AnnData, trait: str, name: str, compare_key: str | None) -> CompareSettings:
    """The settings of baseline ``name`` (``"best"``: the best attributable one of :func:`radiogx.get.compare_df`) in
    the compare record of ``trait``, checked."""
    found = find_result(adata, "compare", compare_key)
    if trait not in found.traits:
        raise ValueError(f"rg.tl.compare has no results for {trait!r}; run rg.tl.compare(adata, {trait!r}) first")
    params = found.entry(trait)["params"]
    task = "regression" if params["task"] == "regression" else "classification"
    if name == "best":
        name = _best_baseline(adata, trait, found.key,
                              [m for m in params["models"] if baseline(m, task).attribute is not None])
    if name not in list(params["models"]):
        raise ValueError(f"model {name!r} was not compared for {trait!r}; compared: {list(params['models'])}")
    if baseline(name, task).attribute is None:
        raise ValueError(f"baseline {name!r} has no per-patient attributions (the registry's attribute)")
    if "grids_json" not in params:
        raise ValueError(f"the compare record of {trait!r} predates stability of baselines; run rg.tl.compare again")
    data = trait_data(adata, trait, task=params["task"], transform=params["transform"], func="stability",
                      input_transform=str(params.get("input_transform", "none")))
    return CompareSettings(name, task, json.loads(params["grids_json"])[name], int(params["cv"]),
                           int(params["inner_cv"]), data)


def baseline_repeat(s: CompareSettings, y: np.ndarray, seed: int, method: str) -> dict:
    """One repeat: new outer folds (seeded by ``seed``), the baseline's nested search and refit in each, every
    labelled patient explained by the fold model that never saw it; per output, the class contrast (a continuous
    trait: the slope) of the contributions as shares. ``y``: the labels to learn (permuted for the label check)."""
    x, n_classes = s.data.x, s.data.n_classes
    folds = outer_folds(y, s.cv, seed)
    b = baseline(s.name, s.task)
    contrib = np.zeros((len(s.codes), len(y), x.shape[1]))
    oof = np.zeros((len(y), 1 if n_classes in (0, 2) else n_classes))
    for k in range(s.cv):
        train, test = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        fold_seed = child_seed(seed, k, _model_key(s.name))
        scores, point, _ = nested_search(b, s.grid, x, y, train, test, n_classes, fold_seed, s.inner_cv)
        point = {p: (v.item() if hasattr(v, "item") else v) for p, v in point.items()}
        contrib[:, test] = fold_contributions(s.name, s.regression, n_classes, fold_seed, point, x, y, train, test)
        oof[test] = scores
    score = float(r2_score(y, oof[:, 0])) if s.regression else score_auc(y, oof, n_classes)
    shares = as_shares(np.stack([cohort_scores(contrib[j], y, score="contrast", target_code=c)
                                 for j, c in enumerate(s.codes)]))
    return {"seed": seed, "score": score, "scores": {method: shares}}
