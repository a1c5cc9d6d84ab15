"""Export to R/Bioconductor: a SummarizedExperiment with the expression, attributions, annotations and result tables.

Python calls R through rpy2, always inside ``localconverter`` contexts (never a global activation); R never calls
Python (reticulate does not work with NumPy 2 on Debian's R).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .. import __version__
from .._atomic import atomic_path
from .._validation import check_adata
from ..get import result_tables
from ._rpy2 import import_rpy2

__all__ = ["to_r", "write_r", "write_assays_h5", "result_tables", "HDF5_AUTO_VALUES"]


def _json(value) -> str:
    def default(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        return str(o)

    return json.dumps(value, default=default, sort_keys=True)


#: ``assays="auto"`` keeps the assays in an HDF5 file once they hold more values than this (2^25: 268 MB as R
#: doubles; the paper-size cohort's expression and its attribution layers are many times that).
HDF5_AUTO_VALUES = 2**25


def _assays(adata: AnnData) -> dict[str, Any]:
    """The assays in SummarizedExperiment order: ``expression`` (``X``, where there is one), then every layer, as
    patients x genes."""
    return {**({"expression": adata.X} if adata.X is not None else {}), **dict(adata.layers)}


def _dense(value) -> np.ndarray:
    return value.toarray() if hasattr(value, "toarray") else np.asarray(value)


def _dataset(i: int) -> str:
    return f"assay_{i:03d}"  # layer names may hold characters HDF5 reads as groups ("/")


def write_assays_h5(adata: AnnData, path: str | os.PathLike, export_id: str) -> Path:
    """Write the assays of :func:`to_r` to an HDF5 file for Bioconductor's ``HDF5Array`` (atomically).

    Each assay is one dataset, patients x genes in C order, which ``HDF5Array`` reads as the genes x patients matrix
    of a ``SummarizedExperiment``: no transposed copy. Values keep their dtype (attribution layers are float32),
    compressed (gzip level 4 after byte shuffling) in chunks of 64 patients x 2,048 genes. The file's ``export_id``
    attribute ties it to the ``.rds`` written with it.
    """
    import h5py

    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["export_id"] = export_id
            for i, (name, value) in enumerate(_assays(adata).items()):
                value = _dense(value)
                chunks = (min(64, value.shape[0]), min(2048, value.shape[1]))
                ds = f.create_dataset(_dataset(i), data=value, chunks=chunks, compression="gzip", compression_opts=4,
                                      shuffle=True)
                ds.attrs["assay"] = name
    return path


def to_r(adata: AnnData, *, assays_h5: str | os.PathLike | None = None, export_id: str = "") -> Any:
    """The R ``SummarizedExperiment`` of ``adata``, inside this Python session's embedded R (rpy2).

    Assay ``expression`` (genes x patients), then every layer (per-patient attributions) as an assay of its own name;
    ``colData`` = ``obs`` (traits, clinical data, associations; categoricals become factors with their levels,
    nullable integers and booleans keep their missing values); ``rowData`` = ``var`` (attributions per trait);
    ``metadata``: ``radiogx_version``, ``tables`` (a named list of the tidy result tables, see
    :func:`result_tables`) and ``params`` (the same names, each the JSON text of the parameters that made the table).

    Parameters
    ----------
    adata
        The annotated data.
    assays_h5
        An HDF5 file of the assays written by :func:`write_assays_h5`: the assays are then ``HDF5Array`` matrices
        read from it on demand (Bioconductor's HDF5Array package), not copied into R's memory, and
        ``metadata(se)$assays_h5`` names the file (``file``, ``datasets``, ``id``).
    export_id
        The ``export_id`` of that file.

    Returns
    -------
    The rpy2 object of the R ``SummarizedExperiment``.
    """
    check_adata(adata, finite=False, expression=False)
    ro = import_rpy2()
    import anndata2ri
    from rpy2.robjects import numpy2ri
    from rpy2.robjects.conversion import localconverter

    tables = result_tables(adata)
    names = list(_assays(adata))
    with localconverter(anndata2ri.converter):
        convert = ro.conversion.get_conversion().py2rpy
        r_obs, r_var = convert(adata.obs), convert(adata.var)
    r_tables = {name: _table_to_r(df.reset_index(drop=True), ro) for name, (df, _) in tables.items()}
    if assays_h5 is None:  # genes x patients R matrices straight from the arrays, no SingleCellExperiment detour
        with localconverter(ro.default_converter + numpy2ri.converter):
            convert = ro.conversion.get_conversion().py2rpy
            r_assays = ro.ListVector({name: convert(np.asfortranarray(_dense(value).T, dtype=np.float64))
                                      for name, value in _assays(adata).items()})
        h5 = ro.NULL
    else:
        r_assays, h5 = ro.StrVector(names), str(Path(assays_h5).resolve())
    build = ro.r('''
        function(assays, h5, datasets, id, tables, params, version, genes, patients, obs, var) {
            if (!is.null(h5)) {
                if (!requireNamespace("HDF5Array", quietly = TRUE)) {
                    stop("an export with its assays in HDF5 needs the Bioconductor package HDF5Array ",
                         "(Debian: r-bioc-hdf5array)", call. = FALSE)
                }
                assays <- stats::setNames(lapply(datasets, function(d) HDF5Array::HDF5Array(h5, d)), assays)
            }
            assays <- lapply(assays, function(a) { dimnames(a) <- list(genes, patients); a })
            se <- SummarizedExperiment::SummarizedExperiment(
                assays = assays,
                colData = S4Vectors::DataFrame(obs, check.names = FALSE, row.names = patients),
                rowData = S4Vectors::DataFrame(var, check.names = FALSE, row.names = genes))
            meta <- list(radiogx_version = version, tables = tables, params = params)
            if (!is.null(h5)) meta$assays_h5 <- list(file = basename(h5), datasets = datasets, id = id)
            S4Vectors::metadata(se) <- meta
            se
        }''')
    params = ro.ListVector({name: _json(p) for name, (_, p) in tables.items()}) if tables else ro.r("list()")
    return build(r_assays, h5, ro.StrVector([_dataset(i) for i in range(len(names))]), export_id,
                 ro.ListVector(r_tables) if r_tables else ro.r("list()"), params, __version__,
                 ro.StrVector(list(map(str, adata.var_names))), ro.StrVector(list(map(str, adata.obs_names))), r_obs, r_var)


def _table_to_r(df: pd.DataFrame, ro) -> Any:
    """An R data.frame of a result table, the same as anndata2ri's conversion, column by column: numbers through
    memory copies and text as integer codes into its distinct values, made text again in R. anndata2ri converts text
    element by element, which made the per-patient enrichment tables (hundreds of thousands of rows) most of an
    export's time. Columns of other types (categoricals, nullable integers, booleans) go through anndata2ri."""
    import anndata2ri
    from rpy2.robjects import numpy2ri
    from rpy2.robjects.conversion import localconverter

    if not len(df):
        with localconverter(anndata2ri.converter):
            return ro.conversion.get_conversion().py2rpy(df)
    columns = {}
    for name in df.columns:
        col = df[name]
        values = col.to_numpy()
        if col.dtype.kind in "fi" and not isinstance(col.dtype, pd.api.extensions.ExtensionDtype):
            with localconverter(ro.default_converter + numpy2ri.converter):
                columns[name] = ro.conversion.get_conversion().py2rpy(np.ascontiguousarray(values))
        elif col.dtype == object and col.map(lambda v: v is None or isinstance(v, str)).all():
            codes, levels = pd.factorize(col, use_na_sentinel=True)
            with localconverter(ro.default_converter + numpy2ri.converter):
                r_codes = ro.conversion.get_conversion().py2rpy(codes.astype(np.int32) + 1)
            columns[name] = _r_helper("as_text")(r_codes, ro.StrVector(list(levels)))
        else:
            with localconverter(anndata2ri.converter):
                columns[name] = ro.conversion.get_conversion().py2rpy(col)
    return _r_helper("data_frame")(ro.ListVector(columns) if columns else ro.r("list()"), len(df))


_R_HELPERS = {
    # codes (1-based; 0 for a missing value) into their distinct values
    "as_text": "function(codes, levels) { codes[codes == 0L] <- NA_integer_; levels[codes] }",
    # row names "0", "1", ... as anndata2ri gives a pandas RangeIndex
    "data_frame": "function(columns, n) { rows <- as.character(seq_len(n) - 1L); if (!length(columns)) "
                  "return(data.frame(row.names = rows)); df <- as.data.frame(columns, check.names = FALSE, "
                  "stringsAsFactors = FALSE); row.names(df) <- rows; df }",
}


def _r_helper(name: str, _made: dict = {}):  # noqa: B006 - the cache of the R functions, made once R runs
    if name not in _made:
        _made[name] = import_rpy2().r(_R_HELPERS[name])
    return _made[name]


def _r_has(package: str) -> bool:
    ro = import_rpy2()
    return bool(ro.r(f'isTRUE(requireNamespace("{package}", quietly = TRUE))')[0])


def write_r(adata: AnnData, path: str | os.PathLike, *, overwrite: bool = False,
            assays: Literal["auto", "memory", "hdf5"] = "auto") -> Path:
    """Write :func:`to_r`'s SummarizedExperiment to an ``.rds`` file (atomically) for ``radiogx::readRadiogx`` in R.

    Parameters
    ----------
    adata
        The annotated data.
    path
        The ``.rds`` file.
    overwrite
        Replace an existing export.
    assays
        ``"memory"``: the assays inside the ``.rds`` (one file; R holds them in memory). ``"hdf5"``: the assays in
        ``<stem>_assays.h5`` beside it (compressed, float32 attributions kept float32), read by ``readRadiogx`` as
        ``HDF5Array`` matrices on demand, so a paper-size export is written and read in seconds and R's memory holds
        only what an analysis touches; keep the two files together. ``"auto"``: HDF5 once the assays hold more than
        :data:`HDF5_AUTO_VALUES` values and R has HDF5Array, else memory.

    Returns
    -------
    The path written.
    """
    path = Path(path)
    if path.suffix.lower() != ".rds":
        raise ValueError(f"write_r writes an .rds file, got {path.name!r}")
    if assays not in ("auto", "memory", "hdf5"):
        raise ValueError(f"assays must be 'auto', 'memory' or 'hdf5', got {assays!r}")
    h5 = path.with_name(f"{path.stem}_assays.h5")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    ro = import_rpy2()
    if assays == "auto":
        n_values = sum(int(np.prod(v.shape)) for v in _assays(adata).values())
        assays = "hdf5" if n_values > HDF5_AUTO_VALUES and _r_has("HDF5Array") else "memory"
    if assays == "hdf5":
        if not _r_has("HDF5Array"):
            raise ImportError("assays='hdf5' needs the Bioconductor package HDF5Array in R (Debian: r-bioc-hdf5array)")
        export_id = uuid.uuid4().hex
        write_assays_h5(adata, h5, export_id)
        se = to_r(adata, assays_h5=h5, export_id=export_id)
    else:
        se = to_r(adata)
    with atomic_path(path) as tmp:
        ro.r["saveRDS"](se, str(tmp))
    if assays == "memory" and h5.exists():  # the assays of an earlier HDF5 export to this path
        h5.unlink()
    return path
