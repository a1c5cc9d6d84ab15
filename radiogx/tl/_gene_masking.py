"""Gene masking: keep one gene set, zero the rest, score the prediction (Smedley et al. 2020; method.md section 5),
out of fold and with a size-matched null."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import torch
from anndata import AnnData
from scipy.stats import norm
from tqdm.auto import tqdm

from .. import __version__
from .._logging import logger
from .._settings import settings
from .._validation import check_adata
from ..nn._fit import probabilities
from ..nn._masking_engine import FoldedNetwork, masked_logits
from ..nn._model import RadiogenomicModel
from ._gene_sets import match_gene_sets, resolve_collection
from ._scores import benjamini_hochberg, rows_auc, rows_average_precision, rows_loglik
from ._trait import child_seed, models_to_explain

__all__ = ["gene_masking"]

_SCORES = ("loglik", "auc", "pr_auc")
_MIN_EXCEED = 10  # empirical p-values are used where at least this many null sets score as high


def _labelled(adata: AnnData, model: RadiogenomicModel) -> tuple[pd.Index, np.ndarray]:
    """The patients labelled for the model's trait, and their class codes in the model's class order."""
    if model.trait not in adata.obs.columns:
        raise ValueError(f"the model's trait {model.trait!r} is not a column of adata.obs")
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

    def __init__(self, adata, model, patients, names, *, precision, max_rows):
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]
        self.parts = []
        if patients == "out_of_fold":
            if not model.cv_folds:
                raise ValueError(f"the model for {model.trait!r} keeps no fold models (trained with protocol='paper'); "
                                 "use patients='all' or train with protocol='nested'")
            order = pd.Index(names)
            covered = 0
            for k, fold in enumerate(model.cv_folds):
                held = order.intersection(pd.Index(fold["test"]), sort=False)
                if len(held):
                    pos = order.get_indexer(held)
                    x = torch.from_numpy(model.scaled(adata[held], fold=k))
                    self.parts.append((pos, FoldedNetwork(model.network(k, device="cpu"), dtype=dtype), x))
                    covered += len(held)
            if covered < len(order):
                raise ValueError(f"{len(order) - covered} patients labelled for {model.trait!r} were in no fold at training "
                                 "time, so they have no out-of-fold model; train again on this adata")
        elif patients == "all":
            x = torch.from_numpy(model.scaled(adata[names]))
            self.parts.append((np.arange(len(names)), FoldedNetwork(model.network(device="cpu"), dtype=dtype), x))
        else:
            raise ValueError(f"patients must be 'out_of_fold' or 'all', got {patients!r}")
        self.n, self.max_rows, self.n_out = len(names), max_rows, model.n_classes

    def probs(self, sets) -> np.ndarray:
        """Class probabilities, sets x patients x classes."""
        width = 1 if self.n_out == 2 else self.n_out
        logits = np.empty((len(sets), self.n, width))
        for pos, net, x in self.parts:
            logits[:, pos] = masked_logits(net, x, sets, max_rows=self.max_rows).numpy()
        return probabilities(logits.reshape(-1, width), self.n_out).reshape(len(sets), self.n, self.n_out)


def _score(probs: np.ndarray, y: np.ndarray, targets: list[int]) -> dict[str, np.ndarray]:
    out = {s: np.empty((len(targets), probs.shape[0])) for s in _SCORES}
    for t, k in enumerate(targets):
        positive = y == k
        p = probs[:, :, k]
        out["auc"][t] = rows_auc(p, positive)
        out["pr_auc"][t] = rows_average_precision(p, positive)
        out["loglik"][t] = rows_loglik(p, positive)
    return out


def gene_masking(
    adata: AnnData,
    gene_sets,
    *,
    model: RadiogenomicModel | None = None,
    trait: str | None = None,
    patients: Literal["out_of_fold", "all"] = "out_of_fold",
    n_null: int = 1000,
    score: Literal["loglik", "auc", "pr_auc"] = "loglik",
    min_size: int = 1,
    max_size: int | None = None,
    max_null_sizes: int = 25,
    batch_size: int | None = None,
    precision: Literal["fp32", "bf16"] = "fp32",
    seed: int | None = None,
    key: str = "radiogx",
    key_added: str = "gene_masking",
) -> None:
    """Score how well each gene set alone drives a trait model's prediction, with a size-matched null.

    For each set, the set's genes keep their scaled values and every other gene is set to 0, the training mean
    (Smedley, El-Saden & Hsu 2020; captum's feature ablation with a gene-set mask). The masked prediction is scored
    against the trait, one-vs-rest per class for multiclass traits, by ROC-AUC, PR-AUC (average precision) and the mean
    log-likelihood of the observed labels. By default every patient is scored **out of fold**, by the fold network
    that did not see it in training (``patients="all"``: the final model on its own training patients, the paper's
    in-sample scoring).

    Significance: each set's ``score`` is compared with random gene sets of the same size drawn from the model's
    genes (``n_null`` per size, shared by all sets of that size; with more than ``max_null_sizes`` distinct sizes, the
    null is drawn at that many sizes spaced evenly on a log scale and its mean and sd are interpolated in log size).
    The p-value is empirical, ``(1 + #null >= score) / (1 + n_null)``, where at least 10 null sets score as high;
    beyond the null's reach it is the upper tail of a normal fitted to the null (its mean and sd), so that small
    p-values are resolved and BH can reach significance over thousands of sets (``pval_method`` says which).
    The log-likelihood is the default score: AUC saturates under masking (random 150-gene sets reach in-sample AUC
    0.96-0.995 on the Phillips cohort) while the log-likelihood separates a subtype's own signature from random sets.
    ``padj``: Benjamini-Hochberg over the sets of the call, per trait and target.

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
        ``"out_of_fold"`` (default) or ``"all"``.
    n_null
        Random sets per null size (0: no significance).
    score
        The score tested: ``"loglik"`` (default), ``"auc"`` or ``"pr_auc"``.
    min_size, max_size
        Bounds on the number of a set's genes found in the model.
    max_null_sizes
        Most distinct null sizes to draw.
    batch_size
        Sets x patients rows per forward chunk (memory); results do not depend on it.
    precision
        ``"fp32"`` or ``"bf16"`` matrix products (faster on CPUs with AMX; scores agree closely, see
        ``benchmarks/masking_speed.py``).
    seed
        Seed of the null draws; ``None`` uses ``rg.settings.seed``.
    key
        Where ``train`` recorded the models.
    key_added
        ``adata.uns[key_added]`` receives ``results`` (DataFrame: ``trait``, ``gene_set``, ``target``, ``n_genes``,
        ``auc``, ``pr_auc``, ``loglik``, ``null_mean``, ``null_sd``, ``pval``, ``padj``, ``pval_method``) and
        ``params``.
    """
    check_adata(adata)
    seed = settings.seed if seed is None else int(seed)
    if score not in _SCORES:
        raise ValueError(f"score must be one of {_SCORES}, got {score!r}")
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
    if isinstance(n_null, bool) or not isinstance(n_null, int | np.integer) or n_null < 0:
        raise ValueError(f"n_null must be a non-negative integer, got {n_null!r}")
    models = models_to_explain(adata, model, trait, key)

    frames = []
    for m in models:
        names, y = _labelled(adata, m)
        collection = resolve_collection(gene_sets, m.genes)
        sets = match_gene_sets(collection, m.genes, min_size=min_size, max_size=max_size)
        scorer = _Scorer(adata, m, patients, names, precision=precision, max_rows=batch_size)
        targets = [1] if m.n_classes == 2 else list(range(m.n_classes))
        chunk = max(1, 2048 // max(1, len(targets)))
        parts = [
            _score(scorer.probs(sets.indices[i:i + chunk]), y, targets)
            for i in tqdm(range(0, len(sets.names), chunk), desc=f"masking {m.trait} ({len(sets.names)} sets)",
                          disable=not settings.show_progress)
        ]
        real = {s: np.concatenate([p[s] for p in parts], axis=1) for s in _SCORES}
        null_mean, null_sd, pval, method = _null(scorer, y, targets, sets.sizes, real[score], m, n_null=n_null,
                                                 score=score, max_sizes=max_null_sizes, seed=child_seed(seed, len(frames)))
        for t, k in enumerate(targets):
            frames.append(pd.DataFrame({
                "trait": m.trait, "gene_set": sets.names, "target": m.classes[k], "n_genes": sets.sizes,
                "auc": real["auc"][t], "pr_auc": real["pr_auc"][t], "loglik": real["loglik"][t],
                "null_mean": null_mean[t], "null_sd": null_sd[t], "pval": pval[t], "padj": benjamini_hochberg(pval[t]),
                "pval_method": method[t],
            }))
    results = pd.concat(frames, ignore_index=True)
    for col in ("trait", "gene_set", "target", "pval_method"):
        results[col] = results[col].astype(str)
    if key_added in adata.uns:
        logger.warning(f"gene_masking: replacing adata.uns[{key_added!r}]")
    adata.uns[key_added] = {
        "results": results,
        "params": {"traits": [m.trait for m in models], "patients": patients, "n_null": int(n_null), "score": score,
                   "min_size": int(min_size), "max_size": -1 if max_size is None else int(max_size),
                   "max_null_sizes": int(max_null_sizes), "precision": precision, "seed": int(seed),
                   "correction": "Benjamini-Hochberg over the sets of the call, per trait and target",
                   "radiogx_version": __version__},
    }


def _null(scorer, y, targets, sizes, observed, model, *, n_null, score, max_sizes, seed):
    """Null mean, sd, p-value and its method per target and set."""
    n_t, n_s = observed.shape
    if n_null == 0:
        nan = np.full((n_t, n_s), np.nan)
        return nan, nan, nan, np.full((n_t, n_s), "none", dtype=object)
    distinct = np.unique(sizes)
    if len(distinct) > max_sizes:
        grid = np.unique(np.round(np.geomspace(distinct.min(), distinct.max(), max_sizes)).astype(np.int64))
    else:
        grid = distinct
    rng = np.random.default_rng(seed)
    n_genes = len(model.genes)
    draws = {}
    for k in tqdm(grid, desc=f"null sets ({len(grid)} sizes x {n_null})", disable=not settings.show_progress):
        null_sets = [rng.choice(n_genes, size=int(k), replace=False) for _ in range(n_null)]
        scores = np.concatenate([_score(scorer.probs(null_sets[i:i + 512]), y, targets)[score]
                                 for i in range(0, n_null, 512)], axis=1)
        draws[int(k)] = scores  # targets x n_null
    means = np.array([draws[int(k)].mean(axis=1) for k in grid]).T  # targets x grid
    sds = np.array([draws[int(k)].std(axis=1, ddof=1) for k in grid]).T
    log_grid = np.log(grid)
    null_mean = np.empty((n_t, n_s))
    null_sd = np.empty((n_t, n_s))
    pval = np.empty((n_t, n_s))
    method = np.empty((n_t, n_s), dtype=object)
    nearest = grid[np.abs(log_grid[None, :] - np.log(sizes)[:, None]).argmin(axis=1)]
    for t in range(n_t):
        null_mean[t] = np.interp(np.log(sizes), log_grid, means[t])
        null_sd[t] = np.maximum(np.interp(np.log(sizes), log_grid, sds[t]), 1e-12)
        for j in range(n_s):
            ref = draws[int(nearest[j])][t]
            exceed = int(np.sum(ref >= observed[t, j]))
            if exceed >= _MIN_EXCEED:
                pval[t, j], method[t, j] = (1 + exceed) / (1 + n_null), "empirical"
            else:
                pval[t, j] = norm.sf((observed[t, j] - null_mean[t, j]) / null_sd[t, j])
                method[t, j] = "normal_tail"
    return null_mean, null_sd, pval, method
