"""The built-in baselines (registered in :mod:`radiogx._registry`): the paper's five classifiers and seven regressors
of a continuous trait, each with its grid, its estimator and how it is explained."""

from __future__ import annotations

import numpy as np
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC, SVR
from sklearn.utils.class_weight import compute_sample_weight
from xgboost import XGBClassifier, XGBRegressor

from .._registry import Baseline, baseline, baselines, register_baseline, resolve

__all__ = ["baseline_estimator", "baseline_scores", "baseline_fit_kwargs", "BASELINE_GRIDS", "REGRESSION_GRIDS"]

_C = list(np.logspace(-3, 2, 6))
#: Histogram bins per gene of xgboost's ``hist`` method (its default is 256). Its time per boosting round at 12,042
#: genes is mostly filling a genes x bins histogram: 32 bins fit 3-4x faster than 256 and 16 bins 1.6-1.9x faster
#: than 32, with the same nested AUCs within noise (``benchmarks/baseline_speed.py``, ``compare_speed.py``); 16
#: quantile bins of a few hundred training patients are thresholds some 10-30 patients apart.
_MAX_BIN = 16
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


def _score_columns(values, n_classes: int) -> np.ndarray:
    """Scores in compare's layout: one column for a regressor's predictions or a binary trait (its positive class
    where ``values`` has a column per class), a column per class otherwise."""
    if n_classes == 0:
        return np.asarray(values, dtype=np.float64).reshape(-1, 1)
    if values.ndim == 1:
        return values.reshape(-1, 1)
    return values[:, 1:2] if n_classes == 2 else values


def _fit_alone(est, data, fit_kwargs: dict, n_classes: int) -> np.ndarray:
    """A path's fallback for a grid point that shares nothing: fit it, score ``data.x_eval``."""
    return baseline_scores(est.fit(data.x_fit, data.y_fit, **fit_kwargs), data.x_eval, n_classes)


def _kernel_path(estimators, data, fit_kwargs: dict, n_classes: int) -> list[np.ndarray]:
    """Support vector machines of every ``C`` and kernel on one kernel matrix per split: ``x x^T`` (linear) and
    ``exp(-gamma |x - x'|^2)`` from it (RBF; ``gamma="scale"`` is ``1 / (genes x var(x))`` of the fitting patients,
    as scikit-learn's), passed to libsvm precomputed: the same problem libsvm solves from the genes, in a fraction of
    the time at 12,042 genes (``benchmarks/baseline_speed.py``). Other kernels are fit from the genes."""
    gram = gram_eval = None
    out = []
    for est in estimators:
        params = est.get_params()
        kernel, gamma = params["kernel"], params["gamma"]
        if kernel not in ("linear", "rbf"):
            out.append(_fit_alone(est, data, fit_kwargs, n_classes))
            continue
        if gram is None:
            gram, gram_eval = data.x_fit @ data.x_fit.T, data.x_eval @ data.x_fit.T
        k_fit, k_eval = gram, gram_eval
        if kernel == "rbf":
            if gamma == "scale":
                variance = data.x_fit.var()
                gamma = 1.0 / (data.x_fit.shape[1] * variance) if variance != 0 else 1.0
            elif gamma == "auto":
                gamma = 1.0 / data.x_fit.shape[1]
            sq_fit = np.diag(gram)
            sq_eval = np.einsum("ij,ij->i", data.x_eval, data.x_eval)
            k_fit = np.exp(-gamma * np.maximum(sq_fit[:, None] + sq_fit[None, :] - 2 * gram, 0.0))
            k_eval = np.exp(-gamma * np.maximum(sq_eval[:, None] + sq_fit[None, :] - 2 * gram_eval, 0.0))
        est.set_params(kernel="precomputed").fit(k_fit, data.y_fit, **fit_kwargs)
        out.append(baseline_scores(est, k_eval, n_classes))
    return out


def _boosting_path(estimators, data, fit_kwargs: dict, n_classes: int) -> list[np.ndarray]:
    """Boosted models that differ only in their number of trees fit once, with the most trees: the model of ``n``
    trees is the first ``n`` of them (xgboost's ``iteration_range``; without row or column subsampling the first trees
    do not depend on how many follow)."""
    out: list[np.ndarray | None] = [None] * len(estimators)
    groups: dict[str, list[int]] = {}
    for i, est in enumerate(estimators):
        rest = {k: v for k, v in est.get_params().items() if k != "n_estimators"}
        groups.setdefault(repr(sorted(rest.items(), key=lambda kv: kv[0])), []).append(i)
    for members in groups.values():
        trees = [estimators[i].get_params()["n_estimators"] for i in members]
        if any(n is None for n in trees):  # xgboost's own default: each fit as it is
            for i in members:
                out[i] = _fit_alone(estimators[i], data, fit_kwargs, n_classes)
            continue
        longest = estimators[members[int(np.argmax(trees))]]
        longest.fit(data.x_fit, data.y_fit, **fit_kwargs)
        predict = longest.predict if n_classes == 0 else longest.predict_proba
        for i, n in zip(members, trees):
            out[i] = _score_columns(predict(data.x_eval, iteration_range=(0, n)), n_classes)
    return out


def _forest_oob(estimator, x: np.ndarray, y: np.ndarray, fit_kwargs: dict, n_classes: int) -> np.ndarray:
    """A random forest's out-of-bag scores (Breiman 2001): each training patient scored by the trees whose bootstrap
    sample left it out. ``oob_score`` changes no tree."""
    estimator.set_params(oob_score=True).fit(x, y, **fit_kwargs)
    return _score_columns(estimator.oob_prediction_ if n_classes == 0 else estimator.oob_decision_function_,
                          n_classes)


for _b in [
    Baseline("logit_l1", "classification", {"C": _C}, _logit_l1, "Tibshirani 1996; " + _PAPER, explain=_coef,
             attribute=_linear_contributions),
    Baseline("logit_l2", "classification", {"C": _C},
             lambda seed, n: LogisticRegression(l1_ratio=0.0, solver="lbfgs", class_weight="balanced", max_iter=5000),
             "le Cessie & van Houwelingen 1992; " + _PAPER, explain=_coef,
             attribute=_linear_contributions),
    Baseline("svm", "classification", {"C": list(np.logspace(-3, 3, 7)), "kernel": ["linear", "rbf"]},
             lambda seed, n: SVC(class_weight="balanced", random_state=seed), "Cortes & Vapnik 1995; " + _PAPER,
             path=_kernel_path),
    Baseline("random_forest", "classification",
             {"max_features": ["sqrt", "log2"], "criterion": ["gini", "entropy"]},
             lambda seed, n: RandomForestClassifier(n_estimators=300, class_weight="balanced", random_state=seed,
                                                    n_jobs=1), "Breiman 2001; " + _PAPER, explain=_importances,
             oob=_forest_oob),
    Baseline("gbt", "classification", {"max_depth": [1, 3], "n_estimators": [100, 300], "learning_rate": [0.1]},
             lambda seed, n: XGBClassifier(gamma=0.01, n_jobs=1, random_state=seed, tree_method="hist",
                                           max_bin=_MAX_BIN, verbosity=0),
             "Chen & Guestrin 2016 (xgboost); " + _PAPER, explain=_importances, fit_params=_balanced,
             attribute=_tree_shap, path=_boosting_path),
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
             lambda seed, n: SVR(), "Drucker et al. 1997", path=_kernel_path),
    Baseline("random_forest", "regression", {"max_features": ["sqrt", 0.33]},
             lambda seed, n: RandomForestRegressor(n_estimators=300, random_state=seed, n_jobs=1), "Breiman 2001",
             explain=_importances, oob=_forest_oob),
    Baseline("gbt", "regression", {"max_depth": [1, 3], "n_estimators": [100, 300], "learning_rate": [0.1]},
             lambda seed, n: XGBRegressor(gamma=0.01, n_jobs=1, random_state=seed, tree_method="hist",
                                          max_bin=_MAX_BIN, verbosity=0), "Chen & Guestrin 2016 (xgboost)",
             explain=_importances, attribute=_tree_shap, path=_boosting_path),
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


def baseline_scores(estimator, x: np.ndarray, n_classes: int, *, name: str | None = None) -> np.ndarray:
    """Ranking scores of a fitted baseline (a model or its pipeline): positive-class probability or decision value
    (binary, one column), a column per class otherwise; a regressor's predictions (``n_classes`` 0, one column).
    With the baseline's ``name``, its own ``scores`` when it registered them."""
    if name is not None:
        own = baseline(name, "regression" if n_classes == 0 else "classification").scores
        if own is not None:
            return np.asarray(resolve(own)(estimator, x, n_classes), dtype=np.float64).reshape(len(x), -1)
    if n_classes == 0:
        return _score_columns(estimator.predict(x), n_classes)
    final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    if hasattr(estimator, "predict_proba") and not isinstance(final, SVC):
        return _score_columns(estimator.predict_proba(x), n_classes)
    return _score_columns(estimator.decision_function(x), n_classes)
