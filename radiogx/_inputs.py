"""What a model reads: within-patient input transforms, and the training cohort's gene structure that infers a gene a
new cohort lacks.

Within-patient transforms make a patient's expression comparable across platforms using that patient alone.

A transform is chosen when a model is trained (``rg.tl.train(..., input_transform=...)``), stored with the model, and
applied to every patient before the model's scaler, in training, interpretation and prediction alike. Because it uses
one patient's values only, a patient is predicted the same way alone or inside any cohort, and a monotone change of
scale that a platform applies to every gene leaves it unchanged (Mao et al., BMC Cancer 2022: within-sample ranks
mapped to normal scores travel across platforms).
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

__all__ = ["INPUT_TRANSFORMS", "check_input_transform", "transform_inputs", "fit_gene_structure", "infer_missing"]

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


# --- the training cohort's gene structure: what a missing gene's value is likely to be, given the others -----------

#: Principal components of the training cohort kept to infer missing genes.
STRUCTURE_COMPONENTS = 50


def fit_gene_structure(z: np.ndarray, n_components: int = STRUCTURE_COMPONENTS) -> dict:
    """A probabilistic PCA of scaled training expression ``z`` (patients x genes; Tipping & Bishop, JRSS-B 1999):
    ``loadings`` (genes x k, orthonormal), the ``variance`` of each component's scores and the ``noise`` variance per
    gene (the mean variance outside the k components), k = ``min(n_components, patients - 1, genes)``."""
    z = np.asarray(z, dtype=np.float64)
    n, g = z.shape
    k = int(max(1, min(n_components, n - 1, g)))
    _, s, vt = np.linalg.svd(z - z.mean(axis=0), full_matrices=False)
    eig = s ** 2 / max(n - 1, 1)
    noise = float(eig[k:].sum() / max(g - k, 1)) if g > k else 0.0
    return {"loadings": vt[:k].T.astype(np.float32), "variance": eig[:k].astype(np.float32),
            "noise": max(noise, 1e-6 * float(eig[:k].mean()))}


def infer_missing(z: np.ndarray, present: np.ndarray, structure: dict) -> np.ndarray:
    """The expected scaled values of the genes not ``present`` given the present ones, under the probabilistic PCA
    ``structure`` (:func:`fit_gene_structure`): the posterior mean of the component scores,
    :math:`(L_o^T L_o + \\sigma^2 \\Lambda^{-1})^{-1} L_o^T z_o`, mapped back through the missing genes' loadings.
    ``z``: patients x present genes; returns patients x missing genes."""
    loadings = np.asarray(structure["loadings"], dtype=np.float64)
    variance = np.asarray(structure["variance"], dtype=np.float64)
    observed, missing = loadings[present], loadings[~present]
    precision = observed.T @ observed + float(structure["noise"]) * np.diag(1.0 / variance)
    scores = np.linalg.solve(precision, observed.T @ np.asarray(z, dtype=np.float64).T).T
    return scores @ missing.T
