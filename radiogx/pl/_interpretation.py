"""Figures of gene masking and gene saliency."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..get import associations_df, enrich_df, masking_df, saliency_df, set_nodes_df, stability_df, stability_summary_df
from ..get import find_record, record
from ._utils import finish, new_axes

__all__ = ["associations", "enrichment", "masking", "running_score", "saliency", "set_nodes", "stability"]


def masking(adata: AnnData, *, key: str | None = None, score: str = "loglik", n_top: int = 10, padj: float = 0.05,
            ax: Axes | None = None, show: bool | None = None, return_fig: bool = False) -> Axes | Figure | np.ndarray | None:
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


def set_nodes(adata: AnnData, trait: str, *, key: str | None = None, target: str | None = None, n_top: int = 15,
              ax: Axes | None = None, show: bool | None = None, return_fig: bool = False) -> Axes | Figure | np.ndarray | None:
    """The ``n_top`` gene sets of a gene-set network by importance (mean absolute attribution of their nodes over
    patients, :func:`radiogx.tl.set_nodes`), the bar coloured by the sign of the mean attribution. Does not modify
    ``adata``.

    Returns
    -------
    The axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    table = set_nodes_df(adata, key=key, trait=trait)
    targets = list(dict.fromkeys(table["target"]))
    target = target or targets[0]
    if target not in targets:
        raise ValueError(f"target {target!r} has no set-node results for {trait!r}; choose from {targets}")
    top = table[table["target"] == target].nsmallest(n_top, "rank").iloc[::-1]
    fig, ax = new_axes(ax, figsize=(6.5, 0.3 * len(top) + 1.5))
    colours = np.where(top["mean"] >= 0, "#b2182b", "#2166ac")
    ax.barh([s[:45] for s in top["gene_set"]], top["importance"], color=colours)
    ax.set_xlabel("mean |gradient x activation| of the set's nodes")
    ax.set_title(f"{trait}: {target}, gene-set nodes (red: raise the logit on average, blue: lower it)", fontsize=9)
    return finish(fig, ax, show=show, return_fig=return_fig)


def saliency(adata: AnnData, trait: str, *, key: str | None = None, target: str | None = None, n_top: int = 20,
             heatmap: bool = True, show: bool | None = None, return_fig: bool = False) -> Axes | Figure | np.ndarray | None:
    """The ``n_top`` genes of highest mean attribution (bars) and, with ``heatmap=True``, the patients x genes matrix
    of their per-patient attributions (patients ordered by the trait). Does not modify ``adata``.

    Returns
    -------
    The figure's axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    key = find_record(adata, "saliency", key)
    table = saliency_df(adata, key=key, trait=trait, n_top=n_top)
    targets = list(dict.fromkeys(table["target"]))
    target = target or targets[0]
    if target not in targets:
        raise ValueError(f"no saliency for target {target!r} of {trait!r}; available: {targets}")
    top = table[table["target"] == target]
    rec = record(adata, "saliency", key).trait(trait)
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


def stability(adata: AnnData, trait: str, *, key: str | None = None, method: str | None = None,
              target: str | None = None, n_top: int = 30, ax: Axes | None = None, show: bool | None = None,
              return_fig: bool = False) -> Axes | Figure | np.ndarray | None:
    """The ``n_top`` genes of :func:`radiogx.tl.stability` by consensus rank, each with its mean rank over the
    repeats and the 2.5-97.5% range of its ranks (the line), filled where the gene is stable (top k in at least 80%
    of repeats), with the method's Phi and sanity flags in the title. Does not modify ``adata``.

    Returns
    -------
    The axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    genes = stability_df(adata, key=key, trait=trait)
    summary = stability_summary_df(adata, key=key, trait=trait)
    method = method or str(summary["method"].iloc[0])
    targets = list(dict.fromkeys(summary.loc[summary["method"] == method, "target"]))
    if not targets:
        raise ValueError(f"no stability results for method {method!r} of {trait!r}; available: "
                         f"{sorted(set(summary['method']))}")
    target = target or targets[0]
    if target not in targets:
        raise ValueError(f"no stability results for target {target!r} of {trait!r}; available: {targets}")
    row = summary[(summary["method"] == method) & (summary["target"] == target)].iloc[0]
    top = genes[(genes["method"] == method) & (genes["target"] == target)].nsmallest(n_top, "rank").iloc[::-1]
    fig, ax = new_axes(ax, figsize=(6.0, 0.24 * len(top) + 1.6))
    y = np.arange(len(top))
    ax.hlines(y, top["rank_lower"], top["rank_upper"], color="0.55", lw=1.5)
    stable = top["stable"].to_numpy(dtype=bool)
    ax.scatter(top["mean_rank"][stable], y[stable], color="tab:blue", zorder=3, label="stable")
    ax.scatter(top["mean_rank"][~stable], y[~stable], facecolor="white", edgecolor="tab:blue", zorder=3,
               label="not stable")
    ax.axvline(int(row["top_k"]) + 0.5, color="tab:red", ls=":", lw=1, label=f"top {int(row['top_k'])}")
    ax.set_yticks(y, top["gene"], fontsize=7)
    ax.set_xlabel(f"rank over {int(row['n_repeats'])} retrainings (mean; line: 2.5-97.5% of repeats)")
    flags = f"; FLAGGED: {row['flags']}" if row["flags"] else ""
    label = target if target != trait else trait
    ax.set_title(f"{trait}: {label} ({method}), Phi {row['phi']:.2f} [{row['phi_lower']:.2f}, {row['phi_upper']:.2f}]"
                 f"{flags}", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return finish(fig, ax, show=show, return_fig=return_fig)


def enrichment(adata: AnnData, *, key: str | None = None, n_top: int = 15, padj: float = 0.05, ax: Axes | None = None, show: bool | None = None,
               return_fig: bool = False) -> Axes | Figure | np.ndarray | None:
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


def running_score(adata: AnnData, *, key: str | None = None, gene_set: str | None = None, show: bool | None = None,
                  return_fig: bool = False) -> Axes | Figure | np.ndarray | None:
    """GSEA running-score plot of one set of a cohort-level enrichment (Subramanian et al. 2005, weight 1): the
    running enrichment score along the ranking, the positions of the set's genes, and the ranked attribution.
    ``gene_set``: default the most significant set. Does not modify ``adata``.

    Returns
    -------
    The figure's axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    found = record(adata, "enrichment", key)
    key = found.key
    df = enrich_df(adata, key=key)
    if "patient" in df.columns:
        raise ValueError(f"adata.uns[{key!r}] holds per-patient enrichment; the running score is drawn for a cohort ranking")
    if "gene_sets" not in found:
        raise ValueError(f"adata.uns[{key!r}] has no gene_sets table (made by an older radiogx); run rg.tl.enrich again")
    gene_set = gene_set or str(df["gene_set"].iloc[0])
    sets = found["gene_sets"].set_index("gene_set")["genes"]
    if gene_set not in sets.index:
        raise ValueError(f"no gene set {gene_set!r} in adata.uns[{key!r}]; tested sets: {list(sets.index)[:10]}...")
    ranking = adata.var[found.params["key"]].dropna()
    ranking = ranking[ranking != 0].sort_values(ascending=False, kind="stable")  # as rg.tl.enrich ranked it
    hit = ranking.index.isin(str(sets[gene_set]).split(";"))
    weights = np.abs(ranking.to_numpy()) * hit
    step_hit = weights / weights.sum()
    step_miss = (~hit) / (~hit).sum()
    running = np.cumsum(step_hit - step_miss)
    row = df.set_index("gene_set").loc[gene_set]
    fig, axes = plt.subplots(3, 1, figsize=(6, 4.6), sharex=True, layout="constrained",
                             gridspec_kw={"height_ratios": [3, 0.6, 1.4]})
    axes[0].plot(running, color="tab:green", lw=1.5)
    axes[0].axhline(0, color="grey", lw=0.8)
    axes[0].set(ylabel="running ES", title=f"{gene_set[:50]}: NES {row['nes']:.2f}, padj {row['padj']:.2g}")
    axes[1].vlines(np.flatnonzero(hit), 0, 1, color="black", lw=0.6)
    axes[1].set(yticks=[], ylabel="hits")
    axes[2].fill_between(np.arange(len(ranking)), ranking.to_numpy(), color="grey", step="mid")
    axes[2].set(xlabel=f"genes ranked by {found.params['key']}", ylabel="attribution")
    return finish(fig, axes, show=show, return_fig=return_fig)


def associations(adata: AnnData, *, key: str | None = None, n_top: int = 25, ax: Axes | None = None, show: bool | None = None,
                 return_fig: bool = False) -> Axes | Figure | np.ndarray | None:
    """Number of patients carrying each radiogenomic feature of :func:`radiogx.tl.associations` (the ``n_top``
    most frequent), coloured by the attribution they came from. Does not modify ``adata``.

    Returns
    -------
    The axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    counts = associations_df(adata, key=key).sort_values("n_patients", ascending=False).head(n_top)[::-1]
    fig, ax = new_axes(ax, figsize=(6.5, 0.28 * max(len(counts), 3) + 1.5))
    labels = list(dict.fromkeys(counts["label"][::-1]))
    colors = {lb: f"C{i % 10}" for i, lb in enumerate(labels)}
    ax.barh(range(len(counts)), counts["n_patients"], color=[colors[lb] for lb in counts["label"]])
    ax.set_yticks(range(len(counts)), [g[:45] for g in counts["gene_set"]], fontsize=7)
    for lb in labels:
        ax.bar(0, 0, color=colors[lb], label=lb)
    if labels:
        ax.legend(fontsize=7, loc="lower right", title="attribution", title_fontsize=7)
    ax.set(xlabel=f"patients with the feature (of {adata.n_obs})", title="radiogenomic associations")
    return finish(fig, ax, show=show, return_fig=return_fig)
