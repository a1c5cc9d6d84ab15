"""Nested grid search of a baseline on one outer training fold: the inner folds' score of every grid point, the best
point refit on the whole training fold, its scores on the outer test fold.

The search is scikit-learn's ``GridSearchCV`` over ``Pipeline(StandardScaler, model)`` (and, for a regressor,
``TransformedTargetRegressor`` standardising the target), done so that work shared by grid points is done once per
split: the genes (and the target) are standardised once, and a baseline may fit all of its grid points together
(:attr:`radiogx._registry.Baseline.path`): the kernel matrix of a support vector machine is computed once for every
``C`` and kernel, and a boosted model with ``n`` trees is scored at each smaller ``n`` of the grid (its prefixes)
instead of being fit again. A baseline with out-of-bag scores (:attr:`radiogx._registry.Baseline.oob`: the random
forest, Breiman 2001) is tuned by them on the whole training fold instead of by inner folds, and the chosen fit is the
refit. The choice rule is ``GridSearchCV``'s: the highest mean inner score, the first grid point among ties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, ParameterGrid, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from .._metrics import score_auc
from .._registry import Baseline, resolve
from ._baselines import baseline_scores

__all__ = ["nested_search", "fit_points", "Standardised"]


@dataclass
class Standardised:
    """One split's data, standardised on its fitting patients: genes (and a continuous target) to mean 0, SD 1."""

    x_fit: np.ndarray
    y_fit: np.ndarray
    x_eval: np.ndarray
    y_mean: float = 0.0
    y_scale: float = 1.0

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray, fit: np.ndarray, evaluate: np.ndarray, regression: bool):
        scaler = StandardScaler().fit(x[fit])
        out = cls(scaler.transform(x[fit]), y[fit], scaler.transform(x[evaluate]))
        if regression:
            target = StandardScaler().fit(y[fit].reshape(-1, 1))
            out.y_fit = target.transform(y[fit].reshape(-1, 1)).ravel()
            out.y_mean, out.y_scale = float(target.mean_[0]), float(target.scale_[0])
        return out

    def on_trait_scale(self, predicted: np.ndarray) -> np.ndarray:
        """A regressor's predictions of the standardised target back on the trait's scale."""
        return np.asarray(predicted, dtype=np.float64).reshape(-1, 1) * self.y_scale + self.y_mean


def fit_points(b: Baseline, estimators: Sequence, data: Standardised, fit_kwargs: Mapping, n_classes: int
               ) -> list[np.ndarray]:
    """The default path: each grid point's estimator fit on its own; its scores on ``data.x_eval``."""
    return [baseline_scores(est.fit(data.x_fit, data.y_fit, **fit_kwargs), data.x_eval, n_classes, name=b.name)
            for est in estimators]


def _score(y: np.ndarray, scores: np.ndarray, n_classes: int) -> float:
    return float(r2_score(y, scores[:, 0])) if n_classes == 0 else score_auc(y, scores, n_classes)


def _path_scores(b: Baseline, estimators, data: Standardised, fit_kwargs, n_classes: int) -> list[np.ndarray]:
    scores = (fit_points(b, estimators, data, fit_kwargs, n_classes) if b.path is None
              else resolve(b.path)(estimators, data, fit_kwargs, n_classes))
    return [data.on_trait_scale(s) for s in scores] if n_classes == 0 else scores


def nested_search(b: Baseline, grid: Mapping[str, Sequence], x: np.ndarray, y: np.ndarray, train: np.ndarray,
                  test: np.ndarray, n_classes: int, seed: int, inner_cv: int
                  ) -> tuple[np.ndarray, dict, float]:
    """Choose the baseline's grid point on ``train`` and score ``test`` with it refit on all of ``train``.

    ``n_classes`` is 0 for a continuous trait (scored by R^2 on the trait's scale, shuffled ``KFold``), else the
    classes (ROC-AUC, one-vs-rest macro for more than two, ``StratifiedKFold``). Returns the test patients' scores,
    the chosen point and its mean inner score (out-of-bag score for an ``oob`` baseline).
    """
    points = list(ParameterGrid(dict(grid))) or [{}]
    template = b.estimator(seed, n_classes)

    def fresh(point):
        return clone(template).set_params(**point)

    fit_kwargs = b.fit_kwargs(y[train])
    if b.oob is not None:  # tuned on the whole training fold by out-of-bag scores; the chosen fit is the refit
        data = Standardised.of(x, y, train, test, n_classes == 0)
        fitted, inner = [], []
        for point in points:
            est = fresh(point)
            oob = resolve(b.oob)(est, data.x_fit, data.y_fit, fit_kwargs, n_classes)
            fitted.append(est)
            inner.append(_score(y[train], data.on_trait_scale(oob) if n_classes == 0 else oob, n_classes))
        best = int(np.nanargmax(inner))  # the first of the best
        scores = baseline_scores(fitted[best], data.x_eval, n_classes, name=b.name)
        return (data.on_trait_scale(scores) if n_classes == 0 else scores), points[best], inner[best]

    splitter = (KFold(inner_cv, shuffle=True, random_state=seed) if n_classes == 0
                else StratifiedKFold(inner_cv, shuffle=True, random_state=seed))
    inner = np.zeros((len(points), inner_cv))
    for s, (fit, evaluate) in enumerate(splitter.split(x[train], y[train])):
        # each split's share of the training fold's fit arguments (as GridSearchCV routes them)
        kwargs = {k: (v[fit] if hasattr(v, "__len__") and len(v) == len(train) else v) for k, v in fit_kwargs.items()}
        fit, evaluate = train[fit], train[evaluate]
        data = Standardised.of(x, y, fit, evaluate, n_classes == 0)
        for i, scores in enumerate(_path_scores(b, [fresh(p) for p in points], data, kwargs, n_classes)):
            inner[i, s] = _score(y[evaluate], scores, n_classes)
    mean = inner.mean(axis=1)
    best = int(np.nanargmax(mean))  # GridSearchCV's rule: the first of the best
    data = Standardised.of(x, y, train, test, n_classes == 0)
    scores = _path_scores(b, [fresh(points[best])], data, fit_kwargs, n_classes)[0]
    return scores, points[best], float(mean[best])
