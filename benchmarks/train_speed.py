"""Training speed of the paper-size radiogenomic network against its compute bound, measured in one run.

Network 12,042-4000-2000-1000-1 (Smedley et al. 2020) on 528 synthetic patients. For each batch size, one training
epoch of radiogx's loop (forward, loss, backward, optimizer step; timed as the difference between a run of 1 + E
epochs and a run of 1 epoch, so that building the network is not counted) is compared with the same matrix products
run as plain torch matmuls (forward: 4 products; backward: 4 weight gradients and 3 input gradients; the genes need no
gradient), which is the compute bound on this machine. Goal: ratio at most 1.5.

    python benchmarks/train_speed.py [--batch-sizes 32 528] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import radiogx as rg
from radiogx.nn._fit import NetworkConfig, fit_network

WIDTHS = [12042, 4000, 2000, 1000, 1]


def matmul_epoch(x: torch.Tensor, batch_size: int, weights: list[torch.Tensor]) -> float:
    """Seconds for the epoch's matrix products alone (forward, weight gradients, input gradients)."""
    start = time.perf_counter()
    for i in range(0, len(x), batch_size):
        acts = [x[i:i + batch_size]]
        for w in weights:
            acts.append(acts[-1] @ w)
        grad = torch.ones_like(acts[-1])
        for layer in range(len(weights) - 1, -1, -1):
            _ = acts[layer].T @ grad                # weight gradient
            if layer > 0:
                grad = grad @ weights[layer].T      # input gradient (none for the genes)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 528])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="E: epochs timed per measurement")
    args = parser.parse_args()
    rg.settings.progress = False
    adata = rg.datasets.synthetic(n_obs=528, n_vars=12042, n_traits=1, seed=0)
    x = adata.X - adata.X.mean(0)
    x /= x.std(0)
    y = (adata.obs["trait_0"] == "positive").to_numpy().astype(np.int64)
    xt = torch.from_numpy(x)
    weights = [torch.randn(a, b) * 0.01 for a, b in zip(WIDTHS[:-1], WIDTHS[1:])]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; network {'-'.join(map(str, WIDTHS))}, 528 patients")
    flops = sum(2 * a * b for a, b in zip(WIDTHS[:-1], WIDTHS[1:])) * 528 * 3 - 2 * WIDTHS[0] * WIDTHS[1] * 528
    print(f"{'batch':>6} {'radiogx s/epoch':>16} {'matmul s/epoch':>15} {'ratio':>6} {'matmul GFLOP/s':>15}")
    for bs in args.batch_sizes:
        one = NetworkConfig.from_dict({"hidden": WIDTHS[1:-1], "epochs": 1, "batch_size": bs})
        more = NetworkConfig.from_dict({**one.as_dict(), "epochs": 1 + args.epochs})
        fit_network(x[:64], y[:64], n_classes=2, cfg=NetworkConfig.from_dict({**one.as_dict(), "batch_size": 32}), seed=0)
        ours, bound = [], []
        for r in range(args.repeats):  # interleaved, so that machine noise hits both alike
            start = time.perf_counter()
            fit_network(x, y, n_classes=2, cfg=one, seed=r)
            t_one = time.perf_counter() - start
            start = time.perf_counter()
            fit_network(x, y, n_classes=2, cfg=more, seed=r)
            ours.append((time.perf_counter() - start - t_one) / args.epochs)
            bound.append(matmul_epoch(xt, bs, weights))
        t_ours, t_bound = min(ours), min(bound)
        print(f"{bs:>6} {t_ours:>16.2f} {t_bound:>15.2f} {t_ours / t_bound:>6.2f} {flops / t_bound / 1e9:>15.0f}")


if __name__ == "__main__":
    main()
