"""Resumable steps: fingerprints, atomic files and each step's stored result (what it added to the AnnData).

A step's result is what it added to the AnnData: new ``obs``/``var`` columns, layers, ``obsm`` entries and ``uns`` entries (new
top-level keys, or new keys inside an existing dict, such as ``uns["radiogx"][trait]``). It is written, atomically, to
``<out>/.radiogx/steps/<step>-<fingerprint>.h5ad`` and then applied to the AnnData **from that file**, so a step
computed now and a step loaded by a resumed run leave identical AnnData.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
from anndata import AnnData

from .._atomic import atomic_path

__all__ = ["Snapshot", "StepStore", "apply_delta", "data_fingerprint", "fingerprint", "result_fingerprint"]

# What a result records about how it was made rather than what it found: left out of its result fingerprint.
BOOKKEEPING = frozenset({"seconds", "radiogx_run", "model_id", "model_ids", "path", "model_path", "device"})


def fingerprint(*parts) -> str:
    """SHA-256 of the canonical JSON of ``parts`` (settings, upstream fingerprints, versions)."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def data_fingerprint(adata: AnnData) -> str:
    """SHA-256 of the expression, the patient and gene names and every ``obs`` column: the run's input content."""
    h = hashlib.sha256()
    x = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    h.update(str(x.dtype).encode() + str(x.shape).encode())
    h.update(np.ascontiguousarray(x).tobytes())
    h.update("\0".join(adata.obs_names).encode())
    h.update("\0".join(adata.var_names).encode())
    h.update(adata.obs.to_csv().encode())
    h.update(json.dumps({c: str(t) for c, t in adata.obs.dtypes.items()}).encode())
    return h.hexdigest()


def result_fingerprint(delta: AnnData) -> str:
    """SHA-256 of what a step added (:class:`Snapshot`'s delta), without its :data:`BOOKKEEPING`: two computations
    that found the same numbers have the same result fingerprint, so the steps that read them are not recomputed
    (a torch step run again on another device, for one)."""
    h = hashlib.sha256()
    _feed(h, {"obs": delta.obs, "var": delta.var, "layers": dict(delta.layers), "obsm": dict(delta.obsm),
              "uns": dict(delta.uns)})
    return h.hexdigest()


def _feed(h, value) -> None:
    """Add ``value`` to the hash ``h``, canonically (dict keys sorted; tables by their values, index and dtypes)."""
    if isinstance(value, dict):
        for k in sorted(map(str, value)):
            if k not in BOOKKEEPING:
                h.update(f"<{k}>".encode())
                _feed(h, value[k])
    elif isinstance(value, pd.DataFrame):
        h.update(repr((list(map(str, value.columns)), [str(t) for t in value.dtypes])).encode())
        h.update(value.to_csv(float_format="%r").encode())
    elif isinstance(value, np.ndarray) and value.dtype != object:
        h.update(f"{value.dtype}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif hasattr(value, "toarray"):
        _feed(h, value.toarray())
    elif isinstance(value, (list, tuple, np.ndarray)):
        h.update(f"[{len(value)}".encode())
        for item in value:
            _feed(h, item)
    else:
        h.update(repr(value).encode())


class Snapshot:
    """The keys of an AnnData before a step, to find what the step added."""

    def __init__(self, adata: AnnData) -> None:
        self.obs = set(adata.obs.columns)
        self.var = set(adata.var.columns)
        self.layers = set(adata.layers.keys())
        self.obsm = set(adata.obsm.keys())
        self.uns = {k: (set(v.keys()) if isinstance(v, dict) else None) for k, v in adata.uns.items()}

    def _added(self, adata: AnnData) -> tuple[list[str], list[str], list[str], list[str], list[list[str]]]:
        """The obs columns, var columns, layers, obsm keys and uns paths (``[key]`` or ``[key, sub]``) added since."""
        obs = [c for c in adata.obs.columns if c not in self.obs]
        var = [c for c in adata.var.columns if c not in self.var]
        layers = [k for k in adata.layers.keys() if k not in self.layers]
        obsm = [k for k in adata.obsm.keys() if k not in self.obsm]
        paths: list[list[str]] = []
        for key, value in adata.uns.items():
            if key not in self.uns:
                paths.append([key])
            elif isinstance(value, dict) and self.uns[key] is not None:
                paths.extend([key, sub] for sub in value if sub not in self.uns[key])
        return obs, var, layers, obsm, paths

    def delta(self, adata: AnnData) -> AnnData:
        """A patients x genes AnnData (no X) holding only what was added since the snapshot."""
        obs, var, layers, obsm, paths = self._added(adata)
        values = {}
        for i, path in enumerate(paths):
            node = adata.uns
            for k in path:
                node = node[k]
            values[str(i)] = node
        out = AnnData(obs=adata.obs[obs].copy(), var=adata.var[var].copy(), layers={k: adata.layers[k] for k in layers},
                      obsm={k: adata.obsm[k] for k in obsm})
        out.uns["paths"] = json.dumps(paths)
        out.uns["values"] = values
        return out

    def revert(self, adata: AnnData) -> None:
        """Remove what was added since the snapshot (the runner then adds it back from the stored file)."""
        obs, var, layers, obsm, paths = self._added(adata)
        adata.obs.drop(columns=obs, inplace=True)
        adata.var.drop(columns=var, inplace=True)
        for key in layers:
            del adata.layers[key]
        for key in obsm:
            del adata.obsm[key]
        for path in paths:
            parent = adata.uns if len(path) == 1 else adata.uns[path[0]]
            del parent[path[-1]]


def apply_delta(adata: AnnData, delta: AnnData) -> None:
    """Add a stored step result to ``adata`` (the inverse of :meth:`Snapshot.delta`)."""
    if not (delta.obs_names.equals(adata.obs_names) and delta.var_names.equals(adata.var_names)):
        raise ValueError("a stored step result does not match the cohort's patients and genes")
    for col in delta.obs.columns:
        adata.obs[col] = delta.obs[col]
    for col in delta.var.columns:
        adata.var[col] = delta.var[col]
    for key in delta.layers.keys():
        adata.layers[key] = np.asarray(delta.layers[key])
    for key in delta.obsm.keys():
        adata.obsm[key] = delta.obsm[key]
    for i, path in enumerate(json.loads(delta.uns["paths"])):
        node = adata.uns
        for k in path[:-1]:
            node = node.setdefault(k, {})
        node[path[-1]] = delta.uns["values"][str(i)]


class StepStore:
    """The stored results of a run's steps under ``<out>/.radiogx``, one file per step and fingerprint."""

    def __init__(self, out: Path) -> None:
        self.root = Path(out) / ".radiogx"
        self.steps = self.root / "steps"
        self.files = self.root / "files"
        for folder in (self.steps, self.files):
            folder.mkdir(parents=True, exist_ok=True)
            for part in folder.glob(".*.part*"):  # temporary files of a run killed while writing
                part.unlink()

    @staticmethod
    def _slug(step: str) -> str:
        return "".join(c if c.isalnum() or c in "_." else "_" for c in step)

    def result_path(self, step: str, fp: str) -> Path:
        return self.steps / f"{self._slug(step)}--{fp[:16]}.h5ad"

    def file_path(self, step: str, fp: str, suffix: str) -> Path:
        """Where a step keeps a file of its own (a saved model), named by its fingerprint."""
        return self.files / f"{self._slug(step)}--{fp[:16]}{suffix}"

    def has(self, step: str, fp: str) -> bool:
        return self.result_path(step, fp).is_file()

    def save(self, step: str, fp: str, delta: AnnData) -> None:
        with atomic_path(self.result_path(step, fp)) as tmp:
            delta.write_h5ad(tmp)
        self._drop_stale(step, fp)

    def load(self, step: str, fp: str) -> AnnData:
        return anndata.read_h5ad(self.result_path(step, fp))

    def _drop_stale(self, step: str, fp: str) -> None:
        """Remove this step's results and files of other fingerprints (superseded by a changed setting)."""
        slug = self._slug(step)
        for folder in (self.steps, self.files):
            for old in folder.glob(f"{slug}--*"):
                if old.name.split("--")[0] == slug and not old.name.startswith(f"{slug}--{fp[:16]}"):
                    old.unlink()

