"""Input checks shared by every public function (checked before any expensive step, never with ``assert``)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

__all__ = [
    "check_adata",
    "check_unique",
    "check_finite",
    "patient_barcode",
    "preview",
    "adata_patients",
]

_TCGA_PATIENT = re.compile(r"^TCGA-[A-Z0-9]{2}-[A-Z0-9]{4}")


def preview(values: Iterable, n: int = 5) -> str:
    """The first ``n`` values as a short, readable list for error messages."""
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:n])
    return f"[{shown}{', ...' if len(values) > n else ''}] ({len(values)} in all)"


def check_unique(names: pd.Index | Iterable, what: str) -> None:
    """Raise when ``names`` has duplicates, naming them."""
    index = pd.Index(names)
    if not index.is_unique:
        dup = index[index.duplicated()].unique()
        raise ValueError(f"duplicated {what}: {preview(dup)}; make them unique first (e.g. adata.obs_names_make_unique())")


def check_finite(x, what: str) -> None:
    """Raise when ``x`` (dense or sparse) holds NaN or infinite values, saying where."""
    data = x.data if sparse.issparse(x) else np.asarray(x)
    if not np.issubdtype(data.dtype, np.number) or np.issubdtype(data.dtype, np.complexfloating):
        raise TypeError(f"{what} must be real numbers, got dtype {data.dtype}")
    bad = ~np.isfinite(data)
    if bad.any():
        if sparse.issparse(x):
            raise ValueError(f"{what} holds {int(bad.sum())} non-finite values (NaN or inf); impute or drop them first")
        rows, cols = np.nonzero(bad)
        raise ValueError(
            f"{what} holds {int(bad.sum())} non-finite values (NaN or inf), the first at row {rows[0]}, column {cols[0]}; "
            "impute or drop them first"
        )


def check_adata(adata, *, finite: bool = True, expression: bool = True, what: str = "adata") -> None:
    """Check that ``adata`` is a non-empty AnnData with unique names and (by default) finite numeric ``X``.

    ``expression=False`` is for functions that only use ``obs`` (clinical joins, trait encoding, survival): ``adata``
    then needs patients but may hold no genes.
    """
    if not isinstance(adata, AnnData):
        raise TypeError(f"{what} must be an AnnData (patients x genes), got {type(adata).__name__}")
    if adata.n_obs == 0 or (expression and adata.n_vars == 0):
        raise ValueError(f"{what} is empty ({adata.n_obs} patients x {adata.n_vars} genes)")
    check_unique(adata.obs_names, f"patient names in {what}.obs_names")
    if not expression:
        return
    check_unique(adata.var_names, f"gene names in {what}.var_names")
    if adata.X is None:
        raise ValueError(f"{what}.X is missing; radiogx needs expression in X")
    if finite:
        check_finite(adata.X, f"{what}.X")


def patient_barcode(ids: Iterable, *, what: str = "patient ids") -> pd.Index:
    """Map TCGA sample or aliquot barcodes to the 12-character patient barcode (``TCGA-XX-XXXX``).

    Ids that are not TCGA barcodes are kept as they are (stripped). Upper-cases TCGA ids.
    """
    out = []
    for raw in ids:
        if raw is None or (isinstance(raw, float) and np.isnan(raw)):
            raise ValueError(f"{what} hold a missing value; every row needs a patient id")
        s = str(raw).strip()
        up = s.upper()
        m = _TCGA_PATIENT.match(up)
        out.append(m.group(0) if m else s)
    return pd.Index(out, dtype="object")


def adata_patients(adata: AnnData) -> pd.Index:
    """12-character patient barcodes of ``adata.obs_names`` (unique), for joining per-patient tables."""
    patients = patient_barcode(adata.obs_names, what="adata.obs_names")
    check_unique(patients, "patients in adata.obs_names (after truncating TCGA barcodes to 12 characters)")
    return patients
