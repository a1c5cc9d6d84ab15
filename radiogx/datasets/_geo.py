"""Loaders for the external (GEO) glioma cohorts, as processed by GlioVis."""

from __future__ import annotations

import pandas as pd
from anndata import AnnData

from ..io import read_expression
from ._fetch import fetch

__all__ = ["phillips2006", "freije2004"]

_DAYS_PER_MONTH = 365.25 / 12


def _gliovis(expression: str, clinical: str) -> AnnData:
    adata = read_expression(fetch(expression), orientation="genes_x_samples")
    del adata.uns["read_expression"]
    clin = pd.read_csv(fetch(clinical), index_col="Sample")
    missing = adata.obs_names.difference(clin.index)
    if len(missing):
        raise ValueError(f"{clinical} lacks {len(missing)} samples of the expression file, e.g. {missing[:3].tolist()}")
    clin = clin.loc[adata.obs_names]
    clin.insert(0, "os_days", clin["survival"].astype(float) * _DAYS_PER_MONTH)
    clin.insert(1, "os_event", clin["status"].astype("Int64"))
    for col in clin.columns:
        if clin[col].dtype == object:
            clin[col] = clin[col].astype("category")
    adata.obs = clin
    return adata


def phillips2006() -> AnnData:
    """Phillips et al. 2006 (GEO GSE4271): 12,703 genes x 100 high-grade gliomas (76 GBM), log2 expression.

    Returns
    -------
    AnnData 100 x 12703 with the GlioVis annotation in obs: ``Histology``, ``Grade``, Verhaak-style subtype calls
    (``Subtype.svm``: Proneural/Classical/Mesenchymal for the 76 GBMs), ``CIMP_status``, ``survival`` (months),
    ``status`` (1 = dead), ``Age``, ``Gender``, plus ``os_days`` and ``os_event`` derived from them.
    """
    return _gliovis("phillips2006/Phillips_expression_12703genes_x_100samples.csv.gz", "phillips2006/Phillips_clinical_100samples.csv")


def freije2004() -> AnnData:
    """Freije et al. 2004 (GEO GSE4412): 12,713 genes x 85 gliomas (59 GBM), log2 expression, with GlioVis annotation.

    Returns
    -------
    AnnData 85 x 12713; obs as in :func:`phillips2006`.
    """
    return _gliovis("freije2004/Freije_expression_12713genes_x_85samples.csv.gz", "freije2004/Freije_clinical_85samples.csv")
