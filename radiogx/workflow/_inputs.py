"""Build the run's cohort from the ``[input]`` section and check the config's references against it."""

from __future__ import annotations

from pathlib import Path

import anndata
import pandas as pd
from anndata import AnnData

from .. import datasets, io, pp
from .._logging import logger
from ._schema import BUNDLED_CLINICAL, BUNDLED_VASARI, BUNDLED_VOLUMETRICS, ConfigError

__all__ = ["collection_label", "load_cohort", "load_collections", "resolve_traits"]


def collection_label(name: str) -> str:
    """A collection's label: its bundled name, or a .gmt file's name without extensions."""
    return Path(name).name.split(".")[0] if name.lower().endswith((".gmt", ".gmt.gz")) else name


def _table(path: str) -> pd.DataFrame:
    sep = "," if Path(path).name.lower().removesuffix(".gz").endswith(".csv") else "\t"
    return pd.read_csv(path, sep=sep, index_col=0)


def _bundled_or_file(name: str, bundled: tuple[str, ...], read=_table) -> pd.DataFrame:
    """The bundled table ``name`` (an ``rg.datasets`` loader), else the file at ``name`` read with ``read``."""
    return getattr(datasets, name)() if name in bundled else read(name)


def load_cohort(inp: dict) -> AnnData:
    """The patients x genes AnnData of ``[input]``, with imaging traits, obs columns and clinical data joined."""
    if inp["dataset"] == "synthetic":
        adata = datasets.synthetic(**inp["synthetic"])
    elif inp["dataset"] is not None:
        adata = getattr(datasets, inp["dataset"])()
    elif inp["h5ad"] is not None:
        adata = anndata.read_h5ad(inp["h5ad"])
    else:
        adata = io.read_expression(inp["expression"], orientation=inp["orientation"])
    if inp["obs"] is not None:
        pp.add_clinical(adata, _table(inp["obs"]), key_added="obs_table")
    if inp["volumetrics"] is not None:
        volumes = _bundled_or_file(inp["volumetrics"], BUNDLED_VOLUMETRICS)
        pp.volumetric_traits(adata, volumes, threshold=inp["volumetric_threshold"])
    if inp["vasari"] is not None:
        vasari = _bundled_or_file(inp["vasari"], BUNDLED_VASARI, read=io.read_vasari)
        pp.encode_vasari(adata, vasari, scheme=inp["vasari_scheme"])
    for i, table in enumerate(inp["clinical"]):
        source = table["source"]
        frame = _bundled_or_file(source, BUNDLED_CLINICAL)
        missing = [c for c in table["columns"] or [] if c not in frame.columns]
        if missing:
            raise ConfigError(f"[[input.clinical]] #{i + 1} columns: {missing} are not in {source!r}; "
                              f"its columns are {list(frame.columns)}")
        pp.add_clinical(adata, frame, columns=table["columns"], key_added=f"clinical_{i + 1}" if i else "clinical")
    return adata


def resolve_traits(adata: AnnData, traits: dict, cv: int) -> tuple[dict[str, str], dict[str, str]]:
    """The traits to model, each with its task (``"classification"`` or ``"regression"``, as ``rg.tl.train``'s
    ``task="auto"`` decides), and, for each trait left out, why (too few patients in a class, or with a value, for
    ``cv`` folds; a constant continuous trait)."""
    from .._traits import trait_task

    names = traits["names"]
    if names is None:
        names = [c for c in adata.obs.columns if c.startswith("trait_")] if "synthetic" in adata.uns else []
        if not names:
            raise ConfigError("[traits] names: not given; list the obs columns to model, e.g. names = ['subtype']")
    missing = [t for t in names if t not in adata.obs.columns]
    if missing:
        raise ConfigError(f"[traits] names: {missing} are not obs columns of the cohort; "
                          f"obs columns are {list(adata.obs.columns)[:30]}")
    keep, skipped = {}, {}
    floor = max(traits["min_class_size"], cv)
    for t in names:
        task = trait_task(adata.obs[t])
        if task == "regression":
            values = adata.obs[t].dropna()
            if len(values) < 2 * cv:
                skipped[t] = f"continuous, {len(values)} patients with a value: fewer than 2 per fold (cv {cv})"
            elif values.nunique() < 3:
                skipped[t] = f"continuous but with {values.nunique()} distinct values"
            else:
                keep[t] = task
            continue
        counts = adata.obs[t].dropna().astype(str).value_counts()
        if len(counts) < 2:
            skipped[t] = f"a single class among labelled patients ({counts.to_dict()})"
        elif counts.min() < floor:
            skipped[t] = (f"classes {counts.to_dict()}: fewer than {floor} patients in a class "
                          f"(min_class_size {traits['min_class_size']}, cv {cv})")
        else:
            keep[t] = task
    for t, why in skipped.items():
        logger.warning(f"run: trait {t!r} skipped: {why}")
    if not keep:
        raise ConfigError(f"[traits] names = {names}: no trait can be modelled ({skipped})")
    return keep, skipped


def load_collections(names: list[str], adata: AnnData) -> dict[str, dict[str, list[str]]]:
    """Each collection of ``names`` (as validated: a bundled name, a .gmt path, ``"synthetic"``: the planted sets of
    a synthetic cohort, or ``"single"``: every gene alone) as a dict of set name to genes, by collection label."""
    out = {}
    for name in names:
        if name == "synthetic":
            out[name] = {k: list(v) for k, v in adata.uns["synthetic"]["gene_sets"].items()}
        elif name == "single":  # masking's single genes: the cohort's genes fingerprint the collection
            out[name] = {g: [g] for g in map(str, adata.var_names)}
        elif name in datasets.GENE_SET_COLLECTIONS:
            out[name] = datasets.gene_sets(name)
        else:
            out[collection_label(name)] = io.read_gmt(name)
    return out
