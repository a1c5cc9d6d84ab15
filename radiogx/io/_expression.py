"""Expression matrices from text files (TSV/CSV/GCT) into AnnData."""

from __future__ import annotations

import csv
import gzip
import os
import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .._logging import logger
from .._validation import check_unique, preview

__all__ = ["read_expression", "collapse_duplicate_genes"]

_SAMPLE_ID = re.compile(r"^(TCGA-|GSM\d|[A-Z]{2,4}\d{3,})", re.IGNORECASE)
Duplicates = Literal["max_mean", "mean", "first", "error"]


def collapse_duplicate_genes(frame: pd.DataFrame, *, rule: Duplicates = "max_mean", what: str = "data") -> tuple[pd.DataFrame, int]:
    """Resolve duplicated gene symbols in a genes x samples frame.

    Rules: ``"max_mean"`` keeps, for each symbol, the row with the highest mean expression (the MaxMean rule of
    WGCNA's ``collapseRows``, usual for probe-to-gene collapsing); ``"mean"`` averages the rows; ``"first"`` keeps the
    first row; ``"error"`` refuses duplicates. Each symbol keeps the position of its first occurrence. Returns the collapsed frame and the number of rows dropped.
    """
    dup = frame.index.duplicated(keep=False)
    if not dup.any():
        return frame, 0
    names = frame.index[dup].unique()
    if rule == "error":
        raise ValueError(f"{what}: duplicated gene symbols {preview(names)}; choose duplicates='max_mean', 'mean' or 'first'")
    if rule == "first":
        out = frame[~frame.index.duplicated(keep="first")]
    elif rule == "mean":
        out = frame.groupby(level=0, sort=False).mean()
    elif rule == "max_mean":
        means = pd.Series(frame.mean(axis=1).to_numpy())
        best = means.groupby(frame.index.to_numpy(), sort=False).idxmax()  # first row on ties; first-occurrence order
        out = frame.iloc[best.to_numpy()]
    else:
        raise ValueError(f"duplicates must be 'max_mean', 'mean', 'first' or 'error', got {rule!r}")
    dropped = len(frame) - len(out)
    logger.warning(f"{what}: {len(names)} gene symbols were duplicated {preview(names)}; rule {rule!r} dropped {dropped} rows")
    return out, dropped


def _raw_header(path: Path, sep: str) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as fh:
        return next(csv.reader(fh, delimiter=sep), [])


def _looks_like_samples(labels: pd.Index) -> float:
    labels = pd.Index(labels).astype(str)
    return float(np.mean([bool(_SAMPLE_ID.match(s)) for s in labels])) if len(labels) else 0.0


def read_expression(
    path: str | os.PathLike,
    *,
    orientation: Literal["auto", "genes_x_samples", "samples_x_genes"] = "auto",
    duplicates: Duplicates = "max_mean",
    sep: str | None = None,
    dtype: str = "float32",
) -> AnnData:
    """Read an expression matrix into a patients x genes AnnData.

    Parameters
    ----------
    path
        ``.tsv``/``.txt`` (tab), ``.csv`` (comma) or ``.gct`` (GenePattern; ``Name``/``Description`` columns), each
        optionally gzipped. The first column holds the row labels.
    orientation
        ``"auto"`` decides from the labels: the axis whose labels look like sample ids (``TCGA-``, ``GSM...``) is the
        samples axis; if neither does, the longer axis is taken as genes (expression has far more genes than
        samples), and the choice is logged.
    duplicates
        Rule for repeated gene symbols (see :func:`collapse_duplicate_genes`); the rule and the count are reported
        and stored in ``adata.uns["read_expression"]``.
    sep
        Field separator; inferred from the suffix when ``None``.
    dtype
        dtype of ``X``.

    Returns
    -------
    AnnData with patients in ``obs_names`` and gene symbols in ``var_names``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no expression file at {path}")
    name = path.name.lower().removesuffix(".gz")
    is_gct = name.endswith(".gct")
    if sep is None:
        sep = "," if name.endswith(".csv") else "\t"
    if is_gct:
        df = pd.read_csv(path, sep="\t", skiprows=2, dtype={0: str, 1: str})
        if list(df.columns[:2]) != ["Name", "Description"]:
            raise ValueError(f"{path} is not a GCT file: its third line should start with Name<TAB>Description")
        df = df.drop(columns="Description").set_index("Name")
        orientation = "genes_x_samples" if orientation == "auto" else orientation
    else:
        df = pd.read_csv(path, sep=sep, index_col=0)
        header = _raw_header(path, sep)[1:]
        if len(header) == df.shape[1]:  # pandas renames repeated column names ("S1.1"): check the file's own header
            check_unique(pd.Index(header).str.strip(), f"column names in {path.name}")
    if df.empty or df.shape[1] == 0:
        raise ValueError(f"{path} holds no expression values (read {df.shape[0]} rows x {df.shape[1]} columns)")
    df.index = df.index.astype(str).str.strip()
    df.columns = df.columns.astype(str).str.strip()
    non_numeric = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if non_numeric:
        col = non_numeric[0]
        bad = df[col][pd.to_numeric(df[col], errors="coerce").isna() & df[col].notna()]
        raise ValueError(
            f"{path}: column {col!r} holds non-numeric values such as {bad.iloc[:3].tolist()} (rows {bad.index[:3].tolist()}); "
            f"{len(non_numeric)} columns are affected. Is sep={sep!r} right?"
        )
    if orientation == "auto":
        col_score, row_score = _looks_like_samples(df.columns), _looks_like_samples(df.index)
        if col_score >= 0.9 and col_score > row_score:
            orientation = "genes_x_samples"
        elif row_score >= 0.9:
            orientation = "samples_x_genes"
        else:
            orientation = "genes_x_samples" if df.shape[0] >= df.shape[1] else "samples_x_genes"
            logger.info(f"read_expression: took {path.name} as {orientation} (the longer axis holds the genes)")
    elif orientation not in ("genes_x_samples", "samples_x_genes"):
        raise ValueError(f"orientation must be 'auto', 'genes_x_samples' or 'samples_x_genes', got {orientation!r}")
    genes_x_samples = df if orientation == "genes_x_samples" else df.T
    finite = np.isfinite(genes_x_samples.to_numpy(dtype=float))
    if not finite.all():
        gene_i, sample_i = (int(i[0]) for i in np.nonzero(~finite))
        raise ValueError(
            f"{path}: {int((~finite).sum())} missing or infinite values, the first for gene "
            f"{genes_x_samples.index[gene_i]!r} in sample {genes_x_samples.columns[sample_i]!r}; impute or drop them first"
        )
    check_unique(genes_x_samples.columns, f"sample names in {path.name}")
    genes_x_samples, dropped = collapse_duplicate_genes(genes_x_samples, rule=duplicates, what=path.name)
    values = genes_x_samples.to_numpy(dtype=dtype).T
    adata = AnnData(
        X=values,
        obs=pd.DataFrame(index=pd.Index(genes_x_samples.columns, name=None)),
        var=pd.DataFrame(index=pd.Index(genes_x_samples.index, name=None)),
    )
    adata.uns["read_expression"] = {
        "path": str(path), "orientation": orientation, "duplicates": duplicates, "duplicate_rows_dropped": int(dropped),
    }
    return adata
