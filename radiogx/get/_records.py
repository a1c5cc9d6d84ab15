"""Which radiogx results an AnnData holds: the one place that finds them (readers, the report and the R export)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pandas as pd
from anndata import AnnData

from .._registry import KINDS, ResultKind, resolve

__all__ = ["records", "record", "each_record", "linked_record", "trait_entry", "find_record", "is_regression", "KINDS", "Kind", "Record"]


#: Every result kind (the registry of :mod:`radiogx._registry`; readers, the report and the R export take the default
#: keys from here, and a test checks them against the tools' signatures).
Kind = ResultKind


def is_regression(record: dict) -> bool:
    """Whether a per-trait record (a model, its baselines, a prediction) is of a continuous trait (``params["task"]``;
    records of radiogx < 0.5 are of classes)."""
    return str(record.get("params", {}).get("task", "classification")) == "regression"


def _params(value) -> dict:
    return value.get("params") if isinstance(value, dict) and isinstance(value.get("params"), dict) else {}


def _legacy_kind(record: dict, params: dict) -> str | None:
    """The kind of a record written before records carried ``params["kind"]`` (radiogx 0.3.0 and earlier; a
    registered kind may recognise its own with ``legacy``)."""
    for kind in KINDS.values():
        if kind.legacy is not None and resolve(kind.legacy)(record, params):
            return kind.name
    if "results" in record and "per_patient" in params:
        return "enrichment"
    if "results" in record and "score" in params and "patients" in params:
        return "masking"
    if "results" in record and "duration" in params:
        return "survival"
    if "r2_holdout" in record and "hidden" in params:
        return "autoencoder"
    if "model_id" in record and "cv" in record:
        return "model"
    if "folds" in record and "models" in params:
        return "compare"
    if "boots" in record:
        return "bootstrap"
    if "counts" in record and "min_patients" in params:
        return "associations"
    if "targets" in record:
        return "set_nodes" if params.get("method") == "layer_gradient_x_activation" else "saliency"
    return None


def kind_of(value) -> tuple[str | None, list[str]]:
    """(kind, traits) of one ``adata.uns`` entry; ``(None, [])`` when it is not a radiogx result."""
    if not isinstance(value, dict) or not value:
        return None, []
    params = _params(value)
    if params:  # one record for the whole call
        kind = params.get("kind") or _legacy_kind(value, params)
        if kind in KINDS and not KINDS[kind].per_trait:
            return kind, []
    kinds = set()
    for record in value.values():  # one record per trait
        p = _params(record)
        kinds.add((p.get("kind") or _legacy_kind(record, p)) if p else None)
    if len(kinds) == 1 and (kind := kinds.pop()) in KINDS and KINDS[kind].per_trait:
        return kind, [str(t) for t in value]
    return None, []


def records(adata: AnnData, kind: str | None = None) -> pd.DataFrame:
    """Every radiogx result in ``adata.uns``, however it was made (API defaults, ``key_added``, ``radiogx run``).

    Parameters
    ----------
    adata
        Any AnnData, e.g. read back from an ``.h5ad``.
    kind
        Only results of this kind (one of :data:`KINDS`: ``"model"``, ``"compare"``, ``"bootstrap"``,
        ``"saliency"``, ``"set_nodes"``, ``"associations"``, ``"masking"``, ``"enrichment"``, ``"survival"``,
        ``"autoencoder"``, ``"prediction"``).

    Returns
    -------
    DataFrame with one row per result: ``key`` (its ``adata.uns`` key, what every ``rg.get`` reader takes as
    ``key=``), ``kind``, ``tool`` (the ``rg.tl`` function that wrote it) and ``traits`` (``;``-joined, for the kinds
    kept per trait).

    Examples
    --------
    >>> import radiogx as rg
    >>> adata = rg.datasets.synthetic(n_obs=60, n_vars=50, n_traits=1, seed=0)
    >>> rg.get.records(adata).empty
    True
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    rows = []
    for key, value in adata.uns.items():
        k, traits = kind_of(value)
        if k is not None and (kind is None or k == kind):
            rows.append({"key": str(key), "kind": k, "tool": KINDS[k].tool, "traits": ";".join(traits)})
    return pd.DataFrame(rows, columns=["key", "kind", "tool", "traits"])


def find_record(adata: AnnData, kind: str, key: str | None) -> str:
    """The ``adata.uns`` key of the ``kind`` result to read: ``key`` when given, else the tool's default key when it
    holds one, else the only result of that kind (several: an error that lists their keys; none: an error naming the
    tool)."""
    found = records(adata, kind)
    tool = KINDS[kind].tool
    if key is not None:
        if key not in adata.uns:
            raise ValueError(f"no {kind} results under adata.uns[{key!r}]; {kind} results here: {found['key'].tolist()}. "
                             f"Run rg.tl.{tool} first")
        if key not in set(found["key"]):
            actual = kind_of(adata.uns[key])[0]
            raise ValueError(f"adata.uns[{key!r}] holds {actual or 'no radiogx'} results, not {kind}; {kind} results "
                             f"here: {found['key'].tolist()}")
        return key
    if KINDS[kind].default_key in set(found["key"]):
        return KINDS[kind].default_key
    if len(found) == 1:
        return str(found["key"].iloc[0])
    if found.empty:
        raise ValueError(f"no {kind} results in adata; run rg.tl.{tool} first")
    raise ValueError(f"{len(found)} {kind} results in adata: {found['key'].tolist()}; pass key= to choose one")


@dataclass(frozen=True)
class Record:
    """One radiogx result, as every reader, plot, the report, the workflow and the R export see it.

    A read-only view over ``adata.uns[key]``, whichever shape its kind keeps (one entry per trait, or one for the
    call): ``params`` of the call (per trait: ``params_of(trait)``), the ``traits`` it holds, ``outputs`` (what the
    tool wrote where: ``{"obs": [...], "layers": [...], ...}``), ``model_key`` (the model record it read, ``""``
    when none) and ``model_ids`` (the models it holds or read).
    """

    key: str
    kind: str
    data: Mapping

    @property
    def tool(self) -> str:
        """The ``rg.tl`` function that wrote it."""
        return KINDS[self.kind].tool

    @property
    def per_trait(self) -> bool:
        return KINDS[self.kind].per_trait

    @property
    def traits(self) -> list[str]:
        """The traits it holds (kinds kept per trait), else ``[]``."""
        return [str(t) for t in self.data] if self.per_trait else []

    def trait(self, trait: str) -> Mapping:
        """The entry of one trait (kinds kept per trait)."""
        if not self.per_trait:
            raise TypeError(f"{self.kind} results are kept for the whole call, not per trait")
        if trait not in self.data:
            raise ValueError(f"no {self.kind} result for trait {trait!r} in adata.uns[{self.key!r}]; traits here: "
                             f"{self.traits}")
        return self.data[trait]

    def entry(self, trait: str, default=None) -> Mapping | None:
        """The entry of one trait, or ``default`` when the record holds none for it."""
        return self.trait(trait) if trait in self.traits else default

    def items(self) -> Iterator[tuple[str, Mapping]]:
        """``(trait, entry)`` of each trait (kinds kept per trait)."""
        return ((str(t), self.trait(str(t))) for t in self.data)

    def __getitem__(self, name: str):
        """A field of a record kept for the whole call (``record["results"]``)."""
        if self.per_trait:
            raise TypeError(f"{self.kind} results are kept per trait: use record.trait(t)[{name!r}]")
        return self.data[name]

    def get(self, name: str, default=None):
        return default if self.per_trait else self.data.get(name, default)

    def __contains__(self, name: str) -> bool:
        return (not self.per_trait) and name in self.data

    @property
    def params(self) -> dict:
        """The call's parameters (for kinds kept per trait: the first trait's, which share every call argument)."""
        if self.per_trait:
            return dict(next(iter(self.data.values()), {}).get("params", {}))
        return dict(self.data.get("params", {}))

    def params_of(self, trait: str) -> dict:
        return dict(self.trait(trait).get("params", {}))

    @property
    def outputs(self) -> dict[str, list[str]]:
        """What the tool wrote outside ``adata.uns[key]`` (its ``added``: slot -> names), over every trait."""
        entries = [e for _, e in self.items()] if self.per_trait else [self.data]
        out: dict[str, list[str]] = {}
        for entry in entries:
            for slot, names in dict(entry.get("added", {})).items():
                out.setdefault(str(slot), []).extend(str(n) for n in names)
        return out

    @property
    def model_ids(self) -> list[str]:
        """The ids of the trained models it holds (a model record) or read (``params["model_id"]``, masking's
        ``params["model_ids"]``), in order, each once."""
        entries = [e for _, e in self.items()] if self.per_trait else [self.data]
        ids: list[str] = []
        for entry in entries:
            params = dict(entry.get("params", {}))
            for found in (entry.get("model_id"), params.get("model_id"), *list(params.get("model_ids", []))):
                if found and str(found) not in ids:
                    ids.append(str(found))
        return ids

    @property
    def model_key(self) -> str:
        """The key of the model record the tool read (``""``: none)."""
        return str(self.params.get("model_key", "") or "")


def record(adata: AnnData, kind: str, key: str | None = None, *, missing_ok: bool = False) -> Record | None:
    """The ``kind`` result to read, by the one rule of every tool and reader: ``key`` when given, else the tool's
    default key when it holds one, else the only result of that kind (several: an error that lists their keys).
    ``missing_ok``: ``None`` instead of an error when ``key`` is ``None`` and ``adata`` holds no ``kind`` result.

    Examples
    --------
    >>> import radiogx as rg
    >>> adata = rg.datasets.synthetic(n_obs=60, n_vars=50, n_traits=1, seed=0)
    >>> rg.get.record(adata, "model")
    Traceback (most recent call last):
    ...
    ValueError: no model results in adata; run rg.tl.train first
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    if missing_ok and key is None and records(adata, kind).empty:
        return None
    key = find_record(adata, kind, key)
    return Record(key, kind, adata.uns[key])


def each_record(adata: AnnData, kind: str) -> list[Record]:
    """Every ``kind`` result in ``adata``, in ``adata.uns`` order."""
    return [Record(k, kind, adata.uns[k]) for k in records(adata, kind)["key"]]


def linked_record(adata: AnnData, kind: str, model_key: str) -> Record | None:
    """The ``kind`` result made for the models under ``model_key`` (e.g. the baselines compared with them): the one
    whose ``params["model_key"]`` names it, else one that names no model (baselines run before any network), else
    ``None``."""
    found = each_record(adata, kind)
    matched = [r for r in found if r.model_key == model_key] or [r for r in found if not r.model_key]
    default = [r for r in matched if r.key == KINDS[kind].default_key]
    return (default or matched or [None])[0]


def trait_entry(adata: AnnData, kind: str, key: str | None, trait: str) -> Mapping | None:
    """One trait's entry of the ``kind`` result found by :func:`record` (``None`` when there is none: no such
    result with ``key=None``, or none for ``trait``)."""
    found = record(adata, kind, key, missing_ok=True)
    return None if found is None else found.entry(trait)
