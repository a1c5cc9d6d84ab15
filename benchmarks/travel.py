"""Models that travel: the Verhaak subtype network applied to Phillips' GBMs (GEO HG-U133), side by side in one run.

Trains the subtype network on the Verhaak cohort (173 x 840, ``rg.tl.train`` defaults, ``--cv`` folds) twice, with
``input_transform="none"`` and ``"rank_normal"``, and scores both on Phillips' 76 GBMs with a GlioVis SVM call
(Classical, Mesenchymal, Proneural; balanced accuracy over those three, the model's Neural calls reassigned to the
most probable of them):

- each model with ``scale="cohort"`` (each gene standardised within Phillips) and ``scale="training"`` (each patient
  alone: predicted as a cohort of one, every patient in turn, and checked equal to the whole-cohort call);
- a class-skewed cohort: ``--skew-draws`` resamples of Phillips in which one class makes 70% (each class in turn);
- ``--drop-draws`` draws with 20% of the model's genes removed at random (set to the training mean);
- confidence: the accuracy of the 20% least confident patients against the rest, for the top probability, the fold
  networks' disagreement and the distance from the training data.

    python benchmarks/travel.py [--cv 5] [--skew-draws 10] [--drop-draws 10]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import radiogx as rg

CLASSES = ["Classical", "Mesenchymal", "Proneural"]


def balanced_accuracy(truth: np.ndarray, proba: pd.DataFrame) -> tuple[float, np.ndarray]:
    """Balanced accuracy over the three known classes (the most probable of them) and the per-patient hits."""
    pred = proba[CLASSES].to_numpy().argmax(axis=1)
    y = np.array([CLASSES.index(t) for t in truth])
    hits = pred == y
    return float(np.mean([hits[y == k].mean() for k in range(3) if (y == k).any()])), hits


def probabilities(cohort, model, scale: str) -> pd.DataFrame:
    rg.tl.predict(cohort, model=model, missing_genes="impute", scale=scale, min_coverage=0.01, key_added="travel")
    return rg.get.predictions_df(cohort, key="travel").set_index("patient")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--skew-draws", type=int, default=10)
    parser.add_argument("--drop-draws", type=int, default=10)
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args()
    rg.settings.progress = False
    rg.settings.verbosity = 0
    warnings.filterwarnings("ignore", message="Observation names are not unique")
    verhaak = rg.datasets.verhaak2010()
    phillips = rg.datasets.phillips2006()
    phillips = phillips[phillips.obs["Subtype.svm"].isin(CLASSES)].copy()
    truth = phillips.obs["Subtype.svm"].astype(str).to_numpy()
    print(f"Phillips: {phillips.n_obs} GBMs with an SVM call {pd.Series(truth).value_counts().to_dict()}")
    for transform in ("none", "rank_normal"):
        t0 = time.perf_counter()
        trained = verhaak.copy()
        model = rg.tl.train(trained, "subtype", cv=args.cv, seed=0, n_jobs=args.n_jobs, input_transform=transform)
        auc = float(trained.uns["radiogx"]["subtype"]["summary"]["roc_auc_pooled"])
        print(f"\ninput_transform={transform!r}: Verhaak nested pooled AUC {auc:.4f} "
              f"({time.perf_counter() - t0:.0f} s)")
        whole = {}
        for scale in ("cohort", "training"):
            whole[scale] = probabilities(phillips.copy(), model, scale)
            ba, _ = balanced_accuracy(truth, whole[scale])
            print(f"  scale={scale!r:11s} balanced accuracy {ba:.3f}")
        alone = pd.concat([probabilities(phillips[i:i + 1].copy(), model, "training")
                           for i in range(phillips.n_obs)])
        same = np.allclose(alone[CLASSES].to_numpy(), whole["training"].loc[alone.index, CLASSES].to_numpy(),
                           atol=1e-6, rtol=0)
        ba, hits = balanced_accuracy(truth, alone)
        print(f"  each patient alone (scale='training'): balanced accuracy {ba:.3f}; equal to the whole-cohort "
              f"call: {same}")
        rng = np.random.default_rng(0)
        for major in CLASSES:
            for scale in ("training", "cohort"):
                losses = []
                for _ in range(args.skew_draws):
                    take = np.concatenate([rng.choice(np.flatnonzero(truth == c), 42 if c == major else 9)
                                           for c in CLASSES])
                    skewed = phillips[take].copy()
                    skewed.obs_names = [f"{n}_{i}" for i, n in enumerate(skewed.obs_names)]
                    ba_skew, _ = balanced_accuracy(truth[take], probabilities(skewed, model, scale))
                    ba_ref, _ = balanced_accuracy(truth[take], whole[scale].iloc[take])
                    losses.append(ba_ref - ba_skew)
                print(f"  {major} 70% ({args.skew_draws} resamples), scale={scale!r}: balanced accuracy lost "
                      f"{np.mean(losses):.3f} (max {np.max(losses):.3f})")
        drops = []
        for d in range(args.drop_draws):
            keep = np.random.default_rng(100 + d).permutation(len(model.genes))[int(0.2 * len(model.genes)):]
            genes = [g for g in model.genes[np.sort(keep)] if g in phillips.var_names]
            reduced = phillips[:, genes].copy()
            drops.append({s: balanced_accuracy(truth, probabilities(reduced, model, s))[0]
                          for s in ("training", "cohort")})
        drops = pd.DataFrame(drops)
        print(f"  20% of the model's genes removed ({args.drop_draws} draws): balanced accuracy "
              + ", ".join(f"scale={s!r} {drops[s].mean():.3f} (min {drops[s].min():.3f})" for s in drops))
        p = whole["training"]
        signals = {"top probability": p[CLASSES].max(axis=1).to_numpy(), "fold agreement": -p["fold_sd"].to_numpy(),
                   "closeness to training": -p["ood"].to_numpy()}
        _, hits = balanced_accuracy(truth, p)
        for name, conf in signals.items():
            low = conf <= np.quantile(conf, 0.2)
            print(f"  least confident 20% by {name}: accuracy {hits[low].mean():.3f} vs the rest "
                  f"{hits[~low].mean():.3f}")


if __name__ == "__main__":
    main()
