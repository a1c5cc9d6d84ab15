"""Export to R/Bioconductor: a SummarizedExperiment with the expression, attributions, annotations and result tables.

Python calls R through rpy2, always inside ``localconverter`` contexts (never a global activation); R never calls
Python (reticulate does not work with NumPy 2 on Debian's R).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from .. import __version__
from .._atomic import atomic_path
from .._validation import check_adata
from ._rpy2 import import_rpy2

__all__ = ["to_r", "write_r", "result_tables"]


def result_tables(adata: AnnData) -> dict[str, tuple[pd.DataFrame, dict]]:
    """Every tidy result table of ``adata`` (the ``rg.get.*_df`` tables) with the parameters that made it, for every
    result :func:`radiogx.get.records` finds.

    Names: the kind's table (``cv`` and ``oof``, ``compare``, ``bootstrap`` and ``bootstrap_differences``, ``saliency`` (the top
    100 genes of each target), ``set_nodes``, ``associations``, ``masking``, ``enrichment``, ``survival``, ``km`` and
    ``survival_multivariable``, ``autoencoder``), followed by ``.<key>`` unless the result is under its tool's default
    key (enrichment always carries its key).
    """
    from .. import get

    tables: dict[str, tuple[pd.DataFrame, dict]] = {}
    for row in get.records(adata).itertuples():
        kind, key, rec = row.kind, row.key, adata.uns[row.key]
        suffix = "" if get.KINDS[kind].default_key == key else f".{key}"
        per_trait = get.KINDS[kind].per_trait
        params = {t: r["params"] for t, r in rec.items()} if per_trait else rec["params"]
        first = next(iter(params.values())) if per_trait else params
        if kind == "model":
            tables[f"cv{suffix}"] = (get.cv_df(adata, key=key), params)
            tables[f"oof{suffix}"] = (get.oof_df(adata, key=key), params)
        elif kind == "compare":
            model_key = str(first.get("model_key", "")) or None
            tables[f"compare{suffix}"] = (get.compare_df(adata, key=model_key, compare_key=key), params)
        elif kind == "bootstrap":
            tables[f"bootstrap{suffix}"] = (get.bootstrap_df(adata, key=key), params)
            tables[f"bootstrap_differences{suffix}"] = (get.bootstrap_df(adata, key=key, differences=True), params)
        elif kind == "saliency":
            tables[f"saliency{suffix}"] = (get.saliency_df(adata, key=key, n_top=100), params)
        elif kind == "set_nodes":
            tables[f"set_nodes{suffix}"] = (get.set_nodes_df(adata, key=key), params)
        elif kind == "associations":
            tables[f"associations{suffix}"] = (get.associations_df(adata, key=key), params)
        elif kind == "masking":
            tables[f"masking{suffix}"] = (get.masking_df(adata, key=key), params)
        elif kind == "enrichment":
            tables[f"enrichment.{key}"] = (get.enrich_df(adata, key=key), params)
        elif kind == "survival":
            tables[f"survival{suffix}"] = (get.survival_df(adata, key=key), params)
            if rec.get("km") is not None and len(rec["km"]):
                tables[f"km{suffix}"] = (get.km_df(adata, key=key), params)
            if "multivariable" in rec:
                tables[f"survival_multivariable{suffix}"] = (get.survival_df(adata, key=key, multivariable=True), params)
        elif kind == "autoencoder":
            tables[f"autoencoder{suffix}"] = (pd.DataFrame({"epoch": np.arange(1, len(rec["history"]) + 1),
                                                            "r2_holdout": np.asarray(rec["history"], dtype=float)}), params)
    return tables


def _json(value) -> str:
    def default(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        return str(o)

    return json.dumps(value, default=default, sort_keys=True)


def to_r(adata: AnnData) -> Any:
    """The R ``SummarizedExperiment`` of ``adata``, inside this Python session's embedded R (rpy2).

    Assay ``expression`` (genes x patients), then every layer (per-patient attributions) as an assay of its own name;
    ``colData`` = ``obs`` (traits, clinical data, associations; categoricals become factors with their levels,
    nullable integers and booleans keep their missing values); ``rowData`` = ``var`` (attributions per trait);
    ``metadata``: ``radiogx_version``, ``tables`` (a named list of the tidy result tables, see
    :func:`result_tables`) and ``params`` (the same names, each the JSON text of the parameters that made the table).

    Returns
    -------
    The rpy2 object of the R ``SummarizedExperiment``.
    """
    check_adata(adata, finite=False, expression=False)
    ro = import_rpy2()
    import anndata2ri
    from rpy2.robjects.conversion import localconverter

    # obs and var go in explicitly below (the SCE -> SummarizedExperiment coercion drops rowData): convert them once
    bare = AnnData(X=adata.X, obs=pd.DataFrame(index=adata.obs_names), var=pd.DataFrame(index=adata.var_names),
                   layers=dict(adata.layers))
    tables = result_tables(adata)
    with localconverter(anndata2ri.converter):
        sce = ro.conversion.get_conversion().py2rpy(bare)
        r_tables = {name: ro.conversion.get_conversion().py2rpy(df.reset_index(drop=True)) for name, (df, _) in tables.items()}
        r_obs = ro.conversion.get_conversion().py2rpy(adata.obs)
        r_var = ro.conversion.get_conversion().py2rpy(adata.var)
    build = ro.r('''
        function(sce, tables, params, version, genes, patients, obs, var) {
            se <- methods::as(sce, "SummarizedExperiment")
            rownames(se) <- genes
            colnames(se) <- patients
            SummarizedExperiment::colData(se) <- S4Vectors::DataFrame(obs, check.names = FALSE, row.names = patients)
            SummarizedExperiment::rowData(se) <- S4Vectors::DataFrame(var, check.names = FALSE, row.names = genes)
            names(SummarizedExperiment::assays(se))[names(SummarizedExperiment::assays(se)) == "X"] <- "expression"
            S4Vectors::metadata(se) <- list(radiogx_version = version, tables = tables, params = params)
            se
        }''')
    params = ro.ListVector({name: _json(p) for name, (_, p) in tables.items()}) if tables else ro.r("list()")
    return build(sce, ro.ListVector(r_tables) if r_tables else ro.r("list()"), params, __version__,
                 ro.StrVector(list(map(str, adata.var_names))), ro.StrVector(list(map(str, adata.obs_names))), r_obs, r_var)


def write_r(adata: AnnData, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write :func:`to_r`'s SummarizedExperiment to an ``.rds`` file (atomically) for ``radiogx::readRadiogx`` in R.

    Returns
    -------
    The path written.
    """
    ro = import_rpy2()
    path = Path(path)
    if path.suffix.lower() != ".rds":
        raise ValueError(f"write_r writes an .rds file, got {path.name!r}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    se = to_r(adata)
    with atomic_path(path) as tmp:
        ro.r["saveRDS"](se, str(tmp))
    return path
