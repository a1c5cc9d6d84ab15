"""The genes of a classical baseline: per-patient, out-of-fold attributions of the model that
:func:`radiogx.tl.compare` fitted on each outer training fold, written as an attribution result."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from anndata import AnnData

from .. import __version__
from .._docs import doc_params
from .._logging import log_added, logger
from .._registry import baseline, resolve
from .._traits import TraitData, trait_data
from .._validation import check_adata
from ..get import compare_df
from ..get import record as find_result
from ._attribute import target_label
from ._baselines import baseline_fit_kwargs
from ._compare import _model_key, _model_prefix, _pipeline
from ._folds import child_seed
from ._record import write_record
from ._saliency import _col_mean, attribution_key

__all__ = ["importance", "fold_contributions", "CompareSettings", "compared_baseline"]


@dataclass(frozen=True)
class CompareSettings:
    """A baseline as :func:`radiogx.tl.compare` ran it on one trait: its name, the task, the compare record (its
    ``key`` and the trait's ``entry``) and the trait's data now."""

    name: str
    task: str
    key: str
    entry: dict
    data: TraitData

    @property
    def regression(self) -> bool:
        return self.task == "regression"

    @property
    def params(self) -> dict:
        return self.entry["params"]

    @property
    def cv(self) -> int:
        return int(self.params["cv"])

    @property
    def inner_cv(self) -> int:
        return int(self.params["inner_cv"])

    @property
    def grid(self) -> dict:
        """The baseline's grid as compare searched it."""
        if "grids_json" not in self.params:
            raise ValueError(f"the compare record of {self.data.trait!r} predates the grids it now keeps; run "
                             "rg.tl.compare again")
        return json.loads(self.params["grids_json"])[self.name]

    @property
    def outputs(self) -> list[str | None]:
        """Each attributed output's class (``None``: the one output of a binary or continuous trait)."""
        return [None] if self.regression or self.data.n_classes == 2 else list(self.data.classes)

    @property
    def codes(self) -> list[int | None]:
        """The label code of each attributed output (a binary trait's: its positive class; ``None``: continuous)."""
        n = self.data.n_classes
        return [None] if self.regression else ([n - 1] if n == 2 else list(range(n)))


def compared_baseline(adata: AnnData, trait: str, model: str, compare_key: str | None, *,
                      func: str) -> CompareSettings:
    """The compared baseline ``model`` of ``trait`` (``"best"``: the attributable one of highest score in
    :func:`radiogx.get.compare_df`), checked: compared, with per-patient attributions, on the same patients."""
    found = find_result(adata, "compare", compare_key)
    if trait not in found.traits:
        raise ValueError(f"rg.tl.compare has no results for {trait!r} in adata.uns[{found.key!r}]; run "
                         f"rg.tl.compare(adata, {trait!r}) first")
    rec = found.entry(trait)
    params = rec["params"]
    task = "regression" if params["task"] == "regression" else "classification"
    compared = list(params["models"])
    available = [m for m in compared if baseline(m, task).attribute is not None]
    name = _best_baseline(adata, trait, found.key, available) if model == "best" else model
    if name not in compared:
        raise ValueError(f"model {name!r} was not compared for {trait!r}; compared: {compared} (or 'best')")
    if name not in available:
        raise ValueError(f"baseline {name!r} has no per-patient attributions; those compared that do: {available}")
    data = trait_data(adata, trait, task=params["task"], transform=params["transform"], func=func,
                      input_transform=str(params.get("input_transform", "none")))
    if not pd.Index(data.obs_names, dtype=str).equals(pd.Index(rec["oof"].index, dtype=str)):
        raise ValueError(f"the patients labelled for {trait!r} changed since rg.tl.compare; run it again")
    return CompareSettings(name, task, found.key, rec, data)


def fold_contributions(name: str, regression: bool, n_classes: int, seed: int, point: dict, x: np.ndarray,
                       y: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """A baseline's per-patient contributions (outputs x ``test`` patients x genes) from its pipeline with the grid
    ``point`` fit on the ``train`` patients (compare's estimator and seed: the same fit), in the fold's standardised
    units."""
    prefix = _model_prefix(regression)
    pipe = _pipeline(name, seed, regression, n_classes)
    pipe.set_params(**{f"{prefix}{p}": v for p, v in point.items()})
    fit_params = {f"{prefix}{p}": v for p, v in baseline_fit_kwargs(name, y[train], regression=regression).items()}
    pipe.fit(x[train], y[train], **fit_params)
    fitted = pipe.regressor_ if regression else pipe
    task = "regression" if regression else "classification"
    return resolve(baseline(name, task).attribute)(fitted["model"], fitted["scale"].transform(x[test]), n_classes)


def _best_baseline(adata: AnnData, trait: str, compare_key: str, available: list[str]) -> str:
    """The baseline of highest score in :func:`radiogx.get.compare_df` that can attribute (the network excluded: its
    genes come from :func:`radiogx.tl.saliency`)."""
    table = compare_df(adata, trait=trait, compare_key=compare_key)
    metric = str(table["metric"].iloc[0])
    score = f"{metric}_pooled"
    ranked = table[table["model"] != "network"].sort_values(score, ascending=False, kind="stable")
    usable = [m for m in ranked["model"] if m in available]
    if not usable:
        raise ValueError(f"none of the compared baselines of {trait!r} ({list(ranked['model'])}) has per-patient "
                         f"attributions; those that do: {available}")
    if table["best_model"].iloc[0] == "network":
        logger.info(f"importance: the network is {trait!r}'s best model (its genes: rg.tl.saliency); explaining the "
                    f"best baseline, {usable[0]}")
    return usable[0]


@doc_params
def importance(
    adata: AnnData,
    trait: str,
    *,
    model: str = "best",
    compare_key: str | None = None,
    key_added: str = "importance",
    copy: bool = False,
) -> AnnData | None:
    """Per-patient, out-of-fold gene attributions of a classical baseline: the genes of the best model when it is
    not the network.

    Each outer fold's model is refit on that fold's training patients with the settings that fold's grid search chose
    in :func:`radiogx.tl.compare` (the same estimator and seed, so the same fit), and explains the fold's held-out
    patients: linear models (``logit_l1``, ``logit_l2``, ridge, lasso, elastic net) by coefficient x scaled input (in
    the fold's standardised units: the contribution relative to the training mean, as input x gradient of the
    network), boosted trees (``gbt``, xgboost) by exact TreeSHAP values (``pred_contribs``; Lundberg et al., Nat Mach
    Intell 2020). The result is an attribution result like :func:`radiogx.tl.saliency`'s (signed, out of fold):
    :func:`radiogx.tl.enrich`, :func:`radiogx.tl.associations` and the R export read it the same way.

    Parameters
    ----------
    adata
        The cohort :func:`radiogx.tl.compare` ran on.
    trait
        The trait.
    model
        A compared baseline with attributions (``rg.tl.methods()``; the registry's ``attribute``), or ``"best"``:
        the baseline of highest pooled out-of-fold score in :func:`radiogx.get.compare_df`.
    compare_key
        The ``key_added`` of the compare call (``None``: ``"radiogx_compare"``, else the only compare record).
    key_added
        Names of the result (``adata.uns[key_added][trait]``, layers and ``.var`` columns as :func:`attribution_key`).
    {copy}

    Returns
    -------
    ``None``, or the modified copy with ``copy=True``. Writes, per target, ``adata.layers[name]`` (patients x genes;
    NaN for patients in no outer fold, unlabelled at compare time) and ``adata.var[name]`` (the mean absolute
    contribution over the explained patients, the paper's cohort-level ranking), and ``adata.uns[key_added][trait]``
    (``params`` with ``method`` ``"<model> importance"`` and ``patients="out_of_fold"``, ``targets``, ``keys``,
    ``explained_by``).
    """
    adata = adata.copy() if copy else adata
    check_adata(adata)
    s = compared_baseline(adata, trait, model, compare_key, func="importance")
    name, data, regression, rec = s.name, s.data, s.regression, s.entry
    names = pd.Index(data.obs_names, dtype=str)
    folds = rec["oof"]["fold"].to_numpy(dtype=np.int64)
    chosen = rec["folds"]
    chosen = chosen[chosen["model"] == name].set_index("fold")["best_params"]
    seed = int(s.params["seed"])
    classes = list(rec["classes"])
    n_classes = len(classes)
    targets = s.outputs
    values = np.full((len(targets), adata.n_obs, adata.n_vars), np.nan, dtype=np.float32)
    rows_of = adata.obs_names.get_indexer(names)
    gene_pos = adata.var_names.get_indexer(data.genes)
    for k in np.unique(folds):
        train, test = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        contrib = fold_contributions(name, regression, n_classes, child_seed(seed, int(k), _model_key(name)),
                                     json.loads(chosen.loc[k]), data.x, data.y, train, test)
        for j in range(len(targets)):
            values[j][np.ix_(rows_of[test], gene_pos)] = contrib[j]
    keys = [attribution_key(key_added, trait, t) for t in targets]
    explained = np.full(adata.n_obs, -1, dtype=np.int64)
    explained[rows_of] = folds
    record = {
        "params": {"kind": "saliency", "method": f"{name} importance", "model": name, "patients": "out_of_fold",
                   "abs": False, "normalize": "", "compare_key": s.key, "model_id": "",
                   "radiogx_version": __version__},
        "targets": np.array([target_label(t, trait, classes, regression) for t in targets], dtype=object),
        "keys": np.array(keys, dtype=object),
        "explained_by": pd.DataFrame({"fold": explained}, index=adata.obs_names.copy()),
    }
    record["added"] = log_added("importance", layers=keys, var=keys, uns=key_added)
    write_record(adata, key_added, record, tool="importance", trait=trait)
    for j, key in enumerate(keys):
        if key in adata.layers:
            logger.warning(f"importance: replacing adata.layers[{key!r}]")
        adata.layers[key] = values[j]
        adata.var[key] = _col_mean_rows(np.abs(values[j]))
    return adata if copy else None


def _col_mean_rows(values: np.ndarray) -> np.ndarray:
    """Mean over the explained patients (rows that are not all NaN) of each gene (of the absolute contributions: a
    signed contribution averages to about 0 over a cohort, since it is relative to the training mean)."""
    rows = ~np.isnan(values).all(axis=1)
    return _col_mean(values[rows])
