"""Random gene sets of one size, many at once: the draws of the competitive (random-set) nulls."""

from __future__ import annotations

import numpy as np

__all__ = ["random_subsets"]

#: Largest set drawn vectorised; larger ones cost more to sort than one ``Generator.choice`` call each (measured:
#: 1,000 sets of 12,042 genes, 8 against 13 ms at 100 genes, 21 against 11 ms at 200).
VECTORISED_SIZE = 128


def random_subsets(rng: np.random.Generator, n_items: int, size: int, count: int) -> np.ndarray:
    """``count`` subsets of ``size`` distinct items of ``range(n_items)``, each uniform over all such subsets and
    independent of the others; rows of a ``count x size`` int64 array (the order within a row is arbitrary).

    Sets of up to :data:`VECTORISED_SIZE` items are drawn together: with replacement, then every item that repeats
    one before it in its row is drawn again until each row is distinct. Every step uses uniform draws and equality
    tests alone, so relabelling the items maps a run onto an equally likely run: the law of a set is invariant under
    every permutation of the items, hence uniform over subsets. This replaces one ``Generator.choice(replace=False)``
    call per set, which took 4 of the 10 s of a fixed masking pass of 1,000 draws at the paper's size (Reactome's
    sizes, 236,000 sets). Larger sets are drawn one ``choice`` call each.
    """
    if not 0 <= size <= n_items:
        raise ValueError(f"subsets of {size} items out of {n_items}")
    if size == 0 or count == 0:
        return np.zeros((count, size), dtype=np.int64)
    if size > VECTORISED_SIZE:
        return np.stack([rng.choice(n_items, size=size, replace=False, shuffle=False) for _ in range(count)]).astype(np.int64)
    out = rng.integers(0, n_items, size=(count, size))
    rows = np.arange(count)
    while len(rows):
        sub = out[rows]
        order = np.argsort(sub, axis=1, kind="stable")
        ranked = np.take_along_axis(sub, order, axis=1)
        repeat = ranked[:, 1:] == ranked[:, :-1]  # an item equal to the one before it: drawn again
        bad = repeat.any(axis=1)
        rows, order, repeat = rows[bad], order[bad], repeat[bad]
        r, c = np.nonzero(repeat)
        out[rows[r], order[r, c + 1]] = rng.integers(0, n_items, size=len(r))
    return out
