"""Model comparison: cross-validated AUC per model, with bootstrap intervals when available."""

from __future__ import annotations

import numpy as np
from anndata import AnnData

from ..get._model_tables import bootstrap_df, compare_df
from ._utils import finish, new_axes

__all__ = ["compare"]


def compare(adata: AnnData, trait: str, *, key: str = "radiogx", compare_key: str = "radiogx_compare",
            bootstrap_key: str = "radiogx_bootstrap", ax=None, show: bool | None = None, return_fig: bool = False):
    """Mean cross-validated ROC-AUC of the network and each baseline, with the bootstrap percentile interval of
    :func:`radiogx.tl.bootstrap` when it ran (else +/- the sd over folds). Does not modify ``adata``.

    Returns
    -------
    The axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    table = compare_df(adata, trait=trait, key=key, compare_key=compare_key)
    boot = None
    if trait in adata.uns.get(bootstrap_key, {}):
        boot = bootstrap_df(adata, trait=trait, key_added=bootstrap_key).set_index("model")
    fig, ax = new_axes(ax, figsize=(5, 0.45 * len(table) + 1.2))
    ypos = np.arange(len(table))[::-1]
    for y, (_, row) in zip(ypos, table.iterrows()):
        if boot is not None and row["model"] in boot.index:
            lo, hi = boot.loc[row["model"], ["ci_lower", "ci_upper"]]
            label = "bootstrap CI"
        else:
            lo, hi = row["roc_auc"] - row["roc_auc_sd"], row["roc_auc"] + row["roc_auc_sd"]
            label = "+/- sd over folds"
        color = "black" if row["model"] == "network" else "tab:blue"
        ax.plot([lo, hi], [y, y], color=color, lw=2, alpha=0.6)
        ax.plot(row["roc_auc"], y, "o", color=color)
    ax.set_yticks(ypos, table["model"])
    ax.axvline(0.5, ls=":", color="grey", lw=1)
    ax.set(xlabel=f"cross-validated ROC-AUC ({label})", title=f"{trait}: models on the same folds")
    return finish(fig, ax, show=show, return_fig=return_fig)
