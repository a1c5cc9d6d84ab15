"""Pre-ranked gene-set enrichment of attributions, at cohort level and per patient (Subramanian et al. 2005; Smedley, El-Saden & Hsu 2020)."""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from tqdm.auto import tqdm

from .._docs import doc_params
from .. import __version__
from .._logging import log_added, logger
from .._settings import settings
from .._validation import check_adata
from ._gene_sets import GeneSets, MatchedSets, match_gene_sets, resolve_collection
from ._gsea_engine import prerank_many
from ._record import write_record
from .._metrics import benjamini_hochberg

__all__ = ["enrich", "NoTestableSets"]


class NoTestableSets(ValueError):
    """No gene set of the collection can be tested on this ranking (``radiogx run`` skips that attribution)."""


def _ranking_report(values: np.ndarray, what: str) -> tuple[bool, int]:
    one_sided = bool(np.nanmin(values) >= 0)
    flat = values[np.isfinite(values)]
    n_ties = int(len(flat) - len(np.unique(flat))) if values.ndim == 1 else int(
        np.mean([np.isfinite(r).sum() - len(np.unique(r[np.isfinite(r)])) for r in values]))
    if one_sided:
        logger.info(f"enrich: {what} has no negative value (e.g. absolute saliency): testing the positive tail only")
    if n_ties:
        logger.info(f"enrich: {what} has {n_ties} tied values{' per ranking (mean)' if values.ndim > 1 else ''}; ties keep "
                    "the genes' order in adata.var")
    return one_sided, n_ties


def _untied(ranking: pd.Series) -> pd.Series:
    """Ties broken by gene order: gseapy's Rust sort panics ("does not correctly implement a total order") on long runs
    of equal values, such as the exact zeros that a network whose first layer screens genes gives the genes it never
    sees. Within a run of ties the values step down by ``delta``, a normal float far below both the smallest gap between
    distinct values and ``1e-9`` of the largest magnitude (steps of a few ulps near 0 are subnormal numbers, on which
    gseapy's multilevel mode never ends). The order of tied genes is arbitrary in GSEA anyway; GSEA's weights move by
    a relative ``1e-9`` at most."""
    values = ranking.to_numpy(dtype=np.float64) + 0.0  # -0.0 -> 0.0
    distinct = np.unique(values)
    if len(distinct) == len(values):
        return pd.Series(values, index=ranking.index)
    scale = float(np.max(np.abs(values))) or 1.0
    gap = float(np.min(np.diff(distinct))) if len(distinct) > 1 else scale
    run = int(np.max(np.unique(values, return_counts=True)[1]))
    delta = min(gap, 1e-9 * scale) / (run + 1)
    order = np.lexsort((np.arange(len(values)), -values))
    sorted_values = values[order]
    starts = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    position_in_run = np.arange(len(values)) - np.maximum.accumulate(np.where(starts, np.arange(len(values)), 0))
    out = np.empty_like(values)
    out[order] = sorted_values - position_in_run * delta
    return pd.Series(out, index=ranking.index)


def _gseapy(ranking: pd.Series, sets: dict[str, list[str]], *, n_perm, min_size, max_size, seed, n_jobs, one_sided):
    import gseapy

    ranking = _untied(ranking)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = gseapy.prerank(rnk=ranking, gene_sets=sets, min_size=min_size, max_size=max_size, permutation_num=n_perm,
                             seed=seed, threads=max(1, n_jobs), outdir=None, no_plot=True, verbose=False,
                             method="multilevel").res2d
    out = pd.DataFrame({
        "gene_set": res["Term"].astype(str).to_numpy(), "es": res["ES"].astype(float).to_numpy(),
        "nes": res["NES"].astype(float).to_numpy(), "pval": res["NOM p-val"].astype(float).to_numpy(),
        "leading_edge": res["Lead_genes"].astype(str).to_numpy(),
    })
    if one_sided:
        out.loc[out["es"] < 0, "pval"] = 1.0  # only enrichment at the top is testable when no value is negative
    return out


def _ranked_attribution(adata: AnnData, key: str | None, trait: str | None, target: str | None,
                        per_patient: bool) -> str:
    """The ``.layers``/``.var`` name to rank: ``key`` itself, or the attribution of ``trait`` (and class ``target``)
    in the saliency record ``key`` (``None``: the only saliency record), so that no generated name is typed."""
    from ..get import find_record, records

    where = "layers" if per_patient else "var"
    held = adata.layers if per_patient else adata.var.columns
    if key is not None and key in held and key not in adata.uns:
        if trait is not None or target is not None:
            raise ValueError(f"key={key!r} is an attribution (.{where}[{key!r}]); trait and target choose one inside a "
                             "saliency record: pass the record's key (e.g. key='saliency') with them, or neither")
        return key
    if key is not None and key not in adata.uns:
        what = "no layer {!r} for per-patient enrichment" if per_patient else "no .var column {!r} to rank"
        raise ValueError(f"{what.format(key)}, and no saliency record adata.uns[{key!r}]; saliency records: "
                         f"{records(adata, 'saliency')['key'].tolist()}. Run rg.tl.saliency(adata) first")
    record_key = find_record(adata, "saliency", key)
    record = adata.uns[record_key]
    traits = list(record)
    if trait is None:
        if len(traits) != 1:
            raise ValueError(f"the saliency record {record_key!r} holds traits {traits}; pass trait=")
        trait = traits[0]
    if trait not in record:
        raise ValueError(f"the saliency record {record_key!r} has no trait {trait!r}; traits: {traits}")
    names = [str(k) for k in record[trait]["keys"]]
    targets = [str(t) for t in record[trait]["targets"]]
    if target is None:
        if len(names) != 1:
            raise ValueError(f"the {trait!r} attributions of {record_key!r} cover the classes {targets}; pass target=")
        return names[0]
    if str(target) not in targets:
        raise ValueError(f"the {trait!r} attributions of {record_key!r} have no class {target!r}; classes: {targets}")
    return names[targets.index(str(target))]


@doc_params
def enrich(
    adata: AnnData,
    *,
    gene_sets: GeneSets,
    key: str | None = None,
    trait: str | None = None,
    target: str | None = None,
    per_patient: bool = False,
    n_perm: int = 1000,
    max_perm: int | None = None,
    min_size: int = 15,
    max_size: int = 500,
    engine: Literal["radiogx", "gseapy"] | None = None,
    seed: int | None = None,
    n_jobs: int | None = None,
    key_added: str | None = None,
    copy: bool = False,
) -> AnnData | None:
    """Pre-ranked GSEA (Subramanian et al. 2005) of gene attributions.

    Cohort level (default): the ranking is the mean attribution of one trait (and class) in ``.var``, written by
    :func:`radiogx.tl.saliency` and chosen by the saliency record's key, ``trait`` and ``target`` (or named directly,
    e.g. ``key="saliency_subtype_Proneural"``), tested with gseapy's pre-ranked GSEA in its multilevel mode (a port of fgsea's, which
    resolves small p-values). ``per_patient=True``: each patient's own attribution vector (the layer ``key``) is a
    ranking (the matching ``.layers`` entry), as the paper did with fgsea; radiogx's engine (gene-set permutation, the random positions shared by all
    patients, Besag-Clifford sequential p-values) runs them all at once; ``engine="gseapy"`` runs gseapy per patient instead.
    Rankings with no negative value (absolute saliency) are tested one-sided, for enrichment at the top. Genes without
    a value, and genes whose attribution is exactly 0 (in every patient), which the model's first layer does not see
    (e.g. outside the gene screen of :func:`radiogx.tl.train`), are left out; ties keep the genes' order (all
    reported in the log).
    ``padj``: Benjamini-Hochberg over the sets of each ranking (each patient's own, as the paper's per-patient fgsea).

    Which ranking to use: a **signed** attribution of a class's logit (``rg.tl.saliency(adata, method=
    "input_x_gradient", abs=False)``) says which genes push each patient towards that class, so GSEA can tell sets
    that raise the prediction from sets that lower it. On the Verhaak subtypes (out of fold, a 512-256 network) it
    puts the patient's own signature first for 158 of 173 patients and calls it (padj < 0.05) in 168. The paper's
    **absolute** saliency only says how sensitive the prediction is to each gene, whichever way: genes of the other
    signatures score high too, and the own signature is called in 107 of 173 patients. Use
    absolute saliency when the direction is meaningless (sets whose genes act in both directions, as the planted
    modules of ``rg.datasets.synthetic``), and signed attributions to read biology. At cohort level rank the mean
    signed **gradient** (``rg.tl.saliency(adata, abs=False)``): the cohort mean of input x gradient mixes patients of
    every class, and a class's own genes, low in the other classes' patients, then get a negative mean.

    Parameters
    ----------
    adata
        With attributions from :func:`radiogx.tl.saliency` (``.var`` for the cohort, ``.layers`` per patient).
    gene_sets
        Dict of set name to genes or a bundled collection's name.
    key
        A saliency record (its ``key_added``; ``None``: the only one), or the name of one attribution column/layer.
    trait, target
        With a saliency record: the trait and the class whose attribution is ranked (each may be left out when the
        record holds only one).
    per_patient
        Rank each patient's attributions.
    n_perm
        Null draws for every test (radiogx engine; gseapy's multilevel mode uses it as its first sample).
    max_perm
        Radiogx engine: most null draws for one test; more than ``n_perm`` are drawn, sequentially (Besag & Clifford
        1991), only for tests still beyond reach. ``None``: ``max(n_perm, 160 * sets)``, so that BH over a ranking's
        sets can reach 0.05.
    min_size, max_size
        Bounds on the set's genes present in the ranking.
    engine
        Per patient: ``"radiogx"`` (default) or ``"gseapy"``; cohort level: always gseapy.
    seed
        Seed of the permutations; ``None`` uses ``rg.settings.seed``.
    n_jobs
        Threads given to gseapy.
    key_added
        ``adata.uns[key_added]`` (default ``"enrich_"`` + the ranked attribution's name) receives ``results`` (DataFrame: ``gene_set``, ``es``,
        ``nes``, ``pval``, ``padj``, ``size``, ``leading_edge``, ``patient`` when per patient, and for radiogx's
        engine ``n_perm``, the null draws the p-value used, and ``pval_method``: ``"sequential_mc"``, or
        ``"mc_bound"`` where the p-value is only an upper bound at the resolution of ``max_perm``), ``gene_sets``
        (DataFrame: ``gene_set`` and its tested ``genes``, ``;``-joined: what :func:`radiogx.pl.running_score` draws)
        and ``params``.
    {copy}

    Returns
    -------
    ``None``, or the modified copy with ``copy=True``. Writes ``adata.uns[key_added]`` (an ``"enrichment"`` record),
    read by :func:`radiogx.get.enrich_df` and drawn by :func:`radiogx.pl.enrichment` and
    :func:`radiogx.pl.running_score`.

    Examples
    --------
    Train, attribute and rank, with no generated name typed (each step reads the only result of the one before):

    >>> import radiogx as rg
    >>> adata = rg.datasets.synthetic(n_obs=80, n_vars=60, n_traits=1, module_size=10, n_decoys=3, seed=0)
    >>> model = rg.tl.train(adata, "trait_0", hidden=(8,), epochs=5, cv=3, inner_splits=1, select_genes="all")
    >>> rg.tl.saliency(adata, abs=False)
    >>> rg.tl.enrich(adata, gene_sets=adata.uns["synthetic"]["gene_sets"], min_size=5)
    >>> rg.get.records(adata)[["key", "kind"]].to_numpy().tolist()
    [['radiogx', 'model'], ['saliency', 'saliency'], ['enrich_saliency_trait_0', 'enrichment']]
    >>> rg.get.enrich_df(adata).columns.tolist()[:5]
    ['gene_set', 'es', 'nes', 'pval', 'padj']
    """
    adata = adata.copy() if copy else adata
    check_adata(adata, finite=False)
    seed = settings.seed if seed is None else int(seed)
    n_jobs = settings.n_jobs if n_jobs is None else n_jobs
    key = _ranked_attribution(adata, key, trait, target, per_patient)
    key_added = key_added or f"enrich_{key}"
    engine = engine or ("radiogx" if per_patient else "gseapy")
    if engine not in ("radiogx", "gseapy"):
        raise ValueError(f"engine must be 'radiogx' or 'gseapy', got {engine!r}")
    if isinstance(n_perm, bool) or not isinstance(n_perm, int | np.integer) or n_perm < 10:
        raise ValueError(f"n_perm must be an integer >= 10, got {n_perm!r}")
    if per_patient:
        if key not in adata.layers:
            raise ValueError(f"no layer {key!r} for per-patient enrichment; layers: {list(adata.layers)}. "
                             "Run rg.tl.saliency(adata) first")
        values = np.asarray(adata.layers[key], dtype=np.float64)
    else:
        if key not in adata.var.columns:
            raise ValueError(f"no .var column {key!r} to rank; columns: {list(adata.var.columns)[:10]}. "
                             "Run rg.tl.saliency(adata) first")
        values = adata.var[key].to_numpy(dtype=np.float64)[None, :]
    finite = np.isfinite(values).all(axis=0)
    unseen = finite & (values == 0).all(axis=0)
    used = finite & ~unseen
    if not used.any():
        raise ValueError(f"{key!r} holds no finite non-zero value")
    if (~finite).sum():
        logger.info(f"enrich: {int((~finite).sum())} genes without a value in {key!r} are left out")
    if unseen.sum():
        logger.info(f"enrich: {int(unseen.sum())} genes whose attribution is exactly 0{' in every patient' if per_patient else ''} "
                    "(genes the model's first layer does not see, e.g. outside its gene screen) are left out: a set of "
                    "such genes has no enrichment score")
    genes = adata.var_names[used]
    values = values[:, used]
    collection = resolve_collection(gene_sets, genes)
    matched = match_gene_sets(collection, genes, min_size=min_size, max_size=max_size, func="enrich")
    whole = matched.sizes >= len(genes)  # no gene outside the set: GSEA has no score for it (gseapy drops it)
    if whole.all():
        raise NoTestableSets(f"enrich: {key!r} ranks {len(genes)} genes with a non-zero attribution, and every gene set "
                             f"of {min_size} to {max_size} of them holds all of them, so no set has genes outside it to "
                             "be compared with (a network whose first layer sees few genes, e.g. select_genes=30)")
    if whole.any():
        logger.info(f"enrich: {int(whole.sum())} sets hold every ranked gene and have no enrichment score; left out")
        keep = np.flatnonzero(~whole)
        matched = MatchedSets([matched.names[i] for i in keep], [matched.indices[i] for i in keep],
                              [matched.n_listed[i] for i in keep])
    one_sided, n_ties = _ranking_report(values if per_patient else values[0], key)
    sets_by_name = {n: list(genes[i]) for n, i in zip(matched.names, matched.indices)}
    frames = []
    if engine == "gseapy":
        rows = range(values.shape[0])
        for r in tqdm(rows, desc=f"gseapy {key}", disable=not settings.show_progress or not per_patient):
            df = _gseapy(pd.Series(values[r], index=genes), sets_by_name, n_perm=n_perm, min_size=min_size,
                         max_size=max_size, seed=seed, n_jobs=n_jobs, one_sided=one_sided)
            df["size"] = df["gene_set"].map({n: len(i) for n, i in zip(matched.names, matched.indices)}).astype(np.int64)
            if per_patient:
                df.insert(0, "patient", adata.obs_names[r])
            frames.append(df)
    else:
        res = prerank_many(values, matched.indices, n_perm=n_perm, max_perm=max_perm, seed=seed, one_sided=one_sided)
        order = np.argsort(-values, axis=1, kind="stable")
        for r in range(values.shape[0]):
            rank_of = np.empty(values.shape[1], dtype=np.int64)
            rank_of[order[r]] = np.arange(values.shape[1])
            edges = []
            for j, idx in enumerate(matched.indices):
                hits = idx[np.argsort(rank_of[idx])]
                edges.append(";".join(genes[hits[: res.peak[r, j] + 1]]) if res.es[r, j] >= 0 else
                             ";".join(genes[hits[res.peak[r, j]:]][::-1]))  # negative: from the bottom up
            df = pd.DataFrame({"gene_set": matched.names, "es": res.es[r], "nes": res.nes[r], "pval": res.pval[r],
                               "leading_edge": edges, "size": matched.sizes, "n_perm": res.n_draws[r],
                               "pval_method": np.where(res.resolved[r], "sequential_mc", "mc_bound")})
            if per_patient:
                df.insert(0, "patient", adata.obs_names[r])
            frames.append(df)
    for df in frames:
        df["padj"] = benjamini_hochberg(df["pval"].to_numpy())
    results = pd.concat(frames, ignore_index=True)
    cols = (["patient"] if per_patient else []) + ["gene_set", "es", "nes", "pval", "padj", "size", "leading_edge"]
    if engine == "radiogx":
        cols += ["n_perm", "pval_method"]
    results = results[cols]
    write_record(adata, key_added, tool="enrich", record={
        "results": results,
        "gene_sets": pd.DataFrame({"gene_set": list(sets_by_name), "genes": [";".join(g) for g in sets_by_name.values()]}),
        "params": {"kind": "enrichment", "key": key, "per_patient": bool(per_patient), "engine": engine, "n_perm": int(n_perm),
                   "max_perm": -1 if max_perm is None else int(max_perm),
                   "min_size": int(min_size), "max_size": int(max_size), "seed": int(seed), "one_sided": one_sided,
                   "ties": int(n_ties), "weight": 1.0,
                   "correction": "Benjamini-Hochberg over the sets of each ranking", "radiogx_version": __version__},
        "added": log_added("enrich", uns=key_added),
    })
    return adata if copy else None
