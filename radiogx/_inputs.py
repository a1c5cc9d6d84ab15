"""Within-patient input transforms: a patient's expression made comparable across platforms using that patient alone.

A transform is chosen when a model is trained (``rg.tl.train(..., input_transform=...)``), stored with the model, and
applied to every patient before the model's scaler, in training, interpretation and prediction alike. Because it uses
one patient's values only, a patient is predicted the same way alone or inside any cohort, and a monotone change of
scale that a platform applies to every gene leaves it unchanged (Mao et al., BMC Cancer 2022: within-sample ranks
mapped to normal scores travel across platforms).
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

__all__ = ["INPUT_TRANSFORMS", "check_input_transform", "transform_inputs"]

#: ``"none"``: the values as given; ``"rank_normal"``: each patient's values replaced by the normal scores of their
#: ranks within that patient (ties share their mean rank), :math:`\\Phi^{-1}((r - 1/2) / n)` over the ``n`` genes.
INPUT_TRANSFORMS = ("none", "rank_normal")


def check_input_transform(name) -> str:
    """``name`` if it is one of :data:`INPUT_TRANSFORMS`, else a ``ValueError`` naming them."""
    if not isinstance(name, str) or name not in INPUT_TRANSFORMS:
        raise ValueError(f"input_transform must be one of {INPUT_TRANSFORMS}, got {name!r}")
    return name


def transform_inputs(x: np.ndarray, name: str) -> np.ndarray:
    """Apply the within-patient transform ``name`` to ``x`` (patients x genes), row by row; float32 out.

    ``"rank_normal"`` ranks each row over its ``n`` columns: the genes given are the genes ranked, so a patient
    measured on fewer of a model's genes is ranked among those (its scores keep the same normal quantiles)."""
    name = check_input_transform(name)
    if name == "none":
        return np.asarray(x, dtype=np.float32)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"rank_normal needs a patients x genes matrix with at least one gene, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("rank_normal needs finite values: set missing values first (a NaN has no rank)")
    ranks = stats.rankdata(x, axis=1, method="average")
    return special.ndtri((ranks - 0.5) / x.shape[1]).astype(np.float32)
