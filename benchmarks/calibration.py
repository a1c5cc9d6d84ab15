"""Null calibration and power of radiogx's p-values and intervals, regenerated in one run.

Prints one table: what was run, what was measured, the goal, and whether it was met.

- Label null, two-sided: Verhaak 173 x 840 with the subtypes (and, for a continuous trait, TCGA age) permuted, the
  label null's P(p <= a) for a in 0.01, 0.05, 0.1 over single genes and hallmark sets whose masked predictions vary,
  against binomial limits; and its power on the real subtypes, permuting within outer folds against radiogx 0.7.0's
  permutations across them (same network).
- Global null on real expression: Verhaak 173 x 840 with the subtype labels permuted (a network without signal),
  out-of-fold masking of single genes (label-permutation null) and of the hallmark sets (the default, both nulls; and
  the random-set null alone, beside it): runs that call anything at padj < 0.05.
- Tail calibration: true-null random sets of sizes 5-150 masked on the real Verhaak subtype network, tested with the
  random-set null alone: the fraction with p < 1e-3 and p < 1e-2 (radiogx 0.1.0's normal-tail rule, applied to the
  same first 1,000 null draws, beside it).
- Power: each Verhaak subtype's own signature is its best masked set with padj < 0.05 (Verhaak 2010 and Phillips
  2006 cohorts); the planted sets of a synthetic cohort rank first with padj < 0.05.
- Per-patient enrichment: a planted set among 50 called in >= 19 of 20 rankings; under permuted rankings <= 5% of
  sets called.
- Bootstrap: on a synthetic cohort where the network and the L2 logit reach similar pooled out-of-fold AUCs, the
  default (out-of-fold) interval of their difference against the paper's refit scheme.

    python benchmarks/calibration.py [--permutations 20] [--label-permutations 10] [--random-sets 20000]
                                     [--refit-boots 20] [--only labels]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy.stats import binom, norm

import radiogx as rg
from radiogx.tl._gsea_engine import prerank_many
from radiogx._metrics import benjamini_hochberg

NET = {"hidden": (64, 32), "dropout": 0.4, "epochs": 60, "cv": 5}
ROWS: list[dict] = []


def row(check: str, measured: str, goal: str, ok: bool, seconds: float) -> None:
    ROWS.append({"check": check, "measured": measured, "goal": goal, "met": "yes" if ok else "NO",
                 "seconds": round(seconds, 1)})
    print(f"  {check}: {measured} (goal {goal}) [{ROWS[-1]['met']}]", flush=True)


def global_null(n_perm: int) -> None:
    t0 = time.perf_counter()
    verhaak = rg.datasets.verhaak2010()
    rng = np.random.default_rng(2024)
    runs = {("single", None): [], ("hallmark", None): [], ("hallmark", "random_sets"): []}
    for i in range(n_perm):
        adata = verhaak.copy()
        adata.obs["permuted"] = pd.Categorical(rng.permutation(adata.obs["subtype"].to_numpy()),
                                               categories=adata.obs["subtype"].cat.categories)
        rg.tl.train(adata, "permuted", seed=i, **NET)
        for collection, null in runs:
            rg.tl.gene_masking(adata, collection, null=null, seed=i, key_added="m")
            runs[collection, null].append(int((adata.uns["m"]["results"]["padj"] < 0.05).sum()))
    for (collection, null), calls in runs.items():
        hits = sum(c > 0 for c in calls)
        which = {None: "default null", "random_sets": "random-set null alone"}[null]
        row(f"global null, {collection} masking, {which} ({n_perm} permutations of the Verhaak subtypes)",
            f"{hits} of {n_perm} runs call anything (sets called per run: {calls})",
            "<= 2 runs" if null is None else "(for comparison)", hits <= 2 or null is not None,
            time.perf_counter() - t0)


#: Goals of P(p <= a) for a calibrated test (the tests of one run share its permutations: wider than binomial limits).
GOALS = {0.01: (0.004, 0.016), 0.05: (0.035, 0.065), 0.1: (0.07, 0.13)}


def _binomial_limits(a: float, n: int) -> tuple[float, float]:
    """Central 99% binomial limits of the fraction of n independent calibrated tests with p <= a."""
    return binom.ppf(0.005, n, a) / n, binom.ppf(0.995, n, a) / n


def _across_folds(label_null):
    """radiogx 0.7.0's label null: permutations across the outer folds (every patient in one group)."""
    return lambda probs, y, targets, groups, **kw: label_null(probs, y, targets, np.zeros_like(groups), **kw)


def label_null_calibration(n_perm: int) -> None:
    """Two-sided calibration of the label null under permuted labels: a class trait (Verhaak subtypes) and a
    continuous one (TCGA age at diagnosis), single genes and hallmark sets (default nulls; the label null's p-value
    read), over the tests whose masked predictions vary within an outer fold (the others have p = 1 by construction).
    The tests of one run share its permutation, so the binomial limits of independent tests are only a guide."""
    verhaak = rg.datasets.verhaak2010()
    rg.pp.add_clinical(verhaak, rg.datasets.tcga_gbm_clinical(), columns=["age"])
    rng = np.random.default_rng(2025)
    for trait, kind in (("subtype", "class trait (Verhaak subtypes)"), ("age", "continuous trait (TCGA age)")):
        t0 = time.perf_counter()
        base = verhaak[verhaak.obs[trait].notna()].copy()
        pvals = {"single": [], "hallmark": []}
        calls = {"single": [], "hallmark": []}
        for i in range(n_perm):
            adata = base.copy()
            values = rng.permutation(adata.obs[trait].to_numpy())
            adata.obs["permuted"] = (pd.Categorical(values, categories=adata.obs[trait].cat.categories)
                                     if trait == "subtype" else values.astype(float))
            rg.tl.train(adata, "permuted", seed=i, **NET, **({"task": "regression"} if trait == "age" else {}))
            for collection in pvals:  # the default nulls: labels for single genes, both for sets
                rg.tl.gene_masking(adata, collection, seed=i, key_added="m")
                res = adata.uns["m"]["results"]
                pvals[collection].append(res.loc[res["varies"], "pval_labels"].to_numpy())
                calls[collection].append(int((res["padj"] < 0.05).sum()))
        for collection, runs in pvals.items():
            p = np.concatenate(runs)
            parts, ok = [], True
            for a in (0.01, 0.05, 0.1):
                lo, hi = _binomial_limits(a, len(p))
                frac = float(np.mean(p <= a))
                ok &= GOALS[a][0] <= frac <= GOALS[a][1]
                parts.append(f"P(p <= {a:g}) = {frac:.4f} (binomial 99% limits of independent tests [{lo:.4f}, "
                             f"{hi:.4f}])")
            hits = sum(c > 0 for c in calls[collection])
            row(f"label null, {collection} masking, {kind}, {n_perm} permutations",
                f"{len(p)} tests whose masked predictions vary: " + "; ".join(parts)
                + f"; runs calling anything after BH: {hits} of {n_perm} ({calls[collection]})",
                "P(p <= a) within [0.004, 0.016], [0.035, 0.065], [0.07, 0.13]; <= 1 run calls", ok and hits <= 1,
                time.perf_counter() - t0)


def label_null_by_folds(n_runs: int = 12) -> None:
    """The label null holds the fold networks fixed, though each learned from the other folds' labels; the fewer the
    folds, the more the fold statistics share, and the more liberal the test: a permuted continuous synthetic trait
    (100 x 200, 31 sets), 3, 5 and 10 outer folds."""
    base = rg.datasets.synthetic(n_obs=100, n_vars=200, n_traits=1, kinds=["linear"], module_size=10, n_decoys=30,
                                 noise=0.5, continuous=True, seed=4)
    for cv in (3, 5, 10):
        t0 = time.perf_counter()
        rng = np.random.default_rng(0)
        p = []
        for i in range(n_runs):
            adata = base.copy()
            adata.obs["trait_0"] = rng.permutation(adata.obs["trait_0"].to_numpy())
            rg.tl.train(adata, "trait_0", hidden=(8,), epochs=40, cv=cv, inner_splits=1, select_genes="all", seed=i)
            rg.tl.gene_masking(adata, adata.uns["synthetic"]["gene_sets"], null="labels", n_null=100, seed=i)
            p.append(adata.uns["gene_masking"]["results"]["pval_labels"].to_numpy())
        p = np.concatenate(p)
        fr = {a: float(np.mean(p <= a)) for a in GOALS}
        row(f"label null by outer folds, permuted continuous synthetic trait, cv = {cv} ({n_runs} runs)",
            f"{len(p)} tests: " + "; ".join(f"P(p <= {a:g}) = {v:.3f}" for a, v in fr.items()),
            "calibrated with cv >= 5 (gene_masking warns below)",
            cv < 5 or all(GOALS[a][0] <= v <= GOALS[a][1] for a, v in fr.items() if a >= 0.05),
            time.perf_counter() - t0)


def label_null_power(subtypes) -> None:
    """The real subtypes, the same trained network masked with the label null permuting within the outer folds
    (today) and across them (radiogx 0.7.0, reproduced by swapping the permutation function)."""
    import radiogx.tl._gene_masking as gm

    t0 = time.perf_counter()
    within = {}
    for name, swap in (("within folds", None), ("across folds (0.7.0)", _across_folds)):
        adata = subtypes.copy()
        saved = gm.label_null
        if swap is not None:
            gm.label_null = swap(saved)
        try:
            rg.tl.gene_masking(adata, "single", seed=0, key_added="single")
            rg.tl.gene_masking(adata, "hallmark", null="labels", seed=0, key_added="hallmark")
        finally:
            gm.label_null = saved
        within[name] = {c: int((adata.uns[c]["results"]["padj"] < 0.05).sum()) for c in ("single", "hallmark")}
    now, before = within["within folds"], within["across folds (0.7.0)"]
    n = subtypes.n_vars * subtypes.obs["subtype"].nunique()  # single-gene tests: genes x subtypes
    row("power, label null on the real Verhaak subtypes (same network)",
        f"single genes called at padj < 0.05: {now['single']} of {n} within folds, {before['single']} across folds "
        f"({now['single'] / max(before['single'], 1):.2f}x); hallmark sets x subtypes (label null alone): "
        f"{now['hallmark']} vs {before['hallmark']}", ">= 1.8x as many single genes",
        now["single"] >= 1.8 * before["single"], time.perf_counter() - t0)


def tail_calibration(subtypes, n_sets: int) -> None:
    t0 = time.perf_counter()
    adata = subtypes.copy()
    rng = np.random.default_rng(7)
    genes = np.asarray(adata.var_names)
    sizes = rng.integers(5, 151, n_sets)
    sets = {f"R{i}": list(rng.choice(genes, k, replace=False)) for i, k in enumerate(sizes)}
    rg.tl.gene_masking(adata, sets, null="random_sets", n_null=1000, max_null=100_000, seed=1, key_added="random")
    res = adata.uns["random"]["results"]
    # radiogx 0.1.0's rule on the same first 1,000 draws: empirical where >= 10 null sets score as high, else the
    # normal tail of the null's mean and sd
    old = np.where(res["pval"] >= 11 / 1001, res["pval"],
                   norm.sf((res["loglik"] - res["null_mean"]) / res["null_sd"]))
    for a, goal in ((1e-3, 2e-3), (1e-2, 2e-2)):
        frac, frac_old = float((res["pval"] < a).mean()), float((old < a).mean())
        row(f"tail calibration, {len(res)} true-null random sets x targets (sizes 5-150)",
            f"fraction p < {a:g}: {frac:.2e} (normal tail, radiogx 0.1.0: {frac_old:.2e})", f"<= {goal:g}",
            frac <= goal, time.perf_counter() - t0)


def power(subtypes) -> None:
    t0 = time.perf_counter()
    adata = subtypes.copy()
    rg.tl.gene_masking(adata, "verhaak", seed=0)
    res = adata.uns["gene_masking"]["results"]
    wins = sum(bool((top := res[res["target"] == s].sort_values("pval", kind="stable").iloc[0])["gene_set"] == code
                    and top["padj"] < 0.05) for s, code in rg.datasets.VERHAAK_SIGNATURES.items())
    row("power, Verhaak 2010 (173 x 840)", f"own signature best with padj < 0.05 for {wins} of 4 subtypes", "4 of 4",
        wins == 4, time.perf_counter() - t0)

    t0 = time.perf_counter()
    ph = rg.datasets.phillips2006()
    ph = ph[ph.obs["Subtype.svm"].notna()].copy()
    ph.obs["subtype"] = ph.obs["Subtype.svm"].astype(str).astype("category")
    rg.tl.train(ph, "subtype", hidden=(256, 128), dropout=0.4, epochs=100, patience=15, cv=5, seed=0)
    rg.tl.gene_masking(ph, "verhaak", seed=0)
    res = ph.uns["gene_masking"]["results"]
    wins = 0
    for subtype in ("Classical", "Mesenchymal", "Proneural"):
        rows = res[res["target"] == subtype].set_index("gene_set")
        own = rg.datasets.VERHAAK_SIGNATURES[subtype]
        wins += bool(rows["loglik"].idxmax() == own and rows.loc[own, "padj"] < 0.05)
    row("power, Phillips 2006 (76 x 12,703)", f"own signature best with padj < 0.05 for {wins} of 3 subtypes",
        "3 of 3", wins == 3, time.perf_counter() - t0)

    t0 = time.perf_counter()
    syn = rg.datasets.synthetic(n_obs=300, n_vars=500, n_traits=2, kinds=["linear", "linear"], module_size=20,
                                n_decoys=15, noise=0.3, seed=0)
    for trait in ("trait_0", "trait_1"):
        rg.tl.train(syn, trait, hidden=(64, 32), activation="relu", dropout=0.3, epochs=100, patience=15, cv=5, seed=0)
    rg.tl.gene_masking(syn, syn.uns["synthetic"]["gene_sets"], seed=0)
    first = 0
    for trait, info in syn.uns["synthetic"]["traits"].items():
        table = rg.get.masking_df(syn, trait=trait)
        first += bool(table["gene_set"].iloc[0] == info["sets"][0] and table["padj"].iloc[0] < 0.05)
    row("power, planted synthetic sets (300 x 500, 2 traits, 32 sets)",
        f"planted set first with padj < 0.05 for {first} of 2 traits", "2 of 2", first == 2, time.perf_counter() - t0)


def enrichment() -> None:
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    sets = [rng.choice(2000, 30, replace=False) for _ in range(50)]
    values = rng.normal(size=(20, 2000))
    values[:, sets[0]] += 1.0
    for name, v in (("planted", values), ("permuted", np.array([rng.permutation(r) for r in values]))):
        res = prerank_many(v, sets, n_perm=1000, seed=1)
        padj = np.array([benjamini_hochberg(r) for r in res.pval])
        if name == "planted":
            n = int((padj[:, 0] < 0.05).sum())
            row("per-patient enrichment, a planted set among 50 (20 rankings)", f"called in {n} of 20",
                ">= 19 of 20", n >= 19, time.perf_counter() - t0)
        else:
            frac = float((padj < 0.05).mean())
            row("per-patient enrichment, permuted rankings (20 x 50 sets)", f"{frac:.3f} of sets called",
                "<= 0.05", frac <= 0.05, time.perf_counter() - t0)


def bootstrap(refit_boots: int) -> None:
    t0 = time.perf_counter()
    adata = rg.datasets.synthetic(n_obs=200, n_vars=1000, n_traits=1, kinds=["linear"], module_size=20,
                                  noise=0.8, seed=4)
    rg.tl.train(adata, "trait_0", hidden=(64, 32), dropout=0.3, epochs=100, patience=15, cv=5, seed=0)
    rg.tl.compare(adata, "trait_0", models=["logit_l2"])
    t1 = time.perf_counter()
    rg.tl.bootstrap(adata, "trait_0", key_added="oof")
    t_oof = time.perf_counter() - t1
    t1 = time.perf_counter()
    rg.tl.bootstrap(adata, "trait_0", method="refit", n_boot=refit_boots, key_added="refit")
    t_refit = time.perf_counter() - t1
    oof = rg.get.bootstrap_df(adata, key="oof", differences=True).iloc[0]
    refit = rg.get.bootstrap_df(adata, key="refit", differences=True).iloc[0]
    covers = oof["ci_lower"] <= 0 <= oof["ci_upper"]
    row("bootstrap, network minus L2 logit (synthetic 200 x 1,000)",
        f"pooled out-of-fold difference {oof['estimate']:+.3f}; default (oof, 2000 resamples, {t_oof:.1f} s) "
        f"[{oof['ci_lower']:+.3f}, {oof['ci_upper']:+.3f}]; refit ({refit_boots} resamples, {t_refit:.0f} s) mean "
        f"{refit['mean']:+.3f} [{refit['ci_lower']:+.3f}, {refit['ci_upper']:+.3f}]",
        "the default interval is around the estimate and covers 0 when the difference is small",
        bool(oof["ci_lower"] <= oof["estimate"] <= oof["ci_upper"]) and (covers or abs(oof["estimate"]) > 0.05),
        time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--permutations", type=int, default=20)
    parser.add_argument("--label-permutations", type=int, default=10)
    parser.add_argument("--only", choices=["labels"], default=None,
                        help="labels: only the label null's calibration and power")
    parser.add_argument("--random-sets", type=int, default=20_000)
    parser.add_argument("--refit-boots", type=int, default=20)
    args = parser.parse_args()
    rg.settings.progress = False
    rg.settings.verbosity = 0
    start = time.perf_counter()
    subtypes = rg.datasets.verhaak2010()
    rg.tl.train(subtypes, "subtype", seed=0, **NET)
    print("running the checks...")
    label_null_calibration(args.label_permutations)
    label_null_by_folds()
    label_null_power(subtypes)
    if args.only != "labels":
        global_null(args.permutations)
        tail_calibration(subtypes, args.random_sets)
        power(subtypes)
        enrichment()
        bootstrap(args.refit_boots)
    table = pd.DataFrame(ROWS)
    with pd.option_context("display.max_colwidth", 200, "display.width", 250):
        print("\n" + table.to_string(index=False))
    print(f"\n{(table['met'] == 'yes').sum()} of {len(table)} goals met in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
