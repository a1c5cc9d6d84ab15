"""Kaplan-Meier curves with numbers at risk, and a Cox forest plot."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as ticker
import numpy as np
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..get import record
from ..get import survival_df
from ._utils import finish

__all__ = ["km", "forest"]


def km(adata: AnnData, feature: str, *, key: str | None = None, times: int = 5, ax: Axes | None = None, show: bool | None = None,
       return_fig: bool = False) -> Axes | Figure | np.ndarray | None:
    """Kaplan-Meier curves of ``feature``'s groups (with 95% bands), the log-rank p-value, and the numbers at risk
    at ``times`` evenly spaced times below the axis. Does not modify ``adata``.

    Returns
    -------
    The axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    found = record(adata, "survival", key)
    key = found.key
    table = found.get("km")
    if table is None or feature not in set(table["feature"]):
        raise ValueError(f"no Kaplan-Meier estimates for {feature!r} in adata.uns[{key!r}]: run rg.tl.survival with it "
                         "(categorical or boolean features get curves)")
    sub = table[table["feature"] == feature]
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
    fig = ax.figure
    horizon = float(sub["time"].max())
    ticks = np.linspace(0, horizon, times)
    rows = []
    for i, (group, g) in enumerate(sub.groupby("group", sort=False)):
        color = f"C{i}"
        ax.step(g["time"], g["survival"], where="post", color=color, label=f"{group} (n={int(g['at_risk'].iloc[0])})")
        ax.fill_between(g["time"], g["ci_lower"], g["ci_upper"], step="post", color=color, alpha=0.15, lw=0)
        # patients still followed at t: the number at risk at the first recorded (event or censoring) time >= t
        at_risk = [int(g.loc[g["time"] >= t, "at_risk"].iloc[0]) if (g["time"] >= t).any() else 0 for t in ticks]
        rows.append((group, at_risk, color))
    res = found["results"].set_index("feature").loc[[feature]].iloc[0]
    ax.set(xlabel=found["params"]["duration"], ylabel="survival probability", ylim=(0, 1.02), xlim=(0, horizon),
           title=f"{feature}: log-rank p = {res['logrank_pval']:.2g}")
    ax.legend(fontsize=8, loc="upper right")
    for r, (_, at_risk, color) in enumerate(rows):
        for t, n in zip(ticks, at_risk):
            ax.annotate(str(n), (t, 0), xytext=(0, -38 - 11 * r), textcoords="offset points", ha="center",
                        fontsize=7, color=color, annotation_clip=False)
    ax.annotate("at risk", (0, 0), xytext=(-40, -38), textcoords="offset points", fontsize=7, annotation_clip=False)
    return finish(fig, ax, show=show, return_fig=return_fig)


def forest(adata: AnnData, *, key: str | None = None, multivariable: bool = False, n_top: int | None = 40, ax: Axes | None = None,
           show: bool | None = None, return_fig: bool = False) -> Axes | Figure | np.ndarray | None:
    """Forest plot of the Cox hazard ratios with 95% intervals (log scale); with more than ``n_top`` terms, the
    ``n_top`` most significant (``None``: all). Does not modify ``adata``.

    Returns
    -------
    The axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    df = survival_df(adata, key=key, multivariable=multivariable)
    total = len(df)
    if n_top is not None and total > n_top:
        df = df.nsmallest(n_top, "pval").sort_index()
    labels = [f"{t}  (p={p:.2g})" if np.isfinite(p) else f"{t}  (penalized: no p)" for t, p in zip(df["term"], df["pval"])]
    if ax is None:  # wide enough for the longest term, so that the axes keep their room
        width = 3.5 + 0.06 * max(map(len, labels), default=10)
        fig, ax = plt.subplots(figsize=(width, 0.4 * len(df) + 1.3), layout="constrained")
    fig = ax.figure
    y = np.arange(len(df))[::-1]
    ax.errorbar(df["hazard_ratio"], y, xerr=[df["hazard_ratio"] - df["ci_lower"], df["ci_upper"] - df["hazard_ratio"]],
                fmt="s", color="black", ecolor="grey", capsize=3)
    ax.axvline(1, ls=":", color="grey")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_yticks(y, labels, fontsize=8)
    shown = f"\n({len(df)} most significant of {total} terms)" if len(df) < total else ""
    ax.set(xlabel="hazard ratio (95% CI)", title="Cox model" + (" (multivariable)" if multivariable else "") + shown)
    return finish(fig, ax, show=show, return_fig=return_fig)
