"""Training speed of the paper-size radiogenomic network against its compute bound, measured in one run.

Network 12,042-4000-2000-1000-1 (Smedley et al. 2020) on 528 synthetic patients. For each batch size, one training
epoch of radiogx's loop (forward, loss, backward, optimizer step; timed as the difference between a run of 1 + E
epochs and a run of 1 epoch, so that building the network is not counted) is compared with the same matrix products
run as plain torch matmuls (forward: 4 products; backward: 4 weight gradients and 3 input gradients; the genes need no
gradient), which is the compute bound on this machine. Goal: ratio at most 1.5.

With ``--paper``, the paper's own recipe (tanh, Adadelta, batch 10) instead, whose epoch is bound by memory traffic,
not arithmetic: each step must read the 58 million weights (forward), write their gradients, and read the weights,
gradients and Adadelta's two running averages and write the weights and averages back (the update): 36 bytes per
weight, 2.1 GB per step. The bound is those bytes over the bandwidth of a STREAM triad (``a = b + s c`` on 256 MB
arrays) measured in the same run on the same threads. Today's step forms the weight gradients inside the update
without writing them (:meth:`radiogx.nn._blocked_optim.BlockedAdadelta.deferring`), so its own traffic is 28 bytes per
weight; the ratio to that is printed too. Printed side by side, each in a fresh process: radiogx 0.8's step (torch's
``Adadelta(foreach=True)``), the blocked step with autograd's weight gradients, and today's, on 4 KB pages, and
today's with torch's transparent huge pages (``THP_MEM_ALLOC_ENABLE=1``, an option of the user's environment), their
ratio to the bound. Goal: at most 2.

    python benchmarks/train_speed.py [--batch-sizes 32 528] [--repeats 3]
    python benchmarks/train_speed.py --paper [--repeats 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time

import numpy as np
import torch

import radiogx as rg
from radiogx.nn import _fit
from radiogx.nn._fit import NetworkConfig, fit_network
from radiogx.nn._recipes import PRESETS

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


def triad_bandwidth(repeats: int = 5, n: int = 64_000_000) -> float:
    """Bytes per second of ``a = b + s c`` on three 256 MB float32 arrays (best of ``repeats``; STREAM's triad)."""
    a, b, c = torch.zeros(n), torch.ones(n), torch.ones(n)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        torch.add(b, c, alpha=0.5, out=a)
        best = min(best, time.perf_counter() - start)
    return 3 * 4 * n / best


def _torch_adadelta(cfg, params):
    """radiogx 0.8's optimizer of the paper's recipe: torch's Adadelta, its multi-tensor step."""
    return torch.optim.Adadelta([p for p in params if p.requires_grad], lr=cfg.learning_rate or 1.0,
                                weight_decay=cfg.weight_decay, foreach=True)


def epoch_seconds(x, y, cfg: NetworkConfig, epochs: int, seed: int) -> float:
    """One epoch of ``fit_network``: a run of 1 + ``epochs`` epochs minus a run of 1 (building is not counted)."""
    one = NetworkConfig.from_dict({**cfg.as_dict(), "epochs": 1})
    more = NetworkConfig.from_dict({**cfg.as_dict(), "epochs": 1 + epochs})
    start = time.perf_counter()
    fit_network(x, y, n_classes=2, cfg=one, seed=seed)
    t_one = time.perf_counter() - start
    start = time.perf_counter()
    fit_network(x, y, n_classes=2, cfg=more, seed=seed)
    return (time.perf_counter() - start - t_one) / epochs


def _variant_epoch(variant: str, args, huge_pages: bool = False) -> float:
    """One epoch of the paper's recipe in a fresh process: ``"0.8"`` (torch's Adadelta) or ``"today"`` (blocked
    Adadelta); with ``huge_pages``, torch backs its large tensors with transparent huge pages
    (``THP_MEM_ALLOC_ENABLE=1``, read when torch starts, so each variant needs its own process)."""
    env = {**os.environ, "THP_MEM_ALLOC_ENABLE": "1" if huge_pages else "0"}
    cmd = [sys.executable, __file__, "--variant", variant, "--epochs", str(args.epochs)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def _paper_config() -> NetworkConfig:
    """The network settings of ``preset="paper"`` (the preset's search settings left out)."""
    fields = NetworkConfig.__dataclass_fields__
    return NetworkConfig.from_dict({k: v for k, v in PRESETS["paper"].items() if k in fields})


def _measure_variant(x, y, args) -> None:
    cfg = _paper_config()
    if args.variant == "0.8":
        _fit._optimizer = _torch_adadelta
    if args.variant == "blocked":  # the blocked step alone, with the weight gradients formed by autograd
        _fit.BlockedAdadelta.deferring = lambda self, module: contextlib.nullcontext()
    fit_network(x[:64], y[:64], n_classes=2, cfg=NetworkConfig.from_dict({**cfg.as_dict(), "epochs": 1}), seed=0)
    print(epoch_seconds(x, y, cfg, args.epochs, 0))


def paper(x, y, args) -> None:
    cfg = _paper_config()
    widths = [x.shape[1], *cfg.hidden, 1]
    n_weights = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
    steps = -(-len(x) // cfg.batch_size)
    print(f"paper recipe: {'-'.join(map(str, widths))} {cfg.activation}, {cfg.optimizer}, batch {cfg.batch_size}; "
          f"{n_weights / 1e6:.1f} M weights, {len(x)} patients ({steps} steps per epoch), {torch.get_num_threads()} "
          "threads")
    variants = {  # name -> (variant, huge pages)
        "radiogx 0.8 (torch Adadelta)": ("0.8", False),
        "blocked Adadelta, autograd's weight gradients": ("blocked", False),
        "today (weight gradients formed in the step)": ("today", False),
        "today, THP_MEM_ALLOC_ENABLE=1": ("today", True),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    bound = []
    for r in range(args.repeats):  # interleaved, so that machine noise hits all alike
        bandwidth = triad_bandwidth()
        bound.append(36 * n_weights * steps / bandwidth)
        for name, (variant, huge_pages) in variants.items():
            times[name].append(_variant_epoch(variant, args, huge_pages=huge_pages))
        print(f"  repeat {r}: triad {bandwidth / 1e9:.1f} GB/s, bound {bound[-1]:.2f} s; "
              + ", ".join(f"{v[0]}{' THP' if v[1] else ''} {times[n][-1]:.2f} s" for n, v in variants.items()), flush=True)
    t_bound = min(bound)
    print("| step | s/epoch | x bound (36 B/weight) | x traffic without a gradient tensor (28 B/weight) |")
    print("|---|---:|---:|---:|")
    print(f"| memory-traffic bound | {t_bound:.2f} | 1.00 | {36 / 28:.2f} |")
    for name, ts in times.items():
        print(f"| {name} | {min(ts):.2f} | {min(ts) / t_bound:.2f} | {min(ts) / (t_bound * 28 / 36):.2f} |")
    old, today = min(times["radiogx 0.8 (torch Adadelta)"]), min(times["today (weight gradients formed in the step)"])
    print(f"speed-up over 0.8: {old / today:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 528])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="E: epochs timed per measurement")
    parser.add_argument("--paper", action="store_true", help="the paper's recipe against its memory-traffic bound")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--variant", choices=["0.8", "blocked", "today"], default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rg.settings.progress = False
    adata = rg.datasets.synthetic(n_obs=528, n_vars=12042, n_traits=1, seed=0)
    x = adata.X - adata.X.mean(0)
    x /= x.std(0)
    y = (adata.obs["trait_0"] == "positive").to_numpy().astype(np.int64)
    if args.variant:
        _measure_variant(x, y, args)
        return
    if args.paper:
        paper(x, y, args)
        return
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
