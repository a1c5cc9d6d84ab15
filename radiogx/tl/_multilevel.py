"""Multilevel splitting: Monte Carlo tail probabilities far below ``1 / draws`` (Korotkevich et al. 2021).

A p-value ``P(S >= s)`` under a null that can be sampled is estimated by a product of conditional probabilities
that are each about one half, instead of by counting exceedances among ``1 / p`` independent draws. The scheme is
fgsea's ``fgseaMultilevel`` (Korotkevich, Sukhov, Budin, Shpak, Artyomov & Sergushichev, bioRxiv 2021), the adaptive
multilevel splitting of Cérou & Guyader (2007):

1. Draw ``N`` states from the null and score them (population ``P_0``).
2. The next level ``l_j`` is the median score of the population; ``q_j``, the share of the population scoring above
   it, estimates ``P(S > l_j | S > l_{j-1})``.
3. The states above the level are duplicated back to ``N``, and each is moved by a Markov chain that leaves the null
   restricted to ``S > l_j`` invariant: a symmetric proposal (a set swaps one gene for one outside it; two patients
   of one fold swap labels), accepted when its score stays above the level (Metropolis-Hastings on a uniform
   target). This is population ``P_j``.
4. Stop when the level passes the highest score asked about (or the tail probability falls below ``eps``).

An observed score ``s`` with ``l_j < s <= l_{j+1}`` gets ``p = q_1 ... q_j * #(P_j >= s) / N``. The duplicated
states start from the restricted null, so each population is marginally a sample of it whatever the chain's mixing;
mixing decides how correlated a population is, hence the variance. ``log2err`` is the standard deviation of
``log2 p`` for populations of independent states, ``sqrt(sum_j (1 - q_j) / (N q_j)) / ln 2`` (the binomial variance
of each level's share, fgsea's error of the same name); whether the moves made the populations independent enough
for it is measured on tails known exactly (``tests/test_multilevel.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._random_sets import random_subsets

__all__ = ["TailRuler", "tail_ruler", "random_set_chain", "permutation_chain", "MULTILEVEL_SAMPLES", "MULTILEVEL_EPS"]

#: States per level (fgsea's default ``sampleSize``, odd so that the median is one state's score).
MULTILEVEL_SAMPLES = 101
#: Smallest tail probability a ruler goes down to; a score beyond it gets a p-value bounded at the ruler's end.
MULTILEVEL_EPS = 1e-12
_RENEWALS = 3  # extra rounds of moves at one level when more than half the population ties at its top


@dataclass
class TailRuler:
    """Levels and level populations of one multilevel run, from which the tail probability of any score is read."""

    levels: list[float] = field(default_factory=list)  # l_1 < l_2 < ...
    log_share: list[float] = field(default_factory=list)  # log q_j
    populations: list[np.ndarray] = field(default_factory=list)  # P_0, P_1, ... scores (each N)
    evaluations: int = 0  # scores computed (initial draws, proposals and level re-scorings)
    stopped: str = ""  # "target", "eps" or "stuck" (the median could not rise: a plateau at the population's top)

    def pvalue(self, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tail probabilities ``P(S >= s)`` of the scores ``observed``, their ``log2err``, and whether each was
        read within the ruler (``False``: the score lies beyond the last population, and the p-value is the estimated
        tail probability of the ruler's last level, an upper bound)."""
        observed = np.asarray(observed, dtype=float)
        levels = np.asarray(self.levels, dtype=float)
        j = np.searchsorted(levels, observed, side="left")  # levels strictly below the score
        cum_log = np.concatenate([[0.0], np.cumsum(self.log_share)])
        n = len(self.populations[0])
        shares = np.exp(np.asarray(self.log_share)) if self.log_share else np.empty(0)
        cum_var = np.concatenate([[0.0], np.cumsum((1 - shares) / (n * np.maximum(shares, 1e-300)))])
        p = np.empty(observed.shape)
        err = np.empty(observed.shape)
        within = np.empty(observed.shape, dtype=bool)
        for i, (s, jj) in enumerate(zip(observed.ravel(), j.ravel())):
            pop = self.populations[jj]
            hits = int(np.sum(pop >= s))
            within.flat[i] = hits > 0
            f = hits / n if hits else 1.0  # beyond the ruler: the tail probability of its last level, a bound
            p.flat[i] = np.exp(cum_log[jj]) * f
            err.flat[i] = np.sqrt(cum_var[jj] + (1 - f) / (n * f)) / np.log(2)
        return np.minimum(p, 1.0), err, within


def tail_ruler(
    sample: Callable[[int], np.ndarray],
    score: Callable[[np.ndarray], np.ndarray],
    propose: Callable[[np.ndarray], np.ndarray],
    *,
    target: float,
    rng: np.random.Generator,
    n_samples: int = MULTILEVEL_SAMPLES,
    n_moves: int = 10,
    eps: float = MULTILEVEL_EPS,
) -> TailRuler:
    """Run multilevel splitting until the level passes ``target``.

    Parameters
    ----------
    sample
        ``sample(n)``: ``n`` independent null states (an array, one state per row).
    score
        ``score(states)``: their scores (float array, one per row); exactly as the observed scores were computed.
    propose
        ``propose(states)``: one proposal per row (a new array), a boolean per row, whether the move can change the
        score at all (two patients with the same label swapped: the state changes, its score does not, and it is not
        scored again), and the proposal's Metropolis-Hastings acceptance probability with the null as the target (1
        for a symmetric proposal).
    target
        The highest score whose tail probability will be read.
    rng
        Random generator for the resampling (``sample`` and ``propose`` hold their own).
    n_samples
        States per level, ``N``.
    n_moves
        Scored proposals per state and level, on average: every state makes ``n_moves / s`` moves per level, ``s``
        the share of the level population's proposals that can change a score (the others are made unscored).
    eps
        Stop once the tail probability of the level falls below it.
    """
    ruler = TailRuler()
    states = sample(n_samples)
    scores = np.asarray(score(states), dtype=float)
    ruler.evaluations += n_samples
    ruler.populations.append(scores.copy())
    renewals = 0
    while True:
        level = float(np.sort(scores)[n_samples // 2])
        above = np.flatnonzero(scores > level)
        if level >= target:
            ruler.stopped = "target"
            break
        if not len(above):
            # more than half the population ties at its top (a plateau of a discrete score): move it further at the
            # current level, up to _RENEWALS times, before giving up
            if renewals == _RENEWALS:
                ruler.stopped = "stuck"
                break
            renewals += 1
            _move(states, scores, ruler.levels[-1] if ruler.levels else -np.inf, score, propose, rng, n_moves, ruler)
            ruler.populations[-1] = scores.copy()
            continue
        if sum(ruler.log_share) + np.log(len(above) / n_samples) < np.log(eps):
            ruler.stopped = "eps"
            break
        ruler.levels.append(level)
        ruler.log_share.append(float(np.log(len(above) / n_samples)))
        renewals = 0
        # every survivor at least once, the rest of the N drawn among them at random
        keep = np.concatenate([above, rng.choice(above, n_samples - len(above), replace=True)])
        states, scores = states[keep].copy(), scores[keep].copy()
        _move(states, scores, level, score, propose, rng, n_moves, ruler)
        ruler.populations.append(scores.copy())
    return ruler


def _move(states, scores, level, score, propose, rng, n_moves, ruler) -> None:
    """Move every state of the population (in place) by the chain restricted to scores above ``level``."""
    # Each state makes the same number of moves at a level (a fixed time, so that the population is read from the
    # chain's stationary law; stopping each state at its k-th scored move would favour states whose moves are often
    # scored), set from the population so that n_moves of them are scored on average.
    share = float(np.mean(propose(states)[1]))
    budget = np.full(len(states), int(np.ceil(n_moves / max(share, 1e-3))))
    while True:
        rows, proposal, chance = _advance(states, budget, propose)
        if not len(rows):
            return
        go = rng.random(len(rows)) < chance  # Metropolis-Hastings for proposals that are not symmetric
        rows, proposal = rows[go], proposal[go]
        if not len(rows):
            continue
        new = np.asarray(score(proposal), dtype=float)
        ruler.evaluations += len(rows)
        up = new > level
        states[rows[up]] = proposal[up]
        scores[rows[up]] = new[up]


def _advance(states: np.ndarray, budget: np.ndarray, propose) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move each state with moves left (``budget``, decremented) until it proposes a move that can change its score or
    runs out: moves that cannot are made at once (they keep the score, so they stay above the level). Returns the rows
    holding a scored proposal, the proposals and their Metropolis-Hastings acceptance probabilities."""
    live = np.flatnonzero(budget > 0)
    rows, proposals, chances = [], [], []
    while len(live):
        proposal, touched, chance = propose(states[live])
        budget[live] -= 1
        rows.append(live[touched])
        proposals.append(proposal[touched])
        chances.append(chance[touched])
        idle = live[~touched]
        states[idle] = proposal[~touched]
        live = idle[budget[idle] > 0]
    if not rows:
        return np.empty(0, dtype=np.int64), states[:0], np.empty(0)
    return np.concatenate(rows), np.concatenate(proposals), np.concatenate(chances)


def random_set_chain(n_genes: int, size: int, rng: np.random.Generator, active: np.ndarray | None = None):
    """Null states and moves for random gene sets of one size.

    ``sample(n)`` draws ``n`` sets uniformly (rows of ``size`` distinct gene indices). ``propose(sets)`` returns one
    proposal per set, whether it can change the score, and its Metropolis-Hastings acceptance probability under the
    uniform law of sets. Without ``active``, a move swaps a member, chosen uniformly, for a non-member, chosen
    uniformly (symmetric). With ``active`` (booleans per gene: the genes that can change a score, such as the genes in
    a network's screens), a move changes the set's active genes: half the time an active member is swapped for an
    active non-member (symmetric), otherwise an inactive member is replaced by an active gene or an active member by
    an inactive gene, accepted with the ratio of the reverse and forward proposal probabilities. Swaps among inactive
    genes, which a score cannot see, are never proposed: with 8% of the genes active, the uniform swap changed a set's
    active genes in one move of six, and ten scored moves per level left tied tails off by a factor of 2.7."""
    if not 0 < size < n_genes:
        raise ValueError(f"random sets of {size} genes out of {n_genes}: nothing to move")

    def sample(n: int) -> np.ndarray:
        return random_subsets(rng, n_genes, size, n)

    def outside(sets: np.ndarray, pool: np.ndarray) -> np.ndarray:
        """One gene of ``pool`` per row, uniformly among those not in the row's set (the caller ensures one exists)."""
        new = pool[rng.integers(0, len(pool), size=len(sets))]
        clash = (sets == new[:, None]).any(axis=1)
        while clash.any():
            new[clash] = pool[rng.integers(0, len(pool), size=int(clash.sum()))]
            clash = (sets == new[:, None]).any(axis=1)
        return new

    def member(mask: np.ndarray) -> np.ndarray:
        """A position per row, uniformly among the row's ``True`` entries (rows without one: any)."""
        keys = rng.random(mask.shape)
        keys[~mask] = -1.0
        return keys.argmax(axis=1)

    if active is None or np.all(active):
        genes = np.arange(n_genes)

        def propose(sets: np.ndarray):
            out = sets.copy()
            out[np.arange(len(sets)), rng.integers(0, size, size=len(sets))] = outside(sets, genes)
            return out, np.ones(len(sets), dtype=bool), np.ones(len(sets))

        return sample, propose

    active = np.asarray(active, dtype=bool)
    pool_a, pool_i = np.flatnonzero(active), np.flatnonzero(~active)
    n_a, n_i = len(pool_a), len(pool_i)

    def propose(sets: np.ndarray):
        n = len(sets)
        rows = np.arange(n)
        act = active[sets]
        m = act.sum(axis=1)
        kind = rng.integers(0, 4, size=n)  # 0, 1: active for active; 2: inactive -> active; 3: active -> inactive
        swap = (kind < 2) & (m > 0) & (n_a - m > 0)
        up = (kind == 2) & (size - m > 0) & (n_a - m > 0)
        down = (kind == 3) & (m > 0) & (n_i - (size - m) > 0)
        out = sets.copy()
        chance = np.ones(n)
        for which, from_active, pool in ((swap, True, pool_a), (up, False, pool_a), (down, True, pool_i)):
            if which.any():
                pos = member(act[which] if from_active else ~act[which])
                out[rows[which], pos] = outside(sets[which], pool)
        mu, md = m[up], m[down]
        chance[up] = np.minimum(1.0, (size - mu) * (n_a - mu) / ((mu + 1) * (n_i - size + mu + 1)))
        chance[down] = np.minimum(1.0, md * (n_i - size + md) / ((size - md + 1) * (n_a - md + 1)))
        return out, swap | up | down, chance

    return sample, propose


def permutation_chain(values: np.ndarray, groups: np.ndarray, rng: np.random.Generator):
    """Null states and moves for labels permuted within groups: ``sample(n)`` draws ``n`` permutations of ``values``
    (rows), each within every group; ``propose(labels)`` swaps the labels of two patients of one group (a patient
    uniformly, then a partner uniformly among the other members of its group: symmetric). With two distinct values
    (a class against the rest), a move swaps one patient of each, a pair drawn uniformly among a group's such pairs
    (also symmetric), so that no move is wasted on two alike."""
    values = np.asarray(values)
    groups = np.asarray(groups)
    blocks = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    if all(len(b) < 2 for b in blocks):
        raise ValueError("labels permuted within groups of one patient each: nothing to move")
    members = np.concatenate(blocks)
    start = np.concatenate([[0], np.cumsum([len(b) for b in blocks])])
    block_of = np.empty(len(values), dtype=np.int64)
    for b, idx in enumerate(blocks):
        block_of[idx] = b
    movable = np.flatnonzero(np.array([len(blocks[block_of[i]]) for i in range(len(values))]) > 1)

    def sample(n: int) -> np.ndarray:
        keys = rng.random((n, len(values)))
        labels = np.empty((n, len(values)), dtype=values.dtype)
        for idx in blocks:
            labels[:, idx] = values[idx][np.argsort(keys[:, idx], axis=1, kind="stable")]
        return labels

    distinct = np.unique(values)
    if len(distinct) == 2:  # two labels (a target class against the rest): swap one of each, never two alike
        high = distinct[1]
        n_high = np.array([np.sum(values[idx] == high) for idx in blocks])
        n_low = np.array([len(idx) for idx in blocks]) - n_high
        pairs = (n_high * n_low).astype(float)
        if not pairs.sum():
            raise ValueError("no group holds both labels: nothing to move")

        padded = np.full((len(blocks), max(len(b) for b in blocks)), -1)  # each group's patients, then -1
        for b, idx in enumerate(blocks):
            padded[b, :len(idx)] = idx

        def propose_pair(labels: np.ndarray):
            # a (high, low) pair uniformly among all pairs within a group: their number is fixed under permutations
            # within groups, so the proposal is symmetric, and every move changes the labelling. The pair is the
            # u-th high and v-th low patient of the group, u and v uniform, all rows at once.
            rows = np.arange(len(labels))
            which = rng.choice(len(blocks), size=len(labels), p=pairs / pairs.sum())
            members = padded[which]  # rows x largest group
            sub = labels[rows[:, None], np.maximum(members, 0)]
            is_high = (sub == high) & (members >= 0)
            is_low = (sub != high) & (members >= 0)
            one = (np.cumsum(is_high, axis=1) > rng.integers(0, n_high[which])[:, None]).argmax(axis=1)
            other = (np.cumsum(is_low, axis=1) > rng.integers(0, n_low[which])[:, None]).argmax(axis=1)
            out = labels.copy()
            out[rows, members[rows, one]], out[rows, members[rows, other]] = sub[rows, other], high
            return out, np.ones(len(labels), dtype=bool), np.ones(len(labels))

        return sample, propose_pair

    def propose(labels: np.ndarray) -> np.ndarray:
        n = len(labels)
        i = movable[rng.integers(0, len(movable), size=n)]
        b = block_of[i]
        size = start[b + 1] - start[b]
        # a partner among the other members of i's group: draw among size - 1 slots, skipping i's own
        slot = rng.integers(0, size - 1)
        partner = members[start[b] + slot]
        partner = np.where(partner == i, members[start[b] + size - 1], partner)
        out = labels.copy()
        rows = np.arange(n)
        out[rows, i], out[rows, partner] = labels[rows, partner], labels[rows, i]
        return out, labels[rows, i] != labels[rows, partner], np.ones(n)

    return sample, propose
