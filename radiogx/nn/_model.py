"""The trained-model object: network weights with everything needed to use them on new data (scvi-tools' pattern)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from anndata import AnnData

from .._settings import settings
from .._inputs import transform_inputs
from .._validation import check_adata, preview
from ._fit import NetworkConfig, predict_logits, probabilities
from ._modules import RadiogenomicNetwork, network_from_state
from ._persist import SavedModel, lookup, read_model_file, register

__all__ = ["RadiogenomicModel", "model_info", "register", "lookup"]


class RadiogenomicModel(SavedModel):
    """A radiogenomic network for one trait, with its scaler, gene order, class labels, settings and fold models.

    Made by :func:`radiogx.tl.train`. ``predict_proba`` scales an AnnData's expression with the training scaler (in
    the training gene order) and returns class probabilities. The fold models (nested protocol) are the networks
    trained without each outer fold's patients; interpretation tools use them to score each patient out of fold.

    Attributes
    ----------
    trait, genes, classes, config, settings, cv_folds
        The trait, the gene order, the class labels (positive class last for binary traits), the network
        configuration, the training settings, and per fold the held-out patients with that fold's scaler, weights and
        own chosen settings (``fold_config``).
    """

    def __init__(self, *, trait: str, genes, classes, mean: np.ndarray, scale: np.ndarray, config: NetworkConfig,
                 state: dict, folds: list[dict] | None = None, settings_used: dict | None = None,
                 model_id: str | None = None, set_nodes: list[str] | None = None,
                 set_mask: torch.Tensor | None = None) -> None:
        self.trait = str(trait)
        self.genes = pd.Index([str(g) for g in genes])
        self.classes = [str(c) for c in classes]
        self.mean = np.asarray(mean, dtype=np.float32)
        self.scale = np.asarray(scale, dtype=np.float32)
        self.config = config
        self.state = state
        self.cv_folds = folds or []
        self.settings = settings_used or {}
        self.model_id = model_id or self.new_id()
        self.path: str | None = None
        self.set_nodes = None if set_nodes is None else [str(n) for n in set_nodes]
        self.set_mask = set_mask
        #: The training cohort's gene structure (:func:`radiogx._inputs.fit_gene_structure` of its scaled expression),
        #: from which :func:`radiogx.tl.predict` infers the genes a cohort lacks; ``None`` for older model files.
        self.gene_structure: dict | None = None
        #: What a stranger needs to judge the model: the training cohort (patients, class counts, genes), the nested
        #: CV result and the versions that trained it (set by :func:`radiogx.tl.train`; empty for a format-1 file).
        self.training: dict = {}

    @property
    def is_ensemble(self) -> bool:
        """Whether the final network is the average of the fold networks (``final="ensemble"``)."""
        return self.settings.get("final") == "ensemble"

    def node_sets(self, fold: int | None = None) -> list[str] | None:
        """The gene set of each first-layer node of the final (or a fold's) network of a gene-set architecture
        (merged networks repeat the set layer once per member); ``None`` for a dense network."""
        if self.set_nodes is None:
            return None
        state = self.state if fold is None else self.cv_folds[fold]["state"]
        width = int(state["blocks.0.0.weight"].shape[0])
        return [self.set_nodes[i % len(self.set_nodes)] for i in range(width)]

    # networks --------------------------------------------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        """Number of classes; 0 for a continuous trait (one output, its predicted value)."""
        return len(self.classes)

    @property
    def is_regression(self) -> bool:
        """Whether the model predicts a continuous trait's value (``task="regression"``) rather than classes."""
        return self.settings.get("task") == "regression"

    def network(self, fold: int | None = None, *, device=None) -> RadiogenomicNetwork:
        """The final network (``fold=None``) or outer fold ``fold``'s network, in eval mode."""
        state = self.state if fold is None else self.cv_folds[fold]["state"]
        net = network_from_state(state, activation=self.fold_config(fold).activation)
        return net.to(device or settings.torch_device()).eval()

    def fold_config(self, fold: int | None = None) -> NetworkConfig:
        """The settings of the final network (``fold=None``) or of outer fold ``fold``'s network, which its inner
        split chose and which may differ from the final model's."""
        if fold is None:
            return self.config
        return self.cv_folds[fold].get("config") or self.config

    def _matrix(self, adata: AnnData) -> np.ndarray:
        check_adata(adata)
        missing = self.genes.difference(adata.var_names)
        if len(missing):
            raise ValueError(
                f"the model for {self.trait!r} was trained on {len(self.genes)} genes; adata lacks {len(missing)} of them "
                f"{preview(missing)}. Subset or reorder to the model's genes (model.genes) first."
            )
        x = adata[:, self.genes].X
        return transform_inputs(np.asarray(x.toarray() if hasattr(x, "toarray") else x), self.input_transform)

    @property
    def input_transform(self) -> str:
        """The within-patient transform applied to expression before the scaler (``"none"``, ``"rank_normal"``;
        :func:`radiogx.tl.train`'s ``input_transform``)."""
        return str(self.settings.get("input_transform", "none") or "none")

    def scaled(self, adata: AnnData, *, fold: int | None = None) -> np.ndarray:
        """Expression of ``adata`` in the model's gene order, through the model's :attr:`input_transform`, z-scored
        with the final (or a fold's) training scaler."""
        x = self._matrix(adata)
        mean, scale = (self.mean, self.scale) if fold is None else (self.cv_folds[fold]["mean"], self.cv_folds[fold]["scale"])
        return (x - mean) / scale

    def predict_logits(self, adata: AnnData, *, fold: int | None = None) -> np.ndarray:
        """Logits (patients x 1 for binary traits, patients x classes for multiclass)."""
        device = settings.torch_device()
        return predict_logits(self.network(fold, device=device), self.scaled(adata, fold=fold), device=device)

    def predict(self, adata: AnnData, *, fold: int | None = None) -> pd.Series:
        """The predicted value of a continuous trait (on its transformed scale, ``settings["transform"]``), per patient."""
        if not self.is_regression:
            raise ValueError(f"the model for {self.trait!r} predicts classes {self.classes}: use predict_proba")
        return pd.Series(self.predict_logits(adata, fold=fold)[:, 0], index=adata.obs_names.copy(), name=self.trait)

    def predict_proba(self, adata: AnnData, *, fold: int | None = None) -> pd.DataFrame:
        """Class probabilities, a DataFrame of patients x classes."""
        if self.is_regression:
            raise ValueError(f"the model for {self.trait!r} predicts a continuous value: use predict")
        probs = probabilities(self.predict_logits(adata, fold=fold), self.n_classes)
        return pd.DataFrame(probs, index=adata.obs_names.copy(), columns=self.classes)

    def proba_of_scaled(self, z: np.ndarray, *, fold: int | None = None, device: str | None = None) -> np.ndarray:
        """Class probabilities (patients x classes) of an input already in the model's gene order and scaled units
        (as :meth:`scaled` gives, or as :func:`radiogx.tl.predict` builds for another cohort); a continuous trait's
        model gives its predicted values (patients x 1). ``device``: ``None`` is ``rg.settings.device``."""
        device = settings.torch_device(device)
        logits = predict_logits(self.network(fold, device=device), np.asarray(z, dtype=np.float32), device=device)
        return logits if self.is_regression else probabilities(logits, self.n_classes)

    def input_weight(self) -> np.ndarray:
        """Per gene (model order), the L1 norm of the final network's first-layer weights on it (0 for genes its gene
        screen leaves out): how much of the network's input each gene carries."""
        w = self.state["blocks.0.0.weight"].float()
        if "blocks.0.0.mask" in self.state:
            w = w * self.state["blocks.0.0.mask"].float()
        return w.abs().sum(0).numpy().astype(np.float64)

    # persistence (the shared format of :class:`~radiogx.nn._persist.SavedModel`) ------------------------------------
    FORMAT = "radiogx.RadiogenomicModel/2"
    READABLE = ("radiogx.RadiogenomicModel/1", FORMAT)  # /1 (radiogx 0.3.x): no training summary, no content hash
    WHAT = "model"

    def _meta(self) -> dict:
        return {"trait": self.trait, "genes": list(self.genes), "classes": self.classes, "config": self.config.as_dict(),
                "settings": self.settings, "set_nodes": self.set_nodes, "training": self.training,
                "folds": [{"test": list(f["test"]), "best_epoch": int(f.get("best_epoch", 0)),
                           "config": self.fold_config(k).as_dict()} for k, f in enumerate(self.cv_folds)]}

    def _tensors(self) -> dict:
        payload = {
            "mean": torch.from_numpy(self.mean), "scale": torch.from_numpy(self.scale), "state": self.state,
            "folds": [{"mean": torch.from_numpy(np.asarray(f["mean"])), "scale": torch.from_numpy(np.asarray(f["scale"])),
                       "state": f["state"]} for f in self.cv_folds],
        }
        if self.set_mask is not None:
            payload["set_mask"] = self.set_mask.to(torch.bool)
        if self.gene_structure is not None:
            payload["gene_structure"] = {"loadings": torch.from_numpy(self.gene_structure["loadings"]),
                                         "variance": torch.from_numpy(self.gene_structure["variance"]),
                                         "noise": torch.tensor(float(self.gene_structure["noise"]))}
        return payload

    @classmethod
    def _from_file(cls, meta: dict, payload: dict) -> RadiogenomicModel:
        folds = [{"test": np.asarray(m["test"], dtype=object), "best_epoch": m["best_epoch"], "mean": f["mean"].numpy(),
                  "scale": f["scale"].numpy(), "state": f["state"],
                  "config": NetworkConfig.from_dict(m["config"]) if "config" in m else None}
                 for m, f in zip(meta["folds"], payload["folds"])]
        model = cls(trait=meta["trait"], genes=meta["genes"], classes=meta["classes"], mean=payload["mean"].numpy(),
                    scale=payload["scale"].numpy(), config=NetworkConfig.from_dict(meta["config"]), state=payload["state"],
                    folds=folds, settings_used=meta["settings"], model_id=meta["model_id"],
                    set_nodes=meta.get("set_nodes"),
                    set_mask=payload["set_mask"].float() if "set_mask" in payload else None)
        model.training = dict(meta.get("training") or {})
        if "gene_structure" in payload:
            st = payload["gene_structure"]
            model.gene_structure = {"loadings": st["loadings"].numpy(), "variance": st["variance"].numpy(),
                                    "noise": float(st["noise"])}
        return model

    @classmethod
    def load(cls, path: str | os.PathLike, *, adata: AnnData | None = None) -> RadiogenomicModel:
        """Load a saved model; with ``adata``, check that it holds every gene of the model (naming the missing ones)."""
        model = super().load(path)
        if adata is not None:
            model._matrix(adata)
        return model

    def __repr__(self) -> str:
        what = "task='regression'" if self.is_regression else f"classes={self.classes}"
        return (f"RadiogenomicModel(trait={self.trait!r}, {what}, genes={len(self.genes)}, "
                f"hidden={list(self.config.hidden)}, folds={len(self.cv_folds)}, id={self.model_id[:8]})")


def model_info(path: str | os.PathLike) -> dict:
    """What a saved model file says about itself, without building its networks.

    Returns
    -------
    dict with ``trait``, ``task``, ``classes``, ``n_genes``, ``architecture`` (hidden widths, activation), ``final``, ``folds``,
    ``training`` (patients, class counts, genes and the nested CV result), ``radiogx_version``, ``torch_version``,
    ``format``, ``content_sha256`` (checked) and ``path``.
    """
    meta, _ = read_model_file(path, RadiogenomicModel)
    config = meta.get("config", {})
    return {"path": str(Path(path).resolve()), "trait": meta["trait"],
            "task": meta.get("settings", {}).get("task", "classification"), "classes": meta["classes"],
            "n_genes": len(meta["genes"]), "hidden": config.get("hidden"), "activation": config.get("activation"),
            "architecture": meta.get("settings", {}).get("architecture", "dense"),
            "final": meta.get("settings", {}).get("final", ""), "folds": len(meta.get("folds", [])),
            "training": meta.get("training") or {}, "radiogx_version": meta.get("radiogx_version", ""),
            "torch_version": meta.get("torch_version", ""), "format": meta["format"],
            "content_sha256": meta.get("content_sha256", ""), "model_id": meta.get("model_id", "")}
