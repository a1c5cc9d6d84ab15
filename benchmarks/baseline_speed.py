"""Baselines at the paper's size: today's solvers against the scalable ones, on the same folds, in one run.

Synthetic cohort of the paper's shape (528 patients x 12,042 genes, one binary trait driven by a 40-gene module).
For every outer fold (stratified, shuffled) and every point of radiogx's grid, each variant is fit on the training
fold (genes standardised on it, as in ``rg.tl.compare``) and scored by ROC-AUC on the held-out fold. Printed per
variant: seconds per fit (mean and slowest), the mean held-out AUC over grid points and folds, and each fold's best
grid point; then the ratio of the scalable variant's fitting time to today's, and its AUC difference paired by fold
and grid point. For scale, one fit of the network of radiogx's default recipe (one grid setting, early stopping on an
inner split) on the same training folds, and with ``--paper-epochs N``, N epochs of the paper's own network
(4000-2000-1000 tanh on every gene, Adadelta, batch 10): its early stopping (patience 20) runs at least 21 epochs
per fit, which bounds one paper-recipe fit from below.

- ``logit_l1``: saga (radiogx <= 0.5) against liblinear's coordinate descent, which suits few patients and many
  genes; liblinear penalises the intercept, so it is fit on a constant column scaled by 100 (``intercept_scaling``),
  which makes that penalty negligible. Binary traits only: liblinear has no multinomial loss.
- ``gbt``: xgboost ``hist`` with 32 bins per gene (radiogx 0.6 to 0.8; radiogx <= 0.5 used xgboost's default 256,
  4.2x slower than 32 with the same AUCs) against 16 (today). A round's time at 12,042 genes is mostly filling the
  genes x bins histogram. Column subsampling was measured too and left out: 1.2x faster, and on an interaction trait
  its held-out AUC fell from 0.67 to 0.59.

    python benchmarks/baseline_speed.py [--folds 3] [--models logit_l1 gbt] [--today-only] [--paper-epochs 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

import radiogx as rg
from radiogx.nn._fit import NetworkConfig, fit_network
from radiogx.nn._recipes import PRESETS, auto_width
from radiogx.tl._compare import BASELINE_GRIDS, baseline_estimator


def _variants() -> dict[str, dict[str, object]]:
    saga = {"logit_l1": lambda seed, **p: LogisticRegression(
        l1_ratio=1.0, solver="saga", class_weight="balanced", max_iter=5000, tol=1e-3, random_state=seed, **p)}
    hist = {"gbt": lambda seed, **p: XGBClassifier(gamma=0.01, n_jobs=1, random_state=seed, tree_method="hist",
                                                   max_bin=32, verbosity=0, **p)}
    ours = {name: (lambda seed, _n=name, **p: baseline_estimator(_n, seed, n_classes=2).set_params(**p))
            for name in ("logit_l1", "gbt")}
    return {"logit_l1": {"saga (radiogx 0.5)": saga["logit_l1"], "radiogx": ours["logit_l1"]},
            "gbt": {"32 bins (radiogx 0.8)": hist["gbt"], "radiogx": ours["gbt"]}}


def _grid_points(grid: dict[str, list]) -> list[dict]:
    points = [{}]
    for key, values in grid.items():
        points = [{**p, key: v} for p in points for v in values]
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["logit_l1", "gbt"])
    parser.add_argument("--today-only", action="store_true", help="only today's solvers (no radiogx 0.5 variants)")
    parser.add_argument("--paper-epochs", type=int, default=0,
                        help="time this many epochs of the paper's network on the first training fold")
    args = parser.parse_args()
    torch.set_num_threads(1)  # every fit on one thread, as the baselines' (a run spreads fits over workers)
    warnings.simplefilter("ignore", ConvergenceWarning)
    rg.settings.progress = False
    adata = rg.datasets.synthetic(n_obs=528, n_vars=12042, n_traits=1, kinds=["linear"], seed=0)
    x = np.asarray(adata.X, dtype=np.float64)
    y = (adata.obs["trait_0"] == "positive").to_numpy().astype(np.int64)
    folds = list(StratifiedKFold(args.folds, shuffle=True, random_state=0).split(x, y))
    print(f"528 x 12,042 synthetic, one linear trait; {args.folds} outer folds; fits on one thread")

    net_times, net_aucs = [], []
    cfg = NetworkConfig.from_dict({k: v for k, v in PRESETS["default"].items()
                                   if k in NetworkConfig.__dataclass_fields__} | {"hidden": (auto_width(475),),
                                                                                 "select_genes": 1000})
    for k, (train, test) in enumerate(folds):
        scaler = StandardScaler().fit(x[train])
        xtr, xte = scaler.transform(x[train]).astype(np.float32), scaler.transform(x[test]).astype(np.float32)
        fit_idx, val_idx = train_test_split(np.arange(len(train)), test_size=1 / 3, stratify=y[train], random_state=k)
        start = time.perf_counter()
        res = fit_network(xtr[fit_idx], y[train][fit_idx], n_classes=2, cfg=cfg, seed=k,
                          x_val=xtr[val_idx], y_val=y[train][val_idx])
        net_times.append(time.perf_counter() - start)
        net_aucs.append(res.best_val_auc)
    print(f"network (default recipe, 1,000 screened genes, one inner split): {np.mean(net_times):.1f} s per fit "
          f"(slowest {max(net_times):.1f} s); inner-validation AUC {np.mean(net_aucs):.3f}")
    paper_fit = _paper_network_fit(x, y, folds[0][0], args.paper_epochs) if args.paper_epochs else None

    variants = _variants()
    if args.today_only:
        variants = {name: {"radiogx": v["radiogx"]} for name, v in variants.items()}
    for name in args.models:
        points = _grid_points(BASELINE_GRIDS[name])
        times = {v: np.zeros((len(folds), len(points))) for v in variants[name]}
        aucs = {v: np.zeros((len(folds), len(points))) for v in variants[name]}
        for k, (train, test) in enumerate(folds):
            scaler = StandardScaler().fit(x[train])
            xtr, xte = scaler.transform(x[train]), scaler.transform(x[test])
            for j, params in enumerate(points):
                for label, make in variants[name].items():  # interleaved, so that machine noise hits both alike
                    est = make(k, **params)
                    start = time.perf_counter()
                    est.fit(xtr, y[train])
                    times[label][k, j] = time.perf_counter() - start
                    aucs[label][k, j] = roc_auc_score(y[test], est.predict_proba(xte)[:, 1])
            print(f"  {name} fold {k}: " + ", ".join(f"{v} {times[v][k].sum():.0f} s" for v in variants[name]),
                  flush=True)
        print(f"\n{name}: {len(points)} grid points x {len(folds)} folds")
        print(f"{'variant':>22} {'s/fit':>7} {'slowest':>8} {'mean AUC':>9} {'best AUC/fold':>14}")
        for label in variants[name]:
            print(f"{label:>22} {times[label].mean():>7.2f} {times[label].max():>8.2f} {aucs[label].mean():>9.3f} "
                  f"{aucs[label].max(axis=1).mean():>14.3f}")
        new = "radiogx"
        if len(variants[name]) == 2:
            old = next(v for v in variants[name] if v != new)
            diff = aucs[new] - aucs[old]
            print(f"time ratio {old} / {new}: {times[old].sum() / times[new].sum():.1f}x; AUC difference (new - old) "
                  f"mean {diff.mean():+.4f}, range [{diff.min():+.4f}, {diff.max():+.4f}] over fold x grid point")
        print(f"{name}'s slowest fit vs the default network's mean fit: {times[new].max() / np.mean(net_times):.2f}"
              + (f"; vs the least a paper-recipe fit takes: {times[new].max() / paper_fit:.3f}" if paper_fit else ""))


def _paper_network_fit(x: np.ndarray, y: np.ndarray, train: np.ndarray, epochs: int) -> float:
    """Seconds per epoch of the paper's network on one training fold, and the least one early-stopped fit takes.

    Early stopping ends a fit ``patience`` epochs after its best epoch, so a fit runs at least ``patience + 1``
    epochs; the inner split that monitors it is a fifth of the training fold (``rg.tl.train``'s ``inner_fraction``), so
    the network trains on the other four fifths. Returns that least fit, in seconds.
    """
    recipe = PRESETS["paper"]
    cfg = NetworkConfig.from_dict({k: v for k, v in recipe.items() if k in NetworkConfig.__dataclass_fields__}
                                  | {"epochs": epochs})
    fit_idx, _ = train_test_split(train, test_size=0.2, stratify=y[train], random_state=0)
    xtr = StandardScaler().fit_transform(x[fit_idx]).astype(np.float32)
    start = time.perf_counter()
    fit_network(xtr, y[fit_idx], n_classes=2, cfg=cfg, seed=0)  # no validation set: exactly `epochs` epochs
    per_epoch = (time.perf_counter() - start) / epochs
    least = per_epoch * (recipe["patience"] + 1)
    print(f"paper's network ({'-'.join(map(str, recipe['hidden']))} on {x.shape[1]:,} genes, {recipe['optimizer']}, "
          f"batch {recipe['batch_size']}, {len(fit_idx)} patients): {per_epoch:.1f} s per epoch over {epochs} "
          f"epochs; an early-stopped fit runs at least {recipe['patience'] + 1} epochs, so at least {least:.0f} s",
          flush=True)
    return least


if __name__ == "__main__":
    main()
