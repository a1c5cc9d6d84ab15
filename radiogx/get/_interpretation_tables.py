"""Tidy tables of the interpretation results (gene masking, saliency)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from ._records import find_record, record

__all__ = ["masking_df", "saliency_df", "attributions_df", "set_nodes_df", "enrich_df", "associations_df",
           "stability_df", "stability_summary_df", "stability_sanity_df", "set_control_df"]


def masking_df(adata: AnnData, *, key: str | None = None, trait: str | None = None, target: str | None = None,
               sort_by: str = "loglik") -> pd.DataFrame:
    """Gene-masking scores from :func:`radiogx.tl.gene_masking`, best first within each trait and target.

    ``key``: the record's ``adata.uns`` key (``None``: ``"gene_masking"``, else the only masking record, as
    ``radiogx run`` writes ``masking_<collection>``; :func:`radiogx.get.records` lists them).

    Returns
    -------
    DataFrame with ``trait``, ``gene_set``, ``target``, ``n_genes``, ``varies`` (the masked prediction varies within
    an outer fold; radiogx >= 0.8), ``auc``, ``pr_auc``, ``loglik``, ``r2`` (a
    continuous trait's, whose AUCs are empty), ``pval``, ``padj`` (and the null's ``null_mean``, ``null_sd``, the p-values of each null ``pval_random_sets`` and
    ``pval_labels`` (``pval`` is their maximum with ``null="both"``), ``log2err``, ``n_draws`` and ``pval_method``:
    ``"<null>:sequential_mc"``; ``"<null>:multilevel"``, a multilevel-splitting estimate whose standard deviation of
    ``log2 p`` is ``log2err``; ``"<null>:mc_uncallable"`` and ``"<null>:mc_called"``, the first draws' p-value of a test
    whose Benjamini-Hochberg decision they settled, where draws stopped; or ``"<null>:mc_bound"`` and ``"<null>:multilevel_bound"``, where ``pval`` is
    only an upper bound at the resolution of the null draws).
    """
    key = find_record(adata, "masking", key)
    df = adata.uns[key]["results"].copy()
    for name, value in (("trait", trait), ("target", target)):
        if value is not None:
            if value not in set(df[name]):
                raise ValueError(f"no masking results for {name} {value!r}; available: {sorted(set(df[name]))}")
            df = df[df[name] == value]
    cols = ["trait", "gene_set", "target", "n_genes", "varies", "auc", "pr_auc", "loglik", "r2", "pval", "padj", "null_mean", "null_sd",
            "pval_random_sets", "pval_labels", "log2err", "n_draws", "pval_method"]
    # null_mean to pval_method: radiogx >= 0.2 (log2err: after 0.8.0); r2: >= 0.5; varies: >= 0.8
    cols = [c for c in cols if c in df.columns]
    return df[cols].sort_values(["trait", "target", sort_by], ascending=[True, True, False]).reset_index(drop=True)


def saliency_df(adata: AnnData, *, key: str | None = None, trait: str | None = None, n_top: int | None = None) -> pd.DataFrame:
    """Cohort-level attributions from :func:`radiogx.tl.saliency` in long form, highest first.

    ``key``: the ``key_added`` of the saliency call (``None``: ``"saliency"``, else the only saliency record).

    Returns
    -------
    DataFrame with ``trait``, ``target``, ``gene``, ``attribution`` (mean over patients), ``rank``.
    """
    store = adata.uns[find_record(adata, "saliency", key)]
    rows = []
    for t, rec in store.items():
        if trait is not None and t != trait:
            continue
        for target, col in zip(rec["targets"], rec["keys"]):
            values = adata.var[col].dropna().sort_values(ascending=False)
            if n_top is not None:
                values = values.iloc[:n_top]
            rows.append(pd.DataFrame({"trait": t, "target": str(target), "gene": values.index.astype(str),
                                      "attribution": values.to_numpy(), "rank": np.arange(1, len(values) + 1)}))
    if not rows:
        raise ValueError(f"no saliency results for trait {trait!r}; available: {list(store)}")
    return pd.concat(rows, ignore_index=True)


def attributions_df(adata: AnnData, *, key: str | None = None) -> pd.DataFrame:
    """Where each attribution of a :func:`radiogx.tl.saliency` call is: one row per trait and target, so that no
    reader (the R export's ``radiogxEnrich`` among them) decodes column names.

    Returns
    -------
    DataFrame with ``key`` (the call's ``key_added``), ``method``, ``patients`` (``"out_of_fold"``: each labelled
    patient explained by the fold network that never saw it; ``"all"``: by the final model, in sample; results of
    radiogx <= 0.8 are ``"all"``), ``trait``, ``target`` (the class attributed; a binary trait's positive class, a
    continuous trait's name), ``layer`` (the patients x genes ``.layers`` entry) and ``column`` (its cohort mean in
    ``.var``).
    """
    found = record(adata, "saliency", key)
    rows = [{"key": found.key, "method": str(rec["params"].get("method", "")),
             "patients": str(rec["params"].get("patients", "all")), "trait": t, "target": str(target),
             "layer": str(col), "column": str(col)}
            for t, rec in found.items() for target, col in zip(rec["targets"], rec["keys"])]
    return pd.DataFrame(rows, columns=["key", "method", "patients", "trait", "target", "layer", "column"])


def set_nodes_df(adata: AnnData, *, key: str | None = None, trait: str | None = None) -> pd.DataFrame:
    """The gene sets of a gene-set network ranked by their attribution (:func:`radiogx.tl.set_nodes`).

    ``key``: the ``key_added`` of the set_nodes call (``None``: ``"set_nodes"``, else the only set-node record).

    Returns
    -------
    DataFrame with ``trait``, ``target``, ``gene_set``, ``importance`` (mean absolute attribution over patients),
    ``mean`` (mean signed attribution) and ``rank`` (1: the largest importance).
    """
    store = adata.uns[find_record(adata, "set_nodes", key)]
    tables = [pd.DataFrame(rec["table"]).assign(trait=t) for t, rec in store.items() if trait is None or t == trait]
    if not tables:
        raise ValueError(f"no set-node results for trait {trait!r}; available: {list(store)}")
    out = pd.concat(tables, ignore_index=True)
    return out[["trait", "target", "gene_set", "importance", "mean", "rank"]]


def enrich_df(adata: AnnData, *, key: str | None = None) -> pd.DataFrame:
    """Enrichment results of :func:`radiogx.tl.enrich` (``key``: its ``key_added``, by default ``"enrich_<ranked key>"``;
    ``None``: the only enrichment record).

    Returns
    -------
    DataFrame with ``gene_set``, ``es``, ``nes``, ``pval``, ``padj``, ``size``, ``leading_edge`` (and ``patient`` for
    per-patient enrichment; ``n_perm`` and ``pval_method`` for radiogx's engine), most significant first.
    """
    df = adata.uns[find_record(adata, "enrichment", key)]["results"].copy()
    by = (["patient"] if "patient" in df.columns else []) + ["pval", "nes"]
    return df.sort_values(by, ascending=[True] * (len(by) - 1) + [False]).reset_index(drop=True)


def associations_df(adata: AnnData, *, key: str | None = None, label: str | None = None) -> pd.DataFrame:
    """The radiogenomic features of :func:`radiogx.tl.associations`: the boolean ``.obs`` columns it wrote, with the
    number of patients that carry each.

    ``key``: its ``key_added`` (``None``: ``"associations"``, else the only associations record).

    Returns
    -------
    DataFrame with ``label`` (the attribution the features came from), ``feature`` (the ``.obs`` column, for
    :func:`radiogx.tl.survival`'s ``features=``), ``gene_set`` and ``n_patients``, most frequent first.
    """
    store = adata.uns[find_record(adata, "associations", key)]
    if label is not None and label not in store:
        raise ValueError(f"no associations for label {label!r}; available: {list(store)}")
    frames = [pd.DataFrame(rec["counts"]).assign(label=str(name)) for name, rec in store.items()
              if label is None or name == label]
    out = pd.concat(frames, ignore_index=True)[["label", "feature", "gene_set", "n_patients"]]
    return out.sort_values(["label", "n_patients"], ascending=[True, False], kind="stable").reset_index(drop=True)


def _stability_table(adata: AnnData, key: str | None, trait: str | None, part: str) -> pd.DataFrame:
    found = record(adata, "stability", key)
    frames = [pd.DataFrame(rec[part]).assign(trait=t) for t, rec in found.items() if trait is None or t == trait]
    if not frames:
        raise ValueError(f"no stability results for trait {trait!r}; available: {list(found)}")
    out = pd.concat(frames, ignore_index=True)
    return out[["trait", *[c for c in out.columns if c != "trait"]]]


def stability_df(adata: AnnData, *, key: str | None = None, trait: str | None = None, stable_only: bool = False) -> pd.DataFrame:
    """Per gene, method and target: how a gene's attribution held over the retrainings of :func:`radiogx.tl.stability`.

    ``key``: its ``key_added`` (``None``: ``"stability"``, else the only stability record). ``stable_only``: only the
    stable genes (in the top k of at least 80% of the repeats), the list to publish.

    Returns
    -------
    DataFrame with ``trait``, ``method``, ``target``, ``gene``, ``mean`` (its score averaged over repeats), ``sd``,
    ``rel_sd`` (sd / \|mean\|), ``rank`` (of ``mean``; 1: the highest), ``mean_rank``, ``rank_lower`` and
    ``rank_upper`` (the 2.5% and 97.5% quantiles of its ranks over the repeats: the range its rank took over
    retrainings of the same data, not a confidence interval over cohorts), ``top_fraction`` (of repeats with it in
    the top k), ``sign_agreement`` (of repeats whose score has the sign of ``mean``), ``stable`` and
    ``in_consensus_top`` (among the k highest positive ``mean``: the list the sanity checks compare with), by trait,
    method, target and rank.
    """
    out = _stability_table(adata, key, trait, "genes")
    if stable_only:
        out = out[out["stable"]]
    return out.sort_values(["trait", "method", "target", "rank"], kind="stable").reset_index(drop=True)


def stability_summary_df(adata: AnnData, *, key: str | None = None, trait: str | None = None) -> pd.DataFrame:
    """Per method and target of :func:`radiogx.tl.stability`: how stable its top k are, and its sanity checks.

    Returns
    -------
    DataFrame with ``trait``, ``method``, ``target``, ``score`` (how genes were ranked), ``n_repeats``, ``top_k``,
    ``phi`` with ``phi_lower``/``phi_upper`` (Nogueira's stability of the repeats' top-k selections and its 95%
    leave-one-repeat-out jackknife interval, over retrainings on this cohort), ``jaccard`` and ``kendall_tau`` (mean over pairs of
    repeats), ``median_rel_sd`` (of the consensus top k), ``n_stable``, ``model_randomisation_rho`` (the highest,
    over the cascade's stages, of the mean Spearman correlation of the gene scores with those of networks
    re-initialised from the output layer down, over 10 re-initialisations per stage),
    ``label_randomisation_pval`` (median p of the overlap of a permuted-label network's top k with the consensus top
    k, under 999 label permutations of the genes' own class contrast, which keep their correlation; at least 0.001)
    and ``flags`` (the checks a method failed: correlation above 0.5, p below 0.01).
    """
    return _stability_table(adata, key, trait, "summary")


def stability_sanity_df(adata: AnnData, *, key: str | None = None, trait: str | None = None) -> pd.DataFrame:
    """Every figure of :func:`radiogx.tl.stability`'s sanity checks.

    Returns
    -------
    DataFrame with ``trait``, ``check`` (``"model_randomisation"`` or ``"label_randomisation"``), ``method``,
    ``target``, ``stage`` (the cascade's stage, or the permutation), ``draw`` (the re-initialisation of the stage, or
    the permutation's number), ``statistic`` (``"spearman"``: of the gene
    scores with the trained ones; ``"top_k_overlap"``: with the consensus top k), ``value`` and ``pval``
    (for the overlap: under label permutations, at least 0.001; :func:`radiogx.tl.stability`).
    """
    return _stability_table(adata, key, trait, "sanity")


def set_control_df(adata: AnnData, *, key: str | None = None) -> pd.DataFrame:
    """The gain of each gene-set network's collection over randomised collections (:func:`radiogx.tl.set_control`).

    Returns
    -------
    DataFrame with ``trait``, ``metric``, ``collection`` (the trained network's pooled out-of-fold score),
    ``randomised_mean``, ``randomised_sd``, ``gain`` and ``gain_lower``/``gain_upper`` (t interval over the draws,
    conditional on the trained network's run), ``n_draws``, ``ci``.
    """
    found = record(adata, "set_control", key)
    out = pd.concat([pd.DataFrame(rec["summary"]).assign(trait=t) for t, rec in found.items()], ignore_index=True)
    return out[["trait", *[c for c in out.columns if c != "trait"]]]
