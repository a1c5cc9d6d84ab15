"""The trained-model object: network weights with everything needed to use them on new data (scvi-tools' pattern)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from anndata import AnnData

from .. import __version__
from .._atomic import atomic_path
from .._settings import settings
from .._validation import check_adata, preview
from ._fit import NetworkConfig, predict_logits, probabilities
from ._modules import RadiogenomicNetwork, network_from_state

__all__ = ["RadiogenomicModel", "model_info", "register", "lookup"]

_FORMAT = "radiogx.RadiogenomicModel/2"
# /1 (radiogx 0.3.x): no training summary and no content hash; still read
_READABLE = ("radiogx.RadiogenomicModel/1", _FORMAT)
# The models of this session by id, held weakly: a model lives as long as something holds it (the user's variable, or
# an AnnData it is anchored to), and no longer. AnnData records only hold the id and, once saved, the path.
_REGISTRY: weakref.WeakValueDictionary[str, RadiogenomicModel] = weakref.WeakValueDictionary()
# AnnData -> the models it recorded or used (strong references), dropped with the AnnData (keyed by id(adata): AnnData
# objects refuse equality, which a WeakKeyDictionary needs)
_ANCHORS: dict[int, tuple[weakref.ref, dict[str, RadiogenomicModel]]] = {}


def _anchor(adata: AnnData, model: RadiogenomicModel) -> None:
    key = id(adata)
    entry = _ANCHORS.get(key)
    if entry is None or entry[0]() is not adata:
        entry = (weakref.ref(adata, lambda _, key=key: _ANCHORS.pop(key, None)), {})
        _ANCHORS[key] = entry
    entry[1][model.model_id] = model


def register(model: RadiogenomicModel, adata: AnnData | None = None) -> str:
    """Make ``model`` findable by its id in this session, kept alive by ``adata`` (when given); return the id."""
    _REGISTRY[model.model_id] = model
    if adata is not None:
        _anchor(adata, model)
    return model.model_id


def lookup(model_id: str, adata: AnnData | None = None) -> RadiogenomicModel | None:
    """The live model of this id (``None`` when it was dropped or never made in this session); ``adata`` then keeps
    it alive too, so that a copy that used a model keeps it after the original is dropped."""
    model = _REGISTRY.get(model_id)
    if model is not None and adata is not None:
        _anchor(adata, model)
    return model


class RadiogenomicModel:
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
        self.model_id = model_id or uuid.uuid4().hex
        self.path: str | None = None
        self.set_nodes = None if set_nodes is None else [str(n) for n in set_nodes]
        self.set_mask = set_mask
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
        return np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float32)

    def scaled(self, adata: AnnData, *, fold: int | None = None) -> np.ndarray:
        """Expression of ``adata`` in the model's gene order, z-scored with the final (or a fold's) training scaler."""
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

    # persistence -----------------------------------------------------------------------------------------------
    def _meta(self) -> dict:
        return {"format": _FORMAT, "radiogx_version": __version__, "torch_version": torch.__version__,
                "model_id": self.model_id, "trait": self.trait,
                "genes": list(self.genes), "classes": self.classes, "config": self.config.as_dict(),
                "settings": self.settings, "set_nodes": self.set_nodes, "training": self.training,
                "folds": [{"test": list(f["test"]), "best_epoch": int(f.get("best_epoch", 0)),
                           "config": self.fold_config(k).as_dict()} for k, f in enumerate(self.cv_folds)]}

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Save to one file (torch tensors and JSON metadata: genes, classes, settings, the training summary, the
        versions and a SHA-256 content hash that :meth:`load` checks) and return its path.

        The records of this model in every live AnnData that holds it (the one it was trained on, and copies that
        used it) learn the path, so that after an ``.h5ad`` round trip, or in a new session, the tools load it from
        there."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        payload = {
            "mean": torch.from_numpy(self.mean), "scale": torch.from_numpy(self.scale), "state": self.state,
            "folds": [{"mean": torch.from_numpy(np.asarray(f["mean"])), "scale": torch.from_numpy(np.asarray(f["scale"])),
                       "state": f["state"]} for f in self.cv_folds],
        }
        if self.set_mask is not None:
            payload["set_mask"] = self.set_mask.to(torch.bool)
        meta = self._meta()
        meta["content_sha256"] = _content_hash(meta, payload)
        payload["meta"] = json.dumps(meta)
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
        self.path = str(path.resolve())
        for ref, models in list(_ANCHORS.values()):
            adata = ref()
            if adata is not None and self.model_id in models:
                for store in adata.uns.values():
                    for record in (store.values() if isinstance(store, dict) else ()):
                        if isinstance(record, dict) and str(record.get("model_id", "")) == self.model_id:
                            record["path"] = self.path
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, *, adata: AnnData | None = None) -> RadiogenomicModel:
        """Load a saved model; with ``adata``, check that it holds every gene of the model (naming the missing ones)."""
        meta, payload = _read(path)
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
        model.path = str(Path(path).resolve())
        if adata is not None:
            model._matrix(adata)
        register(model)
        return model

    def __repr__(self) -> str:
        what = "task='regression'" if self.is_regression else f"classes={self.classes}"
        return (f"RadiogenomicModel(trait={self.trait!r}, {what}, genes={len(self.genes)}, "
                f"hidden={list(self.config.hidden)}, folds={len(self.cv_folds)}, id={self.model_id[:8]})")


def _content_hash(meta: dict, payload: dict) -> str:
    """SHA-256 of the metadata (without the hash) and of every tensor, in a fixed order."""
    h = hashlib.sha256(json.dumps({k: v for k, v in meta.items() if k != "content_sha256"}, sort_keys=True,
                                  default=str).encode())

    def feed(name: str, value) -> None:
        if isinstance(value, torch.Tensor):
            h.update(name.encode())
            h.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(value, dict):
            for k in sorted(value):
                feed(f"{name}.{k}", value[k])
        elif isinstance(value, list):
            for i, v in enumerate(value):
                feed(f"{name}[{i}]", v)

    for key in sorted(k for k in payload if k != "meta"):
        feed(key, payload[key])
    return h.hexdigest()


def _read(path: str | os.PathLike) -> tuple[dict, dict]:
    """The metadata and tensors of a saved model, with a clear error for a missing, damaged, foreign or newer file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved model at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, pickle of another program, random bytes
        raise ValueError(f"{path} could not be read as a radiogx model ({type(err).__name__}: {str(err)[:200]}); it is "
                         "damaged or was written by another program (radiogx saves models with model.save(path))") from None
    if not isinstance(payload, dict) or "meta" not in payload:
        raise ValueError(f"{path} is not a saved radiogx model (a torch file without radiogx's metadata)")
    try:
        meta = json.loads(payload["meta"])
    except (TypeError, ValueError):
        raise ValueError(f"{path} is not a saved radiogx model (its metadata is not radiogx's)") from None
    fmt = meta.get("format")
    if fmt not in _READABLE:
        if isinstance(fmt, str) and fmt.startswith("radiogx.RadiogenomicModel/"):
            raise ValueError(f"{path} was saved by a newer radiogx ({meta.get('radiogx_version')}, format {fmt!r}); this "
                             f"is radiogx {__version__}, which reads {list(_READABLE)}: upgrade radiogx")
        raise ValueError(f"{path} is not a saved radiogx model (format {fmt!r})")
    if "content_sha256" in meta and _content_hash(meta, payload) != meta["content_sha256"]:
        raise ValueError(f"{path}: the content does not match the hash saved with it; the file was altered or damaged")
    return meta, payload


def model_info(path: str | os.PathLike) -> dict:
    """What a saved model file says about itself, without building its networks.

    Returns
    -------
    dict with ``trait``, ``task``, ``classes``, ``n_genes``, ``architecture`` (hidden widths, activation), ``final``, ``folds``,
    ``training`` (patients, class counts, genes and the nested CV result), ``radiogx_version``, ``torch_version``,
    ``format``, ``content_sha256`` (checked) and ``path``.
    """
    meta, _ = _read(path)
    config = meta.get("config", {})
    return {"path": str(Path(path).resolve()), "trait": meta["trait"],
            "task": meta.get("settings", {}).get("task", "classification"), "classes": meta["classes"],
            "n_genes": len(meta["genes"]), "hidden": config.get("hidden"), "activation": config.get("activation"),
            "architecture": meta.get("settings", {}).get("architecture", "dense"),
            "final": meta.get("settings", {}).get("final", ""), "folds": len(meta.get("folds", [])),
            "training": meta.get("training") or {}, "radiogx_version": meta.get("radiogx_version", ""),
            "torch_version": meta.get("torch_version", ""), "format": meta["format"],
            "content_sha256": meta.get("content_sha256", ""), "model_id": meta.get("model_id", "")}
