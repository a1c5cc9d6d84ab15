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
from ..get._kind_tables import result_tables
from ._rpy2 import import_rpy2

__all__ = ["to_r", "write_r", "result_tables"]


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
