"""Join clinical data (survival endpoints, covariates) to the patients of an AnnData."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from anndata import AnnData

from .. import __version__
from .._validation import check_adata, check_unique, patient_barcode, preview
from .._validation import adata_patients
from ._utils import check_new_columns, harmonise_obs_dtypes, report_unmatched

__all__ = ["add_clinical"]


def add_clinical(
    adata: AnnData,
    clinical: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    key_added: str = "clinical",
    overwrite: bool = False,
    copy: bool = False,
) -> AnnData | None:
    """Add per-patient clinical columns (e.g. ``os_days``, ``os_event``, ``age``) to ``adata.obs``.

    Rows are matched on the 12-character TCGA patient barcode (other ids are matched as they are). Patients without
    a clinical record get missing values and are reported, as is the number of clinical rows not in ``adata``.

    Parameters
    ----------
    adata
        Patients x genes.
    clinical
        One row per patient, indexed by patient id (e.g. :func:`radiogx.datasets.tcga_gbm_clinical`).
    columns
        Columns to add; all by default.
    key_added
        Key in ``adata.uns`` for the parameters and the match counts.
    overwrite
        Replace obs columns of the same name.
    copy
        Return a changed copy instead of changing ``adata`` in place.

    Returns
    -------
    ``None``, or the changed copy with ``copy=True``. Writes the columns to ``adata.obs`` (strings as categoricals)
    and ``adata.uns[key_added]`` (``params``, ``n_matched``, ``n_unmatched``).
    """
    check_adata(adata, expression=False)
    if not isinstance(clinical, pd.DataFrame):
        raise TypeError(f"clinical must be a DataFrame indexed by patient, got {type(clinical).__name__}")
    if clinical.empty:
        raise ValueError("add_clinical: the clinical table has no rows")
    columns = list(clinical.columns) if columns is None else list(columns)
    unknown = [c for c in columns if c not in clinical.columns]
    if unknown:
        raise ValueError(f"add_clinical: columns {preview(unknown)} are not in the clinical table; it has {preview(clinical.columns)}")
    if not columns:
        raise ValueError("add_clinical: columns is empty")
    check_new_columns(adata, columns, overwrite=overwrite, func="add_clinical")
    table = clinical[columns].copy()
    table.index = patient_barcode(table.index, what="clinical index")
    check_unique(table.index, "patients in the clinical table")
    patients = adata_patients(adata)
    n_unmatched, _ = report_unmatched("add_clinical", patients, table.index, "clinical record")
    joined = harmonise_obs_dtypes(table.reindex(patients))
    joined.index = adata.obs_names

    target = adata.copy() if copy else adata
    for col in columns:
        target.obs[col] = joined[col]
    target.uns[key_added] = {
        "params": {"columns": list(map(str, columns)), "radiogx_version": __version__},
        "n_matched": int(len(patients) - n_unmatched),
        "n_unmatched": int(n_unmatched),
    }
    return target if copy else None
