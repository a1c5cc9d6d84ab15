"""How often two training runs of one recipe look "different": the out-of-fold bootstrap conditional on one run
against the bootstrap over runs (``rg.tl.bootstrap(..., repeats=)``).

Trains the Verhaak subtype network (173 x 840; ``--recipe review``: hidden (64, 32), dropout 0.4, 5 folds;
``--recipe default``: rg.tl.train's defaults, 5 folds) with ``--seeds`` seeds (each seed also draws its own fold
split). For every pair of runs (i, j), run j stands in as a "baseline" of the network's own recipe:

- one run: the paired bootstrap interval of AUC(i) - AUC(j), conditional on run i (radiogx 0.7's only interval);
- over runs: the network's draws also pick one of the other runs (every run but j), as ``repeats=`` does.

A pair is "different" when the 95% interval of the difference excludes 0. Goal: at most 5% of pairs over runs.

    python benchmarks/seed_variance.py [--seeds 10] [--n-boot 2000] [--recipe review|default]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import pandas as pd

import radiogx as rg
from radiogx.tl._bootstrap import _difference_table, _oof_bootstrap

RECIPES = {"review": {"hidden": (64, 32), "dropout": 0.4, "epochs": 60, "cv": 5},  # the statistics review's
           "default": {"cv": 5}}  # rg.tl.train's defaults (the demo's recipe)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--recipe", choices=list(RECIPES), default="review")
    args = parser.parse_args()
    rg.settings.progress = False
    rg.settings.verbosity = 0
    t0 = time.perf_counter()
    adata = rg.datasets.verhaak2010()
    runs = []
    for s in range(args.seeds):
        rg.tl.train(adata, "subtype", seed=s, key_added=f"seed{s}", **RECIPES[args.recipe])
        oof = adata.uns[f"seed{s}"]["subtype"]["oof"].loc[adata.obs_names]
        runs.append(oof[[f"p_{k}" for k in range(4)]].to_numpy(dtype=np.float64))
    classes = list(adata.uns["seed0"]["subtype"]["classes"])
    y = pd.Categorical(adata.obs["subtype"].astype(str), categories=classes).codes.astype(np.int64)
    folds = np.zeros(len(y), dtype=np.int64)
    t_train = time.perf_counter() - t0
    rows = []
    for i, j in itertools.combinations(range(args.seeds), 2):
        others = [runs[k] for k in range(args.seeds) if k not in (i, j)]
        for label, extra in (("one run", None), ("over runs", others)):
            names, values, est, jack = _oof_bootstrap(y, {"network": runs[i], "other": runs[j]}, 4, folds,
                                                      statistic="pooled", n_boot=args.n_boot, seed=1000 * i + j,
                                                      interval="percentile", network_runs=extra)
            d = _difference_table(values, est, jack, names, ci=0.95, interval="percentile", margin=0.0, ceiling=None)
            r = d.iloc[0]
            rows.append({"scheme": label, "i": i, "j": j, "estimate": r["estimate"], "ci_lower": r["ci_lower"],
                         "ci_upper": r["ci_upper"], "different": bool(r["ci_lower"] > 0 or r["ci_upper"] < 0)})
    table = pd.DataFrame(rows)
    from radiogx.nn._fit import score_auc

    aucs = [score_auc(y, r, 4) for r in runs]
    print(f"{args.seeds} runs of the {args.recipe} recipe ({t_train:.0f} s of training): pooled out-of-fold AUC "
          f"{min(aucs):.4f}-{max(aucs):.4f} (sd {np.std(aucs, ddof=1):.4f})")
    for scheme, g in table.groupby("scheme", sort=False):
        print(f"  {scheme}: {int(g['different'].sum())} of {len(g)} pairs 'different' "
              f"({g['different'].mean():.1%}); median interval width {(g['ci_upper'] - g['ci_lower']).median():.4f}")
    over = table[table["scheme"] == "over runs"]["different"].mean()
    print(f"goal: at most 5% of pairs over runs: {'met' if over <= 0.05 else 'NOT met'} "
          f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
