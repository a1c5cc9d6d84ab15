"""The extension points of radiogx in one place: result kinds, baselines and attribution methods.

Each registry maps a name to a frozen description, after decoupler's method registry (Badia-i-Mompel et al. 2022):
the tools, the workflow, the report and the R export read them, so that adding a baseline is one
:func:`register_baseline` call and adding a result kind one :func:`register_kind` call beside its tool and reader
(README, "Extending radiogx"). Nothing here imports torch, scikit-learn or matplotlib: the built-in entries name
their functions as ``"module:attribute"`` and are resolved on use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["ResultKind", "Baseline", "AttributionMethod", "KINDS", "register_kind", "register_baseline",
           "register_attribution_method", "baselines", "baseline", "attribution_methods", "methods", "resolve"]


def resolve(ref: Callable | str | None) -> Callable | None:
    """A callable, or the attribute named by ``"package.module:attribute"`` (imported on first use)."""
    if ref is None or callable(ref):
        return ref
    module, _, attr = str(ref).partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class ResultKind:
    """A kind of result: the tool that writes it and everything that reads it generically.

    Attributes
    ----------
    name
        The kind's name (``params["kind"]`` of its records).
    tool
        The ``rg.tl`` function that writes it (its name, as the hint of error messages).
    per_trait
        Whether its record keeps one entry per trait (``adata.uns[key][trait]``) or one for the call.
    default_key
        The tool's default ``key_added`` (``""``: none fixed).
    tables
        ``(adata, key) -> {name: DataFrame}``: its tidy tables (TSV files, the R export, the report's fallback).
    figures
        ``(adata, record) -> [(name, caption, draw)]`` with ``draw() -> Figure``: its report figures.
    summary
        ``(adata, record) -> [(title, DataFrame or HTML)]``: the report's tables of it (default: every table of
        ``tables``, 40 rows shown).
    section
        The report section of its figures and tables.
    overview
        ``(adata, record) -> [(rank, draw(ax))]``: panels it offers the report's first figure (lowest rank first).
    legacy
        ``(entry, params) -> bool``: recognises a record written before records carried ``params["kind"]`` (the
        built-in kinds' records of radiogx <= 0.3 are recognised by :func:`radiogx.get.records` itself).
    """

    name: str
    tool: str
    per_trait: bool
    default_key: str
    tables: Callable | str
    figures: Callable | str | None = None
    summary: Callable | str | None = None
    section: str = "Results"
    overview: Callable | str | None = None
    legacy: Callable | str | None = None


#: Every result kind by name (readers, the report and the R export take the default keys from here).
KINDS: dict[str, ResultKind] = {}


def _register(table: dict, entry, cls: type, what: str, replace: bool):
    """The one registration rule: an entry of the registry's type, under a name not taken unless ``replace``."""
    if not isinstance(entry, cls):
        raise TypeError(f"{what} must be a {cls.__name__}, got {type(entry).__name__}")
    if entry.name in table and not replace:
        raise ValueError(f"a {what} {entry.name!r} is registered already; pass replace=True to replace it")
    table[entry.name] = entry
    return entry


def register_kind(kind: ResultKind, *, replace: bool = False) -> ResultKind:
    """Add a result kind; :func:`radiogx.get.records` then finds its records, the report draws and tabulates them
    and the R export writes its tables. Refuses a name already taken unless ``replace``."""
    return _register(KINDS, kind, ResultKind, "result kind", replace)


def _builtin(name: str, tool: str, per_trait: bool, default_key: str, section: str, report: tuple[str, ...]) -> None:
    """A built-in kind: its tables in ``radiogx.get._kind_tables``, its report parts in
    ``radiogx.workflow._report_kinds`` (``<name>_<part>`` for each part of ``report``)."""
    refs = {part: f"radiogx.workflow._report_kinds:{name}_{part}" for part in report}
    register_kind(ResultKind(name, tool, per_trait, default_key, f"radiogx.get._kind_tables:{name}_tables",
                             section=section, **refs))


_ALL = ("figures", "summary", "overview")
for _args in [("model", "train", True, "radiogx", "Models", _ALL),
              ("compare", "compare", True, "radiogx_compare", "Models", ("summary",)),
              ("bootstrap", "bootstrap", True, "radiogx_bootstrap", "Models", ("summary",)),
              ("stability", "stability", True, "stability", "Saliency", ("figures", "summary")),
              ("saliency", "saliency", True, "saliency", "Saliency", ("figures", "summary")),
              ("set_control", "set_control", True, "set_control", "Models", ()),
              ("set_nodes", "set_nodes", True, "set_nodes", "Models", ("figures", "summary")),
              ("associations", "associations", True, "associations", "Associations", ("figures", "summary")),
              ("masking", "gene_masking", False, "gene_masking", "Gene masking", _ALL),
              ("enrichment", "enrich", False, "", "Enrichment", _ALL),
              ("survival", "survival", False, "survival", "Survival", _ALL),
              ("autoencoder", "pretrain", False, "pretrain", "Models", ("summary",)),
              ("prediction", "predict", True, "predict", "Prediction", ("figures",))]:
    _builtin(*_args)


@dataclass(frozen=True)
class Baseline:
    """A classical model that :func:`radiogx.tl.compare` (and the bootstrap) fits on the network's outer folds.

    Attributes
    ----------
    name
        Its name in ``rg.tl.compare(models=...)`` and ``[steps.compare] models``.
    task
        ``"classification"`` or ``"regression"``.
    grid
        The inner-CV grid of its hyper-parameters (names of the estimator's ``set_params``).
    factory
        ``(seed, n_classes) -> estimator``: a fresh scikit-learn-compatible estimator (radiogx standardises the genes
        before it, and a regressor's target too).
    reference
        Where the model comes from (a citation).
    scores
        ``(fitted model or pipeline, x, n_classes) -> scores``: its ranking scores (default: ``predict_proba``; a
        model without probabilities: ``decision_function``).
    explain
        ``(fitted estimator) -> per-gene weights``: how a fitted model is explained (``coef_``, ``feature_importances_``).
    fit_params
        ``(y_train) -> dict``: keyword arguments of its ``fit`` (e.g. balanced ``sample_weight``).
    attribute
        ``(fitted estimator, x scaled, n_classes) -> outputs x patients x genes``: each patient's per-gene
        contributions to its score (linear models: coefficient x scaled input; boosted trees: TreeSHAP), what
        :func:`radiogx.tl.importance` writes; ``None``: the baseline has none.
    path
        ``(estimators, data, fit_kwargs, n_classes) -> scores per estimator``: fits the fresh estimators of several
        grid points on ``data.x_fit``/``data.y_fit`` (genes standardised) together, sharing what they share (a kernel
        matrix, a boosted model's first trees), and returns each one's scores on ``data.x_eval``; ``None``: each is
        fit on its own. It must give what fitting them one by one gives.
    oob
        ``(estimator, x, y, fit_kwargs, n_classes) -> out-of-bag scores``: fits the estimator and returns each
        training patient's score from the parts of the model that did not see it (a forest's out-of-bag trees);
        such a baseline is tuned by them on the whole training fold instead of by inner folds. ``None``: inner folds.
    """

    name: str
    task: str
    grid: Mapping[str, list]
    factory: Callable[[int, int], Any] | str
    reference: str = ""
    scores: Callable | str | None = None
    explain: Callable | str | None = None
    fit_params: Callable | str | None = None
    attribute: Callable | str | None = None
    path: Callable | str | None = None
    oob: Callable | str | None = None

    def estimator(self, seed: int, n_classes: int = 2):
        """A fresh, unfitted estimator."""
        return resolve(self.factory)(seed, n_classes)

    def fit_kwargs(self, y) -> dict:
        """Keyword arguments of its ``fit`` on training labels ``y``."""
        return {} if self.fit_params is None else dict(resolve(self.fit_params)(y))


_BASELINES: dict[str, dict[str, Baseline]] = {"classification": {}, "regression": {}}
_LOADED = False


def _load_builtins() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        importlib.import_module("radiogx.tl._baselines")  # registers the built-in baselines


def register_baseline(baseline: Baseline, *, replace: bool = False) -> Baseline:
    """Add a baseline: :func:`radiogx.tl.compare`, :func:`radiogx.tl.bootstrap` and ``radiogx run`` accept its name
    from then on. Refuses a name already taken for its task unless ``replace``."""
    if not isinstance(baseline, Baseline):  # before reading its task
        raise TypeError(f"baseline must be a Baseline, got {type(baseline).__name__}")
    if baseline.task not in _BASELINES:
        raise ValueError(f"task must be one of {list(_BASELINES)}, got {baseline.task!r}")
    _load_builtins()
    return _register(_BASELINES[baseline.task], baseline, Baseline, f"{baseline.task} baseline", replace)


def baselines(task: str = "classification") -> dict[str, Baseline]:
    """The registered baselines of a task, by name (built-in first, in their order)."""
    _load_builtins()
    if task not in _BASELINES:
        raise ValueError(f"task must be one of {list(_BASELINES)}, got {task!r}")
    return dict(_BASELINES[task])


def baseline(name: str, task: str = "classification") -> Baseline:
    found = baselines(task)
    if name not in found:
        what = "regression baseline" if task == "regression" else "baseline"
        raise ValueError(f"unknown {what} {name!r}; choose from {sorted(found)}")
    return found[name]


@dataclass(frozen=True)
class AttributionMethod:
    """A per-patient input attribution of a network (:func:`radiogx.tl.saliency`'s ``method``).

    Attributes
    ----------
    name
        Its name in ``rg.tl.saliency(method=...)`` and ``[steps.saliency] methods``.
    explainer
        A captum attribution class (or ``"module:Class"``) built as ``explainer(network)``.
    args
        Which of ``saliency``'s arguments it takes (``"baselines"``, ``"n_steps"``) and fixed arguments
        (``{"abs": False}``).
    cost
        Forward-backward passes per patient relative to one gradient (integrated gradients: ``n_steps``).
    reference
        Where the method comes from.
    score
        How :func:`radiogx.tl.stability` ranks genes by it: ``"contrast"`` for contributions (signed, relative to a
        baseline: the class contrast of the mean attribution), ``"mean_abs"`` for a gradient's magnitude.
    """

    name: str
    explainer: Callable | str
    args: Mapping[str, Any] = field(default_factory=dict)
    cost: str = "1"
    reference: str = ""
    score: str = "contrast"


ATTRIBUTION_METHODS: dict[str, AttributionMethod] = {}


def register_attribution_method(method: AttributionMethod, *, replace: bool = False) -> AttributionMethod:
    """Add an attribution method that :func:`radiogx.tl.saliency` and ``radiogx run`` accept by name."""
    return _register(ATTRIBUTION_METHODS, method, AttributionMethod, "attribution method", replace)


def attribution_methods() -> dict[str, AttributionMethod]:
    return dict(ATTRIBUTION_METHODS)


for _m in [AttributionMethod("saliency", "captum.attr:Saliency", {"abs": False}, "1",
                             "Simonyan, Vedaldi & Zisserman 2014, arXiv:1312.6034 (the paper's gene saliency)",
                             score="mean_abs"),
           AttributionMethod("integrated_gradients", "captum.attr:IntegratedGradients",
                             {"baselines": None, "n_steps": None}, "n_steps",
                             "Sundararajan, Taly & Yan 2017, ICML (axiomatic attribution)"),
           AttributionMethod("deeplift", "captum.attr:DeepLift", {"baselines": None}, "1",
                             "Shrikumar, Greenside & Kundaje 2017, ICML (DeepLIFT, rescale rule)"),
           AttributionMethod("input_x_gradient", "captum.attr:InputXGradient", {}, "1",
                             "Shrikumar et al. 2016, arXiv:1605.01713 (gradient x input)")]:
    register_attribution_method(_m)


def methods() -> pd.DataFrame:
    """Every registered baseline and attribution method with its reference: ``kind`` (``"baseline"`` or
    ``"attribution"``), ``task``, ``name``, ``grid`` or ``cost``, ``reference``."""
    def plain(v):
        return v.item() if hasattr(v, "item") else v

    rows = [{"kind": "baseline", "task": task, "name": b.name,
             "grid_or_cost": "; ".join(f"{k}={[plain(v) for v in vals]}" for k, vals in b.grid.items()) or "none",
             "reference": b.reference} for task in _BASELINES for b in baselines(task).values()]
    rows += [{"kind": "attribution", "task": "network", "name": m.name, "grid_or_cost": f"{m.cost} gradient(s)",
              "reference": m.reference} for m in ATTRIBUTION_METHODS.values()]
    return pd.DataFrame(rows, columns=["kind", "task", "name", "grid_or_cost", "reference"])
