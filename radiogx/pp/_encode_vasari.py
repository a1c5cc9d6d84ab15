"""VASARI answers to model-ready traits, with the paper's binarisation (Smedley, El-Saden & Hsu 2020)."""

from __future__ import annotations

import os
import re
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .. import __version__
from .._logging import logger
from .._validation import check_adata, check_unique, patient_barcode
from ..io import read_vasari
from .._validation import adata_patients
from ._utils import check_new_columns, report_unmatched

__all__ = ["encode_vasari", "VASARI_FEATURES"]

_PROPORTION = {  # canonical answer -> (ordinal level, paper's binary class)
    "minimal": ("Minimal", "Less than 1/3"),
    "less than 1/3": ("Less than 1/3", "Less than 1/3"),
    "between 1/3 and 2/3": ("Between 1/3 and 2/3", "More than 1/3"),
    "more than 2/3": ("More than 2/3", "More than 1/3"),
}
_MULTIFOCAL = {
    "focal": ("Focal", "Focal"),
    "multifocal or multicentric": ("Multifocal or Multicentric", "non-focal"),
    "multifocal": ("Multifocal or Multicentric", "non-focal"),
    "multicentric": ("Multifocal or Multicentric", "non-focal"),
    "gliomatosis": ("Gliomatosis", "non-focal"),
}
_T1_FLAIR = {
    "expansive (t1~flair)": ("expansive", "expansive"),
    "expansive": ("expansive", "expansive"),
    "mixed (t1 less than flair)": ("mixed", "infiltrative"),
    "mixed": ("mixed", "infiltrative"),
    "infiltrative (t1 much smaller than flair)": ("infiltrative", "infiltrative"),
    "infiltrative": ("infiltrative", "infiltrative"),
}

#: feature -> (description, answer map, binary categories [negative, positive], ordinal levels)
VASARI_FEATURES: dict[str, tuple[str, dict, list[str], list[str]]] = {
    "f5": ("proportion enhancing", _PROPORTION, ["Less than 1/3", "More than 1/3"],
           ["Minimal", "Less than 1/3", "Between 1/3 and 2/3", "More than 2/3"]),
    "f6": ("proportion nCET", _PROPORTION, ["Less than 1/3", "More than 1/3"],
           ["Minimal", "Less than 1/3", "Between 1/3 and 2/3", "More than 2/3"]),
    "f7": ("proportion necrosis", _PROPORTION, ["Less than 1/3", "More than 1/3"],
           ["Minimal", "Less than 1/3", "Between 1/3 and 2/3", "More than 2/3"]),
    "f9": ("multifocal or multicentric", _MULTIFOCAL, ["Focal", "non-focal"],
           ["Focal", "Multifocal or Multicentric", "Gliomatosis"]),
    "f10": ("T1/FLAIR ratio", _T1_FLAIR, ["expansive", "infiltrative"], ["expansive", "mixed", "infiltrative"]),
    "f14": ("proportion edema", _PROPORTION, ["Less than 1/3", "More than 1/3"],
           ["Minimal", "Less than 1/3", "Between 1/3 and 2/3", "More than 2/3"]),
}
_MISSING = {"", "n/a", "na", "nan", "indeterminate"}
_COLUMN = re.compile(r"^(f\d+)(?:$|[._ \-])", re.IGNORECASE)


def _normalise(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return re.sub(r"\s+", " ", str(value)).strip().lower()


def _feature_columns(vasari: pd.DataFrame) -> dict[str, str]:
    found: dict[str, str] = {}
    for col in vasari.columns:
        m = _COLUMN.match(str(col).strip())
        if m and m.group(1).lower() in VASARI_FEATURES:
            feature = m.group(1).lower()
            if feature in found:
                raise ValueError(f"encode_vasari: two columns hold VASARI {feature}: {found[feature]!r} and {col!r}")
            found[feature] = col
    if not found:
        raise ValueError(
            f"encode_vasari: no VASARI feature column found among {list(vasari.columns)}; expected names starting with "
            f"{', '.join(VASARI_FEATURES)} (e.g. 'f5.proportion.enhancing')"
        )
    return found


def encode_vasari(
    adata: AnnData,
    vasari: pd.DataFrame | str | os.PathLike,
    *,
    scheme: Literal["paper", "ordinal"] = "paper",
    key_added: str = "vasari",
    overwrite: bool = False,
    copy: bool = False,
) -> AnnData | None:
    """Encode VASARI answers as the imaging traits ``f5``, ``f6``, ``f7``, ``f9``, ``f10`` and ``f14`` in ``adata.obs``.

    The paper's binarisation (Smedley, El-Saden & Hsu 2020, their code's ``setup.py`` get_gbm_data):
    f5 enhancing, f6 nCET, f7 necrosis and f14 edema: "Minimal" and "Less than 1/3" -> ``"Less than 1/3"``,
    "Between 1/3 and 2/3" and "More than 2/3" -> ``"More than 1/3"`` (positive); f9: "Focal" -> ``"Focal"``,
    multifocal, multicentric or gliomatosis -> ``"non-focal"`` (positive); f10: expansive -> ``"expansive"``,
    mixed or infiltrative -> ``"infiltrative"`` (positive). Each trait is a categorical whose categories are
    ``[negative, positive]``. "n/a", "indeterminate" and blanks become missing (counted in the log), as do patients
    that the table does not annotate. Patients are matched on the 12-character TCGA barcode.

    Parameters
    ----------
    adata
        Patients x genes; ``obs_names`` are TCGA patient or sample barcodes.
    vasari
        The annotation table (:func:`radiogx.io.read_vasari`) or a path to it. Feature columns are found by their
        name's prefix (``f5.proportion.enhancing`` -> f5).
    scheme
        ``"paper"``: the binary traits above. ``"ordinal"``: ordered categoricals keeping the answer levels
        (Minimal < Less than 1/3 < Between 1/3 and 2/3 < More than 2/3; expansive < mixed < infiltrative).
    key_added
        Key in ``adata.uns`` for the parameters and counts.
    overwrite
        Replace trait columns that ``adata.obs`` already has.
    copy
        Return a changed copy instead of changing ``adata`` in place.

    Returns
    -------
    ``None``, or the changed copy with ``copy=True``. Writes ``adata.obs[feature]`` for each feature present and
    ``adata.uns[key_added]`` with ``params`` (scheme, columns, categories, positive class, version) and ``counts``
    (per feature: encoded, missing answers, patients not annotated).

    Raises
    ------
    ValueError
        An answer that is not a known VASARI answer (naming the column, the value and the patient), no feature
        column, or existing trait columns without ``overwrite``.
    """
    check_adata(adata, expression=False)
    if scheme not in ("paper", "ordinal"):
        raise ValueError(f"scheme must be 'paper' or 'ordinal', got {scheme!r}")
    if isinstance(vasari, str | os.PathLike):
        vasari = read_vasari(vasari)
    if not isinstance(vasari, pd.DataFrame):
        raise TypeError(f"vasari must be a DataFrame or a path, got {type(vasari).__name__}")
    if vasari.empty:
        raise ValueError("encode_vasari: the VASARI table has no rows")
    if not vasari.index.is_unique:
        raise ValueError(f"encode_vasari: the VASARI table repeats patients {vasari.index[vasari.index.duplicated()][:5].tolist()}")
    columns = _feature_columns(vasari)
    check_new_columns(adata, columns, overwrite=overwrite, func="encode_vasari")
    patients = adata_patients(adata)
    table = vasari.copy()
    table.index = patient_barcode(table.index, what="VASARI table index")
    check_unique(table.index, "patients in the VASARI table (12-character barcodes)")

    encoded: dict[str, pd.Categorical] = {}
    counts: dict[str, dict[str, int]] = {}
    not_annotated = int((~patients.isin(table.index)).sum())
    for feature, col in columns.items():
        _, answers, binary, ordinal = VASARI_FEATURES[feature]
        values = {}
        missing = []
        for patient, raw in table[col].items():
            norm = _normalise(raw)
            if norm is None or norm in _MISSING:
                missing.append(patient)
                continue
            if norm not in answers:
                known = sorted({a[0] for a in answers.values()})
                raise ValueError(
                    f"encode_vasari: column {col!r} has the unknown answer {raw!r} for patient {patient}; "
                    f"known answers: {known} (or 'n/a', 'indeterminate', blank for missing)"
                )
            level, klass = answers[norm]
            values[patient] = klass if scheme == "paper" else level
        per_patient = pd.Series(values, dtype=object).reindex(patients)
        cats = binary if scheme == "paper" else ordinal
        encoded[feature] = pd.Categorical(per_patient.to_numpy(), categories=cats, ordered=scheme == "ordinal")
        counts[feature] = {
            "encoded": int(per_patient.notna().sum()),
            "missing_answer": int(pd.Index(missing).isin(patients).sum()),
            "not_annotated": not_annotated,
        }
        logger.info(
            f"encode_vasari: {feature} ({col}): {counts[feature]['encoded']} patients encoded, "
            f"{counts[feature]['missing_answer']} 'n/a'/indeterminate/blank answers and {not_annotated} unannotated "
            f"patients set to missing ({len(missing)} missing answers in the whole table)"
        )
    report_unmatched("encode_vasari", patients, table.index, "VASARI annotation")

    target = adata.copy() if copy else adata
    for feature, values in encoded.items():
        target.obs[feature] = values
    target.uns[key_added] = {
        "params": {
            "scheme": scheme,
            "columns": {f: str(c) for f, c in columns.items()},
            "categories": {f: list(encoded[f].categories) for f in encoded},
            "positive_class": {f: VASARI_FEATURES[f][2][1] for f in encoded} if scheme == "paper" else {},
            "radiogx_version": __version__,
        },
        "counts": counts,
    }
    return target if copy else None
