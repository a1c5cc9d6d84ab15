"""The trained models a result names: the readers' rule (:func:`radiogx.get.record`) applied to the model records,
and the model objects themselves (in memory, else loaded from the recorded path; torch is imported only then)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anndata import AnnData

from ._records import find_record, record, records

if TYPE_CHECKING:
    from ..nn import RadiogenomicModel, TranscriptomeAutoencoder

__all__ = ["model", "autoencoder", "model_key", "trained_traits"]


def model_key(adata: AnnData, key: str | None, trait: str | None = None) -> str:
    """The ``adata.uns`` key of the model records to use: the rule of every reader (:func:`radiogx.get.record`):
    ``key`` when given, else ``"radiogx"`` when it holds models, else the only model record. ``trait``: named in the
    error when ``adata`` holds no model at all."""
    if key is None and trait is not None and records(adata, "model").empty:
        raise ValueError(f"no model for trait {trait!r}: adata holds no model results; run "
                         f"rg.tl.train(adata, {trait!r}) first")
    return find_record(adata, "model", key)


def trained_traits(adata: AnnData, key: str | None = None) -> list[str]:
    """The traits with a model in the model record that ``key`` finds."""
    found = adata.uns.get(model_key(adata, key), {})
    return [t for t, r in found.items() if isinstance(r, dict) and "model_id" in r]


def model(adata: AnnData, trait: str, key: str | None = None) -> RadiogenomicModel:
    """The :class:`~radiogx.nn.RadiogenomicModel` that :func:`radiogx.tl.train` recorded for ``trait``: the one in
    memory, else the one saved at the recorded path (``rg.tl.train(save_to=)``, :func:`radiogx.io.save_model`).

    Parameters
    ----------
    adata
        The cohort holding the model's record.
    trait
        The trait whose model to return.
    key
        Where ``train`` recorded it; ``None``: the rule of :func:`radiogx.get.record`.

    Returns
    -------
    The model (its fold networks included).

    Examples
    --------
    >>> import radiogx as rg
    >>> adata = rg.datasets.synthetic(n_obs=60, n_vars=40, n_traits=1, module_size=8, n_decoys=2, seed=0)
    >>> _ = rg.tl.train(adata, "trait_0", hidden=(8,), epochs=3, cv=3, inner_splits=1, select_genes="all")
    >>> rg.get.model(adata, "trait_0").classes
    ['negative', 'positive']
    """
    from ..nn import RadiogenomicModel

    key = model_key(adata, key, trait)
    entry = adata.uns.get(key, {}).get(trait)
    if not isinstance(entry, dict) or "model_id" not in entry:
        raise ValueError(f"no model for trait {trait!r} in adata.uns[{key!r}]: run rg.tl.train(adata, {trait!r}) first "
                         f"(trained traits: {trained_traits(adata, key)})")
    return RadiogenomicModel.from_record(entry, adata, what=f"the model for {trait!r}")


def autoencoder(adata: AnnData, key: str | None = None) -> TranscriptomeAutoencoder:
    """The :class:`~radiogx.nn.TranscriptomeAutoencoder` that :func:`radiogx.tl.pretrain` recorded (in memory, else
    loaded from its saved path; the records of radiogx <= 0.8 hold only the path).

    Parameters
    ----------
    adata
        The cohort holding the autoencoder's record.
    key
        Where ``pretrain`` recorded it; ``None``: the rule of :func:`radiogx.get.record`.

    Returns
    -------
    The autoencoder, with its genes and training scaler.
    """
    from ..nn import TranscriptomeAutoencoder

    return TranscriptomeAutoencoder.from_record(record(adata, "autoencoder", key).data, adata,
                                                what="the pretrained autoencoder")
