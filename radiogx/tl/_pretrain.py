"""Transcriptomic autoencoder pre-training (Smedley, El-Saden & Hsu 2020)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

import numpy as np
from anndata import AnnData
from sklearn.model_selection import train_test_split

from .._docs import doc_params
from .. import __version__
from .._logging import log_added, logger
from .._settings import settings
from .._validation import check_adata, preview
from ..nn.engine import fit_autoencoder, reconstruction_r2, register
from ..nn import TranscriptomeAutoencoder
from ._record import write_record
from ._folds import child_seed

__all__ = ["pretrain"]


@doc_params
def pretrain(
    adata: AnnData,
    *,
    exclude: Sequence[str] | str | None = None,
    hidden: Sequence[int] = (4000, 2000, 1000),
    activation: str = "tanh",
    output: Literal["linear", "paper"] = "linear",
    loss: Literal["mse", "mae"] = "mse",
    epochs: int = 200,
    batch_size: int = 50,
    optimizer: str = "adam",
    learning_rate: float | None = None,
    patience: int = 20,
    holdout: float = 0.2,
    seed: int | None = None,
    patients_used: str = "",
    save_to: str | os.PathLike | None = None,
    device: str | None = None,
    key_added: str = "pretrain",
) -> TranscriptomeAutoencoder:
    """Fit the transcriptomic autoencoder whose encoder can initialise :func:`radiogx.tl.train`.

    Expression is z-scored per gene on the training patients; ``holdout`` of them are kept aside to choose the epoch
    (early stopping on their reconstruction R^2) and to report that R^2 honestly. The paper trained the autoencoder
    on the patients without imaging annotations (``exclude`` them), with MAE loss, Adadelta, batch 50 and a BatchNorm
    + tanh reconstruction layer (``output="paper"``).

    Parameters
    ----------
    adata
        Patients x genes.
    exclude
        Patients to leave out: obs names, or the name of an obs column whose non-missing rows are excluded (e.g. a
        trait: ``exclude="f5"`` trains on the patients without an f5 annotation).
    hidden, activation, output, loss, epochs, batch_size, optimizer, learning_rate, patience
        The architecture and training (see :class:`~radiogx.nn.TranscriptomeAutoencoder`).
    holdout
        Share of the training patients held out for early stopping and the reported R^2.
    seed
        Seed; ``None`` uses ``rg.settings.seed``.
    {device}
    patients_used
        Which patients these are, in words (e.g. "patients without any modelled trait"), recorded in ``params``.
    save_to
        Save the autoencoder to this file (:meth:`~radiogx.nn.TranscriptomeAutoencoder.save`, overwriting) and
        record its ``path`` (what ``radiogx run`` does, so that a resumed run or a new session loads it).
    key_added
        ``adata.uns[key_added]`` receives ``params``, ``model_id`` and ``path`` (as :func:`train`'s records),
        ``r2_holdout`` (variance-weighted reconstruction R^2 on the
        held-out patients), ``history`` and the patients used.

    Returns
    -------
    The fitted :class:`~radiogx.nn.TranscriptomeAutoencoder` (eval mode).
    """
    check_adata(adata)
    seed = settings.seed if seed is None else int(seed)
    if not 0 < holdout < 0.5:
        raise ValueError(f"holdout must be in (0, 0.5), got {holdout!r}")
    if loss not in ("mse", "mae"):
        raise ValueError(f"loss must be 'mse' or 'mae', got {loss!r}")
    keep = np.ones(adata.n_obs, dtype=bool)
    if isinstance(exclude, str):
        if exclude not in adata.obs.columns:
            raise ValueError(f"exclude={exclude!r} is not a column of adata.obs; pass patient names or an obs column")
        keep = adata.obs[exclude].isna().to_numpy()
    elif exclude is not None:
        unknown = [p for p in exclude if p not in adata.obs_names]
        if unknown:
            raise ValueError(f"exclude names patients not in adata: {preview(unknown)}")
        keep = ~adata.obs_names.isin(list(exclude))
    if keep.sum() < 10:
        raise ValueError(f"pretrain needs at least 10 patients after exclusion, has {int(keep.sum())}")
    x = adata.X[keep]
    x = np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float32)
    train_idx, val_idx = train_test_split(np.arange(len(x)), test_size=holdout, random_state=child_seed(seed, 1))
    mean = x[train_idx].mean(0)
    scale = x[train_idx].std(0)
    scale[scale == 0] = 1.0
    xs = (x - mean) / scale
    device = settings.torch_device(device)
    ae, history, best_epoch = fit_autoencoder(
        xs[train_idx], x_val=xs[val_idx], hidden=tuple(hidden), activation=activation, output=output, loss=loss,
        epochs=epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate, patience=patience,
        seed=child_seed(seed, 2), device=device,
    )
    r2 = reconstruction_r2(ae, xs[val_idx], device=device)
    ae.scaler_mean, ae.scaler_scale, ae.genes = mean, scale, [str(g) for g in adata.var_names]
    ae = ae.cpu()
    register(ae, adata)
    write_record(adata, key_added, tool="pretrain", record={
        "params": {"kind": "autoencoder", "hidden": list(hidden), "activation": activation, "output": output, "loss": loss, "epochs": epochs,
                   "batch_size": batch_size, "optimizer": optimizer, "patience": patience, "holdout": holdout,
                   "seed": seed, "device": str(device), "precision": "fp32",
                   **({"patients_used": str(patients_used)} if patients_used else {}),
                   "radiogx_version": __version__},
        "r2_holdout": float(r2), "best_epoch": int(best_epoch), "history": np.asarray(history, dtype=float),
        "patients": np.asarray(adata.obs_names[keep], dtype=object),
        "added": log_added("pretrain", uns=key_added),
        "model_id": ae.model_id,
        "path": "" if save_to is None else str(ae.save(save_to, overwrite=True).resolve()),
    })
    logger.info(f"pretrain: {int(keep.sum())} patients, reconstruction R^2 on held-out patients {r2:.3f} (epoch {best_epoch})")
    return ae

