"""Saving a trained model where an AnnData's record says it is (scvi-tools' ``save``, with the AnnData holding only
the model's id and path)."""

from __future__ import annotations

import os
from pathlib import Path

from anndata import AnnData


def save_model(adata: AnnData, trait: str, path: str | os.PathLike, *, key: str | None = None,
               overwrite: bool = False) -> Path:
    """Save the network that :func:`radiogx.tl.train` recorded for ``trait`` and record the file's path in
    ``adata.uns[key][trait]["path"]``, so that an ``.h5ad`` round trip or a new session finds it.

    :meth:`~radiogx.nn.RadiogenomicModel.save` alone writes the file and changes no AnnData; this records it in the
    one given (``rg.tl.train(..., save_to=path)`` does both while training).

    Parameters
    ----------
    adata
        The cohort the model was trained on (or a copy holding its record).
    trait
        The trait whose model to save.
    path
        The file to write (one torch file: genes, scalers, fold networks, settings and a SHA-256 content hash).
    key
        Where ``train`` recorded the model; ``None``: the rule of :func:`radiogx.get.record`.
    overwrite
        Replace an existing file.

    Returns
    -------
    The path written.
    """
    from ..get import model, model_key

    key = model_key(adata, key, trait)
    path = model(adata, trait, key).save(path, overwrite=overwrite)
    adata.uns[key][trait]["path"] = str(Path(path).resolve())
    return Path(path)
