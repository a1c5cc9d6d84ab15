"""Models that travel: the Verhaak subtype network applied to Phillips' GBMs (GEO HG-U133), side by side in one run.

Trains the subtype network on the Verhaak cohort (173 x 840, ``--cv`` folds) with each of the presets in
``--presets``: ``"default"``, ``"attribution"`` (``input_transform="none"``) and ``"travel"`` (the attribution recipe
with ``input_transform="rank_normal"``), once per training seed in ``--seeds``, and scores each on Phillips' 76 GBMs
with a GlioVis SVM call (Classical, Mesenchymal, Proneural; balanced accuracy over those three, the model's Neural
calls reassigned to the most probable of them), also split by whether GlioVis's own three classifiers (SVM, kNN,
ssGSEA) agree on the patient. Each model is
applied with ``scale="cohort"`` (each gene standardised within Phillips), ``scale="training"`` and
``scale="reference"`` (each gene standardised with Freije's GBMs, another series of the same array). For the first
seed, also:

- the last two scalings each patient alone (predicted as a cohort of one, every patient in turn, checked against
  the whole-cohort call);
- a class-skewed cohort: ``--skew-draws`` resamples of Phillips in which one class makes 70% (each class in turn):
  the balanced accuracy lost against the same patients' calls in the whole cohort;
- ``--drop-draws`` draws with 20% of the model's genes removed at random (set to the training mean); and the
  prediction record's gene-dropout curve (10-50% removed) with the genes set to the training mean or inferred
  (``missing_genes="infer"``);
- confidence: the accuracy of the 20% least confident patients (by the probability of the predicted class) against
  the rest.

    python benchmarks/travel.py [--cv 5] [--seeds 0,1,2] [--skew-draws 10] [--drop-draws 10]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import radiogx as rg

CLASSES = ["Classical", "Mesenchymal", "Proneural"]


def balanced_accuracy_of_calls(truth: np.ndarray, calls: np.ndarray) -> tuple[float, np.ndarray]:
    """Balanced accuracy of class calls over the three known classes, and the per-patient hits."""
    hits = np.asarray(calls) == np.asarray(truth)
    return float(np.mean([hits[truth == c].mean() for c in CLASSES if (truth == c).any()])), hits


def balanced_accuracy(truth: np.ndarray, proba: pd.DataFrame) -> tuple[float, np.ndarray]:
    """Balanced accuracy over the three known classes (the most probable of them) and the per-patient hits."""
    return balanced_accuracy_of_calls(truth, np.array(CLASSES)[proba[CLASSES].to_numpy().argmax(axis=1)])


def probabilities(cohort, model, mode: dict) -> pd.DataFrame:
    rg.tl.predict(cohort, model=model, missing_genes="impute", min_coverage=0.01, key_added="travel", **mode)
    return rg.get.predictions_df(cohort, key="travel").set_index("patient")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--seeds", default="0,1,2", help="training seeds, comma-separated")
    parser.add_argument("--skew-draws", type=int, default=10)
    parser.add_argument("--drop-draws", type=int, default=10)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--presets", default="default,attribution,travel", help="rg.tl.train presets, comma-separated")
    args = parser.parse_args()
    rg.settings.progress = False
    rg.settings.verbosity = 0
    warnings.filterwarnings("ignore", message="Observation names are not unique")
    verhaak = rg.datasets.verhaak2010()
    phillips = rg.datasets.phillips2006()
    phillips = phillips[phillips.obs["Subtype.svm"].isin(CLASSES)].copy()
    freije = rg.datasets.freije2004()
    freije = freije[freije.obs["Histology"].astype(str) == "GBM"].copy()
    truth = phillips.obs["Subtype.svm"].astype(str).to_numpy()
    print(f"Phillips: {phillips.n_obs} GBMs with an SVM call {pd.Series(truth).value_counts().to_dict()}; "
          f"reference: Freije's {freije.n_obs} GBMs (the same array, HG-U133A)")
    modes = {"cohort": {"scale": "cohort"}, "training": {"scale": "training"},
             "reference": {"scale": "reference", "reference": freije}}
    calls = phillips.obs[["Subtype.svm", "Subtype.knn", "Subtype.ssgsea"]].astype(str)
    agreed = (calls.nunique(axis=1) == 1).to_numpy()
    for other in ("Subtype.knn", "Subtype.ssgsea"):
        known = calls[other].isin(CLASSES).to_numpy()
        ba = balanced_accuracy_of_calls(truth[known], calls[other].to_numpy()[known])[0]
        print(f"GlioVis's {other[8:]} calls against its SVM calls: balanced accuracy {ba:.3f}")
    print(f"the three GlioVis classifiers agree on {agreed.sum()} of {len(agreed)} patients")
    seeds = [int(s) for s in args.seeds.split(",")]
    summary = []
    for preset in args.presets.split(","):
        for seed in seeds:
            summary.append(_one_model(args, verhaak, phillips, truth, agreed, modes, preset, seed,
                                      detailed=seed == seeds[0]))
    table = pd.DataFrame(summary)
    print("\nbalanced accuracy by preset and scaling over the seeds (mean, min, max):")
    print(table.groupby("preset").agg(["mean", "min", "max"]).round(3).to_string())


def _one_model(args, verhaak, phillips, truth, agreed, modes, preset, seed, detailed):
    t0 = time.perf_counter()
    trained = verhaak.copy()
    model = rg.tl.train(trained, "subtype", cv=args.cv, seed=seed, n_jobs=args.n_jobs, preset=preset)
    auc = float(trained.uns["radiogx"]["subtype"]["summary"]["roc_auc_pooled"])
    print(f"\npreset={preset!r} (input_transform={model.input_transform!r}), seed {seed}: Verhaak nested pooled AUC "
          f"{auc:.4f} ({time.perf_counter() - t0:.0f} s)")
    row = {"preset": preset, "seed": seed, "auc": auc}
    for name, mode in modes.items():
        whole = probabilities(phillips.copy(), model, mode)
        ba, hits = balanced_accuracy(truth, whole)
        row[name] = ba
        agree_ba = balanced_accuracy(truth[agreed], whole.iloc[agreed])[0]
        print(f"  scale={name!r:11s} balanced accuracy {ba:.3f}; where GlioVis's classifiers agree "
              f"{agree_ba:.3f}, where they do not: accuracy {hits[~agreed].mean():.3f}")
        if not detailed:
            continue
        if name != "cohort":  # each patient alone, in turn
            alone = pd.concat([probabilities(phillips[i:i + 1].copy(), model, mode) for i in range(phillips.n_obs)])
            same = (alone["predicted"] == whole.loc[alone.index, "predicted"]).all() and np.allclose(
                alone[CLASSES].to_numpy(), whole.loc[alone.index, CLASSES].to_numpy(), atol=1e-6, rtol=0)
            print(f"    each patient alone {balanced_accuracy(truth, alone)[0]:.3f} (the same calls and "
                  f"probabilities within 1e-6 as in the cohort: {same})")
        conf = whole[CLASSES].max(axis=1).to_numpy()
        low = conf <= np.quantile(conf, 0.2)
        print(f"    least confident 20% (top probability): accuracy {hits[low].mean():.3f} vs the rest "
              f"{hits[~low].mean():.3f}")
        rng = np.random.default_rng(0)
        losses = {}
        for major in CLASSES:
            diffs = []
            for _ in range(args.skew_draws):
                take = np.concatenate([rng.choice(np.flatnonzero(truth == c), 42 if c == major else 9)
                                       for c in CLASSES])
                skewed = phillips[take].copy()
                skewed.obs_names = [f"{n}_{i}" for i, n in enumerate(skewed.obs_names)]
                diffs.append(balanced_accuracy(truth[take], whole.iloc[take])[0]
                             - balanced_accuracy(truth[take], probabilities(skewed, model, mode))[0])
            losses[major] = np.mean(diffs)
        print(f"    a cohort 70% of one class ({args.skew_draws} resamples each): balanced accuracy lost "
              + ", ".join(f"{c} {v:.3f}" for c, v in losses.items()))
        drops = []
        for d in range(args.drop_draws):
            keep = np.random.default_rng(100 + d).permutation(len(model.genes))[int(0.2 * len(model.genes)):]
            genes = [g for g in model.genes[np.sort(keep)] if g in phillips.var_names]
            drops.append(balanced_accuracy(truth, probabilities(phillips[:, genes].copy(), model, mode))[0])
        print(f"    20% of the model's genes removed ({args.drop_draws} draws): balanced accuracy "
              f"{np.mean(drops):.3f} (min {np.min(drops):.3f})")
    if detailed:
        for how in ("impute", "infer"):  # the prediction record's own gene-dropout curve, each way of filling genes
            scored = rg.tl.predict(phillips.copy(), model=model, missing_genes=how, truth="Subtype.svm",
                                   min_coverage=0.01, copy=True, **modes["reference"])
            curve = scored.uns["predict"]["subtype"]["gene_dropout"]
            print(f"  reference, missing_genes={how!r}: balanced accuracy with a share of the genes removed "
                  + ", ".join(f"{r.share_removed:.0%} {r.balanced_accuracy:.3f}" for r in curve.itertuples()))
    return row


if __name__ == "__main__":
    main()
