"""The tidy tables of each built-in result kind (the ``tables`` of its registry entry): what the TSV files and the R
export hold and what the report falls back to."""

from __future__ import annotations


import numpy as np
import pandas as pd
from anndata import AnnData

from ._interpretation_tables import (associations_df, attributions_df, enrich_df, masking_df, saliency_df,
                                     set_control_df, set_nodes_df, stability_df, stability_sanity_df,
                                     stability_summary_df)
from ._model_tables import bootstrap_df, compare_df, cv_df, oof_df
from ._prediction_tables import prediction_summary_df, predictions_df, record_part
from .._registry import KINDS, resolve
from ._records import each_record
from ._survival_tables import km_df, survival_df

__all__ = ["kind_tables", "result_tables"]


def model_tables(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    models = pd.DataFrame([{"trait": str(t), "classes": ";".join(map(str, r["classes"])), "model_id": str(r["model_id"]),
                            "path": str(r.get("path", ""))} for t, r in adata.uns[key].items()])
    return {"cv": cv_df(adata, key=key), "oof": oof_df(adata, key=key), "models": models}


def compare_tables(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    first = next(iter(adata.uns[key].values()))["params"]
    return {"compare": compare_df(adata, key=str(first.get("model_key", "")) or None, compare_key=key)}


def bootstrap_tables(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    return {"bootstrap": bootstrap_df(adata, key=key), "bootstrap_differences": bootstrap_df(adata, key=key,
                                                                                             differences=True)}


def survival_tables(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    rec = adata.uns[key]
    out = {"survival": survival_df(adata, key=key)}
    if rec.get("km") is not None and len(rec["km"]):
        out["km"] = km_df(adata, key=key)
    if "multivariable" in rec:
        out["survival_multivariable"] = survival_df(adata, key=key, multivariable=True)
    return out


def autoencoder_tables(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    history = np.asarray(adata.uns[key]["history"], dtype=float)
    return {"autoencoder": pd.DataFrame({"epoch": np.arange(1, len(history) + 1), "r2_holdout": history})}


def prediction_tables(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    out = {"prediction_summary": prediction_summary_df(adata, key=key), "predictions": predictions_df(adata, key=key)}
    for part in ("confusion", "reliability", "retention", "gene_dropout"):
        table = record_part(adata, key, part)
        if table is not None:
            out[f"prediction_{part}"] = table
    return out


def saliency_tables(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    return {"saliency": saliency_df(adata, key=key, n_top=100), "attributions": attributions_df(adata, key=key)}


def stability_tables(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    return {"stability": stability_df(adata, key=key), "stability_summary": stability_summary_df(adata, key=key),
            "stability_sanity": stability_sanity_df(adata, key=key)}


def set_control_tables(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    return {"set_control": set_control_df(adata, key=key),
            "set_control_draws": pd.concat([pd.DataFrame(r["draws"]).assign(trait=t)
                                            for t, r in adata.uns[key].items()], ignore_index=True)}


def set_nodes_tables(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    return {"set_nodes": set_nodes_df(adata, key=key)}


def associations_tables(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    return {"associations": associations_df(adata, key=key)}


def masking_tables(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    return {"masking": masking_df(adata, key=key)}


def enrichment_tables(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    return {"enrichment": enrich_df(adata, key=key)}


def kind_tables(adata: AnnData, kind: str, key: str) -> dict[str, pd.DataFrame]:
    """The tidy tables of one result, by its kind's registered ``tables`` (:data:`radiogx._registry.KINDS`)."""
    return resolve(KINDS[kind].tables)(adata, key)


def result_tables(adata: AnnData) -> dict[str, tuple[pd.DataFrame, dict]]:
    """Every tidy table of every result :func:`radiogx.get.records` finds, with the parameters that made it.

    Names: the kind's table names (``cv``, ``oof`` and ``models`` (trait, classes, model id and the saved file's
    ``path``, empty when unsaved), ``compare``, ``bootstrap`` and ``bootstrap_differences``,
    ``saliency`` (the top 100 genes of each target), ``set_nodes``, ``associations``, ``masking``, ``enrichment``,
    ``survival``, ``km`` and ``survival_multivariable``, ``autoencoder``, ``predictions``), followed by ``.<key>``
    unless the result is under its tool's default key (enrichment, with no fixed default, always carries its key).
    """
    tables: dict[str, tuple[pd.DataFrame, dict]] = {}
    for kind in KINDS:
        for rec in each_record(adata, kind):
            suffix = "" if KINDS[kind].default_key == rec.key else f".{rec.key}"
            params = {t: dict(e["params"]) for t, e in rec.items()} if rec.per_trait else rec.params
            for name, df in kind_tables(adata, kind, rec.key).items():
                tables[f"{name}{suffix}"] = (df, params)
    return tables
