"""Gene masking: keep one gene set, zero the rest, score the prediction (Smedley, El-Saden & Hsu 2020),
out of fold, tested against random sets of the same size and against permuted labels."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import torch
from anndata import AnnData
from tqdm.auto import tqdm

from .._docs import doc_params
from .. import __version__
from .._logging import log_added, logger
from .._settings import settings
from .._validation import check_adata
from ..nn.engine import (FoldedNetwork, FoldStack, PackedSets, distinct_rows, gene_positions, masked_logits, pack_sets,
                         probabilities)
from ..nn import RadiogenomicModel
from ._gene_sets import GeneSets, match_gene_sets, resolve_collection
from ._record import write_record
from .._metrics import benjamini_hochberg
from ._sequential_null import DEFAULT_EXCEEDANCES
from ._folds import child_seed
from ._masking_nulls import (DECISION_FDR, MULTILEVEL_MOVES, PVALUE_METHODS, RESAMPLING_RISK, undecided_tests,
                             label_null, random_set_null)
from ._masking_scores import SCORES as _SCORES, score_masked
from ._multilevel import MULTILEVEL_EPS, MULTILEVEL_SAMPLES
from .._traits import continuous_values
from ._models import fold_networks, held_out_folds, models_to_explain

__all__ = ["gene_masking"]

_REGRESSION_SCORES = ("loglik", "r2")  # a continuous trait: Gaussian log-likelihood and R^2 (AUCs need classes)
_NULLS = ("random_sets", "labels", "both")
_MEMO_BYTES = 256 * 2**20  # most memory a scorer spends on the logits of sets it has scored
_STACK_BYTES = 64 * 2**20  # most memory the stacked fold networks (weights and inputs) may take
#: Fewest outer folds for which the label null (fold networks held fixed) was measured calibrated; below, a warning.
MIN_FOLDS_LABEL_NULL = 5


def _labelled(adata: AnnData, model: RadiogenomicModel) -> tuple[pd.Index, np.ndarray]:
    """The patients labelled for the model's trait, and their class codes in the model's class order (a continuous
    trait: its values, float, on the model's transformed scale)."""
    if model.trait not in adata.obs.columns:
        raise ValueError(f"the model's trait {model.trait!r} is not a column of adata.obs")
    if model.is_regression:
        mask, y = continuous_values(adata, model.trait, transform=str(model.settings.get("transform", "none")),
                                    func="gene_masking")
        return adata.obs_names[mask], y
    values = adata.obs[model.trait]
    mask = values.notna().to_numpy()
    codes = values[mask].astype(str).map({c: i for i, c in enumerate(model.classes)})
    if codes.isna().any():
        raise ValueError(f"adata.obs[{model.trait!r}] has values {sorted(set(values[mask].astype(str)) - set(model.classes))} "
                         f"the model was not trained on (classes {model.classes})")
    return adata.obs_names[mask], codes.to_numpy().astype(np.int64)


class _Scorer:
    """Masked predictions for the patients of one model, out of fold (each patient by the fold model that did not see
    it) or in sample (the final model)."""

    def __init__(self, adata, model, patients, names, *, precision, max_rows, device=None):
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]
        device = settings.torch_device(device)
        self.parts = []
        # each patient's outer fold (in-sample: one group); the label null permutes labels within these groups
        self.groups = np.zeros(len(names), dtype=np.int64)
        if patients == "out_of_fold":
            folds = held_out_folds(model, names, instead="use patients='all' with n_null=0 (in-sample scores and "
                                                          "ranks only) or train with protocol='nested'")
            if (folds < 0).any():
                raise ValueError(f"{int((folds < 0).sum())} patients labelled for {model.trait!r} were in no fold at "
                                 "training time, so they have no out-of-fold model; train again on this adata")
            self.groups = folds
        elif patients == "all":
            folds = np.full(len(names), -1, dtype=np.int64)  # the final model for every patient
        else:
            raise ValueError(f"patients must be 'out_of_fold' or 'all', got {patients!r}")
        parts = [(pos, FoldedNetwork(net, dtype=dtype), x)
                 for pos, net, x in fold_networks(model, adata[names], folds, device)]
        # Sets are reduced once to the genes some network weighs (a gene outside every fold's screen cannot move a
        # masked prediction), and each network sees those genes only.
        self.n_genes = parts[0][1].n_genes
        self.genes = np.unique(np.concatenate([net.active for _, net, _ in parts]))
        self.lookup = gene_positions(self.genes, self.n_genes)
        restricted = len(self.genes) < self.n_genes
        for pos, net, x in parts:
            if restricted:
                net, x = net.restrict(self.genes), x.index_select(1, torch.as_tensor(self.genes, device=x.device))
            self.parts.append((pos, net, x))
        # Fold networks whose stacked weights are small (a screened network's few genes) run as one batched network:
        # scoring ten small networks in turn cost more in calls than in arithmetic.
        stacked_bytes = sum(net.first_weight_t.element_size() * (net.n_genes + 1) * net.width
                            + x.element_size() * x.numel() for _, net, x in self.parts)
        self.stack = None
        if len(self.parts) > 1 and stacked_bytes <= _STACK_BYTES:
            try:
                self.stack = FoldStack([net for _, net, _ in self.parts], [x for _, _, x in self.parts],
                                       [pos for pos, _, _ in self.parts])
            except ValueError:  # folds of different architectures: scored in turn
                pass
        self.n, self.max_rows, self.n_out = len(names), max_rows, model.n_classes
        self.width = 1 if self.n_out in (0, 2) else self.n_out  # logits per patient
        # Where the networks weigh few genes, sets that keep the same ones recur across the nulls' draws and chains
        # (on the paper-size cohort, 19,413 distinct among 293,924 sets scored): each is scored once, then recalled.
        self.memo: dict[bytes, np.ndarray] | None = {} if restricted else None
        self.memo_room = _MEMO_BYTES

    def active_genes(self) -> np.ndarray:
        """Booleans per gene: whether any of the networks weighs it."""
        active = np.zeros(self.n_genes, dtype=bool)
        active[self.genes] = True
        return active

    def probs(self, sets) -> np.ndarray:
        """Class probabilities, sets x patients x classes (a continuous trait: the predicted values, sets x patients
        x 1)."""
        packed = pack_sets(sets, self.lookup, n_genes=len(self.genes))
        logits = (self._logits(packed) if self.memo is None else self._recalled(packed)).astype(np.float64)
        if self.n_out == 0:
            return logits
        return probabilities(logits.reshape(-1, self.width), self.n_out).reshape(len(sets), self.n, self.n_out)

    def _logits(self, packed: PackedSets) -> np.ndarray:
        if self.stack is not None:
            return self.stack.masked_logits(packed, max_rows=self.max_rows).numpy()
        out = np.empty((len(packed), self.n, self.width), dtype=np.float32)
        for pos, net, x in self.parts:
            out[:, pos] = masked_logits(net, x, packed, max_rows=self.max_rows).numpy()
        return out

    def _recalled(self, packed: PackedSets) -> np.ndarray:
        """:meth:`_logits`, each distinct set of weighed genes scored once for the scorer's life."""
        distinct, rows_of_set = distinct_rows(np.sort(packed.index, axis=1))  # the padding sorts last
        counts = (distinct < packed.pad).sum(axis=1)
        keys = [row[:c].tobytes() for row, c in zip(distinct, counts)]
        missing = np.array([i for i, key in enumerate(keys) if key not in self.memo], dtype=np.int64)
        out = np.empty((len(distinct), self.n, self.width), dtype=np.float32)
        if len(missing):
            out[missing] = self._logits(PackedSets(distinct[missing], counts[missing], packed.pad))
        for i, key in enumerate(keys):
            value = self.memo.get(key)
            if value is not None:
                out[i] = value
            elif self.memo_room >= out[i].nbytes:
                self.memo[key] = out[i].copy()
                self.memo_room -= out[i].nbytes
        return out[rows_of_set]


def _varies(probs: np.ndarray, groups: np.ndarray, targets: list[int]) -> np.ndarray:
    """Targets x sets: whether a set's masked prediction of the target varies among the patients of at least one
    outer fold. Where it does not (the network ignores the set's genes), no permutation within folds can change the
    score, and the label null's p-value is 1 by construction."""
    out = np.zeros((len(targets), probs.shape[0]), dtype=bool)
    for g in np.unique(groups):
        sub = probs[:, groups == g]  # sets x members x outputs
        spread = sub.max(axis=1) - sub.min(axis=1)
        tol = 1e-9 * np.maximum(1.0, np.abs(sub).max(axis=1))
        for t, k in enumerate(targets):
            col = 0 if sub.shape[2] == 1 else k
            out[t] |= spread[:, col] > tol[:, col]
    return out


@doc_params
def gene_masking(
    adata: AnnData,
    gene_sets: GeneSets,
    *,
    model: RadiogenomicModel | None = None,
    trait: str | None = None,
    patients: Literal["out_of_fold", "all"] = "out_of_fold",
    null: Literal["both", "random_sets", "labels"] | None = None,
    n_null: int = 1000,
    max_null: int | None = None,
    method: Literal["multilevel", "sequential"] = "multilevel",
    eps: float = MULTILEVEL_EPS,
    score: Literal["loglik", "auc", "pr_auc"] = "loglik",
    min_size: int = 1,
    max_size: int | None = None,
    batch_size: int | None = None,
    precision: Literal["fp32", "bf16"] = "fp32",
    seed: int | None = None,
    key: str | None = None,
    device: str | None = None,
    key_added: str = "gene_masking",
    copy: bool = False,
) -> AnnData | None:
    """Score how well each gene set alone drives a trait model's prediction, and test it.

    For each set, the set's genes keep their scaled values and every other gene is set to 0, the training mean
    (Smedley, El-Saden & Hsu 2020; captum's feature ablation with a gene-set mask). The masked prediction is scored
    against the trait, one-vs-rest per class for multiclass traits, by ROC-AUC, PR-AUC (average precision) and the mean
    log-likelihood of the observed labels. The masked prediction of a continuous trait is scored by R^2 and the mean
    Gaussian log-likelihood of the observed values (residual variance at its maximum-likelihood value, so that both
    order the sets alike), its target the trait itself. By default every patient is scored **out of fold**, by the
    fold network (with the settings that fold chose) that did not see it in training (``patients="all"``: the final model on its
    own training patients, the paper's in-sample scoring, which has no test).

    Significance (the paper had none), against two nulls:

    - ``"random_sets"`` (competitive): does the set drive the prediction more than random sets of **exactly its size**
      drawn from the model's genes? The null draws are shared by the sets of one size.
    - ``"labels"`` (self-contained): the trait's labels are permuted against the set's fixed masked predictions, which
      asks whether the set alone carries information on the trait. Labels are permuted **within each outer fold**
      (each patient's masked prediction comes from its fold's network, whose baseline prediction differs from the
      other folds'; permuting across folds adds that spread to the null only). One stream of permutations is shared
      by all sets. The fold networks are held fixed, though each learned from the other folds' labels: the test
      is conditional on them, measured calibrated with 5 or more outer folds and liberal with 3 (a warning says so).

    ``null="both"`` (default for collections) calls a set only if it passes both: ``pval`` is the larger of the two
    p-values, an intersection-union test (Berger 1982), valid at its level whichever null holds. The competitive
    test alone is not enough: a network without signal predicts held-out patients slightly worse than chance, so sets
    that move its prediction less than random sets do (coherent sets whose genes cancel) score a better
    log-likelihood than random sets of their size; on the Verhaak subtypes with permuted labels, the competitive test
    alone called hallmark sets in 4 of 20 permutations. ``null="labels"`` is the default for ``gene_sets="single"``,
    where random single genes would be the genes under test themselves (circular).

    Each p-value starts as Besag & Clifford's (1991) sequential Monte Carlo p-value over ``n_null`` draws: a test with
    10 draws scoring at least as high is resolved, ``p = 10 / L`` (``L`` the draws it needed; ``"sequential_mc"``). A
    test with fewer has a p-value below about ``10 / n_null``, and ``method`` says how it is reached. With
    ``"multilevel"`` the random sets of one size are drawn in doubling batches from 100 and stop once every test of
    that size is resolved: its ``10 / L`` depends on the draws up to ``L`` only, so the rest of the ``n_null`` draws
    could not change it.

    - ``"multilevel"`` (default): multilevel splitting (Korotkevich et al. 2021, fgsea's ``fgseaMultilevel``). The
      tail probability is a product of conditional probabilities of about one half, each estimated from 101 null
      states moved by a Markov chain above the previous level (a random set swaps one gene; two patients of one fold
      swap labels), so that p-values of 1e-10 cost about 35 levels instead of 1e11 draws (``"multilevel"``; the
      random sets of one size share one run per target). ``log2err`` is the estimate's standard deviation of
      ``log2 p`` (fgsea's), measured right on tails known exactly (``tests/test_multilevel.py``). Below ``eps`` the
      p-value is the estimated tail probability at ``eps``, a bound (``"multilevel_bound"``). Only tests whose
      Benjamini-Hochberg decision at 0.1 the first draws left open are refined (at a risk of 1e-3 per test that more
      draws would have changed it); the others keep the first draws' valid ``(1 + e) / (1 + n)``
      (``"mc_uncallable"``, ``"mc_called"``). With ``null="both"`` the random-set null is refined first, and the
      label null only where the refined random-set p-values (bounded by their ``log2err`` at the same risk) leave
      the decision open.
    - ``"sequential"``: more draws, doubling, up to ``max_null``; a test still unresolved there gets
      ``p = (1 + e) / (1 + max_null)``, an upper bound at the resolution of the draws (``"mc_bound"``; never 0).

    Sequential p-values are valid without any distributional assumption; multilevel p-values are estimates with the
    stated error. Within one set size the competitive p-value is monotone in the score (sequential; multilevel within
    its error). ``padj``: Benjamini-Hochberg over every set and target of a trait.
    The log-likelihood is the default score: AUC saturates under masking (random 150-gene sets reach in-sample AUC
    0.96-0.995 on the Phillips cohort) while the log-likelihood separates a subtype's own signature from random sets.
    The cost is the draws: up to ``n_null`` masked passes of the network per set size (all of them with
    ``"sequential"``; with ``"multilevel"``, until the size's tests are resolved), then, for sizes that hold a
    strongly significant set, about 101 x 10 more per level (multilevel) or up to ``max_null`` (sequential).

    Parameters
    ----------
    adata
        Patients x genes with the trait(s) in ``obs``.
    gene_sets
        Dict of set name to genes, ``"single"`` (each gene alone) or a bundled collection's name (``"hallmark"``...).
        Matching rules: see :func:`radiogx.tl._gene_sets.match_gene_sets` (exact, then case-insensitive with a warning).
    model, trait
        The model to explain; ``None`` uses the models :func:`radiogx.tl.train` recorded in ``adata.uns[key]``: for
        ``trait``, or for every trained trait.
    patients
        ``"out_of_fold"`` (default) or ``"all"`` (in-sample: scores and ranks only, ``n_null=0`` required, since the
        network has fitted the labels it would be tested on).
    null
        ``"both"``, ``"random_sets"`` or ``"labels"``; ``None``: ``"labels"`` for ``gene_sets="single"``, else
        ``"both"``.
    n_null
        Null draws for every set (0: no significance); with ``method="multilevel"``, random sets of one size stop
        earlier, after at least 100, once each of that size's tests is resolved.
    max_null
        Most null draws for one set with ``method="sequential"``; ``None``: ``max(10 * n_null, 80 * tests)``, so that
        the smallest reachable p-value, ``1 / (1 + max_null)``, can pass Benjamini-Hochberg at 0.05 over a trait's
        sets and targets.
    method
        How p-values below the first draws' reach are found: ``"multilevel"`` (default) or ``"sequential"`` (see
        above).
    eps
        With ``method="multilevel"``, the smallest p-value estimated (fgsea's ``eps``); a test beyond it gets the
        tail probability of the last level, an upper bound (``"multilevel_bound"``). Each halving of ``eps`` costs
        one level more for the sizes that reach it.
    score
        The score tested: ``"loglik"`` (default), ``"auc"`` or ``"pr_auc"`` (classes), ``"r2"`` (a continuous trait,
        with the same p-values as ``"loglik"``).
    min_size, max_size
        Bounds on the number of a set's genes found in the model.
    batch_size
        Sets x patients rows per forward chunk (memory); results do not depend on it.
    precision
        ``"fp32"`` or ``"bf16"`` matrix products (faster on CPUs with AMX; scores agree closely, see
        ``benchmarks/masking_speed.py``).
    seed
        Seed of the null draws; ``None`` uses ``rg.settings.seed``.
    {device}
    key
        Where ``train`` recorded the models; ``None``: ``"radiogx"``, else the only model
        record (the rule of :func:`radiogx.get.record`).
    key_added
        ``adata.uns[key_added]`` receives ``results`` (DataFrame: ``trait``, ``gene_set``, ``target``, ``n_genes``,
        ``varies`` (whether the set's masked prediction varies within an outer fold; where it does not, the network
        ignores the set and the label null's p-value is 1 by construction), ``auc``, ``pr_auc``, ``loglik``, ``r2`` (NaN where the task has no such score), ``null_mean`` and ``null_sd``
        of the tested score over the first ``n_null`` random sets (with ``method="multilevel"``, over the random sets
        drawn for that size: at least 100; label permutations with ``null="labels"``), ``pval_random_sets``,
        ``pval_labels`` (NaN where not computed), ``pval`` (their maximum), ``padj``, and ``log2err``, ``n_draws``
        and ``pval_method`` of the null that gave ``pval``: ``"<null>:sequential_mc"``, ``"<null>:mc_bound"``, ``"<null>:multilevel"``,
        ``"<null>:multilevel_bound"``, ``"<null>:mc_uncallable"`` or ``"<null>:mc_called"``; ``log2err`` is NaN for
        counted p-values) and ``params``.
    {copy}

    Returns
    -------
    ``None``, or the modified copy with ``copy=True``. Writes ``adata.uns[key_added]`` (a ``"masking"`` record), read by
    :func:`radiogx.get.masking_df` and drawn by :func:`radiogx.pl.masking`.
    """
    adata = adata.copy() if copy else adata
    check_adata(adata)
    seed = settings.seed if seed is None else int(seed)
    if score not in _SCORES:
        raise ValueError(f"score must be one of {_SCORES}, got {score!r}")
    if method not in PVALUE_METHODS:
        raise ValueError(f"method must be one of {PVALUE_METHODS}, got {method!r}")
    if isinstance(eps, bool) or not isinstance(eps, float | int) or not 0 < eps < 1:
        raise ValueError(f"eps must be a number in (0, 1), got {eps!r}")
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
    if isinstance(n_null, bool) or not isinstance(n_null, int | np.integer) or n_null < 0:
        raise ValueError(f"n_null must be a non-negative integer, got {n_null!r}")
    if max_null is not None and (isinstance(max_null, bool) or not isinstance(max_null, int | np.integer)
                                 or max_null < n_null):
        raise ValueError(f"max_null must be an integer >= n_null ({n_null}), got {max_null!r}")
    if patients == "all" and n_null > 0:
        raise ValueError(f"patients='all' with n_null={n_null}: in-sample masking scores the final network on the very "
                         "labels it was fitted to, so neither null tests anything (on permuted Verhaak subtypes the "
                         "label null called 1-32 of 196 hallmark sets per run); use patients='out_of_fold' for "
                         "p-values, or n_null=0 for in-sample scores and ranks only")
    single = isinstance(gene_sets, str) and gene_sets == "single"
    null = null or ("labels" if single else "both")
    if null not in _NULLS:
        raise ValueError(f"null must be one of {_NULLS} or None, got {null!r}")
    if single and null in ("random_sets", "both"):
        raise ValueError(f"gene_sets='single' with null={null!r} compares each gene with random single genes, i.e. with "
                         "the genes under test themselves (circular); use null='labels' or n_null=0 (ranks)")
    models = models_to_explain(adata, model, trait, key)

    frames = []
    for m in models:
        allowed = _REGRESSION_SCORES if m.is_regression else tuple(s for s in _SCORES if s != "r2")
        if score not in allowed:
            raise ValueError(f"score={score!r} does not apply to the {'continuous' if m.is_regression else 'categorical'} "
                             f"trait {m.trait!r}; use one of {allowed}")
        names, y = _labelled(adata, m)
        collection = resolve_collection(gene_sets, m.genes)
        sets = match_gene_sets(collection, m.genes, min_size=min_size, max_size=max_size)
        scorer = _Scorer(adata, m, patients, names, precision=precision, max_rows=batch_size, device=device)
        n_folds = len(np.unique(scorer.groups))
        if n_null and null == "labels" and n_folds < MIN_FOLDS_LABEL_NULL:
            logger.warning(f"gene_masking: the {m.trait!r} model has {n_folds} outer folds: the label null, which keeps "
                           "the fold networks fixed, is liberal with fewer than 5 (each fold network learned from the "
                           "others' labels; measured on a permuted synthetic trait, P(p <= 0.05) = 0.09 with 3 folds, "
                           "0.04 with 5 and 10); train with cv >= 5, or use null='both' for sets")
        targets = [0] if m.is_regression else [1] if m.n_classes == 2 else list(range(m.n_classes))
        chunk = max(1, 2048 // max(1, len(targets)))
        probs, varies = [], []
        real = {s: [] for s in _SCORES}
        for i in tqdm(range(0, len(sets.names), chunk), desc=f"masking {m.trait} ({len(sets.names)} sets)",
                      disable=not settings.show_progress):
            p = scorer.probs(sets.indices[i:i + chunk])
            for name, value in score_masked(p, y, targets).items():
                real[name].append(value)
            varies.append(_varies(p, scorer.groups, targets))
            if null in ("labels", "both"):
                probs.append(p)
        real = {name: np.concatenate(v, axis=1) for name, v in real.items()}
        varies = np.concatenate(varies, axis=1)
        n_tests = len(targets) * len(sets.names)
        cap = max(10 * n_null, 80 * n_tests) if max_null is None else int(max_null)
        shape = real[score].shape
        nan = np.full(shape, np.nan)
        null_mean = null_sd = nan
        parts, refiners = {}, {}  # null -> SequentialPvalues, and its multilevel refinement
        if n_null and null in ("random_sets", "both"):
            null_mean, null_sd, parts["random_sets"], refiners["random_sets"] = random_set_null(
                scorer, y, targets, sets.sizes, real[score], len(m.genes), n_null=n_null, n_max=cap, score=score,
                seed=child_seed(seed, len(frames)), method=method, eps=eps)
        if n_null and null in ("labels", "both"):
            mean_l, sd_l, parts["labels"], refiners["labels"] = label_null(
                np.concatenate(probs, axis=0), y, targets, scorer.groups, n_null=n_null, n_max=cap, score=score,
                seed=child_seed(seed, len(frames), 1), method=method, eps=eps)
            if null == "labels":
                null_mean, null_sd = mean_l, sd_l
        if parts and method == "multilevel":
            # Refine only where BH's decision over the trait is still open, one null at a time: the random-set null
            # first (one ruler per set size serves all its tests), then the label null where the refined random-set
            # p-values left the decision open (a test's p-value is the larger of the two).
            for name in [n for n in ("random_sets", "labels") if n in parts]:
                wanted, called = undecided_tests(list(parts.values()), fdr=DECISION_FDR, risk=RESAMPLING_RISK)
                parts[name] = refiners[name](wanted, called)
        if parts:  # "both": the intersection-union test, p = max of the two (Berger 1982)
            stacked = np.stack([r.pval for r in parts.values()])
            which = stacked.argmax(axis=0)
            pval = np.take_along_axis(stacked, which[None], axis=0)[0]
            n_draws = np.take_along_axis(np.stack([r.n_draws for r in parts.values()]), which[None], axis=0)[0]
            methods = np.stack([np.char.add(f"{name}:", r.methods().astype(str)) for name, r in parts.items()])
            how = np.take_along_axis(methods, which[None], axis=0)[0]
            log2err = np.take_along_axis(np.stack([r.errors() for r in parts.values()]), which[None], axis=0)[0]
        else:  # no significance asked for: scores (and ranks) only
            pval, n_draws, how, log2err = nan, np.zeros(shape, dtype=np.int64), np.full(shape, "none"), nan
        padj = benjamini_hochberg(pval.ravel()).reshape(pval.shape)  # over every set and target of the trait
        for t, k in enumerate(targets):
            frames.append(pd.DataFrame({
                "trait": m.trait, "gene_set": sets.names, "target": m.trait if m.is_regression else m.classes[k],
                "n_genes": sets.sizes, "varies": varies[t], "auc": real["auc"][t], "pr_auc": real["pr_auc"][t], "loglik": real["loglik"][t],
                "r2": real["r2"][t],
                "null_mean": null_mean[t], "null_sd": null_sd[t],
                "pval_random_sets": parts["random_sets"].pval[t] if "random_sets" in parts else nan[t],
                "pval_labels": parts["labels"].pval[t] if "labels" in parts else nan[t],
                "pval": pval[t], "padj": padj[t], "log2err": log2err[t],
                "n_draws": n_draws[t].astype(np.int64), "pval_method": how[t],
            }))
    results = pd.concat(frames, ignore_index=True)
    for col in ("trait", "gene_set", "target", "pval_method"):
        results[col] = results[col].astype(str)
    write_record(adata, key_added, tool="gene_masking", record={
        "results": results,
        "params": {"kind": "masking", "traits": [m.trait for m in models], "model_ids": [m.model_id for m in models], "patients": patients, "null": null, "n_null": int(n_null),
                   "max_null": -1 if max_null is None else int(max_null), "exceedances": DEFAULT_EXCEEDANCES,
                   "method": method, "multilevel_samples": MULTILEVEL_SAMPLES, "multilevel_moves": MULTILEVEL_MOVES,
                   "multilevel_eps": float(eps), "decision_fdr": DECISION_FDR, "resampling_risk": RESAMPLING_RISK,
                   "score": score, "min_size": int(min_size), "max_size": -1 if max_size is None else int(max_size),
                   "precision": precision, "device": str(settings.torch_device(device)), "seed": int(seed),
                   "pvalue": ("Besag-Clifford sequential Monte Carlo" + (
                       " over the first n_null draws (random sets of a size stop once its tests are resolved), "
                       "multilevel splitting (fgsea's) for the tests they left unresolved" if method == "multilevel"
                       else "") + " (both: the larger of the random-set and "
                       "label p-values); *_bound rows are upper bounds at the resolution"),
                   "correction": "Benjamini-Hochberg over the sets and targets of each trait",
                   "radiogx_version": __version__},
        "added": log_added("gene_masking", uns=key_added),
    })
    return adata if copy else None
