"""TCGA Biotab clinical files."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .._validation import check_unique, patient_barcode

__all__ = ["read_tcga_clinical", "TCGA_MISSING"]

#: Biotab placeholders for a missing value.
TCGA_MISSING = (
    "[Not Available]", "[Not Applicable]", "[Unknown]", "[Discrepancy]", "[Not Evaluated]",
    "[Completed]", "[Pending]", "[Not Reported]", "[Not Requested]", "[Not Collected]", "", "NA",
)


def read_tcga_clinical(path: str | os.PathLike, *, index_col: str = "bcr_patient_barcode") -> pd.DataFrame:
    """Read a TCGA Biotab clinical file (``nationwidechildrens.org_clinical_*.txt``).

    Biotab files are tab-separated with three header rows: the column names, their alternative names and the CDE ids.
    The first row names the columns; the other two are dropped. Every Biotab placeholder (``"[Not Available]"``,
    ``"[Unknown]"``, ``"[Discrepancy]"``, ...; :data:`TCGA_MISSING`) becomes missing, and columns whose remaining values
    are all numbers become numeric.

    Parameters
    ----------
    path
        The Biotab file.
    index_col
        Column holding the patient barcode; it becomes the index (12-character TCGA barcode).

    Returns
    -------
    DataFrame with one row per patient.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no clinical file at {path}")
    head = pd.read_csv(path, sep="\t", nrows=3, header=None, dtype=str, keep_default_na=False)
    if len(head) < 3 or not str(head.iloc[2, 0]).startswith("CDE_ID"):
        raise ValueError(
            f"{path} is not a TCGA Biotab file: its third row should hold CDE_ID codes, found {head.iloc[:, 0].tolist()}"
        )
    df = pd.read_csv(path, sep="\t", skiprows=[1, 2], dtype=str, keep_default_na=False, na_values=list(TCGA_MISSING))
    if index_col not in df.columns:
        raise ValueError(f"{path} has no column {index_col!r}; columns include {df.columns[:6].tolist()}")
    for col in df.columns:
        if col == index_col:
            continue
        converted = pd.to_numeric(df[col], errors="coerce")
        if converted.notna().sum() == df[col].notna().sum() and df[col].notna().any():
            df[col] = converted
    df.index = patient_barcode(df.pop(index_col), what=f"{index_col} in {path.name}")
    df.index.name = index_col
    check_unique(df.index, f"patients in {path.name}")
    return df
