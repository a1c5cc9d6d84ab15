"""The report's opening table: per trait, what a reader should take away (the verdict on the network, the stable
genes, the gene sets called, the sanity flags), read from the results by the public readers alone."""

from __future__ import annotations

import pandas as pd
from anndata import AnnData

from .. import get

__all__ = ["findings", "strength"]


def strength(metric: str, score: float) -> float:
    """How far a network is from chance on one scale: 2 (AUC - 0.5) for classes, R^2 for a continuous trait."""
    return float(score) if metric == "r2" else 2 * (float(score) - 0.5)


def _each(adata: AnnData, kind: str, reader, **kwargs) -> pd.DataFrame:
    """Every table of ``kind`` from ``reader``, concatenated; empty when there is none."""
    frames = [reader(adata, key=rec.key, **kwargs) for rec in get.each_record(adata, kind)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def findings(adata: AnnData) -> pd.DataFrame:
    """One row per trait: ``trait``, ``verdict`` (the network's, with the best model), ``stable genes`` (per method
    of every stability result, the network's and a baseline's alike: their number and the first ten of each class,
    by consensus rank), ``sets called`` (masking sets with padj < 0.05, by
    class) and ``sanity flags`` (the methods that fail a check). Traits with the strongest model first."""
    compare = get.compare_df(adata) if len(get.records(adata, "model")) else pd.DataFrame()
    stable = _each(adata, "stability", get.stability_df, stable_only=True)
    summary = _each(adata, "stability", get.stability_summary_df)
    masking = _each(adata, "masking", get.masking_df)
    rows = []
    for trait in dict.fromkeys(compare["trait"]) if len(compare) else []:
        net = compare[(compare["trait"] == trait) & (compare["model"] == "network")]
        if net.empty:
            continue
        net = net.iloc[0]
        metric = str(net["metric"])
        score = float(net[f"{metric}_pooled"])
        verdict = f"{net['network_verdict']} (network {metric} {score:.3f}; best: {net['best_model']})"
        genes, flags, sets = "", "", ""
        if len(stable):
            mine = stable[stable["trait"] == trait]
            genes = " | ".join(f"{method}: " + "; ".join(f"{t}: {len(g)} ({', '.join(g['gene'].head(10))})"
                                                         for t, g in of.groupby("target", sort=False))
                               for method, of in mine.groupby("method", sort=False))
            if genes and "chance" in str(net["network_verdict"]):  # stable, but of a network that predicts nothing
                genes = "(the network is not clearly better than chance: these genes are stable, not evidence) " + genes
        if len(summary):
            bad = summary[(summary["trait"] == trait) & (summary["flags"] != "")]
            flags = "; ".join(sorted({f"{r.method} ({r.flags})" for r in bad.itertuples()}))
        if len(masking) and "padj" in masking:
            called = masking[(masking["trait"] == trait) & (masking["padj"] < 0.05)]
            sets = "; ".join(f"{t}: {', '.join(g['gene_set'].head(5))}" + (f" (+{len(g) - 5})" if len(g) > 5 else "")
                             for t, g in called.groupby("target", sort=False))
        rows.append({"trait": trait, "score": score, "metric": metric, "verdict": verdict, "stable genes": genes,
                     "sets called": sets, "sanity flags": flags})
    out = pd.DataFrame(rows, columns=["trait", "score", "metric", "verdict", "stable genes", "sets called",
                                      "sanity flags"])
    # strongest evidence first
    order = [strength(metric, score) for metric, score in zip(out["metric"], out["score"])]
    return out.assign(_s=order).sort_values("_s", ascending=False).drop(columns=["_s", "score", "metric"]) \
        .reset_index(drop=True)
