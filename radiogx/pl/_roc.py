"""Out-of-fold ROC curves of the network and the baselines."""

from __future__ import annotations

import numpy as np
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from ..get import is_regression, trait_entry
from ._utils import finish, new_axes

__all__ = ["roc"]


def _curves(y: np.ndarray, scores: np.ndarray, classes: list[str]):
    """Binary: the positive class's curve. Multiclass: the macro average of the one-vs-rest curves (their TPRs
    averaged on a common FPR grid) with the macro AUC, since decision values of different classes (an SVM's, say)
    are not comparable and must not be pooled."""
    if len(classes) == 2:
        return roc_curve(y, scores.ravel())[:2], roc_auc_score(y, scores.ravel())
    grid = np.linspace(0, 1, 201)
    tprs, aucs = [], []
    for k in np.unique(y):
        fpr, tpr, _ = roc_curve(y == k, scores[:, k])
        tprs.append(np.interp(grid, fpr, tpr))
        aucs.append(roc_auc_score(y == k, scores[:, k]))
    return (grid, np.mean(tprs, axis=0)), float(np.mean(aucs))


def roc(adata: AnnData, trait: str, *, key: str | None = None, compare_key: str | None = None, ax: Axes | None = None,
        show: bool | None = None, return_fig: bool = False) -> Axes | Figure | np.ndarray | None:
    """Out-of-fold ROC curve of each model for ``trait`` (macro average of the one-vs-rest curves for multiclass).

    Every patient is scored by the model of the fold that held it out (:func:`radiogx.tl.train`,
    :func:`radiogx.tl.compare`), and the curve pools all patients; its AUC can be lower than the mean of the per-fold
    AUCs (``rg.get.compare_df``) when the fold models' scores are on different scales (an SVM's decision values,
    say). Does not modify ``adata``.

    Returns
    -------
    The axes (or the figure with ``return_fig=True``; ``None`` when shown).
    """
    record = trait_entry(adata, "model", key, trait)
    comp = trait_entry(adata, "compare", compare_key, trait)
    if record is None and comp is None:
        raise ValueError(f"no out-of-fold predictions for {trait!r}: run rg.tl.train(adata, {trait!r}) first")
    if any(r is not None and is_regression(r) for r in (record, comp)):
        raise ValueError(f"trait {trait!r} is continuous: draw its out-of-fold predictions with "
                         f"rg.pl.predicted_vs_observed(adata, {trait!r})")
    fig, ax = new_axes(ax)
    if record is not None:
        oof = record["oof"]
        classes = list(record["classes"])
        y = oof["label"].cat.codes.to_numpy()
        probs = oof[[f"p_{i}" for i in range(len(classes))]].to_numpy()
        scores = probs[:, 1:] if len(classes) == 2 else probs
        (fpr, tpr), auc = _curves(y, scores, classes)
        ax.plot(fpr, tpr, lw=2.2, color="black", label=f"network ({auc:.3f})")
    if comp is not None:
        classes = list(comp["classes"])
        oofc = comp["oof"]
        labels = adata.obs.loc[oofc.index, trait].astype(str).map({c: i for i, c in enumerate(classes)}).to_numpy()
        for m in comp["params"]["models"]:
            cols = [m] if len(classes) == 2 else [f"{m}_{j}" for j in range(len(classes))]
            (fpr, tpr), auc = _curves(labels, oofc[cols].to_numpy(), classes)
            ax.plot(fpr, tpr, lw=1.2, label=f"{m} ({auc:.3f})")
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.01),
           title=f"{trait}: out-of-fold ROC" + (" (macro one-vs-rest)" if len(classes) > 2 else ""))
    ax.legend(title="model (pooled out-of-fold AUC)", fontsize=8, title_fontsize=8, loc="lower right")
    return finish(fig, ax, show=show, return_fig=return_fig)
