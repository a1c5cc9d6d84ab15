"""Gene-masking p-values at the paper's size: multilevel splitting against the sequential reference and one fixed pass.

One trait of the paper-size synthetic cohort (528 x 12,042, ``rg.tl.train`` defaults, ``--folds`` outer folds),
masked with a Reactome-sized collection (Reactome's set sizes, genes drawn at random, as ``pipeline.py`` does) plus
the cohort's planted sets (the trait's module and decoys), the default null (``"both"``), bf16 as the pipeline runs
it. Three ways, side by side in one run:

- ``fixed``: one pass of ``n_null`` draws per size and null (``method="sequential", max_null=n_null``);
- ``sequential``: the sequential reference (draws doubling up to ``max(10 n_null, 80 tests)``);
- ``multilevel``: the first ``n_null`` draws, then multilevel splitting for the tests they left unresolved.

Prints each way's seconds and its ratio to the fixed pass, the calls at padj < 0.05 and where multilevel and the
sequential reference differ, and the planted sets' p-values.

    python benchmarks/masking_pvalues.py [--folds 10] [--n-null 1000] [--ways fixed,multilevel,sequential]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import radiogx as rg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-obs", type=int, default=528)
    parser.add_argument("--n-vars", type=int, default=12042)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--n-null", type=int, default=1000)
    parser.add_argument("--collection", default="reactome")
    parser.add_argument("--ways", default="fixed,multilevel,sequential")
    parser.add_argument("--n-jobs", type=int, default=2, help="training only; masking runs in one process")
    args = parser.parse_args()
    rg.settings.progress = False
    adata = rg.datasets.synthetic(n_obs=args.n_obs, n_vars=args.n_vars, n_traits=1, seed=0)
    rng = np.random.default_rng(0)
    genes = np.asarray(adata.var_names)
    collection = {f"SIZED_{i:04d}": list(rng.choice(genes, size=min(len(v), len(genes)), replace=False))
                  for i, v in enumerate(rg.datasets.gene_sets(args.collection).values())}
    planted = dict(adata.uns["synthetic"]["gene_sets"])
    collection.update(planted)
    t0 = time.perf_counter()
    rg.tl.train(adata, trait="trait_0", cv=args.folds, seed=0, n_jobs=args.n_jobs)
    print(f"{adata.n_obs} x {adata.n_vars}, {args.folds} folds, trained in {time.perf_counter() - t0:.0f} s; "
          f"{len(collection)} sets ({len(planted)} planted), n_null {args.n_null}")
    print("planted sets of the trait:", adata.uns["synthetic"]["traits"].get("trait_0", "?"))
    ways = {"fixed": dict(method="sequential", max_null=args.n_null), "sequential": dict(method="sequential"),
            "multilevel": dict(method="multilevel")}
    results, seconds = {}, {}
    for way in args.ways.split(","):
        t0 = time.perf_counter()
        rg.tl.gene_masking(adata, collection, n_null=args.n_null, precision="bf16", seed=0, key_added=way,
                           **ways[way])
        seconds[way] = time.perf_counter() - t0
        results[way] = rg.get.masking_df(adata, key=way).set_index(["gene_set", "target"])
    base = seconds.get("fixed")
    for way, df in results.items():
        methods = df["pval_method"].value_counts().to_dict()
        ratio = f" ({seconds[way] / base:.2f} x fixed)" if base else ""
        print(f"{way}: {seconds[way]:.1f} s{ratio}; called {int((df['padj'] < 0.05).sum())}; "
              f"smallest p {df['pval'].min():.3g}; draws {int(df['n_draws'].sum()):,}; {methods}")
    if "multilevel" in results and "sequential" in results:
        a, b = results["multilevel"], results["sequential"].loc[results["multilevel"].index]
        differ = (a["padj"] < 0.05) != (b["padj"] < 0.05)
        print(f"calls that differ, multilevel vs sequential: {int(differ.sum())}")
        for idx in a.index[differ]:
            print(f"  {idx}: multilevel p {a.loc[idx, 'pval']:.3g} ({a.loc[idx, 'pval_method']}, log2err "
                  f"{a.loc[idx, 'log2err']:.2f}), sequential p {b.loc[idx, 'pval']:.3g} ({b.loc[idx, 'pval_method']})")
        both = b["pval_method"].str.endswith("sequential_mc") & a["pval_method"].str.endswith(":multilevel")
        if both.any():
            ratio = np.log2(a.loc[both, "pval"] / b.loc[both, "pval"])
            print(f"tests both resolve by different routes: {int(both.sum())}; log2(multilevel / sequential) "
                  f"median {np.median(ratio):.2f}, range {ratio.min():.2f} to {ratio.max():.2f}")
    for name in planted:
        row = {way: df.loc[name].iloc[0] for way, df in results.items()}
        if min(r["pval"] for r in row.values()) > 0.05:
            continue
        print(f"{name}: " + "; ".join(f"{way} p {r['pval']:.3g} [rs {r['pval_random_sets']:.3g}, labels "
                                     f"{r['pval_labels']:.3g}] {r['pval_method']}" for way, r in row.items()))


if __name__ == "__main__":
    main()
