"""Training a small network: the validation ROC-AUC scored after every epoch, by scikit-learn against radiogx's own.

``rg.tl.train`` (default recipe) on the Verhaak subtypes (173 x 840, 4 classes, ``--folds`` outer folds): every
inner network scores its validation patients' ROC-AUC after each epoch, for the record (the epoch is chosen by the
validation loss). Until this change that score was scikit-learn's ``roc_auc_score``, one call per class, whose input
checks cost about 30 ms per epoch, more than the epoch's training. radiogx now computes the same Mann-Whitney
statistic directly (:func:`radiogx._metrics.score_auc`). The two are run alternately in one process (``--repeats``
times each, one thread), and the script checks that they trained the same networks: out-of-fold probabilities and
per-fold AUCs equal.

    python benchmarks/small_network_training.py [--folds 5] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

import radiogx as rg
from radiogx.nn import _fit


def sklearn_score_auc(y, scores, n_classes):
    """radiogx's validation score before this change: scikit-learn's ROC-AUC, binary or macro one-vs-rest."""
    scores = np.asarray(scores)
    if len(np.unique(y)) < 2:
        return float("nan")
    if n_classes == 2:
        return float(roc_auc_score(y, scores.ravel()))
    return float(np.mean([roc_auc_score(y == k, scores[:, k]) for k in np.unique(y)]))


def run(adata, folds: int, scorer) -> tuple[float, dict]:
    _fit.score_auc = scorer
    a = adata.copy()
    t0 = time.perf_counter()
    rg.tl.train(a, "subtype", cv=folds, seed=0, n_jobs=1)
    seconds = time.perf_counter() - t0
    entry = a.uns["radiogx"]["subtype"]
    return seconds, {"oof": entry["oof"][[f"p_{i}" for i in range(4)]].to_numpy(),
                     "cv": entry["cv"]["roc_auc"].to_numpy()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    rg.settings.progress = False
    torch.set_num_threads(1)
    adata = rg.datasets.verhaak2010()
    ours = _fit.score_auc
    times = {"scikit-learn": [], "radiogx": []}
    results = {}
    for _ in range(args.repeats):
        for name, scorer in (("scikit-learn", sklearn_score_auc), ("radiogx", ours)):
            seconds, results[name] = run(adata, args.folds, scorer)
            times[name].append(seconds)
            print(f"{name:>12}: {seconds:6.1f} s", flush=True)
    _fit.score_auc = ours
    best = {k: min(v) for k, v in times.items()}
    same_oof = np.array_equal(results["scikit-learn"]["oof"], results["radiogx"]["oof"])
    cv_diff = float(np.max(np.abs(results["scikit-learn"]["cv"] - results["radiogx"]["cv"])))
    print(f"rg.tl.train, Verhaak subtypes, {args.folds} folds, one thread, best of {args.repeats}: scikit-learn's "
          f"AUC {best['scikit-learn']:.1f} s, radiogx's {best['radiogx']:.1f} s, "
          f"{best['scikit-learn'] / best['radiogx']:.2f}x faster; out-of-fold probabilities identical: {same_oof}; "
          f"largest difference of a fold's AUC: {cv_diff:.1e}")


if __name__ == "__main__":
    main()
