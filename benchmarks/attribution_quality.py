"""Attributions you can publish: stability over retrainings, agreement with known biology, and the sanity checks.

Verhaak subtypes (173 x 840; the trait's network trained once with ``rg.tl.train(preset=...)``, ``--preset``
``"attribution"`` by default, ``--cv`` folds), side by side in one run:

- one ``rg.tl.train`` of the trait, timed (the unit of the cost ratio);
- ``rg.tl.stability`` with ``--repeats`` repeats, twice with independent seeds (runs A and B), each timed: per
  method and subtype, Phi of the top 100 with its 95% interval, the mean pairwise Jaccard, the median relative SD of
  the consensus top 100, the stable genes (top 100 in >= 80% of repeats) and their overlap with the subtype's own
  Verhaak signature (hypergeometric p), the Jaccard of A's and B's stable lists, and the sanity checks;
- ``--permutations`` networks trained on permuted subtypes: how often each subtype's top 100 overlap its own
  signature with p <= 0.01, by the hypergeometric p (1% if the genes were independent) and by the label-permutation
  p of ``rg.tl.stability``'s sanity check (1% for the class mean difference by construction), beside two plain
  rankers on the same permuted labels (the class mean difference of the scaled expression; an L2 logit's
  coefficient x input, ranked by the same class contrast; also over the first ``--ranker-permutations``
  labellings), which show the rate that the genes' co-expression alone gives (``--only labels`` runs this part with
  the trait's network, without the stability runs).

The baselines' genes (``--only baselines``): ``rg.tl.stability(model="logit_l1")`` and ``"logit_l2"`` on the
Verhaak subtypes, runs A and B, against one ``rg.tl.compare`` of the baseline: Phi, median relative SD, the stable
genes' own-signature overlap and the A vs B Jaccard of the stable lists.

Synthetic cohort (``--only synthetic``; 300 x 2,000, one linear trait driven by a planted 40-gene module): each
method's stable genes (top 40 in >= 80% of 5 repeats): recall of the module and precision (planted among selected).

    python benchmarks/attribution_quality.py [--repeats 5] [--cv 5] [--permutations 20] [--ranker-permutations 200]
                                             [--methods ...] [--n-jobs 2] [--preset attribution]
                                             [--only verhaak|synthetic|labels|baselines]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats

import radiogx as rg

SIGNATURES = {"Proneural": "PN", "Neural": "NL", "Classical": "CL", "Mesenchymal": "MES"}


def own_signature_p(genes: pd.Index, selected, subtype: str, signatures: dict) -> tuple[int, float]:
    own = set(signatures[SIGNATURES[subtype]]) & set(genes)
    sel = set(selected)
    k = len(sel & own)
    return k, float(stats.hypergeom.sf(k - 1, len(genes), len(own), len(sel)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--permutations", type=int, default=20)
    parser.add_argument("--ranker-permutations", type=int, default=200)
    parser.add_argument("--methods", nargs="+", default=["input_x_gradient", "saliency"])
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--preset", default="attribution", help="rg.tl.train's recipe (default: 'attribution')")
    parser.add_argument("--only", choices=["verhaak", "synthetic", "labels", "baselines"], default=None)
    args = parser.parse_args()
    rg.settings.progress = False
    rg.settings.verbosity = 1
    if args.only in (None, "synthetic"):
        synthetic(args)
    if args.only in (None, "verhaak"):
        verhaak(args)
    if args.only == "baselines":
        adata = rg.datasets.verhaak2010()
        baseline_stability(adata, args, rg.datasets.gene_sets("verhaak"))
    if args.only == "labels":
        adata = rg.datasets.verhaak2010()
        rg.tl.train(adata, "subtype", preset=args.preset, cv=args.cv, seed=0, n_jobs=args.n_jobs)
        label_randomisation(adata, args)


def synthetic(args) -> None:
    adata = rg.datasets.synthetic(n_obs=300, n_vars=2000, n_traits=1, module_size=40, n_decoys=5, seed=7)
    (planted,) = adata.uns["synthetic"]["traits"]["trait_0"]["sets"]
    module = set(adata.uns["synthetic"]["gene_sets"][planted])
    t0 = time.perf_counter()
    rg.tl.train(adata, "trait_0", preset=args.preset, cv=args.cv, seed=0, n_jobs=args.n_jobs)
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    rg.tl.stability(adata, "trait_0", methods=args.methods, n_repeats=args.repeats, top_k=len(module), seed=1,
                    n_jobs=args.n_jobs)
    took = time.perf_counter() - t0
    auc = rg.get.compare_df(adata)["roc_auc_pooled"].iloc[0]
    print(f"synthetic {adata.shape}, planted linear trait (40-gene module), network AUC {auc:.3f}, train {t_train:.0f} s, "
          f"stability {took:.0f} s ({took / t_train:.2f} x)")
    summary = rg.get.stability_summary_df(adata).set_index("method")
    genes = rg.get.stability_df(adata, stable_only=True)
    for method in args.methods:
        stable = set(genes.loc[genes["method"] == method, "gene"])
        every = rg.get.stability_df(adata)
        top = set(every.loc[(every["method"] == method) & every["in_consensus_top"], "gene"])
        hit = len(stable & module)
        row = summary.loc[method]
        print(f"  {method:18s} stable {len(stable)}: recall {hit / len(module):.2f}, precision "
              f"{hit / max(1, len(stable)):.2f}; consensus top {len(module)}: recall {len(top & module) / len(module):.2f}"
              f"; Phi {row['phi']:.2f} [{row['phi_lower']:.2f}, {row['phi_upper']:.2f}]"
              f"; model randomisation rho {row['model_randomisation_rho']:.2f}"
              + (f"; FLAGGED {row['flags']}" if row["flags"] else ""))
    # gene-set networks: the planted collection against randomised ones, on an interaction trait and a linear one
    for kind in ("interaction", "linear"):
        cohort = rg.datasets.synthetic(n_obs=300, n_vars=2000, n_traits=1, kinds=[kind], module_size=40, n_decoys=5,
                                       seed=8)
        rg.tl.train(cohort, "trait_0", preset=args.preset, architecture="gene_sets",
                    gene_sets=cohort.uns["synthetic"]["gene_sets"], cv=args.cv, seed=0, n_jobs=args.n_jobs)
        t0 = time.perf_counter()
        rg.tl.set_control(cohort, "trait_0", n_draws=5, seed=1, n_jobs=args.n_jobs)
        row = rg.get.set_control_df(cohort).iloc[0]
        nodes = rg.tl.set_nodes(cohort, trait="trait_0", copy=True)
        top = rg.get.set_nodes_df(nodes).nsmallest(2, "rank")["gene_set"].tolist()
        planted = list(cohort.uns["synthetic"]["traits"]["trait_0"]["sets"])
        if kind == "interaction":  # the planted sets among the most important set nodes, over retrainings
            hits = 0
            for s in range(args.repeats):
                again = cohort.copy()
                rg.tl.train(again, "trait_0", preset=args.preset, architecture="gene_sets",
                            gene_sets=cohort.uns["synthetic"]["gene_sets"], cv=args.cv, seed=100 + s,
                            n_jobs=args.n_jobs, key_added="again")
                rg.tl.set_nodes(again, trait="trait_0", key="again")
                hits += set(rg.get.set_nodes_df(again).nsmallest(2, "rank")["gene_set"]) == set(
                    cohort.uns["synthetic"]["traits"]["trait_0"]["sets"])
            print(f"  gene-set network, interaction trait: the two planted sets are the two most important set nodes in "
                  f"{hits} of {args.repeats} retrainings")
        print(f"  gene-set network, {kind} trait: AUC {row['collection']:.3f} with the planted collection, "
              f"{row['randomised_mean']:.3f} (sd {row['randomised_sd']:.3f}) with 5 randomised ones: gain "
              f"{row['gain']:.3f} [{row['gain_lower']:.3f}, {row['gain_upper']:.3f}] ({time.perf_counter() - t0:.0f} s); "
              f"top set nodes {top}, planted {planted}")


def verhaak(args) -> None:
    adata = rg.datasets.verhaak2010()
    signatures = rg.datasets.gene_sets("verhaak")
    t0 = time.perf_counter()
    rg.tl.train(adata, "subtype", preset=args.preset, cv=args.cv, seed=0, n_jobs=args.n_jobs)
    t_train = time.perf_counter() - t0
    print(f"Verhaak subtypes {adata.shape}, rg.tl.train(preset={args.preset!r}), {args.cv} folds: {t_train:.0f} s")
    lists = {}
    for run, seed in (("A", 1), ("B", 2)):
        t0 = time.perf_counter()
        rg.tl.stability(adata, "subtype", methods=args.methods, n_repeats=args.repeats, seed=seed,
                        n_permutations=1, n_jobs=args.n_jobs, key_added=f"stability_{run}")
        took = time.perf_counter() - t0
        summary = rg.get.stability_summary_df(adata, key=f"stability_{run}")
        genes = rg.get.stability_df(adata, key=f"stability_{run}")
        print(f"\nrun {run} (seed {seed}): {took:.0f} s = {took / t_train:.2f} x one rg.tl.train")
        for row in summary.itertuples():
            g = genes[(genes["method"] == row.method) & (genes["target"] == row.target)]
            stable = g.loc[g["stable"], "gene"]
            top = g.loc[g["in_consensus_top"], "gene"]
            k, p = own_signature_p(adata.var_names, stable, row.target, signatures)
            lists[run, row.method, row.target] = (set(stable), set(top))
            print(f"  {row.method:18s} {row.target:11s} Phi {row.phi:.2f} [{row.phi_lower:.2f}, {row.phi_upper:.2f}] "
                  f"Jaccard {row.jaccard:.2f} tau {row.kendall_tau:.2f} median rel SD {row.median_rel_sd:.2f} "
                  f"stable {len(stable)} (own signature {k}, p {p:.1e}); model randomisation rho "
                  f"{row.model_randomisation_rho:.2f}, label randomisation p {row.label_randomisation_pval:.2f}"
                  + (f"; FLAGGED {row.flags}" if row.flags else ""))
    print("\nA vs B (independent seeds):")
    for (run, method, target), (stable, top) in lists.items():
        if run != "A":
            continue
        stable_b, top_b = lists["B", method, target]
        print(f"  {method:18s} {target:11s} stable lists Jaccard {len(stable & stable_b) / max(1, len(stable | stable_b)):.2f} "
              f"consensus top-100 Jaccard {len(top & top_b) / max(1, len(top | top_b)):.2f}")
    print("\nthe best baseline's genes (rg.tl.importance, out of fold; genes ranked by the class contrast):")
    from radiogx.tl._stability_stats import cohort_scores

    t0 = time.perf_counter()
    rg.tl.compare(adata, "subtype", models=["logit_l1", "logit_l2", "gbt"], n_jobs=args.n_jobs)
    table = rg.get.compare_df(adata, trait="subtype")
    print("  " + ", ".join(f"{r.model} {r.roc_auc_pooled:.4f}" for r in table.itertuples())
          + f" (best: {table['best_model'].iloc[0]}; {time.perf_counter() - t0:.0f} s)")
    y = adata.obs["subtype"].astype(str).to_numpy()
    for model in ("logit_l1", "best"):
        rg.tl.importance(adata, "subtype", model=model, key_added=f"importance_{model}")
        rec = adata.uns[f"importance_{model}"]["subtype"]
        for target, layer in zip(rec["targets"], rec["keys"]):
            classes = list(rec["targets"])
            codes = np.array([classes.index(v) for v in y])
            scores = cohort_scores(adata.layers[layer], codes, score="contrast", target_code=classes.index(target))
            top = adata.var_names[np.argsort(-scores)[:100]]
            k, p = own_signature_p(adata.var_names, top, str(target), signatures)
            print(f"  {rec['params']['model']:9s} ({model}) {target:11s} top 100: own signature {k}, p {p:.1e}")
    baseline_stability(adata, args, signatures)
    if args.permutations:
        label_randomisation(adata, args)


def baseline_stability(adata, args, signatures) -> None:
    """``rg.tl.stability`` of the compared baselines' genes (``model=``), runs A and B with independent seeds, each
    against one ``rg.tl.compare`` of that baseline alone (the unit of its cost)."""
    print("\nstability of the baselines' genes (rg.tl.stability(model=...), sanity: 1 permuted-label refit):")
    for model in ("logit_l1", "logit_l2"):
        t0 = time.perf_counter()
        rg.tl.compare(adata, "subtype", models=[model], n_jobs=args.n_jobs, key_added=f"compare_{model}")
        unit = time.perf_counter() - t0
        lists = {}
        for run, seed in (("A", 1), ("B", 2)):
            t0 = time.perf_counter()
            rg.tl.stability(adata, "subtype", model=model, compare_key=f"compare_{model}", n_repeats=args.repeats,
                            seed=seed, n_jobs=args.n_jobs, key_added=f"stability_{model}_{run}")
            took = time.perf_counter() - t0
            summary = rg.get.stability_summary_df(adata, key=f"stability_{model}_{run}")
            genes = rg.get.stability_df(adata, key=f"stability_{model}_{run}")
            print(f"  {model} run {run} (seed {seed}): {took:.0f} s = {took / unit:.2f} x one rg.tl.compare of it")
            for row in summary.itertuples():
                g = genes[genes["target"] == row.target]
                stable = g.loc[g["stable"], "gene"]
                lists[run, row.target] = set(stable)
                k, p = own_signature_p(adata.var_names, stable, row.target, signatures)
                print(f"    {row.target:11s} Phi {row.phi:.2f} [{row.phi_lower:.2f}, {row.phi_upper:.2f}] Jaccard "
                      f"{row.jaccard:.2f} median rel SD {row.median_rel_sd:.2f} stable {len(stable)} (own "
                      f"signature {k}, p {p:.1e}); label randomisation p {row.label_randomisation_pval:.3f}"
                      + (f"; FLAGGED {row.flags}" if row.flags else ""))
        print("    A vs B stable lists Jaccard: " + ", ".join(
            f"{t} {len(lists['A', t] & lists['B', t]) / max(1, len(lists['A', t] | lists['B', t])):.2f}"
            for r, t in lists if r == "A"))


def label_randomisation(adata, args) -> None:
    """Networks trained on permuted subtypes (the trait's recorded settings) and two plain rankers on the same
    permuted labels: how often a subtype's top 100 overlap its own signature at p <= 0.01, by the hypergeometric p
    (independent genes) and by the p that ``rg.tl.stability`` reports (999 label permutations of the genes' own class
    contrast, or its absolute value for a magnitude method, which keep the genes' correlation)."""
    from sklearn.linear_model import LogisticRegression

    from radiogx._registry import attribution_methods
    from radiogx.tl._stability import _cohort, _labels, _repeat, retrain_settings
    from radiogx.tl._stability_stats import cohort_scores, overlap_pvalue, permuted_label_overlaps, top_selection

    signatures = rg.datasets.gene_sets("verhaak")
    model = rg.get.model(adata, "subtype")
    cohort = _cohort(adata, model)
    rows, y = _labels(cohort, model, "auto", "none")
    kwargs = retrain_settings(model)
    x = np.asarray(cohort.X, dtype=np.float64)[rows]
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    rankers = [*args.methods, "class mean difference", "L2 logit coef x input"]
    kind = {m: attribution_methods()[m].score if m in args.methods else "contrast" for m in rankers}
    own = {c: cohort.var_names.isin(signatures[SIGNATURES[c]]) for c in model.classes}
    null = {(s, c): permuted_label_overlaps(x, y, own[c], score=s, target_code=j, k=100, n_permutations=999, seed=j)
            for s in set(kind.values()) for j, c in enumerate(model.classes)}
    hits = {(m, c, test): 0 for m in rankers for c in model.classes for test in ("hypergeometric", "permutation")}
    t0 = time.perf_counter()
    for p in range(max(args.permutations, args.ranker_permutations)):
        permuted = cohort.copy()
        col = permuted.obs["subtype"].to_numpy(copy=True)
        col[rows] = col[rows][np.random.default_rng(p).permutation(len(rows))]
        permuted.obs["subtype"] = pd.Categorical(col)
        networks = p < args.permutations
        run = (_repeat(permuted, "subtype", kwargs, 1000 + p, args.methods, rg.settings.torch_device(None), None)
               if networks else None)
        labels = col[rows].astype(str)
        logit = LogisticRegression(C=0.1, max_iter=5000).fit(x, labels)
        for j, c in enumerate(model.classes):
            codes = (labels == c).astype(int)
            scores = {m: run["scores"][m][run["classes"].index(c)] for m in args.methods} if networks else {}
            scores["class mean difference"] = x[codes == 1].mean(axis=0) - x[codes == 0].mean(axis=0)
            coef = logit.coef_[list(logit.classes_).index(c)]
            scores["L2 logit coef x input"] = cohort_scores(x * coef, codes, score="contrast", target_code=1)
            for m, score in scores.items():
                sel = top_selection(score, 100)
                hits[m, c, "hypergeometric"] += own_signature_p(cohort.var_names, cohort.var_names[sel], c,
                                                                signatures)[1] <= 0.01
                hits[m, c, "permutation"] += overlap_pvalue(own[c], sel, null[kind[m], c])[1] <= 0.01
    print(f"\nlabel randomisation ({time.perf_counter() - t0:.0f} s): how often a subtype's top 100 overlap its own "
          f"signature with p <= 0.01, over {args.permutations} permuted labellings (networks) and the first "
          f"{args.ranker_permutations} (plain rankers): hypergeometric p | p under 999 label permutations")
    for m in rankers:
        for c in model.classes:
            total = args.permutations if m in args.methods else max(args.permutations, args.ranker_permutations)
            print(f"  {m:22s} {c:11s} {hits[m, c, 'hypergeometric']:3d} | {hits[m, c, 'permutation']:3d} of {total}")


if __name__ == "__main__":
    main()
