"""Repeats of a classical baseline for :func:`radiogx.tl.stability`: the baseline's nested grid search run again on
new outer splits, its out-of-fold contributions (:func:`radiogx.tl.importance`'s) scored per gene, and the label
randomisation check on permuted labels."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import r2_score

from .._metrics import score_auc
from .._registry import baseline
from ._compare import _model_key
from ._folds import child_seed, outer_folds
from ._grid_search import nested_search
from ._importance import CompareSettings, fold_contributions
from ._stability_stats import as_shares, cohort_scores

__all__ = ["baseline_repeat"]


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
