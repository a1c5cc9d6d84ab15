"""Out-of-fold predictions of a continuous trait against its observed values."""

from __future__ import annotations

import numpy as np
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..get import pooled_baseline_scores
from ..get import is_regression, trait_entry
from .._metrics import regression_scores
from ._utils import finish, new_axes

__all__ = ["predicted_vs_observed"]


def predicted_vs_observed(adata: AnnData, trait: str, *, key: str | None = None, compare_key: str | None = None,
                          baseline: str | None = "best", ax: Axes | None = None, show: bool | None = None,
                          return_fig: bool = False) -> Axes | Figure | np.ndarray | None:
    """Out-of-fold predicted against observed values of a continuous trait, with the pooled out-of-fold R^2.

    Every patient is predicted by the network of the fold that held it out (:func:`radiogx.tl.train`); the dotted line
    is ``predicted = observed`` and the dashed one the observed mean, the prediction of R^2 = 0. ``baseline``: a
    baseline of :func:`radiogx.tl.compare` drawn beside the network on the same patients (``"best"``: the one of
    highest pooled R^2; ``None``: none). Does not modify ``adata``.

    Returns
    -------
    The axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    record = trait_entry(adata, "model", key, trait)
    if record is None:
        raise ValueError(f"no network for {trait!r}: run rg.tl.train(adata, {trait!r}) first")
    if not is_regression(record):
        raise ValueError(f"trait {trait!r} is categorical: draw its out-of-fold predictions with rg.pl.roc")
    oof = record["oof"]
    y = oof["observed"].to_numpy(dtype=float)
    fig, ax = new_axes(ax)
    comp = trait_entry(adata, "compare", compare_key, trait)
    if comp is not None and baseline is not None:
        pooled = pooled_baseline_scores(comp)
        name = max(pooled, key=lambda m: pooled[m]) if baseline == "best" else baseline
        if name not in pooled:
            raise ValueError(f"baseline {name!r} was not compared for {trait!r}; compared: {list(pooled)}")
        pred = comp["oof"][name].reindex(oof.index).to_numpy(dtype=float)
        ax.scatter(y, pred, s=14, color="tab:blue", alpha=0.5, label=f"{name} (R$^2$ {pooled[name]:.3f})")
    r2 = regression_scores(y, oof["predicted"].to_numpy())["r2"]
    ax.scatter(y, oof["predicted"], s=16, color="black", label=f"network (R$^2$ {r2:.3f})")
    lo, hi = np.nanmin(y), np.nanmax(y)
    ax.plot([lo, hi], [lo, hi], ls=":", color="grey", lw=1)
    ax.axhline(float(np.mean(y)), ls="--", color="grey", lw=0.8)
    transform = str(record["params"].get("transform", "none"))
    scale = "" if transform == "none" else f" ({transform})"
    ax.set(xlabel=f"observed {trait}{scale}", ylabel=f"predicted {trait}{scale}, out of fold",
           title=f"{trait}: out-of-fold predictions ({len(y)} patients)")
    ax.legend(title="pooled out-of-fold R$^2$", fontsize=8, title_fontsize=8, loc="upper left")
    return finish(fig, ax, show=show, return_fig=return_fig)
