"""Figures of gene masking and gene saliency."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from anndata import AnnData

from ..get._interpretation_tables import enrich_df, masking_df, saliency_df
from ._utils import finish, new_axes

__all__ = ["masking", "saliency", "enrichment"]


def masking(adata: AnnData, *, key: str = "gene_masking", score: str = "loglik", n_top: int = 10, padj: float = 0.05,
            ax=None, show: bool | None = None, return_fig: bool = False):
    """Heatmap of gene sets x traits (and classes): each column's ``score`` as its difference from the size-matched
    null mean (``score - null_mean``; raw score when no null was drawn), the ``n_top`` best sets of each column shown,
    ``*`` where ``padj`` is below the threshold. Does not modify ``adata``.

    Returns
    -------
    The axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    df = masking_df(adata, key=key, sort_by=score)
    df["column"] = np.where(df["trait"] == df["target"], df["trait"], df["trait"] + ": " + df["target"])
    df["value"] = df[score] - df["null_mean"].fillna(0) if score == "loglik" else df[score]
    top = df.sort_values("value", ascending=False).groupby("column", sort=False).head(n_top)["gene_set"].unique()
    sub = df[df["gene_set"].isin(top)]
    grid = sub.pivot_table(index="gene_set", columns="column", values="value", aggfunc="first")
    stars = sub.pivot_table(index="gene_set", columns="column", values="padj", aggfunc="first")
    order = grid.max(axis=1).sort_values(ascending=False).index
    grid, stars = grid.loc[order], stars.loc[order]
    fig, ax = new_axes(ax, figsize=(1.2 * grid.shape[1] + 4, 0.28 * grid.shape[0] + 1.8))
    im = ax.imshow(grid.to_numpy(), aspect="auto", cmap="viridis")
    for (i, j), p in np.ndenumerate(stars.to_numpy()):
        if p < padj:
            ax.text(j, i, "*", ha="center", va="center", color="white", fontsize=11)
    ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=40, ha="right")
    ax.set_yticks(range(grid.shape[0]), [s[:45] for s in grid.index], fontsize=7)
    label = f"{score} - null mean" if score == "loglik" else score
    fig.colorbar(im, ax=ax, label=label, shrink=0.8)
    ax.set_title(f"gene masking (* padj < {padj})")
    return finish(fig, ax, show=show, return_fig=return_fig)


def saliency(adata: AnnData, trait: str, *, key_added: str = "saliency", target: str | None = None, n_top: int = 20,
             heatmap: bool = True, show: bool | None = None, return_fig: bool = False):
    """The ``n_top`` genes of highest mean attribution (bars) and, with ``heatmap=True``, the patients x genes matrix
    of their per-patient attributions (patients ordered by the trait). Does not modify ``adata``.

    Returns
    -------
    The figure's axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    table = saliency_df(adata, key_added=key_added, trait=trait, n_top=n_top)
    targets = list(dict.fromkeys(table["target"]))
    target = target or targets[0]
    if target not in targets:
        raise ValueError(f"no saliency for target {target!r} of {trait!r}; available: {targets}")
    top = table[table["target"] == target]
    rec = adata.uns[key_added][trait]
    layer = list(rec["keys"])[list(rec["targets"]).index(target)]
    ncols = 2 if heatmap else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5 * ncols + 1, 0.25 * n_top + 1.8), layout="constrained",
                             gridspec_kw={"width_ratios": [1, 2]} if heatmap else None)
    axes = np.atleast_1d(axes)
    axes[0].barh(top["gene"][::-1], top["attribution"][::-1], color="tab:blue")
    axes[0].set(xlabel="mean attribution", title=f"{trait}: {target}" if target != trait else trait)
    if heatmap:
        order = np.argsort(adata.obs[trait].astype(str).to_numpy(), kind="stable") if trait in adata.obs else np.arange(adata.n_obs)
        cols = adata.var_names.get_indexer(top["gene"])
        mat = adata.layers[layer][np.ix_(order, cols)].T
        im = axes[1].imshow(mat, aspect="auto", cmap="magma", interpolation="nearest")
        axes[1].set_yticks(range(len(cols)), top["gene"], fontsize=7)
        if trait in adata.obs:
            groups = adata.obs[trait].astype(str).to_numpy()[order]
            edges = np.flatnonzero(groups[1:] != groups[:-1]) + 1
            for e in edges:
                axes[1].axvline(e - 0.5, color="white", lw=1)
            starts = np.r_[0, edges]
            ends = np.r_[edges, len(groups)]
            axes[1].set_xticks((starts + ends - 1) / 2, [groups[a] for a in starts], fontsize=7, rotation=30, ha="right")
        axes[1].set(xlabel=f"patients (grouped by {trait})", title="per-patient attribution")
        fig.colorbar(im, ax=axes[1], shrink=0.8)
    return finish(fig, axes, show=show, return_fig=return_fig)


def enrichment(adata: AnnData, *, key: str, n_top: int = 15, padj: float = 0.05, ax=None, show: bool | None = None,
               return_fig: bool = False):
    """Dot plot of enrichment: NES of the ``n_top`` most significant sets (cohort level), or, per patient, the share
    of patients in which each set is enriched (``padj`` below the threshold, positive NES), dot size the median
    -log10 padj. Does not modify ``adata``.

    Returns
    -------
    The axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    df = enrich_df(adata, key=key)
    fig, ax = new_axes(ax, figsize=(6, 0.3 * n_top + 1.5))
    if "patient" in df.columns:
        df["hit"] = (df["padj"] < padj) & (df["nes"] > 0)
        summary = df.groupby("gene_set").agg(share=("hit", "mean"), nes=("nes", "median"),
                                             strength=("padj", lambda p: float(np.median(-np.log10(p)))))
        top = summary.sort_values("share", ascending=False).head(n_top)[::-1]
        sc = ax.scatter(top["share"], range(len(top)), s=20 + 40 * top["strength"], c=top["nes"], cmap="coolwarm")
        ax.set(xlabel=f"share of patients with padj < {padj}", title=f"{key}: per-patient enrichment")
        fig.colorbar(sc, ax=ax, label="median NES", shrink=0.8)
    else:
        top = df.head(n_top)[::-1]
        sc = ax.scatter(top["nes"], range(len(top)), s=20 + 15 * np.minimum(-np.log10(top["padj"]), 20), c=-np.log10(top["padj"]),
                        cmap="viridis")
        ax.axvline(0, ls=":", color="grey")
        ax.set(xlabel="NES", title=f"{key}: enrichment")
        fig.colorbar(sc, ax=ax, label="-log10 padj", shrink=0.8)
    ax.set_yticks(range(len(top)), [s[:45] for s in top.index] if "patient" in df.columns else [s[:45] for s in top["gene_set"]],
                  fontsize=7)
    return finish(fig, ax, show=show, return_fig=return_fig)
