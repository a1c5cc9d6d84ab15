"""VASARI MRI annotation tables."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from .._validation import check_unique, patient_barcode, preview

__all__ = ["read_vasari"]

_TCGA = re.compile(r"^TCGA-[A-Za-z0-9]{2}-[A-Za-z0-9]{4}")
_SHORT = re.compile(r"^[A-Za-z0-9]{2}-[A-Za-z0-9]{4}$")
_ID_NAMES = ("patient", "bcr_patient_barcode", "research.id", "research id", "research_id", "id", "subject")


def _is_id_column(values: pd.Series) -> bool:
    v = values.dropna().astype(str).str.strip()
    return len(v) > 0 and v.map(lambda s: bool(_TCGA.match(s))).all()


def read_vasari(path: str | os.PathLike, *, patient_col: str | None = None, sheet_name: str | int = 0) -> pd.DataFrame:
    """Read a VASARI annotation table (CSV or XLSX) indexed by the 12-character TCGA patient barcode.

    Answers are kept as the raw strings ("Minimal", "Less than 1/3", "n/a", ...); encode them with
    :func:`radiogx.pp.encode_vasari`.

    Parameters
    ----------
    path
        ``.csv`` (also ``.tsv``/``.txt``, tab-separated) or ``.xlsx`` file.
    patient_col
        Column holding the patient id. ``None`` takes the first column whose values are all TCGA barcodes, else a
        column named ``patient``/``research.id``/``id`` whose short ids (``"08-0354"``) get the ``"TCGA-"`` prefix.
    sheet_name
        Sheet of an XLSX file.

    Returns
    -------
    DataFrame of strings, index ``patient`` (unique 12-character barcodes).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no VASARI file at {path}")
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith((".xlsx", ".xls")):
        df = pd.read_excel(path, sheet_name=sheet_name, dtype=str, keep_default_na=False, na_values=["", "NA"])
    elif suffix.endswith(".csv"):
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=["", "NA"])
    elif suffix.endswith((".tsv", ".txt")):
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=["", "NA"])
    else:
        raise ValueError(f"read_vasari reads .csv, .tsv, .txt or .xlsx files, got {path.name!r}")
    if df.empty:
        raise ValueError(f"{path} holds no annotation rows")
    if patient_col is None:
        patient_col = next((c for c in df.columns if _is_id_column(df[c])), None)
    if patient_col is None:
        patient_col = next((c for c in df.columns if str(c).strip().lower() in _ID_NAMES), None)
    if patient_col is None or patient_col not in df.columns:
        raise ValueError(
            f"{path}: cannot find the patient id column (columns: {df.columns.tolist()}); pass patient_col= with its name"
        )
    ids = df.pop(patient_col).astype("string").str.strip()
    if ids.isna().any():
        raise ValueError(f"{path}: column {patient_col!r} has {int(ids.isna().sum())} rows without a patient id")
    ids = ids.map(lambda s: f"TCGA-{s}" if _SHORT.match(s) else s)
    df.index = patient_barcode(ids, what=f"column {patient_col!r} of {path.name}")
    df.index.name = "patient"
    check_unique(df.index, f"patients in {path.name}")
    df.columns = [str(c).strip() for c in df.columns]
    unnamed = [c for c in df.columns if c.startswith("Unnamed:")]
    if unnamed:
        raise ValueError(f"{path}: columns without a header {preview(unnamed)}; name them or drop them first")
    return df
