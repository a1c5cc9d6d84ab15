"""Radiogenomic networks per trait, evaluated by nested cross-validation (or the paper's protocol, on request)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import torch
from anndata import AnnData
from joblib import Parallel, delayed
from sklearn.model_selection import ParameterGrid, StratifiedShuffleSplit
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from .. import __version__
from .._logging import logger
from .._settings import settings
from ..nn._fit import NetworkConfig, fit_network, logit_scores, predict_logits, probabilities, score_auc, score_pr_auc
from ..nn._model import RadiogenomicModel, register
from ..nn._modules import RadiogenomicNetwork, TranscriptomeAutoencoder
from ._trait import child_seed, outer_folds, trait_data

__all__ = ["train"]


def _scaler(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = StandardScaler().fit(x)
    return s.mean_.astype(np.float32), s.scale_.astype(np.float32)


def _run_fold(x, y, train, test, configs, n_classes, *, protocol, seed, fold, class_weight, pretrained, freeze,
              device, inner_fraction, threads, monitor):
    """One outer fold: scale on its training patients, then (nested) pick the configuration and epoch on an inner
    split of them, or (paper) train on all of them and read each epoch's AUC on the held-out fold itself."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _fold_work(x, y, train, test, configs, n_classes, protocol=protocol, seed=seed, fold=fold,
                          class_weight=class_weight, pretrained=pretrained, freeze=freeze, device=device,
                          inner_fraction=inner_fraction, monitor=monitor)
    finally:
        torch.set_num_threads(previous)


def _fold_work(x, y, train, test, configs, n_classes, *, protocol, seed, fold, class_weight, pretrained, freeze,
               device, inner_fraction, monitor):
    mean, scale = _scaler(x[train])
    xtr, xte = (x[train] - mean) / scale, (x[test] - mean) / scale
    ytr, yte = y[train], y[test]
    fits = []
    if protocol == "nested":
        split = StratifiedShuffleSplit(1, test_size=inner_fraction, random_state=child_seed(seed, fold, 999))
        inner_tr, inner_val = next(split.split(xtr, ytr))
    for c, cfg in enumerate(configs):
        s = child_seed(seed, fold, c)
        if protocol == "nested":
            fit = fit_network(xtr[inner_tr], ytr[inner_tr], x_val=xtr[inner_val], y_val=ytr[inner_val], n_classes=n_classes,
                              cfg=cfg, seed=s, class_weight=class_weight, pretrained=pretrained, freeze=freeze, device=device,
                              monitor=monitor)
        else:
            fit = fit_network(xtr, ytr, x_val=xte, y_val=yte, n_classes=n_classes, cfg=cfg, seed=s,
                              class_weight=class_weight, pretrained=pretrained, freeze=freeze, device=device, monitor="auc")
        fits.append(fit)
    if protocol == "nested":
        best = int(np.nanargmax([f.best_score for f in fits]))
        net = RadiogenomicNetwork(x.shape[1], 1 if n_classes == 2 else n_classes, configs[best].hidden,
                                  activation=configs[best].activation, dropout=configs[best].dropout)
        net.load_state_dict(fits[best].state)
        test_logits = predict_logits(net.to(device), xte, device=device)
        return {"fold": fold, "config": best, "scores": [f.best_score for f in fits],
                "best_epoch": [f.best_epoch for f in fits], "test_logits": test_logits, "mean": mean, "scale": scale,
                "state": fits[best].state}
    return {"fold": fold, "scores": [f.best_val_auc for f in fits], "best_epoch": [f.best_epoch for f in fits],
            "val_logits": [f.val_logits for f in fits], "mean": mean, "scale": scale}


def _configs(base: dict, param_grid) -> list[NetworkConfig]:
    grid = list(ParameterGrid(param_grid)) if param_grid else [{}]
    return [NetworkConfig.from_dict({**base, **g}) for g in grid]


def train(
    adata: AnnData,
    trait: str,
    *,
    hidden: Sequence[int] = (4000, 2000, 1000),
    activation: str = "tanh",
    dropout: float = 0.0,
    pretrained: TranscriptomeAutoencoder | None = None,
    freeze: int = 0,
    epochs: int = 200,
    batch_size: int = 32,
    optimizer: str = "adam",
    learning_rate: float | None = None,
    patience: int = 20,
    monitor: Literal["loss", "auc"] = "loss",
    class_weight: Literal["balanced"] | None = "balanced",
    cv: int = 10,
    param_grid: Mapping | Sequence[Mapping] | None = None,
    protocol: Literal["nested", "paper"] = "nested",
    inner_fraction: float = 0.2,
    seed: int | None = None,
    n_jobs: int | None = None,
    key_added: str = "radiogx",
) -> RadiogenomicModel:
    """Train a radiogenomic network for ``trait`` and estimate its performance by cross-validation.

    The network (Smedley, El-Saden & Hsu 2020, method.md section 3): input dropout, Dense -> BatchNorm -> activation
    -> Dropout blocks and a logit head; binary cross-entropy for two classes, softmax cross-entropy for more (e.g.
    subtypes), class weights balanced on each training set.

    ``protocol="nested"`` (default, honest): for each of ``cv`` stratified outer folds, the scaler is fit on the
    training patients only; an inner stratified split (``inner_fraction`` of them) chooses the configuration from
    ``param_grid`` and the epoch (early stopping on its ROC-AUC); the fold's network then predicts the outer fold's
    patients, which it never saw. ``protocol="paper"`` reproduces the authors' estimate: each fold trains on all its
    training patients and keeps, per configuration, the epoch with the best ROC-AUC **on the held-out fold itself**,
    and the configuration with the best mean of those maxima wins; it is optimistic by construction.
    The final model is refit on all labelled patients with the chosen configuration (the one most folds chose) for
    the median of the folds' chosen epochs.

    Parameters
    ----------
    adata
        Patients x genes; the trait is a column of ``adata.obs`` (categorical: its category order sets the classes,
        the positive class of a binary trait last). Patients without a value are left out (counted in the log).
    trait
        Column of ``adata.obs``.
    hidden, activation, dropout, epochs, batch_size, optimizer, learning_rate, patience
        The network configuration (the paper: (4000, 2000, 1000), tanh, dropout 0-0.6, Adadelta, batch 10).
        ``patience`` epochs without improvement stop training.
    monitor
        What the inner split scores to choose the epoch and the configuration (nested protocol): ``"loss"``, the
        class-weighted cross-entropy (default; tie-free, so training continues after the AUC saturates), or
        ``"auc"``. The paper protocol always monitors the AUC, as the authors did.
    pretrained, freeze
        An autoencoder from :func:`radiogx.tl.pretrain` whose encoder Dense weights initialise the network (its
        widths must equal ``hidden``), and the number of first Dense layers to freeze.
    class_weight
        ``"balanced"`` or ``None``.
    cv
        Number of outer folds.
    param_grid
        Settings to choose from inside each training fold (scikit-learn ``ParameterGrid`` form), e.g.
        ``{"dropout": [0, 0.4], "hidden": [(1000, 500, 250), (3000, 1500, 750)]}``.
    protocol
        ``"nested"`` or ``"paper"`` (see above).
    inner_fraction
        Share of each outer training fold held out for the inner choice of epoch and settings.
    seed
        Seed of the folds, splits, initialisation and batches; ``None`` uses ``rg.settings.seed``.
    n_jobs
        Outer folds run in parallel through joblib (``-1``: all cores); each fold job uses one torch thread, so results
        are identical for any ``n_jobs``. ``None`` uses ``rg.settings.n_jobs``.
    key_added
        ``adata.uns[key_added][trait]`` receives the record.

    Returns
    -------
    The final :class:`~radiogx.nn.RadiogenomicModel`, which also keeps the fold networks. Writes
    ``adata.uns[key_added][trait]``: ``model_id`` (resolves to the in-memory model), ``path`` (set when the model is
    saved), ``classes``, ``params``, ``cv`` (DataFrame per fold: ``fold``, ``n_train``, ``n_test``, ``roc_auc``,
    ``pr_auc``, ``best_epoch``, ``config``, ``selection_score``: the inner (nested) or held-out-fold (paper) score
    that chose them), ``oof`` (DataFrame per patient: ``fold``, ``label`` and ``p_<i>``, the
    out-of-fold probability of class ``i`` of ``classes``), ``configs`` (the grid) and ``summary`` (mean and sd of the fold AUCs, the pooled
    out-of-fold AUC, the selected configuration).
    """
    seed = settings.seed if seed is None else int(seed)
    n_jobs = settings.n_jobs if n_jobs is None else int(n_jobs)
    if protocol not in ("nested", "paper"):
        raise ValueError(f"protocol must be 'nested' or 'paper', got {protocol!r}")
    if isinstance(cv, bool) or not isinstance(cv, int | np.integer) or cv < 2:
        raise ValueError(f"cv must be an integer >= 2, got {cv!r}")
    if not 0 < inner_fraction < 0.5:
        raise ValueError(f"inner_fraction must be in (0, 0.5), got {inner_fraction!r}")
    base = {"hidden": tuple(hidden), "activation": activation, "dropout": dropout, "epochs": epochs,
            "batch_size": batch_size, "optimizer": optimizer, "learning_rate": learning_rate, "patience": patience}
    configs = _configs(base, param_grid)
    data = trait_data(adata, trait, cv=cv)
    if pretrained is not None and pretrained.hparams["n_genes"] != data.x.shape[1]:
        raise ValueError(f"the autoencoder was trained on {pretrained.hparams['n_genes']} genes, adata has {data.x.shape[1]}")
    if pretrained is not None:
        pretrained = pretrained.cpu()
    folds = outer_folds(data.y, cv, seed)
    device = settings.torch_device()
    threads = 1  # every fold job single-threaded: float sums, hence results, do not depend on n_jobs
    jobs = (
        delayed(_run_fold)(data.x, data.y, np.flatnonzero(folds != k), np.flatnonzero(folds == k), configs, data.n_classes,
                           protocol=protocol, seed=seed, fold=k, class_weight=class_weight, pretrained=pretrained,
                           freeze=freeze, device=device, inner_fraction=inner_fraction, threads=threads,
                           monitor=monitor)
        for k in range(cv)
    )
    results = list(tqdm(Parallel(n_jobs=n_jobs, return_as="generator")(jobs), total=cv,
                        desc=f"train {trait} ({protocol}, {len(configs)} config{'s' * (len(configs) > 1)})",
                        disable=not settings.show_progress))
    results.sort(key=lambda r: r["fold"])

    n_out = data.n_classes
    oof_logits = np.zeros((len(data.y), 1 if n_out == 2 else n_out))
    if protocol == "nested":
        chosen = [r["config"] for r in results]
        counts = Counter(chosen)
        top = max(counts.values())
        final_cfg = max((c for c in counts if counts[c] == top), key=lambda c: np.nanmean([r["scores"][c] for r in results]))
        for r in results:
            oof_logits[folds == r["fold"]] = r["test_logits"]
        epochs_final = [r["best_epoch"][final_cfg] for r in results if r["config"] == final_cfg]
    else:
        mean_max = [np.nanmean([r["scores"][c] for r in results]) for c in range(len(configs))]
        final_cfg = int(np.nanargmax(mean_max))
        chosen = [final_cfg] * cv
        for r in results:
            oof_logits[folds == r["fold"]] = r["val_logits"][final_cfg]
        epochs_final = [r["best_epoch"][final_cfg] for r in results]

    oof_scores = logit_scores(oof_logits, n_out)
    rows = []
    for r in results:
        k = r["fold"]
        test = folds == k
        c = chosen[k]
        rows.append({"fold": k, "n_train": int((~test).sum()), "n_test": int(test.sum()),
                     "roc_auc": score_auc(data.y[test], oof_scores[test], n_out),
                     "pr_auc": score_pr_auc(data.y[test], oof_scores[test], n_out),
                     "best_epoch": int(r["best_epoch"][c]), "config": int(c),
                     "selection_score": float(r["scores"][c])})
    cv_table = pd.DataFrame(rows)
    pooled = score_auc(data.y, oof_scores, n_out)

    # Final model: all labelled patients, the chosen configuration, the median chosen epoch.
    cfg = configs[final_cfg]
    final_epochs = max(1, int(np.median(epochs_final)))
    mean, scale = _scaler(data.x)
    final_cfg_epochs = NetworkConfig.from_dict({**cfg.as_dict(), "epochs": final_epochs})
    fit = fit_network((data.x - mean) / scale, data.y, n_classes=n_out, cfg=final_cfg_epochs, seed=child_seed(seed, 10_000),
                      class_weight=class_weight, pretrained=pretrained, freeze=freeze, device=device)
    # Each fold network keeps the settings its inner split chose (widths may differ between folds).
    fold_models = [{"test": np.asarray(data.obs_names[folds == r["fold"]], dtype=object), "mean": r["mean"],
                    "scale": r["scale"], "state": r["state"], "best_epoch": int(r["best_epoch"][r["config"]]),
                    "config": NetworkConfig.from_dict({**configs[r["config"]].as_dict(),
                                                       "epochs": int(r["best_epoch"][r["config"]])})}
                   for r in results] if protocol == "nested" else []
    params = {"trait": trait, "protocol": protocol, "cv": int(cv), "seed": int(seed), "class_weight": str(class_weight), "monitor": monitor if protocol == "nested" else "auc",
              "inner_fraction": float(inner_fraction), "pretrained": pretrained is not None, "freeze": int(freeze),
              "param_grid": json.dumps(param_grid, default=list) if param_grid else "", "radiogx_version": __version__,
              **{k: (list(v) if isinstance(v, tuple) else ("" if v is None else v)) for k, v in base.items()}}
    model = RadiogenomicModel(trait=trait, genes=data.genes, classes=data.classes, mean=mean, scale=scale,
                              config=final_cfg_epochs, state=fit.state, folds=fold_models, settings_used=params)
    register(model)

    probs = probabilities(oof_logits, n_out)
    oof = pd.DataFrame({"fold": folds, "label": pd.Categorical([data.classes[i] for i in data.y], categories=data.classes)},
                       index=pd.Index(data.obs_names, dtype=str))
    for i in range(n_out):
        oof[f"p_{i}"] = probs[:, i]  # class i of "classes"; names may hold "/", which h5ad keys may not
    summary = {"roc_auc_mean": float(cv_table["roc_auc"].mean()), "roc_auc_sd": float(cv_table["roc_auc"].std(ddof=1)),
               "pr_auc_mean": float(cv_table["pr_auc"].mean()), "roc_auc_pooled": pooled, "selected_config": int(final_cfg),
               "final_epochs": final_epochs, "n_patients": int(len(data.y)),
               "class_counts": np.bincount(data.y, minlength=n_out).astype(np.int64)}
    record = {"model_id": model.model_id, "path": "", "classes": list(data.classes), "params": params, "cv": cv_table,
              "oof": oof, "configs": pd.DataFrame([{"config": i, **{k: json.dumps(v) for k, v in c.as_dict().items()}}
                                                   for i, c in enumerate(configs)]),
              "summary": summary}
    store = adata.uns.setdefault(key_added, {})
    if trait in store:
        logger.warning(f"train: replacing the earlier record of trait {trait!r} in adata.uns[{key_added!r}]")
    store[trait] = record
    model._records.append(record)
    logger.info(f"train: {trait} ({protocol}, {cv} folds): ROC-AUC {summary['roc_auc_mean']:.3f} +/- {summary['roc_auc_sd']:.3f} "
                f"(pooled out-of-fold {pooled:.3f}); final model {final_epochs} epochs")
    return model
