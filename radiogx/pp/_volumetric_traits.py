"""VASARI-like imaging traits from segmented tumour volumes (Bakas et al. 2017 labels): continuous volume ratios, or
categories above and below a threshold."""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .. import __version__
from .._logging import logger
from .._validation import check_adata, check_unique, patient_barcode, preview
from .._validation import adata_patients
from ._utils import check_new_columns, report_unmatched

__all__ = ["volumetric_traits", "VOLUMETRIC_TRAITS"]

#: trait -> (numerator volume, denominator volume, the VASARI feature it stands in for). VASARI's proportions are
#: shares of the entire abnormality (enhancing, non-enhancing, necrotic and edema), so each is over the whole tumour.
VOLUMETRIC_TRAITS = {
    "enhancing": ("VOLUME_ET", "VOLUME_WT", "f5 proportion enhancing"),
    "ncet_necrosis": ("VOLUME_NET", "VOLUME_WT", "f6/f7 proportion nCET and necrosis"),
    "edema": ("VOLUME_ED", "VOLUME_WT", "f14 proportion edema"),
}


def _label(threshold: float) -> str:
    frac = Fraction(threshold).limit_denominator(12)
    return f"{frac.numerator}/{frac.denominator}" if abs(float(frac) - threshold) < 1e-9 else f"{threshold:g}"


def volumetric_traits(
    adata: AnnData,
    volumetrics: pd.DataFrame,
    *,
    threshold: float | Literal["median"] | None = None,
    key_added: str = "volumetric_traits",
    overwrite: bool = False,
    copy: bool = False,
) -> AnnData | None:
    """Imaging traits from tumour sub-region volumes, the continuous analogues of VASARI f5, f6/f7 and f14.

    ``enhancing`` = ET / WT, ``ncet_necrosis`` = NET / WT (necrosis and non-enhancing tumour), ``edema`` = ED / WT
    (ET enhancing tumour, NET necrotic and non-enhancing core, ED edema, WT whole tumour = ET + NET + ED): like
    VASARI's proportions, each is a share of the entire abnormality, so the three sum to 1 but none is another's
    mirror image (shares of the tumour core, ET / TC and NET / TC, would be: they sum to 1). By default
    each trait is the fraction itself, a continuous trait that :func:`radiogx.tl.train` regresses. With a
    ``threshold``, a patient is positive when the fraction is above it; categories follow the paper's VASARI
    binarisation (``["Less than 1/3", "More than 1/3"]`` at ``threshold=1/3``, which on the 48 TCGA-GBM patients of
    Verhaak et al. (2010) with volumes puts 17, 5 and 44 above it); ``"median"`` splits at the median fraction of the
    patients of ``adata`` that have one (balanced classes). Patients without volumes, or with a zero denominator, are
    missing and counted.

    Parameters
    ----------
    adata
        Patients x genes, ``obs_names`` TCGA barcodes.
    volumetrics
        Indexed by patient with ``VOLUME_ET``, ``VOLUME_NET``, ``VOLUME_ED`` and ``VOLUME_WT``
        (:func:`radiogx.datasets.tcga_gbm_volumetrics`).
    threshold
        ``None`` (default): continuous fractions. A fraction strictly between 0 and 1, or ``"median"`` (per trait):
        categories above and below it.
    key_added
        Key in ``adata.uns`` for the parameters and counts.
    overwrite
        Replace existing obs columns of the same names.
    copy
        Return a changed copy instead of changing ``adata`` in place.

    Returns
    -------
    ``None``, or the changed copy with ``copy=True``. Writes ``adata.obs[trait]`` for each trait (the float fraction;
    with a threshold, categorical with the positive class second, and the fraction in ``adata.obs[f"{trait}_fraction"]``),
    and ``adata.uns[key_added]`` (``params``, and per trait ``counts``: patients with a value and missing, and the
    class counts or the mean and sd).
    """
    check_adata(adata, expression=False)
    if not isinstance(volumetrics, pd.DataFrame):
        raise TypeError(f"volumetrics must be a DataFrame indexed by patient, got {type(volumetrics).__name__}")
    if threshold is not None and threshold != "median" and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < 1):
        raise ValueError(f"threshold must be None (continuous fractions), 'median' or a fraction strictly between 0 "
                         f"and 1, got {threshold!r}")
    needed = sorted({v for num, den, _ in VOLUMETRIC_TRAITS.values() for v in (num, den)})
    missing_cols = [c for c in needed if c not in volumetrics.columns]
    if missing_cols:
        raise ValueError(f"volumetric_traits: the table lacks {missing_cols}; it has {preview(volumetrics.columns)}")
    new_cols = [c for t in VOLUMETRIC_TRAITS for c in ((t,) if threshold is None else (t, f"{t}_fraction"))]
    check_new_columns(adata, new_cols, overwrite=overwrite, func="volumetric_traits")
    vol = volumetrics[needed].apply(pd.to_numeric, errors="coerce")
    if (vol < 0).any().any():
        bad = vol.index[(vol < 0).any(axis=1)]
        raise ValueError(f"volumetric_traits: negative volumes for patients {preview(bad)}")
    vol.index = patient_barcode(vol.index, what="volumetrics index")
    check_unique(vol.index, "patients in the volumetrics table")
    patients = adata_patients(adata)
    report_unmatched("volumetric_traits", patients, vol.index, "volumetric measurement")
    vol = vol.reindex(patients)

    out: dict[str, pd.Series | pd.Categorical] = {}
    counts, cuts = {}, {}
    for trait, (num, den, _) in VOLUMETRIC_TRAITS.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = (vol[num] / vol[den]).where(vol[den] > 0)
        if threshold is None:
            out[trait] = frac.to_numpy(dtype=float)
            counts[trait] = {"n": int(frac.notna().sum()), "missing": int(frac.isna().sum()),
                             "mean": float(frac.mean()), "sd": float(frac.std(ddof=1))}
            logger.info(f"volumetric_traits: {trait} = {num}/{den} (continuous): {counts[trait]}")
            continue
        cut = float(frac.median()) if threshold == "median" else float(threshold)
        label = _label(cut)
        cats = [f"Less than {label}", f"More than {label}"]
        klass = np.where(frac.isna(), None, np.where(frac > cut, cats[1], cats[0]))
        out[trait] = pd.Categorical(klass, categories=cats)
        out[f"{trait}_fraction"] = frac.to_numpy(dtype=float)
        cuts[trait] = cut
        counts[trait] = {"positive": int((frac > cut).sum()), "negative": int((frac <= cut).sum()),
                         "missing": int(frac.isna().sum())}
        logger.info(f"volumetric_traits: {trait} = {num}/{den} > {label}: {counts[trait]}")

    target = adata.copy() if copy else adata
    for col, values in out.items():
        target.obs[col] = values
    target.uns[key_added] = {
        "params": {"threshold": "" if threshold is None else str(threshold), "cuts": cuts, "definitions": {t: f"{n}/{d}" for t, (n, d, _) in VOLUMETRIC_TRAITS.items()},
                   "radiogx_version": __version__},
        "counts": counts,
    }
    return target if copy else None
