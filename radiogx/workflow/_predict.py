"""``radiogx predict MODEL.pt COHORT``: a saved model applied to a new cohort, with its table, .h5ad and report."""

from __future__ import annotations

import os
from pathlib import Path

import anndata
from anndata import AnnData

from .. import get, io, pp, tl
from .._atomic import atomic_path
from .._logging import logger
from .._validation import adata_patients, patient_barcode
from ._inputs import _table

__all__ = ["read_cohort", "predict_cohort"]


def read_cohort(path: str | os.PathLike, *, obs: str | os.PathLike | None = None, orientation: str = "auto") -> AnnData:
    """A cohort from an ``.h5ad`` or an expression table (``.tsv``/``.csv``/``.gct``, optionally gzipped, its axes
    given by ``orientation`` as :func:`radiogx.io.read_expression` takes it), with the per-patient columns of ``obs``
    (a table whose first column is the patient id) added to ``.obs``.

    Returns
    -------
    The cohort, patients x genes.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no cohort file at {path}")
    adata = anndata.read_h5ad(path) if path.suffix == ".h5ad" else io.read_expression(path, orientation=orientation)
    if obs is not None:
        if not Path(obs).is_file():
            raise FileNotFoundError(f"no obs table at {obs}")
        table = _table(str(obs))
        if not patient_barcode(table.index).isin(adata_patients(adata)).any():
            raise ValueError(f"{obs} shares no patient id with the cohort (table: {list(table.index[:3])}, cohort: "
                             f"{list(adata.obs_names[:3])})")
        pp.add_clinical(adata, table, key_added="obs_table")
    return adata


def predict_cohort(model: str | os.PathLike, cohort: str | os.PathLike, out: str | os.PathLike, *,
                   obs: str | os.PathLike | None = None, orientation: str = "auto", truth: str | None = None,
                   missing_genes: str = "error", scale: str = "training", min_coverage: float = 0.8,
                   reference: str | os.PathLike | None = None, abstain_below: float | None = None) -> AnnData:
    """Apply a saved model to a cohort file (:func:`radiogx.tl.predict`) and write ``<out>/predictions.tsv``,
    ``<out>/predictions.h5ad`` and a self-contained ``<out>/report.html``. Nothing is written when the prediction is
    refused (too little coverage, a file that is not a model, a malformed cohort). ``reference``: the file of a
    reference cohort of the same platform (``scale="reference"``), read as the cohort is.

    Returns
    -------
    The cohort with the predictions in ``.obs`` and the ``"predict"`` record.
    """
    from ._report import render_report

    adata = read_cohort(cohort, obs=obs, orientation=orientation)
    ref = read_cohort(reference, orientation=orientation) if reference is not None else None
    extra = {} if abstain_below is None else {"abstain_below": abstain_below}
    tl.predict(adata, model=model, missing_genes=missing_genes, scale=scale, min_coverage=min_coverage, truth=truth,
               reference=ref, **extra)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = get.predictions_df(adata)
    with atomic_path(out / "predictions.tsv") as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    with atomic_path(out / "predictions.h5ad") as tmp:
        adata.write_h5ad(tmp)
    report = render_report(adata, out, formats=("png",),
                           title=f"radiogx predict: {Path(model).name} applied to {Path(cohort).name}")
    logger.info(f"predict: {len(table)} patients -> {out / 'predictions.tsv'}, {out / 'predictions.h5ad'}, {report}")
    return adata
