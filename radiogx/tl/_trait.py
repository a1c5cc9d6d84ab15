"""Shared by the modelling tools: a trait's labels, the outer folds, seeds, and the models recorded in ``adata.uns``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from sklearn.model_selection import StratifiedKFold

from .._logging import logger
from .._validation import check_adata, preview
from ..nn._model import RadiogenomicModel, lookup, register

__all__ = ["TraitData", "trait_data", "outer_folds", "child_seed", "resolve_model", "trained_traits", "models_to_explain"]


class TraitData:
    """The labelled patients of one trait: expression, integer labels and class names (positive class last)."""

    def __init__(self, adata: AnnData, trait: str, mask: np.ndarray, y: np.ndarray, classes: list[str]) -> None:
        self.trait, self.mask, self.y, self.classes = trait, mask, y, classes
        self.obs_names = adata.obs_names[mask]
        x = adata.X[mask]
        self.x = np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float32)
        self.genes = adata.var_names.copy()

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def trait_data(adata: AnnData, trait: str, *, cv: int | None = None, func: str = "train") -> TraitData:
    """Check ``trait`` and return its labelled patients; missing values are dropped and counted in the log."""
    check_adata(adata)
    if not isinstance(trait, str) or trait not in adata.obs.columns:
        raise ValueError(f"{func}: trait {trait!r} is not a column of adata.obs; columns are {preview(adata.obs.columns, 10)}")
    values = adata.obs[trait]
    mask = values.notna().to_numpy()
    n_missing = int((~mask).sum())
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = [c for c in values.cat.categories if (values == c).any()]
        codes = values[mask].astype(str).map({str(c): i for i, c in enumerate(present)}).to_numpy()
        classes = [str(c) for c in present]
    else:
        if pd.api.types.is_float_dtype(values) and values.dropna().nunique() > 20:
            raise ValueError(f"{func}: trait {trait!r} looks continuous ({values.nunique()} distinct values); "
                             "binarise it first (e.g. rg.pp.volumetric_traits) or make it categorical")
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
    return TraitData(adata, trait, mask, y, classes)


def outer_folds(y: np.ndarray, cv: int, seed: int) -> np.ndarray:
    """Fold number of each patient: ``StratifiedKFold(cv, shuffle=True, random_state=seed)``, shared by every model."""
    folds = np.empty(len(y), dtype=np.int64)
    for k, (_, test) in enumerate(StratifiedKFold(cv, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)):
        folds[test] = k
    return folds


def child_seed(seed: int, *keys: int) -> int:
    """A seed for one unit of work, independent of the order or process that runs it."""
    return int(np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1)[0])


def trained_traits(adata: AnnData, key: str = "radiogx") -> list[str]:
    record = adata.uns.get(key, {})
    return [t for t, r in record.items() if isinstance(r, dict) and "model_id" in r]


def resolve_model(adata: AnnData, trait: str, key: str = "radiogx") -> RadiogenomicModel:
    """The model that :func:`radiogx.tl.train` recorded for ``trait`` (in memory, else loaded from its saved path)."""
    record = adata.uns.get(key, {}).get(trait)
    if not isinstance(record, dict) or "model_id" not in record:
        raise ValueError(f"no model for trait {trait!r} in adata.uns[{key!r}]: run rg.tl.train(adata, {trait!r}) first "
                         f"(trained traits: {trained_traits(adata, key)})")
    model = lookup(str(record["model_id"]), adata)
    if model is None:
        path = str(record.get("path", ""))
        if not path:
            raise ValueError(f"the model for {trait!r} (id {str(record['model_id'])[:8]}) is not in memory and was never "
                             "saved: a model lives as long as the AnnData it was trained on (or a copy that used it) "
                             "or the object rg.tl.train returned; keep one, or save it with model.save(path), or "
                             "train again")
        model = RadiogenomicModel.load(path)
        register(model, adata)
    return model


def models_to_explain(adata: AnnData, model: RadiogenomicModel | None, trait: str | None, key: str) -> list[RadiogenomicModel]:
    """The model given, else the recorded model of ``trait``, else the recorded models of every trained trait."""
    if model is not None:
        if not isinstance(model, RadiogenomicModel):
            raise TypeError(f"model must be a RadiogenomicModel, got {type(model).__name__}")
        return [model]
    traits = [trait] if trait is not None else trained_traits(adata, key)
    if not traits:
        raise ValueError(f"no model for any trait in adata.uns[{key!r}]: run rg.tl.train(adata, trait) first")
    return [resolve_model(adata, t, key) for t in traits]
