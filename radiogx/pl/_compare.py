"""Model comparison: cross-validated AUC per model, with bootstrap intervals when available."""

from __future__ import annotations

import numpy as np
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..get import bootstrap_df, compare_df, record
from ._utils import finish, new_axes

__all__ = ["compare"]


def compare(adata: AnnData, trait: str, *, key: str | None = None, compare_key: str | None = None,
            bootstrap_key: str | None = None, ax: Axes | None = None, show: bool | None = None, return_fig: bool = False) -> Axes | Figure | np.ndarray | None:
    """ROC-AUC (R^2 for a continuous trait) of the network and each baseline on the same folds, each interval drawn
    around its own estimate.

    With :func:`radiogx.tl.bootstrap` results, each model's point is the bootstrap's estimate (its statistic on all
    patients for ``method="oof"``, the bootstrap mean for ``method="refit"``) with its interval; without, the mean over
    folds +/- the sd over folds. The x-axis label says which. Does not modify ``adata``.

    Returns
    -------
    The axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    table = compare_df(adata, trait=trait, key=key, compare_key=compare_key, bootstrap_key=bootstrap_key)
    boot, params = None, None
    boots = record(adata, "bootstrap", bootstrap_key, missing_ok=True)
    if boots is not None and trait in boots.traits:
        boot = bootstrap_df(adata, trait=trait, key=boots.key).set_index("model")
        params = boots.params_of(trait)
    metric = str(table["metric"].iloc[0])
    fig, ax = new_axes(ax, figsize=(5, 0.45 * len(table) + 1.2))
    ypos = np.arange(len(table))[::-1]
    labels = set()
    for y, (_, row) in zip(ypos, table.iterrows()):
        if boot is not None and row["model"] in boot.index:
            b = boot.loc[row["model"]]
            point = b["estimate"] if np.isfinite(b["estimate"]) else b["mean"]
            lo, hi = b["ci_lower"], b["ci_upper"]
            if params.get("method", "refit") == "oof":
                what = "mean over folds" if params.get("statistic") == "fold_mean" else "pooled out-of-fold"
                labels.add(f"{what}, {params['ci']:.0%} {params['interval']} bootstrap interval")
            else:
                labels.add(f"refit-bootstrap mean, {params['ci']:.0%} interval")
        else:
            point, sd = row[metric], row[f"{metric}_sd"]
            lo, hi = point - sd, point + sd
            labels.add("mean over folds +/- sd")
        color = "black" if row["model"] == "network" else "tab:blue"
        ax.plot([lo, hi], [y, y], color=color, lw=2, alpha=0.6)
        ax.plot(point, y, "o", color=color)
    ax.set_yticks(ypos, table["model"])
    ax.axvline(0.0 if metric == "r2" else 0.5, ls=":", color="grey", lw=1)  # chance
    name = "R$^2$ (out of fold)" if metric == "r2" else "ROC-AUC"
    ax.set(xlabel=f"{name}\n(" + "; ".join(sorted(labels)) + ")", title=f"{trait}: models on the same folds")
    return finish(fig, ax, show=show, return_fig=return_fig)
