"""``rg.tl.compare`` at the paper's size: radiogx 0.8's nested search (scikit-learn's ``GridSearchCV``, one pipeline
fit per grid point and inner split) against today's (shared kernel matrices, boosting prefixes, out-of-bag tuning
of forests), side by side in one run, on the same outer folds.

Synthetic cohort of the paper's shape (528 patients x 12,042 genes, ``rg.datasets.synthetic(seed=0)``), 10 outer
folds, 3 inner folds, every baseline, ``n_jobs`` workers, as ``radiogx run`` runs the step. Each baseline is run
alone, first by the 0.8 search and then by today's, so that both see the machine in the same state. Printed per
baseline: seconds of each, their ratio, the nested ROC-AUC (out-of-fold scores pooled over the folds, and the mean
over folds) of each and the difference, and in how many folds both chose the same grid point. With
``--regression``, the same for the regressors on a continuous trait (``synthetic(continuous=True)``: the trait's
score itself), scored by R^2.

    python benchmarks/compare_speed.py [--traits trait_0] [--folds 10] [--n-jobs 2] [--models svm gbt]
        [--regression] [--no-classification] [--n-vars 12042]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

from joblib import Parallel, delayed
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import radiogx as rg
from radiogx._metrics import score_auc
from radiogx.tl import _compare


def _grid_search_cv(name, grid, x, y, train, test, n_classes, seed, inner_cv, regression=False):
    """radiogx 0.8's ``_fit_baseline``, verbatim but for imports and its xgboost's bins: ``GridSearchCV`` over the scaled
    pipeline."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from radiogx.tl._baselines import baseline_estimator, baseline_fit_kwargs, baseline_scores

    warnings.simplefilter("ignore", ConvergenceWarning)
    model = baseline_estimator(name, seed, regression=regression, n_classes=n_classes)
    if "max_bin" in model.get_params():  # 0.8's xgboost: 32 histogram bins per gene (today's: 16)
        model.set_params(max_bin=32)
    pipe = Pipeline([("scale", StandardScaler()), ("model", model)])
    pipe = TransformedTargetRegressor(pipe, transformer=StandardScaler()) if regression else pipe
    prefix = "regressor__model__" if regression else "model__"
    if regression:
        inner, scoring = KFold(inner_cv, shuffle=True, random_state=seed), "r2"
    else:
        inner = StratifiedKFold(inner_cv, shuffle=True, random_state=seed)

        def scoring(estimator, x_, y_):
            return score_auc(y_, baseline_scores(estimator, x_, n_classes), n_classes)

    search = GridSearchCV(pipe, {f"{prefix}{k}": v for k, v in grid.items()}, scoring=scoring, cv=inner, n_jobs=1,
                          error_score="raise")
    fit_params = {f"{prefix}{k}": v for k, v in baseline_fit_kwargs(name, y[train], regression=regression).items()}
    search.fit(x[train], y[train], **fit_params)
    scores = (search.best_estimator_.predict(x[test]).reshape(-1, 1) if regression
              else baseline_scores(search.best_estimator_, x[test], n_classes))
    best = {k.removeprefix(prefix): (v.item() if hasattr(v, "item") else v) for k, v in search.best_params_.items()}
    return name, scores, best, float(search.best_score_)


def _warm_up() -> None:
    __import__("radiogx.tl._compare")


def _run(adata, trait, model, engine, args, task):
    """One ``rg.tl.compare`` of one baseline by ``engine`` (``None``: today's): seconds, pooled and mean-fold score,
    the choices."""
    kept = _compare._fit_baseline
    if engine is not None:  # loky pickles a __main__ function by value, so its workers run it too
        _compare._fit_baseline = engine
    try:
        a = adata.copy()
        start = time.perf_counter()
        rg.tl.compare(a, trait, models=[model], cv=args.folds, seed=0, n_jobs=args.n_jobs, task=task)
        seconds = time.perf_counter() - start
    finally:
        _compare._fit_baseline = kept
    rec = rg.get.record(a, "compare").entry(trait)
    folds, oof = rec["folds"], rec["oof"]
    if task == "regression":
        pooled, per_fold = r2_score(oof["observed"], oof[model]), folds["r2"].mean()
    else:
        pooled, per_fold = score_auc((oof["label"] == rec["classes"][1]).to_numpy().astype(int),
                                     oof[[model]].to_numpy(), 2), folds["roc_auc"].mean()
    return seconds, float(pooled), float(per_fold), [json.loads(b) for b in folds.sort_values("fold")["best_params"]]


def _table(adata, trait, models, args, task):
    metric = "R^2" if task == "regression" else "AUC"
    print(f"\n{trait} ({task}); {args.folds} outer folds, 3 inner, n_jobs={args.n_jobs}")
    print(f"| baseline | 0.8 s | today s | ratio | pooled {metric} 0.8 | today | diff | mean-fold {metric} diff "
          "| same choice |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    total_old = total_new = 0.0
    for m in models:
        old = _run(adata, trait, m, _grid_search_cv, args, task)
        new = _run(adata, trait, m, None, args, task)
        total_old, total_new = total_old + old[0], total_new + new[0]
        same = sum(a == b for a, b in zip(old[3], new[3]))
        print(f"| {m} | {old[0]:.1f} | {new[0]:.1f} | {old[0] / new[0]:.1f} | {old[1]:.4f} | {new[1]:.4f} | "
              f"{new[1] - old[1]:+.4f} | {new[2] - old[2]:+.4f} | {same}/{args.folds} |", flush=True)
    print(f"| all | {total_old:.1f} | {total_new:.1f} | {total_old / total_new:.2f} | | | | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traits", nargs="+", default=["trait_0"])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--regression", action="store_true", help="also the regressors on a continuous trait")
    parser.add_argument("--n-vars", type=int, default=12042, help="genes of the cohort (the paper's: 12,042)")
    parser.add_argument("--no-classification", action="store_true", help="only the regressors")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    rg.settings.verbosity = 1
    Parallel(n_jobs=args.n_jobs)(delayed(_warm_up)() for _ in range(2 * args.n_jobs))  # workers up, radiogx loaded
    print(f"528 x {args.n_vars:,} synthetic, radiogx {rg.__version__}")
    if not args.no_classification:
        adata = rg.datasets.synthetic(n_obs=528, n_vars=args.n_vars, n_traits=max(2, len(args.traits)), seed=0)
        for trait in args.traits:
            _table(adata, trait, args.models or list(rg.tl._baselines.BASELINE_GRIDS), args, "classification")
    if args.regression:
        continuous = rg.datasets.synthetic(n_obs=528, n_vars=args.n_vars, n_traits=1, continuous=True, seed=0)
        grids = rg.tl._baselines.REGRESSION_GRIDS
        regressors = [m for m in (args.models or grids) if m in grids and m != "mean"]
        _table(continuous, "trait_0", regressors, args, "regression")

if __name__ == "__main__":
    main()
