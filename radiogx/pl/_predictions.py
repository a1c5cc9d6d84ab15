"""What a model predicted in a new cohort: classes, confidence, distance from the training data, known classes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from anndata import AnnData
from matplotlib.figure import Figure

from ..get import predictions_df
from ..get import is_regression, record
from ._utils import finish

__all__ = ["predictions"]


def predictions(adata: AnnData, trait: str | None = None, *, key: str | None = None, show: bool | None = None,
                return_fig: bool = False) -> np.ndarray | Figure | None:
    """Panels of one trait's predictions (:func:`radiogx.tl.predict`): patients per predicted class; the probability
    of the predicted class; the out-of-distribution distance ``ood`` with its threshold; and, where known classes were
    given, the confusion matrix with the balanced accuracy and the reliability curve of the probabilities with their
    expected calibration error (:func:`radiogx.get.reliability_df`), and the accuracy among the most confident
    patients against the share kept. A continuous trait: the distribution of the predicted
    values, the distance, and with known values the predicted against the known ones with their R^2. Does not modify
    ``adata``.

    Returns
    -------
    The axes (3, or 6 with known classes; 2, or 3, for a continuous trait), or the figure with ``return_fig=True``;
    ``None`` when shown.
    """
    store = record(adata, "prediction", key)
    key = store.key
    if trait is None:
        if len(store.traits) != 1:
            raise ValueError(f"adata.uns[{key!r}] holds predictions of {store.traits}; pass trait=")
        trait = store.traits[0]
    df = predictions_df(adata, key=key, trait=trait)
    rec = store.trait(trait)
    if is_regression(rec):
        return _values(adata, df, rec, trait, show=show, return_fig=return_fig)
    classes = [str(c) for c in rec["classes"]]
    evaluated = "confusion" in rec
    n_panels = 3 + (sum(part in rec for part in ("confusion", "reliability", "retention")) if evaluated else 0)
    fig, axes = plt.subplots(1, n_panels, figsize=(4.2 * n_panels, 3.6), layout="constrained")
    colors = plt.get_cmap("tab10")(np.arange(len(classes)) % 10)
    counts = df["predicted"].value_counts().reindex(classes, fill_value=0)
    axes[0].bar(range(len(classes)), counts.to_numpy(), color=colors)
    axes[0].set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    axes[0].set(ylabel="patients", title=f"{trait}: predicted class ({len(df)} patients)")
    top = df[classes].to_numpy().max(axis=1)
    bins = np.linspace(1 / len(classes), 1, 16)
    for c, color in zip(classes, colors):
        chosen = (df["predicted"] == c).to_numpy()
        if chosen.any():
            axes[1].hist(top[chosen], bins=bins, color=color, alpha=0.75, label=c)
    axes[1].set(xlabel="probability of the predicted class", ylabel="patients", title="confidence")
    axes[1].legend(fontsize=7)
    params = rec["params"]
    _distance(axes[2], df, params)
    if evaluated:
        conf = rec["confusion"].set_index("known")
        m = conf.to_numpy(dtype=float)
        axes[3].imshow(m, cmap="Blues")
        for (i, j), v in np.ndenumerate(m):
            axes[3].text(j, i, int(v), ha="center", va="center", color="white" if v > m.max() / 2 else "black")
        axes[3].set_xticks(range(m.shape[1]), list(conf.columns), rotation=30, ha="right")
        axes[3].set_yticks(range(m.shape[0]), list(conf.index))
        ev = rec["evaluation"]
        axes[3].set(xlabel="predicted (most probable of these)", ylabel=f"known ({params['truth']})",
                    title=f"balanced accuracy {float(ev['balanced_accuracy']):.2f}, AUC {float(ev['roc_auc']):.2f}")
        if "reliability" in rec:
            _reliability(axes[4], rec["reliability"], float(ev.get("ece", np.nan)))
        if "retention" in rec:
            _retention(axes[5], rec["retention"], float(params.get("abstain_below", np.nan)))
    return finish(fig, axes, show=show, return_fig=return_fig)


def _reliability(ax, table, ece: float) -> None:
    """The reliability curve: per bin of predicted probability, the share of correct calls (marker area: patients)."""
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1, label="perfectly calibrated")
    ax.plot(table["confidence"], table["accuracy"], color="black", lw=1)
    ax.scatter(table["confidence"], table["accuracy"], s=12 + 6 * table["n"].to_numpy(dtype=float), color="tab:blue",
               zorder=3, label="bins (area: patients)")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="probability of the predicted class", ylabel="share correct",
           title=f"calibration: ECE {ece:.3f}")
    ax.legend(fontsize=7, loc="upper left")


def _retention(ax, table, abstain_below: float) -> None:
    """Accuracy among the most confident patients against the share of patients kept."""
    ax.plot(table["share_retained"], table["balanced_accuracy"], marker="o", color="black", label="balanced accuracy")
    ax.plot(table["share_retained"], table["accuracy"], marker="s", ls="--", color="tab:blue", label="accuracy")
    ax.invert_xaxis()
    ax.set(xlabel="share of patients kept (most confident first)", ylabel="among those kept",
           title=f"least confident set aside (abstain < {abstain_below:g})")
    ax.legend(fontsize=7)


def _distance(ax, df, params) -> None:
    """The out-of-distribution distance of each patient, with its threshold."""
    ax.hist(df["ood"].to_numpy(), bins=20, color="grey")
    ax.axvline(float(params["ood_threshold"]), color="crimson", ls="--", lw=1.2,
               label=f"threshold {float(params['ood_threshold']):g}")
    ax.set(xlabel="RMS of the scaled input (training mean square: 1)", ylabel="patients",
           title=f"distance from the training data ({params['scale']} scaling)")
    ax.legend(fontsize=7, title=f"{int(params['n_outside'])} outside; coverage {float(params['coverage']):.0%}",
              title_fontsize=7)


def _values(adata: AnnData, df, rec, trait: str, *, show, return_fig):
    """The panels of a continuous trait's predictions."""
    params = rec["params"]
    evaluated = "evaluation" in rec
    fig, axes = plt.subplots(1, 3 if evaluated else 2, figsize=(4.2 * (3 if evaluated else 2), 3.6),
                             layout="constrained")
    scale = "" if params.get("transform", "none") == "none" else f" ({params['transform']})"
    axes[0].hist(df["predicted"].to_numpy(dtype=float), bins=20, color="tab:blue")
    axes[0].set(xlabel=f"predicted {trait}{scale}", ylabel="patients", title=f"{trait}: predictions ({len(df)} patients)")
    _distance(axes[1], df, params)
    if evaluated:
        from .._traits import continuous_values

        mask, known = continuous_values(adata, str(params["truth"]), transform=str(params.get("transform", "none")),
                                        func="pl.predictions")
        predicted = df.set_index("patient")["predicted"].reindex(adata.obs_names[mask].astype(str)).to_numpy(dtype=float)
        axes[2].scatter(known, predicted, s=14, color="black")
        lo, hi = float(np.min(known)), float(np.max(known))
        axes[2].plot([lo, hi], [lo, hi], ls=":", color="grey", lw=1)
        ev = rec["evaluation"]
        axes[2].set(xlabel=f"known ({params['truth']}){scale}", ylabel="predicted",
                    title=f"R$^2$ {float(ev['r2']):.2f}, Spearman {float(ev['spearman']):.2f} ({int(ev['n'])} patients)")
    return finish(fig, axes, show=show, return_fig=return_fig)
