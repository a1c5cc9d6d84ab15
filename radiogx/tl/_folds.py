"""The outer folds every model of a trait shares, and the seeds of independent units of work."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

__all__ = ["outer_folds", "child_seed"]


def outer_folds(y: np.ndarray, cv: int, seed: int) -> np.ndarray:
    """Fold number of each patient: ``StratifiedKFold(cv, shuffle=True, random_state=seed)`` (``KFold`` for the
    values of a continuous trait), shared by every model."""
    folds = np.empty(len(y), dtype=np.int64)
    splitter = KFold if np.issubdtype(np.asarray(y).dtype, np.floating) else StratifiedKFold
    for k, (_, test) in enumerate(splitter(cv, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)):
        folds[test] = k
    return folds


def child_seed(seed: int, *keys: int) -> int:
    """A seed for one unit of work, independent of the order or process that runs it."""
    return int(np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1)[0])
