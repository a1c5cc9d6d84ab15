"""Which gene sets drive a gene-set network: its set-node activations and their attributions per patient."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from anndata import AnnData
from captum.attr import LayerGradientXActivation

from .._docs import doc_params
from .. import __version__
from .._logging import log_added
from .._settings import settings
from .._validation import check_adata
from ..nn import RadiogenomicModel
from ._record import write_record
from ._models import models_to_explain

__all__ = ["set_nodes"]


@doc_params
def set_nodes(
    adata: AnnData,
    *,
    model: RadiogenomicModel | None = None,
    trait: str | None = None,
    key: str | None = None,
    device: str | None = None,
    key_added: str = "set_nodes",
    copy: bool = False,
) -> AnnData | None:
    """Set-node activations and attributions of a gene-set network (``rg.tl.train(..., architecture="gene_sets")``).

    The attribution of a node is its activation times the gradient of the logit with respect to it (captum's
    ``LayerGradientXActivation``; Shrikumar et al. 2016), the first-order contribution of the node to the logit; a
    set's attribution is the sum over its nodes, in the final predictor (for an ensemble, the mean over the fold
    networks, exactly). P-NET (Elmarakeby et al. 2021) ranks its pathway nodes in the same spirit.

    Parameters
    ----------
    adata
        Patients x genes (the model's genes).
    model, trait
        The model; ``None`` uses the gene-set models :func:`radiogx.tl.train` recorded (for ``trait`` or all).
    {device}
    {models_key}
    {copy}

    Returns
    -------
    ``None``, or the modified copy with ``copy=True``. Writes per trait (and class of a multiclass model):
    ``adata.obsm[f"{key_added}_{trait}[_{class}]"]``, a DataFrame patients x sets of attributions;
    ``adata.obsm[f"{key_added}_{trait}_activation"]``, patients x sets, the mean activation of the set's nodes in the
    final predictor; ``adata.uns[key_added][trait]``: ``params``, ``targets`` and ``table`` (per set and target:
    ``importance``, the mean absolute attribution over patients; ``mean``, the mean signed attribution; ``rank``), read
    by :func:`radiogx.get.set_nodes_df`.
    """
    adata = adata.copy() if copy else adata
    check_adata(adata)
    models = models_to_explain(adata, model, trait, key)
    device = settings.torch_device(device)  # once: every model's attribution computes there
    if model is None and trait is None:
        models = [m for m in models if m.set_nodes is not None]
    if not models or any(m.set_nodes is None for m in models):
        raise ValueError("set_nodes needs a gene-set network: rg.tl.train(adata, trait, architecture='gene_sets', "
                         "gene_sets=...)")
    for m in models:
        net = m.network(device=device)
        for p in net.parameters():
            p.requires_grad_(False)
        x = torch.from_numpy(m.scaled(adata)).to(device)
        nodes = np.asarray(m.node_sets())
        sets = list(dict.fromkeys(m.set_nodes))
        member = pd.get_dummies(pd.Categorical(nodes, categories=sets)).to_numpy(np.float32)  # nodes x sets
        layer = net.blocks[0]  # Dense -> BatchNorm -> activation: the set nodes' output
        with torch.no_grad():
            activation = layer(x).cpu().numpy()
        targets = [(0, m.classes[-1])] if m.n_classes == 2 else list(enumerate(m.classes))
        explainer = LayerGradientXActivation(net, layer)
        rows, keys = [], []
        for out_index, name in targets:
            attr = explainer.attribute(x.clone().requires_grad_(True), target=out_index).detach().cpu().numpy() @ member
            obsm_key = f"{key_added}_{m.trait}" if m.n_classes == 2 else f"{key_added}_{m.trait}_{name}"
            adata.obsm[obsm_key.replace("/", "-")] = pd.DataFrame(attr, index=adata.obs_names, columns=sets)
            keys.append(obsm_key.replace("/", "-"))
            imp = np.abs(attr).mean(0)
            order = np.argsort(-imp, kind="stable")
            rank = np.empty(len(sets), dtype=np.int64)
            rank[order] = np.arange(1, len(sets) + 1)
            rows.append(pd.DataFrame({"gene_set": sets, "target": str(name), "importance": imp,
                                      "mean": attr.mean(0), "rank": rank}))
        adata.obsm[f"{key_added}_{m.trait}_activation".replace("/", "-")] = pd.DataFrame(
            (activation @ member) / member.sum(0), index=adata.obs_names, columns=sets)
        table = pd.concat(rows, ignore_index=True).sort_values(["target", "rank"], ignore_index=True)
        write_record(adata, key_added, tool="set_nodes", trait=m.trait, record={
            "params": {"kind": "set_nodes", "method": "layer_gradient_x_activation", "model_id": m.model_id,
                       "device": str(device), "precision": "fp32",
                       "radiogx_version": __version__},
            "targets": np.array([str(t) for _, t in targets], dtype=object), "keys": np.array(keys, dtype=object),
            "table": table,
            "added": log_added("set_nodes", obsm=keys + [f"{key_added}_{m.trait}_activation".replace("/", "-")],
                               uns=key_added),
        })
    return adata if copy else None
