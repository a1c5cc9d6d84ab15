"""What the trained network and the autoencoder share: one file format, save and load, and one session registry.

A saved model is one torch file (``weights_only`` loadable) holding its tensors and a JSON ``meta`` entry: the format
tag, the radiogx and torch versions, the model's id, its genes (the input order), its own settings and a SHA-256 hash
of the metadata and every tensor, checked on load (scvi-tools' ``BaseModelClass.save/load`` pattern: the file carries
what is needed to use the model on new data). ``save`` touches no AnnData: the tools that save a model
(``rg.tl.train(save_to=)``, ``rg.tl.pretrain(save_to=)``, :func:`radiogx.io.save_model`) record its path themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import torch
from anndata import AnnData

from .. import __version__
from .._atomic import atomic_path

__all__ = ["SavedModel", "register", "lookup", "read_model_file"]

# The models of this session by id, held weakly: a model lives as long as something holds it (the user's variable, or
# an AnnData it is anchored to), and no longer. AnnData records only hold the id and, once saved, the path.
_REGISTRY: weakref.WeakValueDictionary[str, SavedModel] = weakref.WeakValueDictionary()
# AnnData -> the models it recorded or used (strong references), dropped with the AnnData (keyed by id(adata): AnnData
# objects refuse equality, which a WeakKeyDictionary needs)
_ANCHORS: dict[int, tuple[weakref.ref, dict[str, SavedModel]]] = {}


def _anchor(adata: AnnData, model: SavedModel) -> None:
    key = id(adata)
    entry = _ANCHORS.get(key)
    if entry is None or entry[0]() is not adata:
        entry = (weakref.ref(adata, lambda _, key=key: _ANCHORS.pop(key, None)), {})
        _ANCHORS[key] = entry
    entry[1][model.model_id] = model


def register(model: SavedModel, adata: AnnData | None = None) -> str:
    """Make ``model`` findable by its id in this session, kept alive by ``adata`` (when given); return the id."""
    _REGISTRY[model.model_id] = model
    if adata is not None:
        _anchor(adata, model)
    return model.model_id


def lookup(model_id: str, adata: AnnData | None = None) -> SavedModel | None:
    """The live model of this id (``None`` when it was dropped or never made in this session); ``adata`` then keeps
    it alive too, so that a copy that used a model keeps it after the original is dropped."""
    model = _REGISTRY.get(model_id)
    if model is not None and adata is not None:
        _anchor(adata, model)
    return model


class SavedModel:
    """The persistence of radiogx's models: ``save(path)`` and ``load(path)`` in the one file format of this module.

    A subclass names its ``FORMAT`` (and the older ``READABLE`` ones), says what it is (``WHAT``, for messages) and
    gives ``_meta()`` (JSON-able settings), ``_tensors()`` and ``_from_file(meta, tensors)``.
    """

    FORMAT: ClassVar[str]
    READABLE: ClassVar[tuple[str, ...]]
    WHAT: ClassVar[str]
    model_id: str
    path: str | None

    def _meta(self) -> dict:
        raise NotImplementedError

    def _tensors(self) -> dict:
        raise NotImplementedError

    @classmethod
    def _from_file(cls, meta: dict, tensors: dict) -> SavedModel:
        raise NotImplementedError

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Save to one file (tensors and JSON metadata: genes, settings, versions and a SHA-256 content hash that
        :meth:`load` checks), atomically, and return its path. No AnnData is changed: record the path with the tool
        that saves (``save_to=``) or :func:`radiogx.io.save_model`."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        payload = self._tensors()
        meta = {"format": self.FORMAT, "radiogx_version": __version__, "torch_version": torch.__version__,
                "model_id": self.model_id, **self._meta()}
        meta["content_sha256"] = _content_hash(meta, payload)
        payload["meta"] = json.dumps(meta)
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
        self.path = str(path.resolve())
        return path

    @classmethod
    def from_record(cls, record: Mapping, adata: AnnData | None = None, *, what: str = "the model") -> SavedModel:
        """The model a tool's record names (its ``model_id`` and ``path``): the live one of that id, else the one
        saved at its path (then kept alive by ``adata``). ``what`` names it in the error when it is neither."""
        model = lookup(str(record.get("model_id", "")), adata)
        if model is None:
            path = str(record.get("path", "") or "")
            if not path:
                raise ValueError(f"{what} (id {str(record.get('model_id', ''))[:8]}) is not in memory and was never "
                                 "saved: a model lives as long as the AnnData it was trained on (or a copy that used "
                                 "it) or the object the tool returned; keep one, or save it with model.save(path) and "
                                 "record the path (rg.io.save_model, or the tool's save_to=), or train again")
            model = cls.load(path)
            register(model, adata)
        return model

    @classmethod
    def load(cls, path: str | os.PathLike) -> SavedModel:
        """A model saved by :meth:`save`, its content hash checked; registered in this session by its id."""
        meta, payload = read_model_file(path, cls)
        model = cls._from_file(meta, payload)
        model.path = str(Path(path).resolve())
        register(model)
        return model


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


def read_model_file(path: str | os.PathLike, cls: type[SavedModel]) -> tuple[dict, dict]:
    """The metadata and tensors of a saved ``cls``, with a clear error for a missing, damaged, foreign or newer file
    (a file of ``cls.LEGACY_FORMAT``, without a ``meta`` entry, is read by :func:`_legacy_meta`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved {cls.WHAT} at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, pickle of another program, random bytes
        raise ValueError(f"{path} could not be read as a radiogx {cls.WHAT} ({type(err).__name__}: {str(err)[:200]}); "
                         f"it is damaged or was written by another program (radiogx saves a {cls.WHAT} with its "
                         "save(path))") from None
    meta = _legacy_meta(payload, cls) if isinstance(payload, dict) and "meta" not in payload else None
    if meta is None:
        if not isinstance(payload, dict) or "meta" not in payload:
            raise ValueError(f"{path} is not a saved radiogx {cls.WHAT} (a torch file without radiogx's metadata)")
        try:
            meta = json.loads(payload["meta"])
        except (TypeError, ValueError):
            raise ValueError(f"{path} is not a saved radiogx {cls.WHAT} (its metadata is not radiogx's)") from None
    fmt = meta.get("format")
    if fmt not in cls.READABLE:
        family = cls.FORMAT.rsplit("/", 1)[0] + "/"
        if isinstance(fmt, str) and fmt.startswith(family):
            raise ValueError(f"{path} was saved by a newer radiogx ({meta.get('radiogx_version')}, format {fmt!r}); "
                             f"this is radiogx {__version__}, which reads {list(cls.READABLE)}: upgrade radiogx")
        raise ValueError(f"{path} is not a saved radiogx {cls.WHAT} (format {fmt!r})")
    if "content_sha256" in meta and _content_hash(meta, payload) != meta["content_sha256"]:
        raise ValueError(f"{path}: the content does not match the hash saved with it; the file was altered or damaged")
    return meta, payload


def _legacy_meta(payload: dict, cls: type[SavedModel]) -> dict | None:
    """The metadata of a file from before the shared format (the autoencoders of radiogx <= 0.8: ``format`` and
    ``hparams`` at the top level, no genes, no hash), when ``cls`` reads it; else ``None``."""
    legacy = getattr(cls, "LEGACY_FORMAT", None)
    if legacy is None or "hparams" not in payload or payload.get("format", legacy) != legacy:
        return None
    return {"format": legacy, "hparams": dict(payload["hparams"])}
