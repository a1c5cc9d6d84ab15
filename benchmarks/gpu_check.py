"""Device check: every torch tool of radiogx on an accelerator against the CPU, agreement and speed, in one run.

On a synthetic cohort (paper size by default: 528 patients x 12,042 genes, one trait driven by a 40-gene module),
each tool runs once with ``rg.settings.device = "cpu"`` and once with ``--device`` (default ``cuda``), timed side by
side:

- ``train``: the default recipe, nested CV; the networks differ between devices (floating-point order), so what is
  compared is the pooled out-of-fold AUC (must agree within ``--auc-tol``).
- ``gene_masking``: the same trained model (the CPU's) masked on both devices, fp32 and bf16; every set's masked AUC
  must agree within 1e-4 (fp32) and 0.01 (bf16, whose sums run in a different order on each device).
- ``saliency`` and ``integrated_gradients``: the same model; attributions must agree to a relative 1e-3 of their
  largest value.
- ``bootstrap`` (``method="refit"``, a few resamples): refits networks and baselines; compared like ``train``.

Exit status 1 if any agreement check fails. Without an accelerator, ``--device cpu`` runs the whole check on the CPU
twice (a dry run of the script, whose every comparison must then agree exactly up to thread scheduling).

    python benchmarks/gpu_check.py [--device cuda] [--n-obs 528] [--n-vars 12042] [--n-boot 4]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import radiogx as rg


def _timed(device: str, func, *args, **kwargs):
    rg.settings.device = device
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    start = time.perf_counter()
    out = func(*args, **kwargs)
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def _pooled_auc(adata, key: str) -> float:
    return float(adata.uns[key]["trait_0"]["summary"]["roc_auc_pooled"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n-obs", type=int, default=528)
    parser.add_argument("--n-vars", type=int, default=12042)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--n-boot", type=int, default=4)
    parser.add_argument("--auc-tol", type=float, default=0.03)
    args = parser.parse_args(argv)
    rg.settings.progress = False
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            print(f"--device {args.device}: torch {torch.__version__} sees no CUDA device; run with --device cpu "
                  "for a dry run", file=sys.stderr)
            return 2
        print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    adata = rg.datasets.synthetic(n_obs=args.n_obs, n_vars=args.n_vars, n_traits=1, kinds=["linear"], seed=0)
    sets = adata.uns["synthetic"]["gene_sets"]
    rows, failed = [], []

    def check(step: str, t_cpu: float, t_dev: float, measure: str, value: float, tol: float) -> None:
        ok = value <= tol
        rows.append((step, t_cpu, t_dev, measure, value, tol, ok))
        if not ok:
            failed.append(step)

    kw = {"cv": args.cv, "seed": 0, "n_jobs": 1}
    _, t_cpu = _timed("cpu", rg.tl.train, adata, "trait_0", key_added="on_cpu", **kw)
    _, t_dev = _timed(args.device, rg.tl.train, adata, "trait_0", key_added="on_device", **kw)
    check("train", t_cpu, t_dev, "|pooled AUC difference|",
          abs(_pooled_auc(adata, "on_cpu") - _pooled_auc(adata, "on_device")), args.auc_tol)

    for precision, tol in (("fp32", 1e-4), ("bf16", 0.01)):
        common = {"key": "on_cpu", "n_null": 200, "score": "auc", "precision": precision, "seed": 0}
        _, t_cpu = _timed("cpu", rg.tl.gene_masking, adata, sets, key_added=f"m_cpu_{precision}", **common)
        _, t_dev = _timed(args.device, rg.tl.gene_masking, adata, sets, key_added=f"m_dev_{precision}", **common)
        a = rg.get.masking_df(adata, key=f"m_cpu_{precision}", sort_by="auc").set_index("gene_set")["auc"]
        b = rg.get.masking_df(adata, key=f"m_dev_{precision}", sort_by="auc").set_index("gene_set")["auc"]
        check(f"gene_masking {precision} ({len(a)} sets)", t_cpu, t_dev, "max |masked AUC difference|",
              float(np.abs(a - b.loc[a.index]).max()), tol)

    for method in ("saliency", "integrated_gradients"):
        _, t_cpu = _timed("cpu", rg.tl.saliency, adata, key="on_cpu", method=method, key_added=f"s_cpu_{method}")
        _, t_dev = _timed(args.device, rg.tl.saliency, adata, key="on_cpu", method=method, key_added=f"s_dev_{method}")
        a = adata.layers[f"s_cpu_{method}_trait_0"]
        b = adata.layers[f"s_dev_{method}_trait_0"]
        used = ~np.isnan(a).all(axis=0)
        check(method, t_cpu, t_dev, "max |difference| / max |attribution|",
              float(np.abs(a[:, used] - b[:, used]).max() / np.abs(a[:, used]).max()), 1e-3)

    if args.n_boot:
        rg.tl.compare(adata, "trait_0", models=["logit_l2"], cv=args.cv, seed=0, n_jobs=1, key="on_cpu",
                      key_added="cmp")
        boot = {"method": "refit", "n_boot": args.n_boot, "seed": 0, "n_jobs": 1, "key": "on_cpu", "compare_key": "cmp"}
        _, t_cpu = _timed("cpu", rg.tl.bootstrap, adata, "trait_0", key_added="b_cpu", **boot)
        _, t_dev = _timed(args.device, rg.tl.bootstrap, adata, "trait_0", key_added="b_dev", **boot)
        a = rg.get.bootstrap_df(adata, key="b_cpu").set_index("model")["mean"]
        b = rg.get.bootstrap_df(adata, key="b_dev").set_index("model")["mean"]
        check(f"bootstrap refit ({args.n_boot} resamples)", t_cpu, t_dev, "|mean AUC difference|",
              float(np.abs(a - b.loc[a.index]).max()), args.auc_tol)

    print(f"\n{args.n_obs} x {args.n_vars} synthetic; cpu vs {args.device}")
    print(f"{'step':<36} {'cpu s':>8} {'device s':>9} {'speed-up':>9}  {'agreement':<40} {'value':>9} {'tol':>7}  ok")
    for step, t_cpu, t_dev, measure, value, tol, ok in rows:
        print(f"{step:<36} {t_cpu:>8.1f} {t_dev:>9.1f} {t_cpu / t_dev:>8.1f}x  {measure:<40} {value:>9.2e} "
              f"{tol:>7.0e}  {'yes' if ok else 'NO'}")
    if failed:
        print(f"disagreement beyond tolerance: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
