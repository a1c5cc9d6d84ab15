"""Which trained models a tool explains: the one given, else the recorded ones (:func:`radiogx.get.model`)."""

from __future__ import annotations

from anndata import AnnData

from ..get import model as recorded_model
from ..get import model_key, trained_traits
from ..nn import RadiogenomicModel

__all__ = ["models_to_explain"]


def models_to_explain(adata: AnnData, model: RadiogenomicModel | None, trait: str | None,
                      key: str | None) -> list[RadiogenomicModel]:
    """The model given, else the recorded model of ``trait``, else the recorded models of every trained trait."""
    if model is not None:
        if not isinstance(model, RadiogenomicModel):
            raise TypeError(f"model must be a RadiogenomicModel, got {type(model).__name__}")
        return [model]
    key = model_key(adata, key)
    traits = [trait] if trait is not None else trained_traits(adata, key)
    if not traits:
        raise ValueError(f"no model for any trait in adata.uns[{key!r}]: run rg.tl.train(adata, trait) first")
    return [recorded_model(adata, t, key) for t in traits]
