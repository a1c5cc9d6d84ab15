"""Radiogenomic networks per trait, evaluated by nested cross-validation (or the paper's protocol, on request)."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import torch
from anndata import AnnData
from joblib import Parallel, delayed
from sklearn.model_selection import ParameterGrid, ShuffleSplit, StratifiedShuffleSplit
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from .._docs import doc_params
from .. import __version__
from .._logging import log_added, logger
from .._settings import settings
from .._validation import preview
from .._metrics import regression_scores, score_auc, score_pr_auc
from ..nn.engine import (auto_width, choose_config, CONFIG_RULES, fit_network, gene_set_mask, logit_scores,
                         merge_networks, network_from_state, NetworkConfig, predict_logits, PRESETS, probabilities,
                         register, REGRESSION)
from ..nn import RadiogenomicModel, TranscriptomeAutoencoder
from ._record import write_record
from ._gene_sets import GeneSets, match_gene_sets, resolve_collection
from ._folds import child_seed, outer_folds
from .._traits import trait_data
from .._inputs import check_input_transform, fit_gene_structure

__all__ = ["train"]


def _scaler(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = StandardScaler().fit(x)
    return s.mean_.astype(np.float32), s.scale_.astype(np.float32)


def _run_fold(x, y, train, test, configs, n_classes, *, threads, **kwargs):
    """One outer fold (see :func:`_fold_work`), single-threaded so that results do not depend on ``n_jobs``.

    Torch's thread count is global to a process: a fold running in a worker thread (dask's threaded workers) leaves it
    at ``threads``, since restoring it would change it under a fold still running in another thread; ``train``
    restores the caller's count when every fold is done."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _fold_work(x, y, train, test, configs, n_classes, **kwargs)
    finally:
        if threading.current_thread() is threading.main_thread():
            torch.set_num_threads(previous)


def _fold_work(x, y, train, test, configs, n_classes, *, protocol, seed, fold, class_weight, pretrained, freeze,
               device, inner_fraction, inner_splits, monitor, set_mask, config_rule):
    """One outer fold: scale on its training patients, then (nested) pick the configuration (by ``config_rule``,
    :func:`~radiogx.nn.engine.choose_config`) and epoch on ``inner_splits`` inner splits of them (their networks
    averaged into the fold's network), or (paper) train on all of them and read each epoch's AUC on the held-out fold
    itself."""
    mean, scale = _scaler(x[train])
    xtr, xte = (x[train] - mean) / scale, (x[test] - mean) / scale
    ytr, yte = y[train], y[test]
    common = {"n_classes": n_classes, "class_weight": class_weight, "pretrained": pretrained, "freeze": freeze,
              "device": device, "set_mask": set_mask}
    if protocol == "nested":
        splitter = (ShuffleSplit if n_classes == REGRESSION else StratifiedShuffleSplit)(inner_splits, test_size=inner_fraction, random_state=child_seed(seed, fold, 999))
        splits = list(splitter.split(xtr, ytr))
        fits = [[fit_network(xtr[a], ytr[a], x_val=xtr[b], y_val=ytr[b], cfg=cfg, monitor=monitor,
                             seed=child_seed(seed, fold, c) if j == 0 else child_seed(seed, fold, c, j), **common)
                 for j, (a, b) in enumerate(splits)] for c, cfg in enumerate(configs)]
        per_split = np.array([[f.best_score for f in fs] for fs in fits], dtype=float)
        scores = [float(v) for v in per_split.mean(axis=1)]
        widths = [x.shape[1] if c.select_genes is None else min(c.select_genes, x.shape[1]) for c in configs]
        best = choose_config(per_split, widths, config_rule)
        nets = [network_from_state(f.state, activation=configs[best].activation) for f in fits[best]]
        net = nets[0] if len(nets) == 1 else merge_networks(nets)
        test_logits = predict_logits(net.to(device), xte, device=device)
        return {"fold": fold, "config": best, "scores": scores,
                "best_epoch": [int(np.median([f.best_epoch for f in fs])) for fs in fits], "test_logits": test_logits,
                "mean": mean, "scale": scale, "state": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}}
    fits = [fit_network(xtr, ytr, x_val=xte, y_val=yte, cfg=cfg, seed=child_seed(seed, fold, c), monitor="auc", **common)
            for c, cfg in enumerate(configs)]
    return {"fold": fold, "scores": [f.best_val_auc for f in fits], "best_epoch": [f.best_epoch for f in fits],
            "val_logits": [f.val_logits for f in fits], "mean": mean, "scale": scale}


def _configs(base: dict, param_grid, n_genes: int, set_width: int | None = None) -> list[NetworkConfig]:
    """The grid's configurations; ``select_genes`` at or above the number of genes means every gene (duplicates
    dropped); a gene-set layer of ``set_width`` nodes comes before the hidden layers."""
    grid = list(ParameterGrid(param_grid)) if param_grid else [{}]
    out: list[NetworkConfig] = []
    for g in grid:
        values = {**base, **g}
        if set_width is not None:
            values["hidden"] = (set_width, *tuple(values["hidden"]))
        if values.get("select_genes") is not None and int(values["select_genes"]) >= n_genes:
            values["select_genes"] = None
        cfg = NetworkConfig.from_dict(values)
        if cfg not in out:
            out.append(cfg)
    return out


def _recipe(preset: str, given: dict, param_grid, architecture: str) -> tuple[dict, object, dict]:
    """The preset's settings overridden by the ones given; its search grid without the keys the user fixed."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    recipe = dict(PRESETS[preset])
    gene_set_layer = recipe.pop("gene_set_layer")
    if architecture == "gene_sets":
        recipe.update(gene_set_layer)
    fixed = {k: v for k, v in given.items() if v is not None}
    recipe.update(fixed)
    if recipe.get("select_genes") == "all":
        recipe["select_genes"] = None
    if param_grid is None:
        grid = recipe.pop("param_grid")
        if grid:
            grid = {k: v for k, v in grid.items() if k not in fixed and not (architecture == "gene_sets" and k == "select_genes")}
    else:
        recipe.pop("param_grid")
        grid = param_grid
    loop = {k: recipe.pop(k) for k in ("inner_splits", "final", "min_epochs", "input_transform", "config_rule")}
    return recipe, grid or None, loop


def _set_layer(adata: AnnData, gene_sets, genes: pd.Index, nodes_per_set: int, min_size: int):
    """The gene-set layer: each set's node names and the connectivity mask (nodes x genes)."""
    if gene_sets is None:
        raise ValueError("architecture='gene_sets' needs gene_sets= (a dict of set name to genes or a collection name "
                         "such as 'hallmark')")
    if isinstance(nodes_per_set, bool) or not isinstance(nodes_per_set, int | np.integer) or nodes_per_set < 1:
        raise ValueError(f"nodes_per_set must be a positive integer, got {nodes_per_set!r}")
    matched = match_gene_sets(resolve_collection(gene_sets, genes), genes, min_size=min_size, func="train")
    names = [n for n in matched.names for _ in range(nodes_per_set)]
    return names, gene_set_mask(matched.indices, len(genes), nodes_per_set)


@doc_params
def train(
    adata: AnnData,
    trait: str,
    *,
    preset: Literal["default", "attribution", "travel", "paper"] = "default",
    architecture: Literal["dense", "gene_sets"] = "dense",
    gene_sets: GeneSets | None = None,
    nodes_per_set: int = 2,
    hidden: Sequence[int] | Literal["auto"] | None = None,
    activation: str | None = None,
    dropout: float | None = None,
    input_dropout: float | None = None,
    select_genes: int | Literal["all"] | None = None,
    interaction_rank: int | None = None,
    pretrained: TranscriptomeAutoencoder | None = None,
    freeze: int = 0,
    epochs: int | None = None,
    batch_size: int | None = None,
    optimizer: str | None = None,
    learning_rate: float | None = None,
    weight_decay: float | None = None,
    patience: int | None = None,
    monitor: Literal["loss", "auc"] = "loss",
    class_weight: Literal["balanced"] | None = "balanced",
    task: Literal["auto", "classification", "regression"] = "auto",
    transform: Literal["none", "logit", "log"] = "none",
    input_transform: Literal["none", "rank_normal"] | None = None,
    cv: int = 10,
    param_grid: Mapping | Sequence[Mapping] | None = None,
    inner_splits: int | None = None,
    config_rule: Literal["best", "widest_within_se"] | None = None,
    final: Literal["ensemble", "refit"] | None = None,
    min_epochs: int | None = None,
    protocol: Literal["nested", "paper"] = "nested",
    inner_fraction: float = 0.2,
    seed: int | None = None,
    n_jobs: int | None = None,
    device: str | None = None,
    save_to: str | os.PathLike | None = None,
    key_added: str = "radiogx",
) -> RadiogenomicModel:
    """Train a radiogenomic network for ``trait`` and estimate its performance by cross-validation.

    The network (Smedley, El-Saden & Hsu 2020): input dropout, Dense -> BatchNorm -> activation
    -> Dropout blocks and a logit head; binary cross-entropy for two classes, softmax cross-entropy for more (e.g.
    subtypes), class weights balanced on each training set. A continuous trait (a volume ratio, a radiomic feature;
    ``task``) gets one linear output and the Gaussian loss (mean squared error on the trait standardised with each
    training set's mean and sd), with the same folds, search and early stopping, scored by R^2, Spearman's rho and
    the RMSE. ``architecture="gene_sets"`` makes the first layer a
    gene-set layer (P-NET, Elmarakeby et al. 2021): ``nodes_per_set`` nodes per set, each connected only to its set's
    genes (overlapping sets allowed) and starting as the set's leading principal components on the training
    patients, followed by the ``hidden`` dense layers (default none) and a factorisation-machine term on the set
    nodes; :func:`radiogx.tl.set_nodes` reads which sets drive it.

    Every setting left at ``None`` comes from ``preset``. ``"default"`` (measured, ``benchmarks/model_quality.py``):
    one tanh layer scaled to the cohort (``hidden="auto"``: the power of two nearest patients / 8, 16-128), dropout
    0.2, Adam, the first layer restricted to the training patients' top genes by ANOVA F (``select_genes`` chosen
    from 30, 100 and 1000 inside each fold), three inner splits per fold whose networks are averaged, and the final
    predictor the average of the fold networks. ``"attribution"``, for gene lists to publish: the default with six
    inner splits and ``select_genes`` the widest of 50, 100 and 1000 within one standard error of the best
    (``config_rule="widest_within_se"``); its genes reproduce over retrainings (``benchmarks/attribution_quality.py``).
    ``"paper"``: 4000-2000-1000 tanh, Adadelta, batch 10, every gene, one inner split, a refit final model.
    ``"travel"``: the attribution recipe with ``input_transform="rank_normal"``, for a model to be applied to other
    platforms (measured, ``benchmarks/travel.py``).

    ``protocol="nested"`` (default, honest): for each of ``cv`` stratified outer folds, the scaler (and any gene
    screen) is fit on the training patients only; ``inner_splits`` stratified inner splits (``inner_fraction`` of
    them held out) choose the configuration from ``param_grid`` (by ``config_rule``) and each network's epoch (early
    stopping); the chosen configuration's inner networks, averaged, predict the outer fold's patients, which they
    never saw. ``protocol="paper"`` reproduces the authors' estimate: each fold trains on all its training patients
    and keeps, per configuration, the epoch with the best ROC-AUC **on the held-out fold itself**; the configuration
    with the best mean of those maxima wins; it is optimistic by construction.

    Parameters
    ----------
    adata
        Patients x genes; the trait is a column of ``adata.obs`` (categorical: its category order sets the classes,
        the positive class of a binary trait last; float: a continuous trait). Patients without a value are left out
        (counted in the log).
    trait
        Column of ``adata.obs``.
    preset
        ``"default"``, ``"attribution"``, ``"travel"`` or ``"paper"``: the recipe that fills the settings left at
        ``None``.
    architecture, gene_sets, nodes_per_set
        ``"dense"`` or ``"gene_sets"``; the collection of the gene-set layer (a dict of set name to genes or a
        bundled collection's name; sets with fewer than 5 of the genes are left out) and its nodes per set.
    hidden, activation, dropout, input_dropout, epochs, batch_size, optimizer, learning_rate, weight_decay, patience
        The network configuration (the paper: (4000, 2000, 1000), tanh, dropout 0-0.6, Adadelta, batch 10).
        ``hidden="auto"`` scales one layer to the cohort. ``input_dropout`` ``None``: the same as ``dropout``.
        ``patience`` epochs without improvement stop training.
    interaction_rank
        Rank of a factorisation-machine term (Rendle 2010) on the last hidden layer: pairwise products of its units
        enter the logit, so a trait driven by the product of two set activities is learnable (default: 8 for the
        gene-set architecture, 0 for dense).
    select_genes
        The first layer sees only the training patients' top ``select_genes`` genes by ANOVA F (an int), or every gene
        (``"all"``). Fixing it removes it from the preset's search.
    monitor
        What the inner split scores to choose the epoch and the configuration (nested protocol): ``"loss"``, the
        class-weighted cross-entropy (default; tie-free, so training continues after the AUC saturates), or
        ``"auc"``. The paper protocol always monitors the AUC, as the authors did.
    pretrained, freeze
        An autoencoder from :func:`radiogx.tl.pretrain` whose encoder Dense weights initialise the network (its
        widths must equal ``hidden``), and the number of first Dense layers to freeze.
    class_weight
        ``"balanced"`` or ``None`` (classes only).
    task
        ``"auto"`` (a float column with values that are not whole numbers is continuous, anything else classes),
        ``"classification"`` or ``"regression"``. A continuous trait needs ``protocol="nested"`` and
        ``monitor="loss"``; its outer folds are a shuffled ``KFold``.
    transform
        A continuous trait's transform before it is modelled: ``"none"``, ``"logit"`` (fractions strictly between 0
        and 1, such as the volume ratios) or ``"log"`` (positive values). The predictions and every score (R^2,
        masking, saliency) are then on the transformed scale.
    input_transform
        A within-patient transform of the expression, applied before the scaler and stored with the model, which
        applies it wherever it reads expression (prediction, saliency, masking): ``"none"``, or ``"rank_normal"``,
        each patient's values replaced by the normal scores of their ranks within that patient. It uses one
        patient's values only, so :func:`radiogx.tl.predict` can score a patient alone on another platform (Mao et
        al., BMC Cancer 2022); a model's attributions are then about the transformed values. ``None``: the
        preset's (``"rank_normal"`` for ``"travel"``, else ``"none"``).
    cv
        Number of outer folds.
    param_grid
        Settings to choose from inside each training fold (scikit-learn ``ParameterGrid`` form), e.g.
        ``{"dropout": [0, 0.4], "hidden": [(1000, 500, 250), (3000, 1500, 750)]}``; ``None``: the preset's search,
        ``{}``: none.
    inner_splits
        Inner splits per outer fold; each trains one network per configuration, and the chosen configuration's
        networks are averaged into the fold's network (one network whose logit is their mean).
    config_rule
        How each fold chooses its configuration from the mean inner scores: ``"best"``, the best mean, or
        ``"widest_within_se"``, the configuration whose first layer sees the most genes among those within one
        standard error of the best (the attribution and travel presets': where inner scores tie near their ceiling,
        the best mean picks a gene screen at random fold by fold, and the genes a network weighs change with it).
        ``None``: the preset's.
    final
        The final predictor: ``"ensemble"``, the average of the fold networks (nothing is refit; needs the nested
        protocol and fold networks of one depth), or ``"refit"``, one network refit on every labelled patient with the
        configuration most folds chose for the median of their chosen epochs, and at least ``min_epochs``.
    min_epochs
        The floor on the epochs of a refit final model.
    protocol
        ``"nested"`` or ``"paper"`` (see above).
    inner_fraction
        Share of each outer training fold held out by each inner split.
    seed
        Seed of the folds, splits, initialisation and batches; ``None`` uses ``rg.settings.seed``.
    n_jobs
        Outer folds run in parallel through joblib (``-1``: all cores); each fold job uses one torch thread, so results
        are identical for any ``n_jobs``. ``None`` uses ``rg.settings.n_jobs``.
    {device}
    save_to
        Save the model to this file (:meth:`~radiogx.nn.RadiogenomicModel.save`, overwriting) and record its path, so
        that an ``.h5ad`` round trip or a new session finds it (:func:`radiogx.io.save_model` does the same later).
    key_added
        ``adata.uns[key_added][trait]`` receives the record.

    Returns
    -------
    The final :class:`~radiogx.nn.RadiogenomicModel`, which also keeps the fold networks. Writes
    ``adata.uns[key_added][trait]``: ``model_id`` (resolves to the in-memory model), ``path`` (the saved file, or
    ``""``), ``classes`` (empty for a continuous trait), ``params`` (with ``task`` and ``transform``), ``cv``
    (DataFrame per fold: ``fold``, ``n_train``, ``n_test``, ``roc_auc`` and ``pr_auc``, or ``r2``, ``spearman`` and
    ``rmse`` for a continuous trait, ``best_epoch``, ``config``, ``selection_score``: the inner (nested) or
    held-out-fold (paper) score that chose them), ``oof`` (DataFrame per patient: ``fold``, ``label`` and ``p_<i>``,
    the out-of-fold probability of class ``i`` of ``classes``; or ``fold``, ``observed`` and ``predicted``),
    ``configs`` (the grid) and ``summary`` (mean and sd of the fold AUCs, or R^2s, the pooled out-of-fold AUC, or
    R^2, Spearman and RMSE, the selected configuration, ``final`` and ``final_epochs``, 0 for an ensemble).

    Examples
    --------
    >>> import radiogx as rg
    >>> adata = rg.datasets.synthetic(n_obs=80, n_vars=60, n_traits=1, module_size=10, n_decoys=3, seed=0)
    >>> model = rg.tl.train(adata, "trait_0", hidden=(8,), epochs=5, cv=3, inner_splits=1, select_genes="all")
    >>> model.classes
    ['negative', 'positive']
    >>> rg.get.cv_df(adata)[["fold", "n_train", "n_test"]].to_numpy().tolist()
    [[0, 53, 27], [1, 53, 27], [2, 54, 26]]
    """
    seed = settings.seed if seed is None else int(seed)
    n_jobs = settings.n_jobs if n_jobs is None else int(n_jobs)
    if protocol not in ("nested", "paper"):
        raise ValueError(f"protocol must be 'nested' or 'paper', got {protocol!r}")
    if architecture not in ("dense", "gene_sets"):
        raise ValueError(f"architecture must be 'dense' or 'gene_sets', got {architecture!r}")
    if isinstance(cv, bool) or not isinstance(cv, int | np.integer) or cv < 2:
        raise ValueError(f"cv must be an integer >= 2, got {cv!r}")
    if not 0 < inner_fraction < 0.5:
        raise ValueError(f"inner_fraction must be in (0, 0.5), got {inner_fraction!r}")
    given = {"hidden": hidden, "activation": activation, "dropout": dropout, "input_dropout": input_dropout,
             "epochs": epochs, "batch_size": batch_size, "optimizer": optimizer, "learning_rate": learning_rate,
             "weight_decay": weight_decay, "patience": patience, "select_genes": select_genes,
             "interaction_rank": interaction_rank,
             "inner_splits": inner_splits, "final": final, "min_epochs": min_epochs, "input_transform": input_transform,
             "config_rule": config_rule}
    if architecture == "gene_sets" and select_genes not in (None, "all"):
        raise ValueError("select_genes restricts a dense first layer; the gene-set layer's genes are its sets")
    base, param_grid, loop = _recipe(preset, given, param_grid, architecture)
    if protocol == "paper" and final is None:
        loop["final"] = "refit"  # the paper protocol keeps no fold networks to average
    inner_splits, final, min_epochs, input_transform, config_rule = (
        loop["inner_splits"], loop["final"], loop["min_epochs"], loop["input_transform"], loop["config_rule"])
    if config_rule not in CONFIG_RULES:
        raise ValueError(f"config_rule must be one of {list(CONFIG_RULES)}, got {config_rule!r}")
    for name, value in (("inner_splits", inner_splits), ("min_epochs", min_epochs)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if final not in ("ensemble", "refit"):
        raise ValueError(f"final must be 'ensemble' or 'refit', got {final!r}")
    if final == "ensemble" and protocol == "paper":
        raise ValueError("final='ensemble' averages the nested protocol's fold networks; with protocol='paper' use "
                         "final='refit'")
    check_input_transform(input_transform)
    if pretrained is not None and input_transform != "none":
        raise ValueError(f"input_transform={input_transform!r} with a pretrained autoencoder: the autoencoder learnt "
                         "untransformed expression; pretrain on the transformed matrix "
                         "(radiogx.tl.pretrain on a copy whose X is transformed) or leave input_transform='none'")
    data = trait_data(adata, trait, cv=cv, task=task, transform=transform, input_transform=input_transform)
    if data.is_regression and protocol == "paper":
        raise ValueError(f"trait {trait!r} is continuous: the paper's protocol (epochs chosen by the held-out fold's "
                         "ROC-AUC) is defined for classes; use protocol='nested'")
    if data.is_regression and monitor != "loss":
        raise ValueError(f"trait {trait!r} is continuous: it is monitored by its validation loss; use monitor='loss'")
    if base["hidden"] == "auto":
        base["hidden"] = (auto_width(len(data.y)),)
    set_names, set_mask = None, None
    if architecture == "gene_sets":
        if pretrained is not None:
            raise ValueError("a pre-trained autoencoder initialises a dense first layer; it cannot seed the gene-set layer")
        set_names, mask = _set_layer(adata, gene_sets, data.genes, nodes_per_set, min_size=5)
        set_mask = torch.from_numpy(mask)
        base["select_genes"] = None
    configs = _configs(base, param_grid, data.x.shape[1], None if set_names is None else len(set_names))
    if pretrained is not None and pretrained.hparams["n_genes"] != data.x.shape[1]:
        raise ValueError(f"the autoencoder was trained on {pretrained.hparams['n_genes']} genes, adata has {data.x.shape[1]}")
    if pretrained is not None and pretrained.genes is not None and list(pretrained.genes) != list(data.genes):
        differ = [f"{a}/{b}" for a, b in zip(pretrained.genes, data.genes) if a != b]
        raise ValueError(f"the autoencoder's genes are not adata's, in the same order ({len(differ)} positions "
                         f"differ: {preview(differ)}); pretrain on this cohort's genes, or order adata like it")
    if pretrained is not None:
        widths = list(pretrained.hparams["hidden"])
        if any(list(c.hidden) != widths for c in configs):
            raise ValueError(f"the autoencoder's encoder {widths} does not match the network's hidden layers "
                             f"{sorted({tuple(c.hidden) for c in configs})}; pass hidden={widths}")
        pretrained = pretrained.cpu()
    folds = outer_folds(data.y, cv, seed)
    device = settings.torch_device(device)
    jobs = (
        delayed(_run_fold)(data.x, data.y, np.flatnonzero(folds != k), np.flatnonzero(folds == k), configs, data.n_classes,
                           threads=1, protocol=protocol, seed=seed, fold=k, class_weight=class_weight,
                           pretrained=pretrained, freeze=freeze, device=device, inner_fraction=inner_fraction,
                           inner_splits=inner_splits if protocol == "nested" else 1, monitor=monitor,
                           set_mask=set_mask, config_rule=config_rule)
        for k in range(cv)
    )
    caller_threads = torch.get_num_threads()
    try:
        results = list(tqdm(Parallel(n_jobs=n_jobs, return_as="generator")(jobs), total=cv,
                            desc=f"train {trait} ({protocol}, {len(configs)} config{'s' * (len(configs) > 1)})",
                            disable=not settings.show_progress))
    finally:
        torch.set_num_threads(caller_threads)
    results.sort(key=lambda r: r["fold"])

    n_out = data.n_classes
    oof_logits = np.zeros((len(data.y), 1 if n_out in (REGRESSION, 2) else n_out))
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

    oof_scores = oof_logits if data.is_regression else logit_scores(oof_logits, n_out)
    rows = []
    for r in results:
        k = r["fold"]
        test = folds == k
        c = chosen[k]
        if data.is_regression:
            scores = regression_scores(data.y[test], oof_scores[test])
        else:
            scores = {"roc_auc": score_auc(data.y[test], oof_scores[test], n_out),
                      "pr_auc": score_pr_auc(data.y[test], oof_scores[test], n_out)}
        rows.append({"fold": k, "n_train": int((~test).sum()), "n_test": int(test.sum()), **scores,
                     "best_epoch": int(r["best_epoch"][c]), "config": int(c),
                     "selection_score": float(r["scores"][c])})
    cv_table = pd.DataFrame(rows)
    pooled_scores = regression_scores(data.y, oof_scores) if data.is_regression else None
    pooled = pooled_scores["r2"] if data.is_regression else score_auc(data.y, oof_scores, n_out)

    # Final predictor: the fold networks averaged (each fed the final scaling through its own scaler), or a refit on
    # all labelled patients with the chosen configuration for the median chosen epoch (at least min_epochs).
    cfg = configs[final_cfg]
    mean, scale = _scaler(data.x)
    median_epochs = max(1, int(np.median(epochs_final)))
    if final == "ensemble":
        members = [network_from_state(r["state"], activation=configs[r["config"]].activation) for r in results]
        try:
            merged = merge_networks(members, scales=[torch.from_numpy(scale / r["scale"]) for r in results],
                                    shifts=[torch.from_numpy((mean - r["mean"]) / r["scale"]) for r in results])
        except ValueError as err:
            raise ValueError(f"final='ensemble': {err} (the grid varies depth or activation); use final='refit'") from None
        final_state = {k: v.detach().clone() for k, v in merged.state_dict().items()}
        final_epochs = 0
        final_config = NetworkConfig.from_dict({**cfg.as_dict(), "epochs": median_epochs})
    else:
        final_epochs = max(int(min_epochs), median_epochs)
        final_config = NetworkConfig.from_dict({**cfg.as_dict(), "epochs": final_epochs})
        fit = fit_network((data.x - mean) / scale, data.y, n_classes=n_out, cfg=final_config, seed=child_seed(seed, 10_000),
                          class_weight=class_weight, pretrained=pretrained, freeze=freeze, device=device,
                          set_mask=set_mask)
        final_state = fit.state
    # Each fold network keeps the settings its inner split chose (widths may differ between folds).
    fold_models = [{"test": np.asarray(data.obs_names[folds == r["fold"]], dtype=object), "mean": r["mean"],
                    "scale": r["scale"], "state": r["state"], "best_epoch": int(r["best_epoch"][r["config"]]),
                    "config": NetworkConfig.from_dict({**configs[r["config"]].as_dict(),
                                                       "epochs": max(1, int(r["best_epoch"][r["config"]]))})}
                   for r in results] if protocol == "nested" else []
    recipe_params = {k: (list(v) if isinstance(v, tuple) else ("" if v is None else v)) for k, v in base.items()}
    params = {"kind": "model", "trait": trait, "task": data.task, "transform": data.transform,
              "input_transform": input_transform, "protocol": protocol, "cv": int(cv), "seed": int(seed), "class_weight": str(class_weight),
              "monitor": monitor if protocol == "nested" else "auc", "inner_fraction": float(inner_fraction),
              "pretrained": pretrained is not None, "freeze": int(freeze), "preset": preset,
              "architecture": architecture, "nodes_per_set": int(nodes_per_set) if architecture == "gene_sets" else 0,
              "inner_splits": int(inner_splits), "config_rule": config_rule, "final": final, "min_epochs": int(min_epochs),
              "param_grid": json.dumps(param_grid, default=list) if param_grid else "", "radiogx_version": __version__,
              "device": str(device), "precision": "fp32",
              **recipe_params}
    model = RadiogenomicModel(trait=trait, genes=data.genes, classes=data.classes, mean=mean, scale=scale,
                              config=final_config, state=final_state, folds=fold_models, settings_used=params,
                              set_nodes=set_names, set_mask=set_mask)
    model.gene_structure = fit_gene_structure((data.x - mean) / scale)  # infers the genes a new cohort lacks
    register(model, adata)  # adata keeps it alive; uns records only its id

    index = pd.Index(data.obs_names, dtype=str)
    common = {"selected_config": int(final_cfg), "final": final, "final_epochs": final_epochs,
              "n_patients": int(len(data.y))}
    if data.is_regression:
        oof = pd.DataFrame({"fold": folds, "observed": data.y, "predicted": oof_logits[:, 0]}, index=index)
        summary = {"r2_mean": float(cv_table["r2"].mean()), "r2_sd": float(cv_table["r2"].std(ddof=1)),
                   **{f"{k}_pooled": v for k, v in pooled_scores.items()}, **common}
        metric, counts = "r2", {"observed_mean": float(np.mean(data.y)), "observed_sd": float(np.std(data.y, ddof=1))}
    else:
        probs = probabilities(oof_logits, n_out)
        oof = pd.DataFrame({"fold": folds, "label": pd.Categorical([data.classes[i] for i in data.y],
                                                                   categories=data.classes)}, index=index)
        for i in range(n_out):
            oof[f"p_{i}"] = probs[:, i]  # class i of "classes"; names may hold "/", which h5ad keys may not
        summary = {"roc_auc_mean": float(cv_table["roc_auc"].mean()), "roc_auc_sd": float(cv_table["roc_auc"].std(ddof=1)),
                   "pr_auc_mean": float(cv_table["pr_auc"].mean()), "roc_auc_pooled": pooled, **common,
                   "class_counts": np.bincount(data.y, minlength=n_out).astype(np.int64)}
        metric = "roc_auc"
        counts = {"class_counts": {c: int(n) for c, n in zip(data.classes, np.bincount(data.y, minlength=n_out))}}
    model.training = {
        "n_patients": int(len(data.y)), "n_genes": int(len(data.genes)), "task": data.task, "transform": data.transform,
        **counts,
        "cv": {"protocol": protocol, "folds": int(cv), f"{metric}_per_fold": [float(a) for a in cv_table[metric]],
               f"{metric}_mean": summary[f"{metric}_mean"], f"{metric}_sd": summary[f"{metric}_sd"],
               f"{metric}_pooled": float(pooled)},
        "radiogx_version": __version__, "torch_version": torch.__version__,
    }
    path = "" if save_to is None else str(model.save(save_to, overwrite=True).resolve())
    record = {"model_id": model.model_id, "path": path, "classes": list(data.classes), "params": params, "cv": cv_table,
              "oof": oof, "configs": pd.DataFrame([{"config": i, **{k: json.dumps(v) for k, v in c.as_dict().items()}}
                                                   for i, c in enumerate(configs)]),
              "summary": summary}
    record["added"] = log_added("train", uns=key_added)
    write_record(adata, key_added, record, tool="train", trait=trait)
    label = "R^2" if data.is_regression else "ROC-AUC"
    logger.info(f"train: {trait} ({protocol}, {cv} folds): {label} {summary[f'{metric}_mean']:.3f} +/- "
                f"{summary[f'{metric}_sd']:.3f} (pooled out-of-fold {pooled:.3f}); final model: " +
                (f"the average of the {cv} fold networks" if final == "ensemble" else f"refit for {final_epochs} epochs"))
    return model
