"""Gene saliency: per-patient input attributions of a trait model's logits (Smedley, El-Saden & Hsu 2020)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .._docs import doc_params
from .. import __version__
from .._logging import log_added, logger
from .._settings import settings
from .._validation import check_adata
from .._registry import attribution_methods
from ..nn import RadiogenomicModel
from ._record import write_record
from ._attribute import model_targets, patient_attributions, target_label
from ._models import held_out_folds, models_to_explain

__all__ = ["saliency", "attribution_key"]



def attribution_key(key_added: str, trait: str, target: str | None) -> str:
    """Name of the ``.layers``/``.var`` entry of one trait (and class): ``/`` becomes ``-`` (h5ad keys hold no ``/``)."""
    name = f"{key_added}_{trait}" if target is None else f"{key_added}_{trait}_{target}"
    return re.sub(r"/", "-", name)


@doc_params
def saliency(
    adata: AnnData,
    *,
    model: RadiogenomicModel | None = None,
    trait: str | None = None,
    method: str = "saliency",
    patients: Literal["out_of_fold", "all"] = "out_of_fold",
    target: str | Sequence[str] | None = None,
    abs: bool = True,
    normalize: Literal["minmax"] | None = None,
    baselines: float | np.ndarray | None = None,
    n_steps: int = 50,
    batch_size: int | None = None,
    key: str | None = None,
    device: str | None = None,
    key_added: str = "saliency",
    copy: bool = False,
) -> AnnData | None:
    """Per-patient attribution of each gene to a trait model's logit.

    ``method="saliency"`` is the gradient of the logit (before the sigmoid or softmax) with respect to the scaled
    input, per patient, as the paper's keras-vis call (``|d logit / d x|`` with ``abs=True``; for tanh networks the
    paper's "guided" backprop equals the plain gradient). ``"integrated_gradients"``, ``"deeplift"`` and
    ``"input_x_gradient"`` come from captum. Unlike the paper, whose subtype saliency always read output node 0,
    ``target=None`` attributes every class of a multiclass model. A continuous trait's model attributes its predicted
    value (its one output, on the trait's scale; the record's target is the trait).
    By default each labelled patient is explained by the outer fold's network that never saw it (the network of its
    out-of-fold prediction; where a fold averages its inner networks, their average), so that no patient's genes
    come from a model fitted to that patient; patients in no fold (unlabelled at training time, or another cohort's)
    by the final model.

    Parameters
    ----------
    adata
        Patients x genes.
    model, trait
        The model; ``None`` uses the models :func:`radiogx.tl.train` recorded (for ``trait`` or every trained trait).
    method
        Attribution method: a name of the registry (``rg.tl.methods()``; built in: ``"saliency"``, the paper's;
        ``"integrated_gradients"``, ``"deeplift"``, ``"input_x_gradient"``), each a captum attribution.
    patients
        ``"out_of_fold"``: each labelled patient by its held-out fold's network, in that fold's scaled units (the
        other patients by the final model); ``"all"``: every patient by the final model, which was trained on the
        labelled ones (the paper's scheme, in-sample).
    target
        Class(es) of a multiclass model to attribute; ``None``: all. Binary models attribute their single logit.
    abs
        Take the absolute value (the paper's ``grad_modifier="absolute"``); ``False`` keeps signed attributions.
    normalize
        ``"minmax"`` scales each patient's attributions to [0, 1] (the paper's per-patient normalisation).
    baselines
        Reference input of integrated gradients and DeepLift, in scaled units; default 0, the training mean (of
        the fold that explains the patient).
    n_steps
        Integration steps of integrated gradients.
    batch_size
        Patients per batch; results do not depend on it.
    {device}
    {models_key}
    {copy}

    Returns
    -------
    ``None``, or the modified copy with ``copy=True``. Writes, per trait (and class of a multiclass model; name from
    :func:`attribution_key`): ``adata.layers[name]``: patients x genes float32 attributions (NaN for genes the model
    does not use); ``adata.var[name]``: their mean over patients; ``adata.uns[key_added][trait]``: ``params``,
    ``targets`` and ``explained_by`` (per patient: the outer fold whose network explained it, ``-1`` for the final
    model).
    """
    adata = adata.copy() if copy else adata
    check_adata(adata)
    methods = attribution_methods()
    if method not in methods:
        raise ValueError(f"method must be one of {sorted(methods)} (rg.tl.methods()), got {method!r}")
    spec = methods[method]
    if normalize not in (None, "minmax"):
        raise ValueError(f"normalize must be None or 'minmax', got {normalize!r}")
    if patients not in ("out_of_fold", "all"):
        raise ValueError(f"patients must be 'out_of_fold' or 'all', got {patients!r}")
    models = models_to_explain(adata, model, trait, key)
    device = settings.torch_device(device)  # once: every model's attribution computes there
    outputs = {}
    for m in models:
        targets = model_targets(m, target)
        folds = (held_out_folds(m, adata.obs_names, instead="use patients='all' (the final model explains every "
                                                           "patient, in sample)")
                 if patients == "out_of_fold" else np.full(adata.n_obs, -1, dtype=np.int64))
        gene_pos = adata.var_names.get_indexer(m.genes)
        arrays = patient_attributions(m, adata, spec, folds, targets, device=device, baselines=baselines,
                                      n_steps=n_steps, batch_size=batch_size)
        for (_, name), attr in zip(targets, arrays):
            if abs:
                attr = np.abs(attr)
            if normalize == "minmax":
                lo, hi = attr.min(axis=1, keepdims=True), attr.max(axis=1, keepdims=True)
                span = np.where(hi > lo, hi - lo, 1.0)
                attr = (attr - lo) / span
            full = np.full(adata.shape, np.nan, dtype=np.float32)
            full[:, gene_pos] = attr
            outputs[attribution_key(key_added, m.trait, name)] = full
        adata_record = {
            "params": {"kind": "saliency", "method": method, "patients": patients, "abs": bool(abs), "normalize": normalize or "", "n_steps": int(n_steps),
                       "baselines": "0 (training mean)" if baselines is None else repr(baselines),
                       "model_id": m.model_id, "device": str(device), "precision": "fp32", "radiogx_version": __version__},
            "targets": np.array([target_label(t, m.trait, m.classes, m.is_regression) for _, t in targets],
                                dtype=object),
            "keys": np.array([attribution_key(key_added, m.trait, t) for _, t in targets], dtype=object),
            "explained_by": pd.DataFrame({"fold": folds}, index=adata.obs_names.copy()),
        }
        names = [attribution_key(key_added, m.trait, t) for _, t in targets]
        adata_record["added"] = log_added("saliency", layers=names, var=names, uns=key_added)
        write_record(adata, key_added, adata_record, tool="saliency", trait=m.trait)
    for name, values in outputs.items():
        if name in adata.layers:
            logger.warning(f"saliency: replacing adata.layers[{name!r}]")
        adata.layers[name] = values
        adata.var[name] = _col_mean(values)
    return adata if copy else None


def _col_mean(values: np.ndarray) -> np.ndarray:
    """Mean over patients of each gene; NaN for the genes the model does not use (whole NaN columns)."""
    out = np.full(values.shape[1], np.nan, dtype=np.float32)
    used = ~np.isnan(values).all(axis=0)
    out[used] = values[:, used].mean(axis=0)
    return out

