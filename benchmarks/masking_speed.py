"""Gene-masking speed: radiogx's engine against the straightforward implementation, measured in one run.

Hallmark + Reactome (1,788 sets, real sizes and overlaps; each distinct symbol mapped onto one synthetic gene) on
the paper-size network (12,042-4000-2000-1000), briefly trained on 528 synthetic patients. The reference is the
straightforward float32 implementation: one dense forward pass per set with all patients batched, in torch. Its cost
does not depend on the set, so it is timed on ``--reference-sets`` random sets (default 100; ``0`` = all) and scaled
to the collection. Prints the speed ratio (goal >= 20x), the largest AUC difference (goal < 0.005), the peak memory,
and how close radiogx comes to the compute bound (its FLOPs at the matmul rate measured in this run).

    python benchmarks/masking_speed.py [--precision bf16] [--reference-sets 100]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

import radiogx as rg
from radiogx.nn._fit import NetworkConfig, fit_network, probabilities
from radiogx.nn._masking_engine import FoldedNetwork, dense_masked_logits, masked_logits
from radiogx.nn._modules import RadiogenomicNetwork
from radiogx._metrics import rows_auc

HIDDEN = (4000, 2000, 1000)


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def matmul_rate(rows: int, dtype: torch.dtype) -> float:
    """FLOP/s of the engine's dominant product shape (rows x 4000 @ 4000 x 2000) in ``dtype``."""
    a = torch.randn(rows, HIDDEN[0]).to(dtype)
    b = torch.randn(HIDDEN[0], HIDDEN[1]).to(dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(5):
        a @ b
    return 5 * 2 * rows * HIDDEN[0] * HIDDEN[1] / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="bf16")
    parser.add_argument("--reference-sets", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    rg.settings.progress = False
    adata = rg.datasets.synthetic(n_obs=528, n_vars=12042, n_traits=1, seed=0)
    x = adata.X - adata.X.mean(0)
    x /= x.std(0)
    y = (adata.obs["trait_0"] == "positive").to_numpy()

    collection = {**rg.datasets.gene_sets("hallmark"), **rg.datasets.gene_sets("reactome")}
    symbols = sorted({g for genes in collection.values() for g in genes})
    rng = np.random.default_rng(0)
    to_gene = dict(zip(symbols, rng.choice(adata.n_vars, size=len(symbols), replace=len(symbols) > adata.n_vars)))
    sets = [np.unique([to_gene[g] for g in genes]) for genes in collection.values()]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(sets)} sets (sizes {min(map(len, sets))}-"
          f"{max(map(len, sets))}, {sum(map(len, sets))} genes in all); network 12042-{'-'.join(map(str, HIDDEN))}; 528 patients")

    cfg = NetworkConfig.from_dict({"hidden": HIDDEN, "epochs": args.epochs, "batch_size": 32})
    fit = fit_network(x, y.astype(np.int64), n_classes=2, cfg=cfg, seed=0)
    net = RadiogenomicNetwork(adata.n_vars, 1, HIDDEN)
    net.load_state_dict(fit.state)
    net.eval()
    xt = torch.from_numpy(x)
    base_rss = peak_rss_gb()

    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    folded = FoldedNetwork(net, dtype=dtype)
    start = time.perf_counter()
    ours = masked_logits(folded, xt, sets)
    t_ours = time.perf_counter() - start
    rss_ours = peak_rss_gb()
    auc_ours = rows_auc(probabilities(ours.numpy().reshape(-1, 1), 2)[:, 1].reshape(len(sets), -1), y)

    chosen = np.arange(len(sets)) if args.reference_sets <= 0 else np.sort(rng.choice(len(sets), args.reference_sets, replace=False))
    start = time.perf_counter()
    ref = dense_masked_logits(net, xt, [sets[i] for i in chosen])
    t_ref = (time.perf_counter() - start) * len(sets) / len(chosen)
    auc_ref = rows_auc(probabilities(ref.numpy().reshape(-1, 1), 2)[:, 1].reshape(len(chosen), -1), y)

    flops = 2 * 528 * (sum(map(len, sets)) * HIDDEN[0] + len(sets) * (HIDDEN[0] * HIDDEN[1] + HIDDEN[1] * HIDDEN[2] + HIDDEN[2]))
    rate = matmul_rate(4096, dtype)
    print(f"radiogx ({args.precision}): {t_ours:8.1f} s   {flops / t_ours / 1e9:6.0f} GFLOP/s")
    print(f"reference (fp32 dense): {t_ref:8.1f} s   (timed on {len(chosen)} sets, scaled to {len(sets)})")
    print(f"speed-up: {t_ref / t_ours:.1f}x (goal >= 20x)")
    print(f"largest |AUC difference| on the {len(chosen)} reference sets: {np.abs(auc_ours[chosen] - auc_ref).max():.5f} (goal < 0.005)")
    print(f"peak memory: {rss_ours:.2f} GB for the process ({rss_ours - base_rss:+.2f} GB during masking)")
    print(f"compute bound: {flops / 1e12:.1f} TFLOP at the measured {args.precision} matmul rate {rate / 1e9:.0f} GFLOP/s "
          f"= {flops / rate:.1f} s; radiogx runs at {100 * (flops / rate) / t_ours:.0f}% of it")


if __name__ == "__main__":
    main()
