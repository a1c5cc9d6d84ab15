"""Per-patient radiogenomic features: a gene set enriched in a patient's attribution for a trait's model (Smedley, El-Saden & Hsu 2020)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from .._docs import doc_params
from .. import __version__
from .._logging import log_added, logger
from .._validation import check_adata
from ._record import write_record

__all__ = ["associations"]


@doc_params
def associations(
    adata: AnnData,
    *,
    key: str | None = None,
    label: str | None = None,
    min_patients: int = 5,
    padj: float = 0.05,
    key_added: str = "associations",
    copy: bool = False,
) -> AnnData | None:
    """Turn per-patient enrichment into binary radiogenomic features ``<label>.<gene set>``.

    A patient has the feature when the set is enriched in that patient's attribution (``padj`` below the threshold
    and a positive NES), as in the paper; features present in fewer than ``min_patients`` patients are dropped
    (the paper's ``count_thres = 5``). They become boolean obs columns, ready for :func:`radiogx.tl.survival`.

    Parameters
    ----------
    adata
        With per-patient results of :func:`radiogx.tl.enrich` in ``adata.uns[key]``.
    key
        The per-patient enrichment record (its ``key_added``); ``None``: the only one in ``adata``.
    label
        Prefix of the feature names; default the ranked layer's name (``params["key"]``).
    min_patients
        Fewest patients a feature needs.
    padj
        Enrichment threshold.
    key_added
        ``adata.uns[key_added][label]`` receives ``counts`` (DataFrame: ``feature``, ``gene_set``, ``n_patients``)
        and ``params``; the features become obs columns.
    {copy}

    Returns
    -------
    ``None``, or the modified copy with ``copy=True``. Writes one boolean ``adata.obs`` column per feature and
    ``adata.uns[key_added][label]`` (an ``"associations"`` record); :func:`radiogx.get.associations_df` lists the
    features, ready for :func:`radiogx.tl.survival`'s ``features=``.
    """
    adata = adata.copy() if copy else adata
    check_adata(adata, expression=False)
    if key is None:
        from ..get import records

        per_patient = [k for k in records(adata, "enrichment")["key"] if adata.uns[k]["params"]["per_patient"]]
        if len(per_patient) != 1:
            raise ValueError(f"{len(per_patient)} per-patient enrichment records in adata {per_patient}: pass key= "
                             "(run rg.tl.enrich(adata, ..., per_patient=True) first if there is none)")
        key = per_patient[0]
    record = adata.uns.get(key)
    if not isinstance(record, dict) or "results" not in record:
        raise ValueError(f"no enrichment results in adata.uns[{key!r}]: run rg.tl.enrich(adata, ..., per_patient=True)")
    if not record["params"]["per_patient"]:
        raise ValueError(f"adata.uns[{key!r}] holds cohort-level enrichment; associations need per_patient=True")
    if not 0 < padj < 1 or min_patients < 1:
        raise ValueError(f"padj must be in (0, 1) and min_patients >= 1, got {padj!r} and {min_patients!r}")
    label = label or str(record["params"]["key"])
    res = record["results"]
    hit = res[(res["padj"] < padj) & (res["nes"] > 0)]
    counts = hit.groupby("gene_set").size().rename("n_patients").reset_index()
    counts = counts[counts["n_patients"] >= min_patients].sort_values("n_patients", ascending=False)
    counts.insert(0, "feature", [f"{label}.{g}" for g in counts["gene_set"]])
    clash = [f for f in counts["feature"] if f in adata.obs.columns]
    if clash:
        logger.warning(f"associations: replacing obs columns {clash[:3]}{'...' if len(clash) > 3 else ''}")
    for feature, gene_set in zip(counts["feature"], counts["gene_set"]):
        enriched = set(hit.loc[hit["gene_set"] == gene_set, "patient"])
        adata.obs[feature] = pd.array(np.isin(adata.obs_names, list(enriched)), dtype="boolean")
    write_record(adata, key_added, tool="associations", trait=label, record={
        "counts": counts.reset_index(drop=True),
        "params": {"kind": "associations", "key": key, "padj": float(padj), "min_patients": int(min_patients),
                   "radiogx_version": __version__},
        "added": log_added("associations", obs=list(counts["feature"]), uns=key_added),
    })
    logger.info(f"associations: {len(counts)} features in at least {min_patients} patients (of {res['gene_set'].nunique()} sets)")
    return adata if copy else None
