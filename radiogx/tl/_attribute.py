"""Per-patient attributions of one trained model (the engine of :func:`radiogx.tl.saliency` and
:func:`radiogx.tl.stability`): each patient explained by the network of its scheme, in that network's scaled units."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import torch
from anndata import AnnData
from tqdm.auto import tqdm

from .._registry import AttributionMethod, resolve
from .._settings import settings
from ..nn import RadiogenomicModel
from ._models import fold_networks

__all__ = ["patient_attributions", "model_targets", "target_label"]


def model_targets(m: RadiogenomicModel, target=None) -> list[tuple[int, str | None]]:
    """The outputs of ``m`` to attribute: ``(output index, class name)``; one ``(0, None)`` for a binary or continuous
    model's single output; every class of a multiclass model, or the classes named in ``target``."""
    if m.is_regression or m.n_classes == 2:
        return [(0, None)]
    wanted = m.classes if target is None else ([target] if isinstance(target, str) else list(target))
    unknown = [t for t in wanted if t not in m.classes]
    if unknown:
        raise ValueError(f"target {unknown} is not a class of the {m.trait!r} model; classes: {m.classes}")
    return [(m.classes.index(t), t) for t in wanted]


def target_label(name: str | None, trait: str, classes: list[str], regression: bool) -> str:
    """What an attributed output is called in records and tables: its class, else (one output) the positive class of
    a binary trait or the name of a continuous trait."""
    return name or (trait if regression else classes[-1])


def patient_attributions(m: RadiogenomicModel, adata: AnnData, spec: AttributionMethod, folds: np.ndarray,
                         targets: list[tuple[int, str | None]], *, device, baselines=None, n_steps: int = 50,
                         batch_size: int | None = None,
                         network: Callable[[torch.nn.Module], torch.nn.Module] | None = None) -> list[np.ndarray]:
    """Signed attributions (patients of ``adata`` x ``m.genes``, float32), one array per target.

    ``folds``: per patient, the outer fold whose network explains it (``-1``: the final model; see
    :func:`radiogx.tl._models.held_out_folds`). ``network``: applied to each network before it is explained (the
    sanity checks re-initialise weights with it)."""
    parts = []  # (rows of adata, the explainer of the network that explains them, their scaled input)
    for rows, net, x in fold_networks(m, adata, folds, device):
        if network is not None:
            net = network(net)
        for p in net.parameters():
            p.requires_grad_(False)
        parts.append((rows, resolve(spec.explainer)(net), x))
    bs = batch_size or max(1, int(2e8 // (4 * len(m.genes) * (n_steps if "n_steps" in spec.args else 1))))
    out = []
    for out_index, name in targets:
        attr = np.empty((adata.n_obs, len(m.genes)), dtype=np.float32)
        bar = tqdm(total=adata.n_obs, desc=f"{spec.name} {m.trait}{'' if name is None else ' ' + name}",
                   disable=not settings.show_progress)
        for rows, explainer, x in parts:
            for i in range(0, len(x), bs):
                xb = x[i:i + bs].clone().requires_grad_(True)
                kwargs = {"target": out_index, **{k: v for k, v in spec.args.items() if v is not None}}
                if "baselines" in spec.args:
                    kwargs["baselines"] = _baselines(baselines, xb)
                if "n_steps" in spec.args:
                    kwargs["n_steps"] = n_steps
                with warnings.catch_warnings():  # captum's notice that DeepLift hooks the activations for the call
                    warnings.filterwarnings("ignore", message="Setting forward, backward hooks", category=UserWarning)
                    attr[rows[i:i + bs]] = explainer.attribute(xb, **kwargs).detach().cpu().numpy()
                bar.update(len(xb))
        bar.close()
        out.append(attr)
    return out


def _baselines(baselines, xb: torch.Tensor):
    if baselines is None:
        return torch.zeros_like(xb)
    if np.isscalar(baselines):
        return torch.full_like(xb, float(baselines))
    arr = np.asarray(baselines, dtype=np.float32)
    if arr.shape != (xb.shape[1],):
        raise ValueError(f"baselines must be a scalar or one value per model gene ({xb.shape[1]}), got shape {arr.shape}")
    return torch.from_numpy(arr).to(xb.device).expand_as(xb)
