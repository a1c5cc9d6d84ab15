"""Helpers shared by the preprocessing functions: matching patients and writing obs columns safely."""

from __future__ import annotations

import pandas as pd
from anndata import AnnData

from .._logging import logger
from .._validation import check_unique, preview

__all__ = ["check_new_columns", "harmonise_obs_dtypes", "report_unmatched"]


def check_new_columns(adata: AnnData, columns, *, overwrite: bool, func: str) -> None:
    """Refuse to silently replace existing obs columns."""
    clash = [c for c in columns if c in adata.obs.columns]
    if clash and not overwrite:
        raise ValueError(f"{func}: adata.obs already has {preview(clash)}; pass overwrite=True to replace them")


def harmonise_obs_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Make columns h5ad-safe (column names must be unique): strings (object) become categoricals; numbers and categoricals stay as they are."""
    check_unique(frame.columns, "column names")
    out = frame.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if not isinstance(dtype, pd.CategoricalDtype) and (dtype == object or pd.api.types.is_string_dtype(dtype)):
            out[col] = out[col].astype("category")
    return out


def report_unmatched(func: str, adata_patients_: pd.Index, table_index: pd.Index, what: str) -> tuple[int, int]:
    """Log the adata patients missing from the table and the table rows missing from adata; return both counts."""
    not_in_table = adata_patients_.difference(table_index)
    not_in_adata = table_index.difference(adata_patients_)
    if len(not_in_table):
        logger.warning(f"{func}: {len(not_in_table)} of {len(adata_patients_)} patients have no {what} {preview(not_in_table)}")
    if len(not_in_adata):
        logger.info(f"{func}: {len(not_in_adata)} patients of the {what} are not in adata")
    return len(not_in_table), len(not_in_adata)
