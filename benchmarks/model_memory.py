"""Does dropping a model free its memory? Resident memory of this process with a paper-size model (12,042 genes,
4000-2000-1000, its fold networks) held by an AnnData, then after the AnnData and the model are dropped.

Usage::

    python benchmarks/model_memory.py [--folds 5]

Prints the resident set size (RSS) at each stage and the share of the model's weights given back. radiogx <= 0.3.0
kept every model in a process-global registry for the life of the process (0 % given back).
"""

from __future__ import annotations

import argparse
import gc
import os
import weakref

import anndata as ad
import numpy as np
import torch

import radiogx as rg
from radiogx.nn._model import RadiogenomicModel, register
from radiogx.nn._modules import RadiogenomicNetwork


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--genes", type=int, default=12042)
    args = parser.parse_args()
    hidden = (4000, 2000, 1000)
    genes = [f"G{i}" for i in range(args.genes)]
    adata = ad.AnnData(np.zeros((2, args.genes), dtype=np.float32), var={"gene": genes})
    adata.var_names = genes
    base = rss_mb()

    def state():
        return {k: v.clone() for k, v in RadiogenomicNetwork(args.genes, 1, hidden).state_dict().items()}

    cfg = rg.nn.NetworkConfig.from_dict({"hidden": hidden})
    ones = np.ones(args.genes, dtype=np.float32)
    model = RadiogenomicModel(trait="t", genes=genes, classes=["a", "b"], mean=ones * 0, scale=ones, config=cfg,
                              state=state(), folds=[{"test": np.array([]), "mean": ones * 0, "scale": ones,
                                                     "state": state(), "best_epoch": 1} for _ in range(args.folds)])
    register(model, adata)
    weights = sum(t.numel() * t.element_size() for s in [model.state] + [f["state"] for f in model.cv_folds]
                  for t in s.values()) / 2**20
    held = rss_mb()
    ref = weakref.ref(model)
    del model
    gc.collect()
    still, alive_still = rss_mb(), ref() is not None
    del adata
    gc.collect()
    dropped, alive_dropped = rss_mb(), ref() is not None
    print(f"weights of the model and its {args.folds} fold networks: {weights:.0f} MB")
    print(f"RSS: before {base:.0f} MB, model held by its AnnData {held:.0f} MB, model variable dropped {still:.0f} MB "
          f"(alive: {alive_still}), AnnData dropped {dropped:.0f} MB (alive: {alive_dropped})")
    print(f"given back after the drop: {(held - dropped) / weights:.0%} of the weights' size")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
