"""Which trained models a tool explains: the one given, else the recorded ones (:func:`radiogx.get.model`)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch
from anndata import AnnData

from ..get import model as recorded_model
from ..get import model_key, trained_traits
from ..nn import RadiogenomicModel

__all__ = ["models_to_explain", "held_out_folds", "fold_networks"]


def models_to_explain(adata: AnnData, model: RadiogenomicModel | None, trait: str | None,
                      key: str | None) -> list[RadiogenomicModel]:
    """The model given, else the recorded model of ``trait``, else the recorded models of every trained trait."""
    if model is not None:
        if not isinstance(model, RadiogenomicModel):
            raise TypeError(f"model must be a RadiogenomicModel, got {type(model).__name__}")
        return [model]
    key = model_key(adata, key)
    traits = [trait] if trait is not None else trained_traits(adata, key)
    if not traits:
        raise ValueError(f"no model for any trait in adata.uns[{key!r}]: run rg.tl.train(adata, trait) first")
    return [recorded_model(adata, t, key) for t in traits]


def held_out_folds(model: RadiogenomicModel, names, *, instead: str) -> np.ndarray:
    """Per patient of ``names``: the outer fold whose network never saw it (the fold of its out-of-fold prediction),
    ``-1`` for a patient in no fold's held-out set (unlabelled at training time, or from another cohort).
    ``instead``: what to do with a model that keeps no fold networks (the error's advice)."""
    if not model.cv_folds:
        raise ValueError(f"the model for {model.trait!r} keeps no fold models (trained with protocol='paper'); {instead}")
    order = pd.Index(names)
    folds = np.full(len(order), -1, dtype=np.int64)
    for k, fold in enumerate(model.cv_folds):
        pos = order.get_indexer(pd.Index(fold["test"]))
        folds[pos[pos >= 0]] = k
    return folds


def fold_networks(model: RadiogenomicModel, adata: AnnData, folds: np.ndarray,
                  device) -> Iterator[tuple[np.ndarray, torch.nn.Module, torch.Tensor]]:
    """Per group of ``folds`` (:func:`held_out_folds`; ``-1``: the final model): the rows of ``adata`` it holds, that
    fold's network (eval mode) and the rows' expression in that fold's scaled units, on ``device``."""
    for k in np.unique(folds):
        rows = np.flatnonzero(folds == k)
        fold = None if k < 0 else int(k)
        yield rows, model.network(fold, device=device), torch.from_numpy(model.scaled(adata[rows], fold=fold)).to(device)
