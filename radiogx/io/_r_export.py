"""Export to R/Bioconductor: a SummarizedExperiment with the expression, attributions, annotations and result tables.

Python calls R through rpy2, always inside ``localconverter`` contexts (never a global activation); R never calls
Python (reticulate does not work with NumPy 2 on Debian's R).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData

from .. import __version__
from .._atomic import atomic_path
from .._validation import check_adata
from ._rpy2 import import_rpy2

__all__ = ["to_r", "write_r", "result_tables"]


def _records(adata: AnnData):
    """(kind, key, record) of every radiogx result in ``adata.uns``, recognised by its parameters."""
    for key, rec in adata.uns.items():
        if not isinstance(rec, dict):
            continue
        params = rec.get("params", {}) if isinstance(rec.get("params"), dict) else {}
        if "results" in rec and "per_patient" in params:
            yield "enrichment", key, rec
        elif "results" in rec and "score" in params and "patients" in params:
            yield "masking", key, rec
        elif "results" in rec and "duration" in params:
            yield "survival", key, rec
        elif rec and all(isinstance(r, dict) and isinstance(r.get("params"), dict)
                         and r["params"].get("method") == "layer_gradient_x_activation" for r in rec.values()):
            yield "set_nodes", key, rec


def result_tables(adata: AnnData) -> dict[str, tuple[pd.DataFrame, dict]]:
    """Every tidy result table of ``adata`` (the ``rg.get.*_df`` tables) with the parameters that made it.

    Names: ``cv``, ``compare``, ``bootstrap``, ``bootstrap_differences``, ``masking`` (``masking.<key>`` for other
    keys), ``enrichment.<key>``, ``set_nodes`` (``set_nodes.<key>``), ``survival``/``survival_multivariable`` (with ``.<key>`` for other keys).
    """
    from .. import get

    tables: dict[str, tuple[pd.DataFrame, dict]] = {}
    models = {t: r for t, r in adata.uns.get("radiogx", {}).items() if isinstance(r, dict) and "cv" in r}
    if models:
        tables["cv"] = (get.cv_df(adata), {t: r["params"] for t, r in models.items()})
    if models or adata.uns.get("radiogx_compare"):
        tables["compare"] = (get.compare_df(adata), {t: r["params"] for t, r in adata.uns.get("radiogx_compare", {}).items()})
    if adata.uns.get("radiogx_bootstrap"):
        params = {t: r["params"] for t, r in adata.uns["radiogx_bootstrap"].items()}
        tables["bootstrap"] = (get.bootstrap_df(adata), params)
        tables["bootstrap_differences"] = (get.bootstrap_df(adata, differences=True), params)
    for kind, key, rec in _records(adata):
        if kind == "masking":
            tables["masking" if key == "gene_masking" else f"masking.{key}"] = (get.masking_df(adata, key=key), rec["params"])
        elif kind == "enrichment":
            tables[f"enrichment.{key}"] = (get.enrich_df(adata, key=key), rec["params"])
        elif kind == "set_nodes":
            tables["set_nodes" if key == "set_nodes" else f"set_nodes.{key}"] = (
                get.set_nodes_df(adata, key_added=key), {t: r["params"] for t, r in rec.items()})
        else:
            suffix = "" if key == "survival" else f".{key}"
            tables[f"survival{suffix}"] = (get.survival_df(adata, key=key), rec["params"])
            if "multivariable" in rec:
                tables[f"survival_multivariable{suffix}"] = (get.survival_df(adata, key=key, multivariable=True), rec["params"])
    return tables


def _json(value) -> str:
    def default(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        return str(o)

    return json.dumps(value, default=default, sort_keys=True)


def to_r(adata: AnnData):
    """The R ``SummarizedExperiment`` of ``adata``, inside this Python session's embedded R (rpy2).

    Assay ``expression`` (genes x patients), then every layer (per-patient attributions) as an assay of its own name;
    ``colData`` = ``obs`` (traits, clinical data, associations; categoricals become factors with their levels,
    nullable integers and booleans keep their missing values); ``rowData`` = ``var`` (attributions per trait);
    ``metadata``: ``radiogx_version``, ``tables`` (a named list of the tidy result tables, see
    :func:`result_tables`) and ``params`` (the same names, each the JSON text of the parameters that made the table).
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

    Returns the path.
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
