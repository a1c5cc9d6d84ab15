"""The tidy tables of each result kind: what the R export writes and what the report falls back to, with no special
case outside this module (a test checks that every kind of :data:`radiogx.get.KINDS` has its tables here)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from anndata import AnnData

from ._interpretation_tables import associations_df, enrich_df, masking_df, saliency_df, set_nodes_df
from ._model_tables import bootstrap_df, compare_df, cv_df, oof_df
from ._prediction_tables import prediction_summary_df, predictions_df
from ._records import KINDS, records
from ._survival_tables import km_df, survival_df

__all__ = ["TABLES", "result_tables"]


def _model(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    models = pd.DataFrame([{"trait": str(t), "classes": ";".join(map(str, r["classes"])), "model_id": str(r["model_id"]),
                            "path": str(r.get("path", ""))} for t, r in adata.uns[key].items()])
    return {"cv": cv_df(adata, key=key), "oof": oof_df(adata, key=key), "models": models}


def _compare(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    first = next(iter(adata.uns[key].values()))["params"]
    return {"compare": compare_df(adata, key=str(first.get("model_key", "")) or None, compare_key=key)}


def _bootstrap(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    return {"bootstrap": bootstrap_df(adata, key=key), "bootstrap_differences": bootstrap_df(adata, key=key,
                                                                                             differences=True)}


def _survival(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    rec = adata.uns[key]
    out = {"survival": survival_df(adata, key=key)}
    if rec.get("km") is not None and len(rec["km"]):
        out["km"] = km_df(adata, key=key)
    if "multivariable" in rec:
        out["survival_multivariable"] = survival_df(adata, key=key, multivariable=True)
    return out


def _autoencoder(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    history = np.asarray(adata.uns[key]["history"], dtype=float)
    return {"autoencoder": pd.DataFrame({"epoch": np.arange(1, len(history) + 1), "r2_holdout": history})}


def _predictions(adata: AnnData, key: str) -> dict[str, pd.DataFrame]:
    out = {"prediction_summary": prediction_summary_df(adata, key=key), "predictions": predictions_df(adata, key=key)}
    confusion = [rec["confusion"].assign(trait=t) for t, rec in adata.uns[key].items() if "confusion" in rec]
    if confusion:
        out["prediction_confusion"] = pd.concat(confusion, ignore_index=True)
    return out


#: Per kind, its tables by name (``adata, key -> {name: DataFrame}``).
TABLES: dict[str, Callable[[AnnData, str], dict[str, pd.DataFrame]]] = {
    "model": _model,
    "compare": _compare,
    "bootstrap": _bootstrap,
    "saliency": lambda adata, key: {"saliency": saliency_df(adata, key=key, n_top=100)},
    "set_nodes": lambda adata, key: {"set_nodes": set_nodes_df(adata, key=key)},
    "associations": lambda adata, key: {"associations": associations_df(adata, key=key)},
    "masking": lambda adata, key: {"masking": masking_df(adata, key=key)},
    "enrichment": lambda adata, key: {"enrichment": enrich_df(adata, key=key)},
    "survival": _survival,
    "autoencoder": _autoencoder,
    "prediction": _predictions,
}


def result_tables(adata: AnnData) -> dict[str, tuple[pd.DataFrame, dict]]:
    """Every tidy table of every result :func:`radiogx.get.records` finds, with the parameters that made it.

    Names: the kind's table names (``cv``, ``oof`` and ``models`` (trait, classes, model id and the saved file's
    ``path``, empty when unsaved), ``compare``, ``bootstrap`` and ``bootstrap_differences``,
    ``saliency`` (the top 100 genes of each target), ``set_nodes``, ``associations``, ``masking``, ``enrichment``,
    ``survival``, ``km`` and ``survival_multivariable``, ``autoencoder``, ``predictions``), followed by ``.<key>``
    unless the result is under its tool's default key (enrichment, with no fixed default, always carries its key).
    """
    tables: dict[str, tuple[pd.DataFrame, dict]] = {}
    for row in records(adata).itertuples():
        kind, key, rec = row.kind, row.key, adata.uns[row.key]
        suffix = "" if KINDS[kind].default_key == key else f".{key}"
        params = {t: r["params"] for t, r in rec.items()} if KINDS[kind].per_trait else rec["params"]
        for name, df in TABLES[kind](adata, key).items():
            tables[f"{name}{suffix}"] = (df, params)
    return tables
