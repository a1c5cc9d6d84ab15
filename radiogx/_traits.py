"""A trait as the modelling tools see it: its task (classes or a value), its labelled patients and its transform.

Torch-free: the readers, plots and the workflow's input checks use it as the tools do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from ._inputs import check_input_transform, transform_inputs
from ._logging import logger
from ._validation import check_adata, preview

__all__ = ["TASKS", "TRANSFORMS", "TraitData", "trait_data", "trait_task", "continuous_values"]


#: What a network learns of a trait: its classes, or its value (a continuous trait: a volume ratio, a radiomic feature).
TASKS = ("auto", "classification", "regression")
#: Transforms of a continuous trait before it is modelled (every score is then on the transformed scale).
TRANSFORMS = ("none", "logit", "log")


class TraitData:
    """The labelled patients of one trait: expression, and integer labels with class names (positive class last), or
    the values of a continuous trait (``task="regression"``, ``classes`` empty)."""

    def __init__(self, adata: AnnData, trait: str, mask: np.ndarray, y: np.ndarray, classes: list[str],
                 task: str = "classification", transform: str = "none", input_transform: str = "none") -> None:
        self.trait, self.mask, self.y, self.classes = trait, mask, y, classes
        self.task, self.transform, self.input_transform = task, transform, input_transform
        self.obs_names = adata.obs_names[mask]
        x = adata.X[mask]
        self.x = transform_inputs(x.toarray() if hasattr(x, "toarray") else x, input_transform)
        self.genes = adata.var_names.copy()

    @property
    def n_classes(self) -> int:
        """Number of classes; 0 (``nn.REGRESSION``) for a continuous trait."""
        return len(self.classes)

    @property
    def is_regression(self) -> bool:
        return self.task == "regression"


def trait_task(values: pd.Series) -> str:
    """The task ``task="auto"`` picks for an ``obs`` column: ``"regression"`` for a float column with a value that is
    not a whole number (a ratio, a volume, a radiomic feature), else ``"classification"`` (categories, strings,
    booleans, integers and whole-number floats such as 0/1 codes)."""
    if pd.api.types.is_float_dtype(values.dtype) and not isinstance(values.dtype, pd.CategoricalDtype):
        v = values.dropna().to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if len(v) and not np.all(v == np.round(v)):
            return "regression"
    return "classification"


def continuous_values(adata: AnnData, trait: str, *, transform: str = "none", cv: int | None = None,
                      func: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The patients with a value of the continuous trait ``adata.obs[trait]`` (a boolean mask) and those values,
    transformed; the checks of a regression (numbers, finite, in the transform's domain, not constant, 2 per fold)."""
    values = adata.obs[trait]
    if isinstance(values.dtype, pd.CategoricalDtype) or not (pd.api.types.is_numeric_dtype(values.dtype)
                                                             and not pd.api.types.is_bool_dtype(values.dtype)):
        raise ValueError(f"{func}: trait {trait!r} is {values.dtype} ({preview(values.dropna().astype(str).unique())}); "
                         "task='regression' needs numbers: convert the column, or use task='classification'")
    v = values.to_numpy(dtype=float, na_value=np.nan)  # nullable integers' <NA> too
    bad = np.isinf(v)
    if bad.any():
        raise ValueError(f"{func}: trait {trait!r} has non-finite values for patients {preview(adata.obs_names[bad])}; "
                         "set them to NaN (missing) or correct them")
    mask = ~np.isnan(v)
    if transform == "logit":
        out = mask & ((v <= 0) | (v >= 1))
        if out.any():
            raise ValueError(f"{func}: transform='logit' needs fractions strictly between 0 and 1; trait {trait!r} has "
                             f"{preview(np.unique(v[out]))} (patients {preview(adata.obs_names[out])})")
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log(v) - np.log1p(-v)
    elif transform == "log":
        out = mask & (v <= 0)
        if out.any():
            raise ValueError(f"{func}: transform='log' needs positive values; trait {trait!r} has "
                             f"{preview(np.unique(v[out]))} (patients {preview(adata.obs_names[out])})")
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log(v)
    elif transform != "none":
        raise ValueError(f"transform must be one of {TRANSFORMS}, got {transform!r}")
    y = v[mask].astype(np.float64)
    if len(y) < 3 or np.ptp(y) == 0:
        raise ValueError(f"{func}: trait {trait!r} is constant (or has fewer than 3 values) among its "
                         f"{int(mask.sum())} patients with a value: a regression needs a trait that varies")
    if cv is not None and len(y) < 2 * cv:
        raise ValueError(f"{func}: trait {trait!r} has {len(y)} patients with a value, fewer than 2 per fold "
                         f"(cv={cv}); lower cv to at most {len(y) // 2} or gather more patients")
    n_missing = int((~mask).sum())
    if n_missing:
        logger.info(f"{func}: trait {trait!r}: {n_missing} patients without a value are left out ({int(mask.sum())} used)")
    return mask, y


def trait_data(adata: AnnData, trait: str, *, cv: int | None = None, func: str = "train", task: str = "auto",
               transform: str = "none", input_transform: str = "none") -> TraitData:
    """Check ``trait`` and return its labelled patients; missing values are dropped and counted in the log.

    ``task="auto"`` models a float column with non-whole values as a continuous trait (:func:`trait_task`), anything
    else as classes; ``transform`` applies to continuous traits only; ``input_transform``, the within-patient
    transform of the expression (:func:`radiogx._inputs.transform_inputs`), to every patient's values."""
    check_adata(adata)
    check_input_transform(input_transform)
    if not isinstance(trait, str) or trait not in adata.obs.columns:
        raise ValueError(f"{func}: trait {trait!r} is not a column of adata.obs; columns are {preview(adata.obs.columns, 10)}")
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {TRANSFORMS}, got {transform!r}")
    values = adata.obs[trait]
    if task == "auto":
        task = trait_task(values)
    if task == "regression":
        mask, y = continuous_values(adata, trait, transform=transform, cv=cv, func=func)
        return TraitData(adata, trait, mask, y, [], task="regression", transform=transform,
                         input_transform=input_transform)
    if transform != "none":
        raise ValueError(f"transform={transform!r} applies to a continuous trait; {trait!r} is modelled as classes "
                         "(pass task='regression' if it holds numbers)")
    mask = values.notna().to_numpy()
    n_missing = int((~mask).sum())
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = [c for c in values.cat.categories if (values == c).any()]
        codes = values[mask].astype(str).map({str(c): i for i, c in enumerate(present)}).to_numpy()
        classes = [str(c) for c in present]
    else:
        if pd.api.types.is_float_dtype(values) and values.dropna().nunique() > 20:
            raise ValueError(f"{func}: trait {trait!r} looks continuous ({values.nunique()} distinct values); "
                             "model it with task='regression', or make it categorical")
        classes_raw = sorted(values.dropna().unique())
        codes = values[mask].map({c: i for i, c in enumerate(classes_raw)}).to_numpy()
        classes = [str(c) for c in classes_raw]
    if len(classes) < 2:
        raise ValueError(f"{func}: trait {trait!r} has a single class {classes} among its {int(mask.sum())} labelled patients; "
                         "a classifier needs at least two")
    y = codes.astype(np.int64)
    counts = np.bincount(y, minlength=len(classes))
    if cv is not None and counts.min() < cv:
        small = {classes[i]: int(c) for i, c in enumerate(counts) if c < cv}
        raise ValueError(f"{func}: trait {trait!r} has fewer patients than folds (cv={cv}) in classes {small}; "
                         f"lower cv to at most {int(counts.min())} or gather more patients")
    if n_missing:
        logger.info(f"{func}: trait {trait!r}: {n_missing} patients without a value are left out ({int(mask.sum())} used)")
    return TraitData(adata, trait, mask, y, classes, input_transform=input_transform)
