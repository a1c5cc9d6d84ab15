"""The paper's paired bootstrap of cross-validated AUCs (Smedley et al. 2020; method.md section 4)."""

from __future__ import annotations

import ast
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
from sklearn.utils import resample
from sklearn.utils.class_weight import compute_sample_weight
from tqdm.auto import tqdm

from .. import __version__
from .._settings import settings
from ..nn._fit import NetworkConfig, fit_network, logit_scores, predict_logits, score_auc
from ..nn._modules import RadiogenomicNetwork
from ._compare import baseline_estimator, baseline_scores
from ._trait import child_seed, resolve_model, trait_data

__all__ = ["bootstrap"]


def _chosen_params(folds: pd.DataFrame, model: str) -> dict:
    """The baseline settings chosen most often over the outer folds (ties: the earliest fold's)."""
    picks = folds.loc[folds["model"] == model, "best_params"].tolist()
    top = Counter(picks).most_common(1)[0][0]
    return ast.literal_eval(top)


def _one_boot(b, boot_seed, x, y, n_classes, cv, cfg, class_weight, baselines, network_protocol):
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
                              class_weight=class_weight, monitor="auc")
            scores["network"].append(fit.best_val_auc)
        else:
            fit = fit_network(xtr, y[tr], n_classes=n_classes, cfg=cfg, seed=s, class_weight=class_weight)
            net = RadiogenomicNetwork(x.shape[1], 1 if n_classes == 2 else n_classes, cfg.hidden,
                                      activation=cfg.activation, dropout=cfg.dropout)
            net.load_state_dict(fit.state)
            logits = predict_logits(net, xte, device=torch.device("cpu"))
            scores["network"].append(score_auc(y[te], logit_scores(logits, n_classes), n_classes))
        for m, params in baselines.items():
            est = baseline_estimator(m, s).set_params(**params)
            pipe = Pipeline([("scale", StandardScaler()), ("model", est)])
            kw = {"model__sample_weight": compute_sample_weight("balanced", y[tr])} if m == "gbt" else {}
            pipe.fit(x[tr], y[tr], **kw)
            scores[m].append(score_auc(y[te], baseline_scores(pipe, x[te], n_classes), n_classes))
    return b, {m: float(np.mean(v)) for m, v in scores.items()}


def bootstrap(
    adata: AnnData,
    trait: str,
    *,
    n_boot: int = 100,
    models: Sequence[str] | None = None,
    network_protocol: Literal["fixed_epochs", "paper"] = "fixed_epochs",
    ci: float = 0.95,
    seed: int | None = None,
    n_jobs: int | None = None,
    key: str = "radiogx",
    compare_key: str = "radiogx_compare",
    key_added: str = "radiogx_bootstrap",
) -> None:
    """Paired bootstrap of the cross-validated ROC-AUC of the network and the baselines, and of their differences.

    Bootstrap ``b`` (the paper's ``bs_method 1``): a new ``StratifiedKFold(cv, shuffle=True)`` seeded for ``b``; in
    every fold the training patients are resampled with replacement, and so are the validation patients (again until
    both classes are present); every model is refit with its **fixed, previously selected** settings (the network's
    final configuration and number of epochs; each baseline's most often chosen grid point from
    :func:`radiogx.tl.compare`) and scored on the resampled validation patients; the bootstrap's score is the mean
    fold AUC. All models see the same resamples, so their differences are paired. Intervals are percentile intervals
    (R's quantile type 5, as the paper).

    Parameters
    ----------
    adata
        With a network trained by :func:`radiogx.tl.train` for ``trait`` (and baselines from
        :func:`radiogx.tl.compare` to compare against).
    trait
        The trait.
    n_boot
        Bootstraps (the paper: 100).
    models
        Baselines to include; default every baseline that ``compare`` evaluated (none if it did not run).
    network_protocol
        ``"fixed_epochs"`` (honest: the network trains for its chosen number of epochs, blind to the validation
        patients) or ``"paper"`` (the authors' score: the best epoch's AUC on the validation patients themselves).
    ci
        Coverage of the percentile intervals.
    seed
        Seed of the bootstraps; ``None`` uses the network's seed.
    n_jobs
        Bootstraps run in parallel; each job is single-threaded, so results do not depend on ``n_jobs``.
    key, compare_key
        Where ``train`` and ``compare`` recorded their results.
    key_added
        ``adata.uns[key_added][trait]`` receives ``boots`` (DataFrame: ``boot``, ``model``, ``roc_auc``), ``summary``
        (per model: ``mean``, ``ci_lower``, ``ci_upper``), ``differences`` (per baseline, network minus baseline:
        ``mean``, ``ci_lower``, ``ci_upper``, ``fraction_positive``) and ``params``.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")
    if network_protocol not in ("fixed_epochs", "paper"):
        raise ValueError(f"network_protocol must be 'fixed_epochs' or 'paper', got {network_protocol!r}")
    model = resolve_model(adata, trait, key)
    record = adata.uns[key][trait]
    cv = int(record["params"]["cv"])
    seed = int(record["params"]["seed"]) if seed is None else int(seed)
    n_jobs = settings.n_jobs if n_jobs is None else n_jobs
    comp = adata.uns.get(compare_key, {}).get(trait)
    available = list(comp["params"]["models"]) if comp is not None else []
    models = available if models is None else list(models)
    missing = [m for m in models if m not in available]
    if missing:
        raise ValueError(f"no compare results for {missing} on {trait!r}: run rg.tl.compare(adata, {trait!r}) first")
    baselines = {m: _chosen_params(comp["folds"], m) for m in models}
    data = trait_data(adata, trait, cv=cv, func="bootstrap")
    if list(data.genes) != list(model.genes):
        raise ValueError(f"adata's genes differ from those the model for {trait!r} was trained on; train again")
    cfg = NetworkConfig.from_dict(model.config.as_dict())
    class_weight = None if record["params"]["class_weight"] == "None" else "balanced"
    jobs = [delayed(_one_boot)(b, child_seed(seed, 20_000 + b), data.x, data.y, data.n_classes, cv, cfg, class_weight,
                               baselines, network_protocol) for b in range(n_boot)]
    out = list(tqdm(Parallel(n_jobs=n_jobs, return_as="generator")(jobs), total=n_boot, desc=f"bootstrap {trait}",
                    disable=not settings.show_progress))
    boots = pd.DataFrame([{"boot": b, "model": m, "roc_auc": v} for b, res in sorted(out) for m, v in res.items()])
    wide = boots.pivot(index="boot", columns="model", values="roc_auc")
    lo, hi = 100 * (1 - ci) / 2, 100 * (1 + ci) / 2

    def interval(values):
        v = np.asarray(values, dtype=float)
        return {"mean": float(v.mean()), "ci_lower": float(np.percentile(v, lo, method="hazen")),
                "ci_upper": float(np.percentile(v, hi, method="hazen"))}

    summary = pd.DataFrame([{"model": m, **interval(wide[m])} for m in ["network", *models]])
    diffs = pd.DataFrame([{"baseline": m, **interval(wide["network"] - wide[m]),
                           "fraction_positive": float(((wide["network"] - wide[m]) > 0).mean())} for m in models])
    adata.uns.setdefault(key_added, {})[trait] = {
        "boots": boots, "summary": summary, "differences": diffs,
        "params": {"n_boot": int(n_boot), "cv": cv, "seed": seed, "ci": float(ci), "network_protocol": network_protocol,
                   "baselines": repr(baselines), "network_config": repr(cfg.as_dict()), "radiogx_version": __version__},
    }
