"""Peak memory of single-gene masking: every gene of a paper-size model masked alone, tested against permuted labels.

On a ``results.h5ad`` that ``benchmarks/pipeline.py`` wrote (528 patients x 12,042 genes, its trained models beside
it), ``rg.tl.gene_masking(adata, "single", null="labels")`` on one trait, in this process, with its resident memory
sampled every 0.05 s. Printed: seconds, resident memory before and at the peak, the smallest p-value and the most
permutations a gene drew. A gene with a tiny p-value draws label permutations up to the cap (80 per test: 963,360
here); radiogx <= 0.6 made each round's permutations at once (n x patients labels), which peaked at +4.7 GiB on
one trait; they are now drawn and scored 4,096 at a time, with the same p-values.

    python benchmarks/masking_memory.py RESULTS.h5ad [--trait trait_0]
"""

from __future__ import annotations

import argparse
import threading
import time

import anndata as ad
import psutil

import radiogx as rg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--trait", default="trait_0")
    args = parser.parse_args()
    rg.settings.progress = False
    adata = ad.read_h5ad(args.results)
    proc, peak, stop = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            stop.wait(0.05)

    before = proc.memory_info().rss
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    rg.tl.gene_masking(adata, "single", trait=args.trait, null="labels", n_null=1000, precision="bf16", seed=0,
                       key_added="single")
    secs = time.perf_counter() - start
    stop.set()
    sampler.join()
    df = rg.get.masking_df(adata, key="single")
    print(f"{args.trait}: {len(df):,} genes masked alone in {secs:.1f} s; resident memory {before / 2**30:.2f} GiB "
          f"before, {peak[0] / 2**30:.2f} GiB at the peak (+{(peak[0] - before) / 2**30:.2f}); smallest p "
          f"{df['pval'].min():.3g}, most permutations drawn by one gene {int(df['n_draws'].max()):,}")


if __name__ == "__main__":
    main()
