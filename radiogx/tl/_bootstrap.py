"""Paired bootstrap intervals of the models' AUCs and of network-minus-baseline differences: of the out-of-fold
predictions (default), or the paper's refit scheme (Smedley, El-Saden & Hsu 2020)."""

from __future__ import annotations

import ast
import json
import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import torch
from anndata import AnnData
from joblib import Parallel, delayed
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from scipy.stats import norm
from sklearn.utils import resample
from tqdm.auto import tqdm

from .._docs import doc_params
from .. import __version__
from .._logging import log_added
from .._settings import settings
from ..get import KINDS, is_regression, linked_record, model_key
from ..nn.engine import fit_network, logit_scores, network_from_state, NetworkConfig, predict_logits, REGRESSION
from ..nn import TranscriptomeAutoencoder
from ._baselines import baseline_estimator, baseline_fit_kwargs, baseline_scores
from ._record import write_record
from .._metrics import regression_scores, rows_auc, score_auc
from ._folds import child_seed
from ..get import model as recorded_model
from .._traits import trait_data

__all__ = ["bootstrap"]


def _chosen_params(folds: pd.DataFrame, model: str) -> dict:
    """The baseline settings chosen most often over the outer folds (ties: the earliest fold's)."""
    picks = folds.loc[folds["model"] == model, "best_params"].tolist()
    top = Counter(picks).most_common(1)[0][0]
    try:
        return json.loads(top)
    except json.JSONDecodeError:  # records of radiogx <= 0.3.0 wrote the settings as Python literals
        return ast.literal_eval(top)


def _one_boot(b, boot_seed, x, y, n_classes, cv, cfg, class_weight, baselines, network_protocol, pretrained, freeze,
              first_mask, device):
    torch.set_num_threads(1)
    folds = StratifiedKFold(cv, shuffle=True, random_state=boot_seed % 2**32).split(np.zeros(len(y)), y)
    scores: dict[str, list[float]] = {"network": [], **{m: [] for m in baselines}}
    for j, (train, test) in enumerate(folds):
        tr = resample(train, random_state=boot_seed % 2**32)
        shift = 0
        te = resample(test, random_state=(boot_seed + j) % 2**32)
        while len(np.unique(y[te])) < 2:  # resample the validation patients until both classes are there
            shift += 1
            te = resample(test, random_state=(boot_seed + j + 1000 * shift) % 2**32)
        mean = x[tr].mean(0)
        scale = x[tr].std(0)
        scale[scale == 0] = 1
        xtr, xte = (x[tr] - mean) / scale, (x[te] - mean) / scale
        s = child_seed(boot_seed, j)
        if network_protocol == "paper":
            fit = fit_network(xtr, y[tr], x_val=xte, y_val=y[te], n_classes=n_classes, cfg=cfg, seed=s,
                              class_weight=class_weight, monitor="auc", pretrained=pretrained, freeze=freeze,
                              set_mask=first_mask, device=device)
            scores["network"].append(fit.best_val_auc)
        else:
            fit = fit_network(xtr, y[tr], n_classes=n_classes, cfg=cfg, seed=s, class_weight=class_weight,
                              pretrained=pretrained, freeze=freeze, set_mask=first_mask, device=device)
            net = network_from_state(fit.state, activation=cfg.activation).to(device)
            logits = predict_logits(net, xte, device=device)
            scores["network"].append(score_auc(y[te], logit_scores(logits, n_classes), n_classes))
        for m, params in baselines.items():
            est = baseline_estimator(m, s, n_classes=n_classes).set_params(**params)
            pipe = Pipeline([("scale", StandardScaler()), ("model", est)])
            kw = {f"model__{k}": v for k, v in baseline_fit_kwargs(m, y[tr]).items()}
            pipe.fit(x[tr], y[tr], **kw)
            scores[m].append(score_auc(y[te], baseline_scores(pipe, x[te], n_classes, name=m), n_classes))
    return b, {m: float(np.mean(v)) for m, v in scores.items()}


def _rows_r2(y: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """R^2 of each row of (resamples x patients) observed values and predictions (``1 - SSE / SST``)."""
    sse = np.sum((y - predicted) ** 2, axis=1)
    sst = np.sum((y - y.mean(axis=1, keepdims=True)) ** 2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sst > 0, 1 - sse / sst, np.nan)


def _stratified_resamples(y: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """``n_boot`` x patients indices, resampled with replacement within each class (class counts fixed)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, len(y)), dtype=np.int64)
    for k in np.unique(y):
        members = np.flatnonzero(y == k)
        out[:, members] = members[rng.integers(0, len(members), size=(n_boot, len(members)))]
    return out


def _oof_scores(adata, trait, record, comp, models):
    """Labels, the out-of-fold ranking scores of the network and each baseline (same patients), classes, folds (for a
    continuous trait: observed values, predictions, ``REGRESSION``, folds)."""
    oof = record["oof"]
    folds = oof["fold"].to_numpy().astype(np.int64)
    if is_regression(record):
        scores = {"network": oof[["predicted"]].to_numpy(dtype=np.float64)}
        if models:
            boof = comp["oof"].reindex(oof.index)
            if boof[list(models)].isna().any().any():
                raise ValueError(f"the compare results of {trait!r} lack out-of-fold predictions for some of the "
                                 f"network's patients; run rg.tl.compare(adata, {trait!r}) again")
            scores.update({m: boof[[m]].to_numpy(dtype=np.float64) for m in models})
        return oof["observed"].to_numpy(dtype=np.float64), scores, REGRESSION, folds
    classes = list(record["classes"])
    n_classes = len(classes)
    y = pd.Categorical(oof["label"].astype(str), categories=classes).codes.astype(np.int64)
    folds = oof["fold"].to_numpy().astype(np.int64)
    probs = oof[[f"p_{i}" for i in range(n_classes)]].to_numpy(dtype=np.float64)
    scores = {"network": probs[:, 1:2] if n_classes == 2 else probs}
    if models:
        boof = comp["oof"].reindex(oof.index)
        if boof.isna().any().any():
            raise ValueError(f"the compare results of {trait!r} lack out-of-fold scores for some of the network's patients; "
                             f"run rg.tl.compare(adata, {trait!r}) again")
        for m in models:
            cols = [m] if n_classes == 2 else [f"{m}_{j}" for j in range(n_classes)]
            scores[m] = boof[cols].to_numpy(dtype=np.float64)
    return y, scores, n_classes, folds


def _repeat_scores(adata, trait: str, key: str, main: dict, n_classes: int) -> np.ndarray:
    """The out-of-fold network scores of another training run (``adata.uns[key][trait]``) in the main run's patient
    order, after checking that it is a run of the same trait on the same patients."""
    record = adata.uns.get(key, {}).get(trait) if isinstance(adata.uns.get(key), dict) else None
    if not isinstance(record, dict) or "oof" not in record:
        raise ValueError(f"repeats: no training run of {trait!r} in adata.uns[{key!r}]; train one with "
                         f"rg.tl.train(adata, {trait!r}, seed=..., key_added={key!r})")
    oof, ref = record["oof"], main["oof"]
    if set(oof.index) != set(ref.index) or is_regression(record) != is_regression(main) or (
            not is_regression(main) and list(record["classes"]) != list(main["classes"])):
        raise ValueError(f"repeats: the run in adata.uns[{key!r}] is not of the same patients and classes as the "
                         f"network's run of {trait!r}")
    oof = oof.loc[ref.index]
    if n_classes == REGRESSION:
        return oof[["predicted"]].to_numpy(dtype=np.float64)
    probs = oof[[f"p_{i}" for i in range(n_classes)]].to_numpy(dtype=np.float64)
    return probs[:, 1:2] if n_classes == 2 else probs


def _interval(values: np.ndarray, estimate: float, jackknife: np.ndarray | None, ci: float, kind: str):
    """Percentile or BCa (Efron 1987) interval of bootstrap ``values`` around ``estimate``."""
    lo, hi = (1 - ci) / 2, (1 + ci) / 2
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if kind == "bca" and jackknife is not None and np.ptp(v) > 0:
        prop = np.mean(v < estimate) + 0.5 * np.mean(v == estimate)
        z0 = norm.ppf(np.clip(prop, 1 / (2 * len(v)), 1 - 1 / (2 * len(v))))
        d = jackknife.mean() - jackknife
        denom = 6 * np.sum(d ** 2) ** 1.5
        a = np.sum(d ** 3) / denom if denom > 0 else 0.0
        levels = [norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z))) for z in norm.ppf([lo, hi])]
        return tuple(float(np.percentile(v, 100 * q, method="hazen")) for q in levels)
    return float(np.percentile(v, 100 * lo, method="hazen")), float(np.percentile(v, 100 * hi, method="hazen"))


#: Smallest network-minus-baseline difference that matters, by metric: within it, two models are "equivalent".
DEFAULT_MARGIN = {"roc_auc": 0.01, "r2": 0.02}
#: AUCs at or above this are at the ceiling: bootstrap intervals of their differences are degenerate (most resamples
#: tie at 1), BCa is refused, and two models that both reach it are "indistinguishable at the ceiling".
AUC_CEILING = 0.99


def _simultaneous(d: np.ndarray, center: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Simultaneous intervals of the columns of bootstrap differences ``d`` (resamples x baselines): the max-|t|
    bootstrap (Westfall & Young 1993; Hothorn, Bretz & Westfall 2008): ``center +- c * se`` with ``se`` each column's
    bootstrap sd and ``c`` the ``ci`` quantile over resamples of ``max_j |d_j - center_j| / se_j``, so that all the
    intervals cover their differences together with probability ``ci``."""
    se = np.nanstd(d, axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, np.abs(d - center) / np.where(se > 0, se, 1.0), 0.0)
    crit = float(np.nanquantile(np.nanmax(t, axis=1), ci)) if d.shape[1] else float("nan")
    return center - crit * se, center + crit * se, crit


def _baseline_verdicts(diffs: pd.DataFrame, est: dict[str, float], *, margin: float, ceiling: float | None) -> list[str]:
    """Per baseline, from the simultaneous interval of network minus baseline: ``"ceiling"`` (both AUCs at least
    ``ceiling``), ``"equivalent"`` (the interval within +-``margin``), ``"worse"`` / ``"better"`` (the interval below /
    above 0), else ``"unclear"``."""
    out = []
    for _, r in diffs.iterrows():
        if ceiling is not None and est["network"] >= ceiling and est[r["baseline"]] >= ceiling:
            out.append("ceiling")
        elif r["sim_lower"] > -margin and r["sim_upper"] < margin:
            out.append("equivalent")
        elif r["sim_upper"] < 0:
            out.append("worse")
        elif r["sim_lower"] > 0:
            out.append("better")
        else:
            out.append("unclear")
    return out


def _difference_table(values: np.ndarray, estimate: np.ndarray, jack: np.ndarray | None, names: list[str], *,
                      ci: float, interval: str, margin: float, ceiling: float | None) -> pd.DataFrame:
    """Network (column 0) minus each baseline: per-comparison and simultaneous intervals, and a verdict per baseline."""
    rows, cols = [], []
    for j, m in enumerate(names[1:], start=1):
        d = values[:, 0] - values[:, j]
        jk = None if jack is None else jack[:, 0] - jack[:, j]
        est = estimate[0] - estimate[j]
        lo, hi = _interval(d, est, jk, ci, interval)
        rows.append({"baseline": m, "estimate": float(est), "mean": float(np.nanmean(d)), "ci_lower": lo, "ci_upper": hi,
                     "fraction_positive": float(np.mean(d > 0))})
        cols.append(d)
    diffs = pd.DataFrame(rows, columns=["baseline", "estimate", "mean", "ci_lower", "ci_upper", "fraction_positive"])
    if not rows:
        return diffs.assign(sim_lower=[], sim_upper=[], verdict=[])
    d = np.stack(cols, axis=1)
    center = np.where(np.isfinite(diffs["estimate"]), diffs["estimate"], diffs["mean"]).astype(float)
    diffs["sim_lower"], diffs["sim_upper"], _ = _simultaneous(d, center, ci)
    est = {m: float(v) for m, v in zip(names, estimate)} if np.isfinite(estimate).all() else \
        {m: float(np.nanmean(values[:, j])) for j, m in enumerate(names)}
    diffs["verdict"] = _baseline_verdicts(diffs, est, margin=margin, ceiling=ceiling)
    return diffs


def _statistic(y, s, n_classes, folds, statistic) -> float:
    """The pooled out-of-fold AUC (R^2 for a continuous trait), or the mean over folds of each fold's."""
    def score(yy, ss):
        return regression_scores(yy, ss)["r2"] if n_classes == REGRESSION else score_auc(yy, ss, n_classes)

    if statistic == "pooled":
        return score(y, s)
    return float(np.nanmean([score(y[folds == f], s[folds == f]) for f in np.unique(folds)]))


def _oof_bootstrap(y, scores, n_classes, folds, *, statistic, n_boot, seed, interval, network_runs=None):
    """Paired, stratified bootstrap of the out-of-fold AUCs: resample patients, keep every prediction.

    ``network_runs``: further training runs of the network (their out-of-fold scores, the same patients): each
    resample also draws which run stands for the network, so that its AUC and differences vary over runs too; the
    network's estimate is then the mean over runs (the main run, ``scores["network"]``, and these)."""
    names = list(scores)
    regression = n_classes == REGRESSION
    # strata: the class (and, for fold_mean, the fold): y[idx[b]] == y (and folds[idx[b]] == folds) in every resample;
    # a continuous trait: none (pooled) or the fold
    if regression:
        strata = np.zeros(len(y), dtype=np.int64) if statistic == "pooled" else folds
    else:
        strata = y if statistic == "pooled" else folds * n_classes + y
    idx = _stratified_resamples(strata, n_boot, seed)
    targets = [(1, 0)] if n_classes == 2 else [(k, k) for k in range(n_classes)]
    groups = [np.ones(len(y), dtype=bool)] if statistic == "pooled" else [folds == f for f in np.unique(folds)]
    def resampled(s: np.ndarray) -> np.ndarray:
        """ROC-AUC (R^2) of one model's scores on every resample (macro one-vs-rest for multiclass)."""
        out = np.empty(n_boot)
        for start in range(0, n_boot, 256):
            rows = idx[start:start + 256]
            if regression:
                out[start:start + len(rows)] = np.mean([_rows_r2(y[rows][:, g], s[:, 0][rows][:, g]) for g in groups],
                                                       axis=0)
                continue
            per_group = [np.mean([rows_auc(s[:, col][rows][:, g], (y == k)[g]) for k, col in targets
                                  if 0 < (y == k)[g].sum() < g.sum()], axis=0) for g in groups]
            out[start:start + len(rows)] = np.mean(per_group, axis=0)
        return out

    boots = np.empty((n_boot, len(names)))
    for j, m in enumerate(names):
        boots[:, j] = resampled(scores[m])
    estimate = np.array([_statistic(y, scores[m], n_classes, folds, statistic) for m in names])
    if network_runs:
        runs = [scores["network"], *network_runs]
        per_run = np.stack([boots[:, 0], *[resampled(r) for r in network_runs]])  # runs x resamples
        pick = np.random.default_rng(child_seed(seed, 1)).integers(0, len(runs), n_boot)
        boots[:, 0] = per_run[pick, np.arange(n_boot)]
        estimate[0] = np.mean([_statistic(y, r, n_classes, folds, statistic) for r in runs])
    jack = None
    if interval == "bca":
        keep = np.ones(len(y), dtype=bool)
        jack = np.empty((len(y), len(names)))
        for i in range(len(y)):
            keep[i] = False
            jack[i] = [_statistic(y[keep], scores[m][keep], n_classes, folds[keep], statistic) for m in names]
            keep[i] = True
    return names, boots, estimate, jack


@doc_params
def bootstrap(
    adata: AnnData,
    trait: str,
    *,
    method: Literal["oof", "refit"] = "oof",
    n_boot: int | None = None,
    models: Sequence[str] | None = None,
    interval: Literal["percentile", "bca"] = "percentile",
    statistic: Literal["pooled", "fold_mean"] = "pooled",
    network_protocol: Literal["fixed_epochs", "paper"] = "fixed_epochs",
    pretrained: TranscriptomeAutoencoder | None = None,
    ci: float = 0.95,
    margin: float | None = None,
    repeats: Sequence[str] = (),
    seed: int | None = None,
    n_jobs: int | None = None,
    key: str | None = None,
    compare_key: str | None = None,
    device: str | None = None,
    key_added: str = "radiogx_bootstrap",
    copy: bool = False,
) -> AnnData | None:
    """Paired bootstrap intervals of the ROC-AUC (R^2 for a continuous trait) of the network and the baselines, and of
    their differences.

    ``method="oof"`` (default): the patients are resampled with replacement within each class (stratified), and the
    out-of-fold predictions that :func:`radiogx.tl.train` and :func:`radiogx.tl.compare` made on the same folds are
    scored on each resample, every model on the same patients (paired). The interval covers the sampling variability
    of the **out-of-fold AUC of the models as trained** on this cohort (``statistic``: pooled by default; ``estimate``
    is its value on all patients); it needs no refit and takes seconds. Intervals: percentile (default) or BCa (Efron 1987, with a
    jackknife acceleration).

    ``method="refit"`` is the paper's scheme (``bs_method 1``): bootstrap ``b`` makes a new
    ``StratifiedKFold(cv, shuffle=True)``; in every fold the training and validation patients are resampled with
    replacement; every model is refit with its fixed, previously selected settings (the network's final
    configuration, epochs, pre-trained autoencoder and frozen layers; each baseline's most often chosen grid point)
    and the bootstrap's score is the mean fold AUC. Duplicated patients inside a training set hurt the network more
    than a regularised linear model, so the refit interval of a difference is biased against the network; it covers
    the variability of the refit procedure, not of the reported out-of-fold AUC. Percentile intervals (R's quantile
    type 5, as the paper).

    A continuous trait (``rg.tl.train`` with a regression network) is bootstrapped out of fold only: patients are
    resampled with replacement (within folds for ``statistic="fold_mean"``), and each resample's R^2 (``1 - SSE /
    SST`` around the resample's own mean) is scored for every model on the same patients; ``boots`` then has an ``r2``
    column, and ``params["metric"]`` names the score.

    Parameters
    ----------
    adata
        With a network trained by :func:`radiogx.tl.train` for ``trait`` (and baselines from
        :func:`radiogx.tl.compare` to compare against).
    trait
        The trait.
    method
        ``"oof"`` or ``"refit"``.
    n_boot
        Bootstraps; ``None``: 2000 (``"oof"``) or 100 (``"refit"``, as the paper).
    models
        Baselines to include; default every baseline that ``compare`` evaluated (none if it did not run).
    interval
        ``"percentile"`` or ``"bca"`` (``"oof"`` only; the refit scheme is percentile).
    statistic
        ``"oof"`` only: ``"pooled"``, the AUC of all out-of-fold predictions at once (stable on small cohorts; it
        assumes the fold models' scores share one scale, as probabilities do, an SVM's decision values less so), or
        ``"fold_mean"``, the mean of the fold AUCs (the CV mean of ``compare_df``; patients resampled within each fold
        and class).
    network_protocol
        Refit only: ``"fixed_epochs"`` (the network trains for its chosen number of epochs, blind to the validation
        patients) or ``"paper"`` (the best epoch's AUC on the validation patients themselves).
    pretrained
        Refit only: the autoencoder the network was trained from (``rg.tl.train(..., pretrained=ae)``); required when
        it was.
    ci
        Coverage of the intervals (each difference's own, and the simultaneous ones over the baselines).
    repeats
        ``"oof"`` only: the ``key_added`` of further :func:`radiogx.tl.train` runs of the same trait and recipe with
        other seeds (and so other fold splits), e.g. ``rg.tl.train(adata, trait, seed=s, key_added=f"seed{s}")``. Each
        resample then also draws one of the runs to stand for the network, so that the network's interval and its
        differences cover the variability between training runs as well as between patients, and the network's
        ``estimate`` is the mean over runs (without repeats, every interval is conditional on one training run).
    margin
        The smallest network-minus-baseline difference that matters: a baseline whose simultaneous interval lies
        within ``+-margin`` is ``"equivalent"`` to the network. ``None``: 0.01 AUC, 0.02 R^2.
    seed
        Seed of the bootstraps; ``None`` uses the network's seed.
    n_jobs
        Refit only: bootstraps run in parallel; each job is single-threaded, so results do not depend on ``n_jobs``.
    {device}
    key, compare_key
        Where ``train`` and ``compare`` recorded their results; ``None``: the rule of every reader
        (:func:`radiogx.get.record`: ``"radiogx"``, else the only model record; the compare record made for that
        model).
    key_added
        ``adata.uns[key_added][trait]`` receives ``boots`` (DataFrame: ``boot``, ``model``, ``roc_auc``), ``summary``
        (per model: ``estimate``, ``mean``, ``ci_lower``, ``ci_upper``), ``differences`` (per baseline, network minus
        baseline: ``estimate``, ``mean``, ``ci_lower``, ``ci_upper`` (this comparison alone), ``fraction_positive``,
        ``sim_lower``, ``sim_upper`` (simultaneous over the baselines) and ``verdict``) and ``params`` (with
        ``covers``: what the intervals cover and what they are conditional on; ``margin``; ``ceiling``).
    {copy}

    Returns
    -------
    ``None``, or the modified copy with ``copy=True``. Writes ``adata.uns[key_added][trait]`` (a ``"bootstrap"``
    record), read by :func:`radiogx.get.bootstrap_df` and :func:`radiogx.get.compare_df` (``network_verdict``).
    """
    adata = adata.copy() if copy else adata
    if method not in ("oof", "refit"):
        raise ValueError(f"method must be 'oof' or 'refit', got {method!r}")
    n_boot = (2000 if method == "oof" else 100) if n_boot is None else n_boot
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")
    if statistic not in ("pooled", "fold_mean"):
        raise ValueError(f"statistic must be 'pooled' or 'fold_mean', got {statistic!r}")
    if interval not in ("percentile", "bca"):
        raise ValueError(f"interval must be 'percentile' or 'bca', got {interval!r}")
    if method == "refit" and interval != "percentile":
        raise ValueError("interval='bca' needs method='oof' (a jackknife of the refit scheme would refit n times)")
    if margin is not None and not (isinstance(margin, int | float) and not isinstance(margin, bool) and margin >= 0):
        raise ValueError(f"margin must be a non-negative number or None, got {margin!r}")
    repeats = [repeats] if isinstance(repeats, str) else list(repeats)
    if repeats and method != "oof":
        raise ValueError("repeats= needs method='oof' (the refit scheme retrains every model already)")
    if repeats and interval == "bca":
        raise ValueError("repeats= needs interval='percentile' (BCa's jackknife assumes one fixed set of predictions)")
    if network_protocol not in ("fixed_epochs", "paper"):
        raise ValueError(f"network_protocol must be 'fixed_epochs' or 'paper', got {network_protocol!r}")
    device = settings.torch_device(device)
    key = model_key(adata, key, trait)
    model = recorded_model(adata, trait, key)
    record = adata.uns[key][trait]
    if compare_key is None:
        linked = linked_record(adata, "compare", key)
        compare_key = linked.key if linked is not None else KINDS["compare"].default_key
    cv = int(record["params"]["cv"])
    seed = int(record["params"]["seed"]) if seed is None else int(seed)
    n_jobs = settings.n_jobs if n_jobs is None else n_jobs
    comp = adata.uns.get(compare_key, {}).get(trait)
    available = list(comp["params"]["models"]) if comp is not None else []
    models = available if models is None else list(models)
    missing = [m for m in models if m not in available]
    if missing:
        raise ValueError(f"no compare results for {missing} on {trait!r}: run rg.tl.compare(adata, {trait!r}) first")
    params = {"kind": "bootstrap", "model_key": key, "compare_key": compare_key if comp is not None else "",
              "method": method, "n_boot": int(n_boot), "cv": cv, "seed": seed, "ci": float(ci),
              "device": str(device), "precision": "fp32", "radiogx_version": __version__}
    if method == "oof":
        y, scores, n_classes, folds = _oof_scores(adata, trait, record, comp, models)
        at_ceiling = [] if interval != "bca" or n_classes == REGRESSION else [  # only BCa needs them before the run
            m for m in scores if _statistic(y, scores[m], n_classes, folds, statistic) >= AUC_CEILING]
        if at_ceiling:
            note = (f"BCa replaced by percentile: {', '.join(at_ceiling)} reach AUC >= {AUC_CEILING:g}, where most "
                    "resamples tie at the ceiling and BCa's bias correction breaks (21% of its 95% intervals of two "
                    "equal models excluded 0 at AUC 0.998, n = 173)")
            warnings.warn(f"bootstrap: {note}", UserWarning, stacklevel=2)
            params["interval_note"] = note
            interval = "percentile"
        runs = [_repeat_scores(adata, trait, r, record, n_classes) for r in repeats]
        names, values, estimate, jack = _oof_bootstrap(y, scores, n_classes, folds, statistic=statistic,
                                                       n_boot=n_boot, seed=child_seed(seed, 30_000), interval=interval,
                                                       network_runs=runs)
        metric = "R^2" if n_classes == REGRESSION else "ROC-AUC"
        what = (f"pooled out-of-fold {metric}" if statistic == "pooled" else
                f"mean over outer folds of the fold {metric} (the CV mean)")
        by = ([] if n_classes == REGRESSION else ["class"]) + (["fold"] if statistic == "fold_mean" else [])
        strata = "stratified by " + " and ".join(by) if by else ""
        params.update(interval=interval, statistic=statistic, metric="r2" if n_classes == REGRESSION else "roc_auc",
                      resampling="patients" + (f", {strata}" if strata else "") + ", paired across models",
                      repeats=";".join(repeats),
                      covers=f"{ci:.0%} {interval} interval of the {what} of the models as trained (and of "
                             "network-minus-baseline differences; sim_lower/sim_upper: simultaneous over the "
                             "baselines) over patient resamples, " + (
                                 f"and over {len(runs) + 1} training runs of the network (seeds and fold splits); the "
                                 "baselines conditional on their one run" if runs else
                                 "conditional on this one training run of each model (its seed and folds)"))
    else:
        if is_regression(record):
            raise ValueError(f"trait {trait!r} is continuous: its bootstrap resamples the out-of-fold predictions; use "
                             "method='oof' (the refit scheme is the paper's, for classes)")
        was_pretrained = bool(record["params"].get("pretrained", False))
        if was_pretrained != (pretrained is not None):
            raise ValueError(f"the network for {trait!r} was trained " + (
                "from a pre-trained autoencoder: pass it as pretrained=" if was_pretrained else
                "without a pre-trained autoencoder: leave pretrained=None") +
                " so that the refit bootstrap evaluates the same network")
        baselines = {m: _chosen_params(comp["folds"], m) for m in models}
        data = trait_data(adata, trait, cv=cv, func="bootstrap", input_transform=model.input_transform)
        if list(data.genes) != list(model.genes):
            raise ValueError(f"adata's genes differ from those the model for {trait!r} was trained on; train again")
        cfg = NetworkConfig.from_dict(model.config.as_dict())
        class_weight = None if record["params"]["class_weight"] == "None" else "balanced"
        freeze = int(record["params"].get("freeze", 0)) if pretrained is not None else 0
        ae = pretrained.cpu() if pretrained is not None else None
        jobs = [delayed(_one_boot)(b, child_seed(seed, 20_000 + b), data.x, data.y, data.n_classes, cv, cfg,
                                   class_weight, baselines, network_protocol, ae, freeze, model.set_mask,
                                   device)
                for b in range(n_boot)]
        out = list(tqdm(Parallel(n_jobs=n_jobs, return_as="generator")(jobs), total=n_boot, desc=f"bootstrap {trait}",
                        disable=not settings.show_progress))
        names = ["network", *models]
        values = np.array([[res[m] for m in names] for _, res in sorted(out)])
        estimate = np.full(len(names), np.nan)  # the refit scheme has no single-sample counterpart
        jack = None
        params.update(interval="percentile", network_protocol=network_protocol, pretrained=pretrained is not None,
                      freeze=freeze, baselines=repr(baselines), network_config=repr(cfg.as_dict()),
                      covers=f"{ci:.0%} percentile interval of the mean fold AUC when every model is refit on "
                             "resampled patients with fixed settings (the paper's scheme)")
    boots = pd.DataFrame([{"boot": b, "model": m, params.get("metric", "roc_auc"): float(values[b, j])}
                          for b in range(len(values)) for j, m in enumerate(names)])

    def row(j_values, est, jk):
        lo, hi = _interval(j_values, est, jk, ci, params["interval"])
        return {"estimate": float(est), "mean": float(np.nanmean(j_values)), "ci_lower": lo, "ci_upper": hi}

    summary = pd.DataFrame([{"model": m, **row(values[:, j], estimate[j], None if jack is None else jack[:, j])}
                            for j, m in enumerate(names)])
    regression = params.get("metric") == "r2"
    margin = DEFAULT_MARGIN["r2" if regression else "roc_auc"] if margin is None else float(margin)
    ceiling = None if regression else AUC_CEILING
    params.update(margin=margin, ceiling=float("nan") if ceiling is None else ceiling,
                  verdict=("per baseline, from the simultaneous max-|t| bootstrap intervals of network minus baseline: "
                           f"ceiling (both AUCs >= {AUC_CEILING:g}), equivalent (within +-{margin:g}), worse/better "
                           "(below/above 0), else unclear"))
    diffs = _difference_table(values, estimate, jack, names, ci=ci, interval=params["interval"], margin=margin,
                              ceiling=ceiling)
    write_record(adata, key_added, {"boots": boots, "summary": summary, "differences": diffs, "params": params,
                                    "added": log_added("bootstrap", uns=key_added)}, tool="bootstrap", trait=trait)
    return adata if copy else None
