"""Gene-saliency speed: ``rg.tl.saliency`` (batched) against the original per-patient loop and the compute bound.

Paper-size network (12,042-4000-2000-1000), 528 synthetic patients. The original computed one patient at a time
(keras-vis ``visualize_saliency`` per patient); the compute bound is the matrix products of one batched forward and
backward pass (forward: 4 products; backward to the input: 4 products) run as plain torch matmuls. Goal: at least 10x
over the loop.

    python benchmarks/saliency_speed.py [--loop-patients 528]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import radiogx as rg

HIDDEN = (4000, 2000, 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop-patients", type=int, default=528, help="patients timed in the per-patient loop (scaled)")
    args = parser.parse_args()
    rg.settings.progress = False
    rg.settings.verbosity = 1
    adata = rg.datasets.synthetic(n_obs=528, n_vars=12042, n_traits=1, seed=0)
    model = rg.tl.train(adata, "trait_0", hidden=HIDDEN, epochs=1, patience=1, cv=2, seed=0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; network 12042-{'-'.join(map(str, HIDDEN))}; 528 patients")

    rg.tl.saliency(adata[:8].copy())  # warm-up
    start = time.perf_counter()
    rg.tl.saliency(adata)
    t_ours = time.perf_counter() - start

    net = model.network(device="cpu")
    x = torch.from_numpy(model.scaled(adata))
    n = min(args.loop_patients, len(x))
    start = time.perf_counter()
    loop = np.empty((n, x.shape[1]), dtype=np.float32)
    for i in range(n):
        xi = x[i:i + 1].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(net(xi).sum(), xi)
        loop[i] = grad.abs().numpy()
    t_loop = (time.perf_counter() - start) * len(x) / n
    assert np.allclose(loop, adata.layers["saliency_trait_0"][:n], rtol=1e-4, atol=1e-6), "loop and batched disagree"

    widths = [x.shape[1], *HIDDEN, 1]
    weights = [torch.randn(a, b) * 0.01 for a, b in zip(widths[:-1], widths[1:])]
    start = time.perf_counter()
    acts = [x]
    for w in weights:
        acts.append(acts[-1] @ w)
    grad = torch.ones_like(acts[-1])
    for w in weights[::-1]:
        grad = grad @ w.T
    t_bound = time.perf_counter() - start
    flops = 2 * 2 * len(x) * sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    print(f"rg.tl.saliency (batched): {t_ours:7.2f} s")
    print(f"per-patient loop:         {t_loop:7.2f} s   (timed on {n} patients)   speed-up {t_loop / t_ours:.1f}x (goal >= 10x)")
    print(f"compute bound (matmuls of one batched forward + backward): {t_bound:.2f} s, {flops / t_bound / 1e9:.0f} GFLOP/s; "
          f"rg.tl.saliency takes {t_ours / t_bound:.2f}x the bound")


if __name__ == "__main__":
    main()
