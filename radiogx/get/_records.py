"""Which radiogx results an AnnData holds: the one place that finds them (readers, the report and the R export)."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd
from anndata import AnnData

__all__ = ["records", "find_record", "is_regression", "KINDS", "Kind"]


class Kind(NamedTuple):
    """A result kind: the ``rg.tl`` tool that writes it, whether its record is kept per trait, and the tool's default
    ``key_added`` (``""``: none fixed, as enrichment's ``"enrich_<ranked key>"``)."""

    tool: str
    per_trait: bool
    default_key: str


#: Every result kind (readers, the report and the R export take the default keys from here; a test checks them
#: against the tools' signatures).
KINDS = {
    "model": Kind("train", True, "radiogx"),
    "compare": Kind("compare", True, "radiogx_compare"),
    "bootstrap": Kind("bootstrap", True, "radiogx_bootstrap"),
    "saliency": Kind("saliency", True, "saliency"),
    "set_nodes": Kind("set_nodes", True, "set_nodes"),
    "associations": Kind("associations", True, "associations"),
    "masking": Kind("gene_masking", False, "gene_masking"),
    "enrichment": Kind("enrich", False, ""),
    "survival": Kind("survival", False, "survival"),
    "autoencoder": Kind("pretrain", False, "pretrain"),
    "prediction": Kind("predict", True, "predict"),
}


def is_regression(record: dict) -> bool:
    """Whether a per-trait record (a model, its baselines, a prediction) is of a continuous trait (``params["task"]``;
    records of radiogx < 0.5 are of classes)."""
    return str(record.get("params", {}).get("task", "classification")) == "regression"


def _params(value) -> dict:
    return value.get("params") if isinstance(value, dict) and isinstance(value.get("params"), dict) else {}


def _legacy_kind(record: dict, params: dict) -> str | None:
    """The kind of a record written before records carried ``params["kind"]`` (radiogx 0.3.0 and earlier)."""
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


def _kind_of(value) -> tuple[str | None, list[str]]:
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
        k, traits = _kind_of(value)
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
            actual = _kind_of(adata.uns[key])[0]
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
