"""The baselines' nested grid search: what scikit-learn's GridSearchCV chooses and scores, with shared work done once
(kernel matrices, boosting prefixes) and forests tuned by their out-of-bag scores."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from radiogx._metrics import score_auc
from radiogx._registry import Baseline, baseline
from radiogx.tl._baselines import baseline_scores
from radiogx.tl._grid_search import Standardised, nested_search


def _cohort(n=90, p=60, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) * rng.uniform(0.5, 3, p) + rng.normal(size=p)
    signal = x[:, :3].sum(axis=1) / 3 + rng.normal(scale=0.8, size=n)
    y = np.digitize(signal, np.quantile(signal, np.linspace(0, 1, classes + 1)[1:-1])) if classes else signal
    return x, y


def _split(y, seed=0):
    test = np.zeros(len(y), dtype=bool)
    test[np.random.default_rng(seed).choice(len(y), len(y) // 4, replace=False)] = True
    return np.flatnonzero(~test), np.flatnonzero(test)


def _grid_search_cv(b: Baseline, grid, x, y, train, test, n_classes, seed, inner_cv=3):
    """scikit-learn's nested search over the pipeline (what radiogx <= 0.8 ran)."""
    regression = n_classes == 0
    pipe = Pipeline([("scale", StandardScaler()), ("model", b.estimator(seed, n_classes))])
    if regression:
        pipe = TransformedTargetRegressor(pipe, transformer=StandardScaler())
        prefix, cv, scoring = "regressor__model__", KFold(inner_cv, shuffle=True, random_state=seed), "r2"
    else:
        prefix, cv = "model__", StratifiedKFold(inner_cv, shuffle=True, random_state=seed)

        def scoring(est, x_, y_):
            return score_auc(y_, baseline_scores(est, x_, n_classes), n_classes)
    search = GridSearchCV(pipe, {prefix + k: v for k, v in grid.items()}, scoring=scoring, cv=cv, error_score="raise")
    search.fit(x[train], y[train], **{prefix + k: v for k, v in b.fit_kwargs(y[train]).items()})
    scores = (search.predict(x[test]).reshape(-1, 1) if regression
              else baseline_scores(search.best_estimator_, x[test], n_classes))
    return scores, {k.removeprefix(prefix): v for k, v in search.best_params_.items()}, search.best_score_


@pytest.mark.parametrize("task,name,classes", [("classification", "logit_l2", 2), ("classification", "logit_l1", 3),
                                               ("classification", "gbt", 2), ("regression", "ridge", 0),
                                               ("regression", "lasso", 0)])
def test_the_search_chooses_and_scores_as_grid_search_cv(task, name, classes):
    x, y = _cohort(classes=classes)
    train, test = _split(y)
    b = baseline(name, task)
    ours = nested_search(b, b.grid, x, y, train, test, classes, 7, 3)
    theirs = _grid_search_cv(b, b.grid, x, y, train, test, classes, 7)
    assert ours[1] == theirs[1]
    assert ours[2] == pytest.approx(theirs[2], abs=1e-9)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("task,classes", [("classification", 2), ("classification", 3), ("regression", 0)])
def test_the_kernel_path_fits_what_libsvm_fits_from_the_genes(task, classes):
    x, y = _cohort(classes=classes)
    fit, evaluate = _split(y, seed=1)
    b = baseline("svm" if classes else "svr", task)
    grid = {"C": [0.01, 1.0, 100.0], "kernel": ["linear", "rbf", "poly"]}
    points = [{"C": c, "kernel": k} for c in grid["C"] for k in grid["kernel"]]
    data = Standardised.of(x, y, fit, evaluate, regression=classes == 0)
    together = b.path([b.estimator(0, classes).set_params(**p) for p in points], data, {}, classes)
    for p, scores in zip(points, together):
        alone = b.estimator(0, classes).set_params(**p).fit(data.x_fit, data.y_fit)
        np.testing.assert_allclose(scores, baseline_scores(alone, data.x_eval, classes), rtol=1e-5, atol=1e-6)
    # and the search over the kernel path chooses what GridSearchCV chooses
    train, test = _split(y)
    ours = nested_search(b, grid, x, y, train, test, classes, 3, 3)
    theirs = _grid_search_cv(b, grid, x, y, train, test, classes, 3)
    assert ours[1] == theirs[1] and ours[2] == pytest.approx(theirs[2], abs=1e-6)


@pytest.mark.parametrize("task,classes", [("classification", 2), ("classification", 3), ("regression", 0)])
def test_a_boosted_model_is_scored_at_each_number_of_trees_by_its_prefix(task, classes):
    x, y = _cohort(classes=classes)
    fit, evaluate = _split(y, seed=2)
    b = baseline("gbt", task)
    points = [{"max_depth": d, "n_estimators": n} for d in (1, 2) for n in (5, 20, 12)]
    data = Standardised.of(x, y, fit, evaluate, regression=classes == 0)
    together = b.path([b.estimator(0, classes).set_params(**p) for p in points], data, {}, classes)
    for p, scores in zip(points, together):
        alone = b.estimator(0, classes).set_params(**p).fit(data.x_fit, data.y_fit)
        np.testing.assert_allclose(scores, baseline_scores(alone, data.x_eval, classes), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("task,classes", [("classification", 2), ("classification", 3), ("regression", 0)])
def test_a_forest_is_tuned_by_out_of_bag_scores_and_its_chosen_fit_is_the_refit(task, classes):
    x, y = _cohort(n=120, classes=classes)
    train, test = _split(y)
    b = baseline("random_forest", task)
    grid = {"max_features": ["sqrt", 0.5], "n_estimators": [50]}
    scores, best, oob_score = nested_search(b, grid, x, y, train, test, classes, 11, 3)
    pipe = Pipeline([("scale", StandardScaler()), ("model", b.estimator(11, classes).set_params(**best))])
    if classes == 0:
        refit = TransformedTargetRegressor(pipe, transformer=StandardScaler()).fit(x[train], y[train])
        np.testing.assert_allclose(scores[:, 0], refit.predict(x[test]), rtol=1e-10)
        assert 0.2 < oob_score < 1.0
    else:
        refit = pipe.fit(x[train], y[train])
        np.testing.assert_allclose(scores, baseline_scores(refit, x[test], classes))
        assert 0.6 < oob_score < 1.0


def test_out_of_bag_scores_of_permuted_labels_are_at_chance():
    """Trees never score the patients they were grown on: with labels that carry nothing, the out-of-bag AUC sits
    near 0.5 while the forest's in-sample AUC is 1."""
    x, y = _cohort(n=200)
    rng = np.random.default_rng(5)
    aucs = []
    for r in range(8):
        y_null = rng.permutation(y)
        b = baseline("random_forest", "classification")
        est = b.estimator(r, 2).set_params(n_estimators=100)
        oob = b.oob(est, x, y_null, b.fit_kwargs(y_null), 2)
        assert roc_auc_score(y_null, est.predict_proba(x)[:, 1]) == 1.0
        aucs.append(roc_auc_score(y_null, oob[:, 0]))
    assert abs(np.mean(aucs) - 0.5) < 0.05 and max(abs(a - 0.5) for a in aucs) < 0.15


def test_a_registered_scores_function_ranks_the_patients():
    from sklearn.neighbors import KNeighborsClassifier

    from radiogx import _registry

    def negated(estimator, x, n_classes):
        return -estimator.predict_proba(x)[:, 1:]

    b = _registry.register_baseline(Baseline("knn_negated", "classification", {"n_neighbors": [5, 9]},
                                             lambda seed, n: KNeighborsClassifier(), "test", scores=negated))
    try:
        x, y = _cohort()
        train, test = _split(y)
        scores, best, inner = nested_search(b, b.grid, x, y, train, test, 2, 0, 3)
        assert inner < 0.5 and roc_auc_score(y[test], scores[:, 0]) < 0.5  # the negated ranking, chosen and used
    finally:
        _registry._BASELINES["classification"].pop("knn_negated", None)


def test_ties_go_to_the_first_grid_point():
    x, y = _cohort()
    train, test = _split(y)
    b = baseline("logit_l1", "classification")
    _, best, inner = nested_search(b, {"C": [1e-6, 1e-7, 1e-8]}, x, y, train, test, 2, 0, 3)  # every coefficient 0
    assert best == {"C": 1e-6} and inner == 0.5
