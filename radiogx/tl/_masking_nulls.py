"""The two nulls of gene masking: random gene sets of a set's exact size (competitive) and labels permuted within
outer folds (self-contained), each by sequential Monte Carlo (Besag & Clifford 1991) or by sequential Monte Carlo
refined with multilevel splitting where it could not resolve a p-value (Korotkevich et al. 2021)."""

from __future__ import annotations

from functools import partial
from typing import Literal

import numpy as np
from tqdm.auto import tqdm

from .._settings import settings
from ._folds import child_seed
from ._masking_scores import is_values, score_masked, score_permuted
from ._multilevel import MULTILEVEL_EPS, permutation_chain, random_set_chain, tail_ruler
from ._random_sets import random_subsets
from ._sequential_null import SequentialPvalues, sequential_pvalues

__all__ = ["random_set_null", "label_null", "undecided_tests", "permute_within", "PVALUE_METHODS", "MULTILEVEL_MOVES",
           "DECISION_FDR", "RESAMPLING_RISK", "FIRST_DRAWS"]

#: How p-values smaller than the first ``n_null`` draws can resolve are reached.
PVALUE_METHODS = ("multilevel", "sequential")
#: Moves per state and level that can change its score (measured on tails known exactly, tests/test_multilevel.py).
MULTILEVEL_MOVES = 10
#: Draws stop for a test whose Benjamini-Hochberg decision at this level more draws can no longer change (so padj <
#: 0.1 decisions are those of the full run) ...
DECISION_FDR = 0.1
#: ... up to this chance per test that more draws would have changed it.
RESAMPLING_RISK = 1e-3
#: With ``method="multilevel"``, the random sets of one size are drawn in doubling batches from this many (up to
#: ``n_null``) and stop once every test of that size has seen its ``h``-th exceedance: a resolved test's p-value,
#: ``h / L``, depends on the draws up to ``L`` only, so further draws could not change it. On the paper-size cohort
#: with Reactome's sizes this made 25% of the 236,000 draws of a fixed pass (benchmarks/masking_pvalues.py).
FIRST_DRAWS = 100
_PERM_BLOCK = 4096  # label permutations scored per matrix product


def _refine(res: SequentialPvalues, observed: np.ndarray, build, wanted: np.ndarray, called: np.ndarray, *,
            shared: bool, what: str) -> SequentialPvalues:
    """Multilevel p-values for the tests the first draws left unresolved and whose BH decision they left open
    (``wanted``); the other unresolved tests keep the first draws' p-value, ``"mc_called"`` (called whatever more
    draws show: ``called``) or ``"mc_uncallable"``. ``build(t, cols, target)`` builds the ruler for the open tests
    ``cols`` of row ``t``: one ruler for all of a row's open tests where they share a null (``shared``: random sets
    of one size), else one per test (the label null of a set depends on the set's predictions)."""
    pval, n_draws = res.pval.copy(), res.n_draws.copy()
    method = res.methods().astype(object)
    method[~res.resolved & ~wanted] = "mc_uncallable"
    method[~res.resolved & ~wanted & called] = "mc_called"
    err = np.full(res.pval.shape, np.nan)
    resolved = res.resolved.copy()
    refined = np.zeros(res.pval.shape, dtype=bool)
    open_ = ~res.resolved & wanted
    for t in range(open_.shape[0]):
        open_cols = np.flatnonzero(open_[t])
        if not len(open_cols):
            continue
        groups = [open_cols] if shared else [open_cols[i:i + 1] for i in range(len(open_cols))]
        for cols in tqdm(groups, desc=f"multilevel {what}", disable=not settings.show_progress or len(groups) < 20):
            obs = observed[t, cols]
            ruler = build(t, cols, float(obs.max()))
            p, e, within = ruler.pvalue(obs)
            # beyond the ruler, its bound; or the first draws' bound, (1 + e) / (1 + n), where that is smaller
            first = res.pval[t, cols]
            pval[t, cols] = np.where(within, p, np.minimum(p, first))
            err[t, cols] = np.where(within, e, np.nan)
            n_draws[t, cols] = res.n_draws[t, cols] + ruler.evaluations
            method[t, cols] = np.where(within, "multilevel", np.where(p <= first, "multilevel_bound", "mc_bound"))
            resolved[t, cols] = within
            refined[t, cols] = True
    return SequentialPvalues(pval, n_draws, resolved, res.exceedances, method=method, log2err=err, refined=refined)


def random_set_null(scorer, y, targets, sizes, observed, n_genes, *, n_null, n_max, score, seed,
                    method: Literal["multilevel", "sequential"] = "multilevel", eps: float = MULTILEVEL_EPS):
    """Competitive null: random gene sets of each set's exact size, drawn in one stream per size. Returns the null's
    mean and SD over the first ``n_null`` draws (with ``method="multilevel"``, over the draws made: at least
    :data:`FIRST_DRAWS`, more until each test of the size is resolved), the p-values (targets x sets), and, with
    ``method="multilevel"``, ``refine(wanted, called)``: the p-values with the unresolved ``wanted`` tests refined by
    multilevel splitting (``None`` with ``method="sequential"``, whose draws already ran to ``n_max``)."""
    n_t, n_s = observed.shape
    null_mean, null_sd = np.empty((n_t, n_s)), np.empty((n_t, n_s))
    multilevel = method == "multilevel"
    per_size = []
    distinct = np.unique(sizes)
    for k in tqdm(distinct, desc=f"null sets ({len(distinct)} sizes, {n_null}+ draws)", disable=not settings.show_progress):
        cols = np.flatnonzero(sizes == k)
        obs = observed[:, cols]
        rng = np.random.default_rng(child_seed(seed, int(k)))
        first: list[np.ndarray] = []

        def draw(n, rows, sub, rng=rng, obs=obs, first=first, k=int(k)):
            null_sets = random_subsets(rng, n_genes, k, n)
            scores = np.concatenate([score_masked(scorer.probs(null_sets[i:i + 512]), y, targets, only=score)[score]
                                     for i in range(0, n, 512)], axis=1)  # targets x n
            if sum(f.shape[1] for f in first) < n_null:
                first.append(scores)
            return scores[rows][:, None, :] >= obs[np.ix_(rows, sub)][:, :, None], None

        res = sequential_pvalues((n_t, len(cols)), draw, n_first=min(n_null, FIRST_DRAWS) if multilevel else n_null,
                                 n_max=n_null if multilevel else n_max)
        head = np.concatenate(first, axis=1)[:, :n_null]
        null_mean[:, cols] = head.mean(axis=1)[:, None]
        null_sd[:, cols] = head.std(axis=1, ddof=1)[:, None] if n_null > 1 else np.nan
        per_size.append((int(k), cols, res))
    first_pass = _assemble((n_t, n_s), [(cols, res) for _, cols, res in per_size])
    if not multilevel:
        return null_mean, null_sd, first_pass, None

    def refine(wanted: np.ndarray, called: np.ndarray) -> SequentialPvalues:
        active = scorer.active_genes()

        def build(t, _cols, target, k):
            chain_rng = np.random.default_rng(child_seed(seed, k, t, 1))
            sample, propose = random_set_chain(n_genes, k, chain_rng, active=active)
            return tail_ruler(
                sample, lambda s: score_masked(scorer.probs(s), y, [targets[t]], only=score)[score][0],
                propose, target=target, rng=chain_rng, n_moves=MULTILEVEL_MOVES, eps=eps)

        # (a set of every gene is resolved by its first draws, every random set being the set itself: no ruler)
        parts = [(cols, _refine(res, observed[:, cols], partial(build, k=k), wanted[:, cols], called[:, cols],
                                shared=True, what=f"sets of {k}"))
                 for k, cols, res in tqdm(per_size, desc="multilevel random sets", disable=not settings.show_progress)]
        return _assemble((n_t, n_s), parts)

    return null_mean, null_sd, first_pass, refine


def _assemble(shape, parts) -> SequentialPvalues:
    pval, n_draws = np.empty(shape), np.empty(shape, dtype=np.int64)
    resolved, exceedances = np.empty(shape, dtype=bool), np.empty(shape, dtype=np.int64)
    method, err, refined = np.empty(shape, dtype=object), np.full(shape, np.nan), np.zeros(shape, dtype=bool)
    for cols, res in parts:
        pval[:, cols], n_draws[:, cols], resolved[:, cols] = res.pval, res.n_draws, res.resolved
        exceedances[:, cols], method[:, cols], err[:, cols] = res.exceedances, res.methods(), res.errors()
        if res.refined is not None:
            refined[:, cols] = res.refined
    return SequentialPvalues(pval, n_draws, resolved, exceedances, method=method, log2err=err, refined=refined)


def permute_within(rng: np.random.Generator, y: np.ndarray, groups: list[np.ndarray], n: int) -> np.ndarray:
    """``n`` permutations of ``y`` (n x patients), each shuffling the values only among the patients of one group.
    Each permutation sorts one row of uniform keys within every group: the stream of keys is read row by row, so the
    permutations do not depend on how many are drawn at once."""
    keys = rng.random((n, len(y)))
    labels = np.empty((n, len(y)), dtype=y.dtype)
    for idx in groups:
        labels[:, idx] = y[idx][np.argsort(keys[:, idx], axis=1, kind="stable")]
    return labels


def label_null(probs, y, targets, groups, *, n_null, n_max, score, seed,
               method: Literal["multilevel", "sequential"] = "multilevel", eps: float = MULTILEVEL_EPS):
    """Self-contained null: the labels permuted against each set's fixed masked predictions (sets x patients x
    classes), **within each outer fold** (``groups``: each patient's fold). Every patient's masked prediction comes
    from its own fold's network, and fold networks differ in their baseline prediction; the observed labels never see
    that spread (stratified folds fix each fold's class mix), so permuting across folds would add it to the null only
    and make the test all but unable to reject (on permuted Verhaak subtypes, 1 single-gene test in 26,880 at p <= 0.05).
    Within folds, the observed labelling is one draw of the same permutation group: the test is exact given the fold
    networks. The observed score goes through the same arithmetic as the permuted ones, and scores within rounding of
    it count as ties (as high), so that a set whose predictions do not vary gets p = 1, not a rounding artefact.
    With ``method="multilevel"``, a test the first ``n_null`` permutations leave unresolved gets its own multilevel
    ruler, whose moves swap the labels of two patients of one fold."""
    n_t, n_s = len(targets), probs.shape[0]
    blocks = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    observed = np.stack([score_permuted(probs, y[None], k, score)[:, 0] for k in targets])  # targets x sets
    tol = 1e-10 * np.maximum(np.abs(observed), 1.0)
    rng = np.random.default_rng(seed)
    seen = {"n": 0, "sum": np.zeros((n_t, n_s)), "sq": np.zeros((n_t, n_s))}

    def draw(n, rows, cols):
        # Permutations are drawn and scored a block at a time: when few sets are left, n runs to hundreds of
        # thousands, and n x patients labels at once took gigabytes. The stream of permutations is the same.
        out = np.empty((len(rows), len(cols), n), dtype=bool)
        sub = probs if len(cols) == n_s else probs[cols]
        at_least = observed[:, cols] - tol[:, cols]  # targets x sets: a draw this high counts as an exceedance
        first = seen["n"] < n_null and len(cols) == n_s  # the first n_null draws of every set: the null's moments
        for i in range(0, n, _PERM_BLOCK):
            labels = permute_within(rng, y, blocks, min(_PERM_BLOCK, n - i))  # block x patients
            for r, t in enumerate(rows):
                null = score_permuted(sub, labels, targets[t], score)  # sets x block
                out[r, :, i:i + len(labels)] = null >= at_least[t][:, None]
                if first and seen["n"] + i < n_null:
                    take = null[:, : n_null - seen["n"] - i]
                    seen["sum"][t] += take.sum(axis=1)
                    seen["sq"][t] += (take ** 2).sum(axis=1)
        if first:
            seen["n"] += min(n, n_null - seen["n"])
        return out, None

    res = sequential_pvalues((n_t, n_s), draw, n_first=n_null, n_max=n_null if method == "multilevel" else n_max)
    null_mean = seen["sum"] / seen["n"]
    null_sd = (np.sqrt(np.maximum(seen["sq"] - seen["n"] * null_mean ** 2, 0) / (seen["n"] - 1)) if seen["n"] > 1
               else np.full((n_t, n_s), np.nan))
    if method != "multilevel":
        return null_mean, null_sd, res, None

    def build(t, cols, _target):
        c = int(cols[0])
        values = y if is_values(y) else (y == targets[t]).astype(np.int64)  # one-vs-rest: the target's indicator
        k = 0 if is_values(y) else 1
        chain_rng = np.random.default_rng(child_seed(seed, t, c, 1))
        sample, propose = permutation_chain(values, groups, chain_rng)
        one = probs[c:c + 1]
        if not is_values(y):  # the target's probability in column 1 of a two-column view
            one = np.stack([1 - one[:, :, targets[t]], one[:, :, targets[t]]], axis=2)
        return tail_ruler(sample, lambda labels: score_permuted(one, labels, k, score)[0], propose,
                          target=float(observed[t, c] - tol[t, c]), rng=chain_rng, n_moves=MULTILEVEL_MOVES, eps=eps)

    def refine(wanted: np.ndarray, called: np.ndarray) -> SequentialPvalues:
        return _refine(res, observed - tol, build, wanted, called, shared=False, what="label permutations")

    return null_mean, null_sd, res, refine


def undecided_tests(parts: list[SequentialPvalues], *, fdr: float, risk: float) -> tuple[np.ndarray, np.ndarray]:
    """Which tests more draws could still move across Benjamini-Hochberg's line at ``fdr``, and which of the others
    are called whatever they show (booleans, the grid's shape, each).

    Each null's p-value has confidence bounds at ``risk`` from its draws so far (Clopper-Pearson for ``e`` exceedances
    in ``n`` draws; from ``log2err`` for a multilevel estimate: :meth:`SequentialPvalues.confidence`); a test's are the
    largest over its nulls (its p-value is their maximum). At most ``K`` tests can be
    called, ``K`` the largest ``k`` with ``k`` lower bounds at most ``fdr * k / m``: a test whose lower bound exceeds
    ``fdr * K / m`` cannot be called (up to ``risk``). At least ``k0`` are called, ``k0`` the same count over the upper
    bounds: a test whose upper bound is at most ``fdr * k0 / m`` is called. Draws stop for both kinds; their p-value
    stays the first draws' valid ``(1 + e) / (1 + n)``."""
    lower, upper = np.zeros(parts[0].pval.shape), np.zeros(parts[0].pval.shape)
    for part in parts:
        lo, hi = part.confidence(risk)
        lower, upper = np.maximum(lower, lo), np.maximum(upper, hi)

    def most(bounds):
        m = bounds.size
        under = np.flatnonzero(np.sort(bounds.ravel()) <= fdr * np.arange(1, m + 1) / m)
        return (under[-1] + 1 if len(under) else 0) / m

    possible = lower <= fdr * most(lower)
    called = upper <= fdr * most(upper)
    return possible & ~called, called
