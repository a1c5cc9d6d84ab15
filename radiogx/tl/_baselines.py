"""The built-in baselines (registered in :mod:`radiogx._registry`): the paper's five classifiers and seven regressors
of a continuous trait, each with its grid, its estimator and how it is explained."""

from __future__ import annotations

import numpy as np
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.svm import SVC, SVR
from sklearn.utils.class_weight import compute_sample_weight
from xgboost import XGBClassifier, XGBRegressor

from .._registry import Baseline, baseline, baselines, register_baseline

__all__ = ["baseline_estimator", "baseline_scores", "baseline_fit_kwargs", "BASELINE_GRIDS", "REGRESSION_GRIDS"]

_C = list(np.logspace(-3, 2, 6))
#: Histogram bins per gene of xgboost's ``hist`` method (its default is 256): a few hundred patients have at most that
#: many distinct values, and 32 bins fit 3-4x faster at 12,042 genes with the same AUCs within noise
#: (``benchmarks/baseline_speed.py``).
_MAX_BIN = 32
_PAPER = "Smedley, El-Saden & Hsu 2020 (the paper's baselines; grids smaller, same ranges)"


def _logit_l1(seed: int, n_classes: int):
    """Really L1-penalised (the paper's "l1" logit was L2 by a bug). Binary: liblinear's coordinate descent, which
    suits few patients and many genes (tens of times faster than saga at 12,042 genes, the same AUCs within noise:
    ``benchmarks/baseline_speed.py``); liblinear penalises the intercept, so its constant column is scaled by 100,
    which makes that penalty negligible. More classes: the multinomial L1 loss, solved by saga."""
    if n_classes == 2:
        return LogisticRegression(l1_ratio=1.0, solver="liblinear", intercept_scaling=100.0, class_weight="balanced",
                                  max_iter=1000, tol=1e-3, random_state=seed)
    return LogisticRegression(l1_ratio=1.0, solver="saga", class_weight="balanced", max_iter=5000, tol=1e-3,
                              random_state=seed)


def _coef(estimator) -> np.ndarray:
    return np.abs(np.atleast_2d(estimator.coef_)).mean(axis=0)


def _importances(estimator) -> np.ndarray:
    return np.asarray(estimator.feature_importances_, dtype=float)


def _linear_contributions(estimator, x: np.ndarray, n_classes: int) -> np.ndarray:
    """Coefficient x scaled input, per output (a binary model's one: its positive class)."""
    coef = np.atleast_2d(estimator.coef_)
    return coef[:, None, :] * np.asarray(x, dtype=np.float64)[None, :, :]


def _tree_shap(estimator, x: np.ndarray, n_classes: int) -> np.ndarray:
    """xgboost's exact TreeSHAP values (``pred_contribs``; Lundberg et al., Nat Mach Intell 2020), per output, on the
    margin scale, without the bias column."""
    import xgboost

    contribs = estimator.get_booster().predict(xgboost.DMatrix(np.asarray(x, dtype=np.float32)), pred_contribs=True)
    return contribs[None, :, :-1] if contribs.ndim == 2 else contribs[:, :, :-1].transpose(1, 0, 2)


def _balanced(y) -> dict:
    return {"sample_weight": compute_sample_weight("balanced", y)}


for _b in [
    Baseline("logit_l1", "classification", {"C": _C}, _logit_l1, "Tibshirani 1996; " + _PAPER, explain=_coef,
             attribute=_linear_contributions),
    Baseline("logit_l2", "classification", {"C": _C},
             lambda seed, n: LogisticRegression(l1_ratio=0.0, solver="lbfgs", class_weight="balanced", max_iter=5000),
             "le Cessie & van Houwelingen 1992; " + _PAPER, explain=_coef,
             attribute=_linear_contributions),
    Baseline("svm", "classification", {"C": list(np.logspace(-3, 3, 7)), "kernel": ["linear", "rbf"]},
             lambda seed, n: SVC(class_weight="balanced", random_state=seed), "Cortes & Vapnik 1995; " + _PAPER),
    Baseline("random_forest", "classification",
             {"max_features": ["sqrt", "log2"], "criterion": ["gini", "entropy"]},
             lambda seed, n: RandomForestClassifier(n_estimators=300, class_weight="balanced", random_state=seed,
                                                    n_jobs=1), "Breiman 2001; " + _PAPER, explain=_importances),
    Baseline("gbt", "classification", {"max_depth": [1, 3], "n_estimators": [100, 300], "learning_rate": [0.1]},
             lambda seed, n: XGBClassifier(gamma=0.01, n_jobs=1, random_state=seed, tree_method="hist",
                                           max_bin=_MAX_BIN, verbosity=0),
             "Chen & Guestrin 2016 (xgboost); " + _PAPER, explain=_importances, fit_params=_balanced,
             attribute=_tree_shap),
    # Regressors of a continuous trait: penalties on the target standardised within the training fold, so that one
    # grid serves any trait's scale. ``mean`` predicts the training fold's mean: the floor a model must beat (its
    # out-of-fold R^2 is slightly below 0, not 0).
    Baseline("mean", "regression", {}, lambda seed, n: DummyRegressor(), "the training fold's mean (the R^2 floor)"),
    Baseline("ridge", "regression", {"alpha": list(np.logspace(-1, 5, 7))}, lambda seed, n: Ridge(),
             "Hoerl & Kennard 1970", explain=_coef, attribute=_linear_contributions),
    Baseline("lasso", "regression", {"alpha": list(np.logspace(-3, 0, 7))},  # tol as logit_l1's: 1e-3 of the variance
             lambda seed, n: Lasso(max_iter=10_000, tol=1e-3, random_state=seed), "Tibshirani 1996", explain=_coef,
             attribute=_linear_contributions),
    Baseline("elastic_net", "regression", {"alpha": list(np.logspace(-3, 0, 4)), "l1_ratio": [0.2, 0.5, 0.8]},
             lambda seed, n: ElasticNet(max_iter=10_000, tol=1e-3, random_state=seed), "Zou & Hastie 2005",
             explain=_coef, attribute=_linear_contributions),
    Baseline("svr", "regression", {"C": list(np.logspace(-2, 2, 5)), "kernel": ["linear", "rbf"]},
             lambda seed, n: SVR(), "Drucker et al. 1997"),
    Baseline("random_forest", "regression", {"max_features": ["sqrt", 0.33]},
             lambda seed, n: RandomForestRegressor(n_estimators=300, random_state=seed, n_jobs=1), "Breiman 2001",
             explain=_importances),
    Baseline("gbt", "regression", {"max_depth": [1, 3], "n_estimators": [100, 300], "learning_rate": [0.1]},
             lambda seed, n: XGBRegressor(gamma=0.01, n_jobs=1, random_state=seed, tree_method="hist",
                                          max_bin=_MAX_BIN, verbosity=0), "Chen & Guestrin 2016 (xgboost)",
             explain=_importances, attribute=_tree_shap),
]:
    register_baseline(_b, replace=True)


def __getattr__(name: str):
    """``BASELINE_GRIDS`` and ``REGRESSION_GRIDS``: the registered grids by name, read when asked (a baseline
    registered later is in them)."""
    if name in ("BASELINE_GRIDS", "REGRESSION_GRIDS"):
        task = "classification" if name == "BASELINE_GRIDS" else "regression"
        return {n: dict(b.grid) for n, b in baselines(task).items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def baseline_estimator(name: str, seed: int, *, regression: bool = False, n_classes: int = 2):
    """A fresh baseline classifier (or regressor, for a continuous trait) from the registry."""
    return baseline(name, "regression" if regression else "classification").estimator(seed, n_classes)


def baseline_fit_kwargs(name: str, y, *, regression: bool = False) -> dict:
    """The keyword arguments of a baseline's ``fit`` on training labels ``y``."""
    return baseline(name, "regression" if regression else "classification").fit_kwargs(y)


def baseline_scores(estimator, x: np.ndarray, n_classes: int) -> np.ndarray:
    """Ranking scores of a fitted baseline: positive-class probability or decision value (binary), per class otherwise."""
    if hasattr(estimator, "predict_proba") and not isinstance(estimator[-1], SVC):
        p = estimator.predict_proba(x)
        return p[:, 1:2] if n_classes == 2 else p
    d = estimator.decision_function(x)
    return d.reshape(-1, 1) if n_classes == 2 else d
