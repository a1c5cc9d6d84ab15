"""Resumable steps: fingerprints, atomic files and each step's stored result (what it added to the AnnData).

A step's result is what it added to the AnnData: new ``obs``/``var`` columns, layers, and ``uns`` entries (new
top-level keys, or new keys inside an existing dict, such as ``uns["radiogx"][trait]``). It is written, atomically, to
``<out>/.radiogx/steps/<step>-<fingerprint>.h5ad`` and then applied to the AnnData **from that file**, so a step
computed now and a step loaded by a resumed run leave identical AnnData.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import anndata
import numpy as np
from anndata import AnnData

__all__ = ["Snapshot", "StepStore", "apply_delta", "atomic_path", "data_fingerprint", "fingerprint"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one ``os.replace``.

    A run killed while writing leaves only ``.<name>.part`` behind (removed by the next run), never a half-written
    ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


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


class Snapshot:
    """The keys of an AnnData before a step, to find what the step added."""

    def __init__(self, adata: AnnData) -> None:
        self.obs = set(adata.obs.columns)
        self.var = set(adata.var.columns)
        self.layers = set(adata.layers.keys())
        self.uns = {k: (set(v.keys()) if isinstance(v, dict) else None) for k, v in adata.uns.items()}

    def delta(self, adata: AnnData) -> AnnData:
        """A patients x genes AnnData (no X) holding only what was added since the snapshot."""
        obs = adata.obs[[c for c in adata.obs.columns if c not in self.obs]].copy()
        var = adata.var[[c for c in adata.var.columns if c not in self.var]].copy()
        layers = {k: adata.layers[k] for k in adata.layers.keys() if k not in self.layers}
        paths, values = [], {}
        for key, value in adata.uns.items():
            if key not in self.uns:
                paths.append([key])
            elif isinstance(value, dict) and self.uns[key] is not None:
                paths.extend([key, sub] for sub in value if sub not in self.uns[key])
            else:
                continue
        for i, p in enumerate(paths):
            node = adata.uns
            for k in p:
                node = node[k]
            values[str(i)] = node
        out = AnnData(obs=obs, var=var, layers=layers)
        out.uns["paths"] = json.dumps(paths)
        out.uns["values"] = values
        return out

    def revert(self, adata: AnnData) -> None:
        """Remove what was added since the snapshot (the runner then adds it back from the stored file)."""
        adata.obs.drop(columns=[c for c in adata.obs.columns if c not in self.obs], inplace=True)
        adata.var.drop(columns=[c for c in adata.var.columns if c not in self.var], inplace=True)
        for key in [k for k in adata.layers.keys() if k not in self.layers]:
            del adata.layers[key]
        for key in list(adata.uns.keys()):
            if key not in self.uns:
                del adata.uns[key]
            elif isinstance(adata.uns[key], dict) and self.uns[key] is not None:
                for sub in [s for s in adata.uns[key] if s not in self.uns[key]]:
                    del adata.uns[key][sub]


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
        self.steps.mkdir(parents=True, exist_ok=True)
        self.files.mkdir(parents=True, exist_ok=True)

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

