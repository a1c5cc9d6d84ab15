"""Tidy tables of the predictions of a trained model in a cohort (:func:`radiogx.tl.predict`)."""

from __future__ import annotations

import pandas as pd
from anndata import AnnData

from ._model_tables import _traits
from ._records import find_record, is_regression

__all__ = ["predictions_df", "prediction_summary_df", "reliability_df"]


def predictions_df(adata: AnnData, *, key: str | None = None, trait: str | None = None) -> pd.DataFrame:
    """Per patient, the predicted class and probabilities of :func:`radiogx.tl.predict`.

    ``key``: the record's ``adata.uns`` key (``None``: ``"predict"``, else the only prediction record).

    Returns
    -------
    DataFrame with ``trait``, ``patient``, ``predicted`` (a continuous trait: the value), one probability column per
    class (named by the class),
    ``ood`` (root mean square of the scaled input over the genes the network uses), ``outside`` (``ood`` above the
    threshold), ``fold_sd`` (disagreement of the fold networks), ``confidence`` (the probability of the predicted
    class) and ``abstain`` (``confidence`` below the call's ``abstain_below``; older records lack both).
    """
    key = find_record(adata, "prediction", key)
    store = adata.uns[key]
    frames = []
    for t in _traits(store, trait, "prediction", "rg.tl.predict"):
        rec = store[t]
        df = rec["results"].copy()
        classes = [str(c) for c in rec["classes"]]
        df = df.rename(columns={f"p_{i}": c for i, c in enumerate(classes)})
        if classes:  # a continuous trait's prediction is its value
            df["predicted"] = pd.Categorical(df["predicted"].astype(str), categories=classes)
        df.insert(0, "trait", t)
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def prediction_summary_df(adata: AnnData, *, key: str | None = None) -> pd.DataFrame:
    """Per predicted trait: coverage, scaling, out-of-distribution count and, where known classes were given, the
    balanced accuracy and ROC-AUC against them (:func:`radiogx.tl.predict`).

    Returns
    -------
    DataFrame with ``trait``, ``n_patients``, ``scale``, ``missing_genes``, ``n_model_genes``, ``n_present``,
    ``coverage``, ``cohort_shift``, ``n_outside``, ``n_abstained`` (-1 in older records), and ``truth``,
    ``n_compared``, ``classes_compared``,
    ``balanced_accuracy`` (over the compared classes: each patient's most probable of them),
    ``balanced_accuracy_all_classes`` (the plain call, over all the model's classes), ``n_reassigned`` (patients whose
    plain call is a class the truth lacks; -1 in records of radiogx < 0.8), ``roc_auc``, ``ece`` (the expected
    calibration error of the compared classes' probabilities; :func:`reliability_df` has its curve) (empty without
    known classes), and for a continuous trait with known values
    ``r2``, ``spearman``, ``rmse``.
    """
    key = find_record(adata, "prediction", key)
    rows = []
    for t, rec in adata.uns[key].items():
        p, ev = rec["params"], rec.get("evaluation", {})
        rows.append({"trait": t, "n_patients": len(rec["results"]), "scale": p["scale"],
                     "missing_genes": p["missing_genes"], "n_model_genes": p["n_model_genes"],
                     "n_present": p["n_present"], "coverage": p["coverage"], "cohort_shift": p["cohort_shift"],
                     "n_outside": p["n_outside"], "n_abstained": p.get("n_abstained", -1),
                     "truth": p.get("truth", ""), "n_compared": ev.get("n", 0),
                     "classes_compared": ";".join(map(str, ev.get("classes", []))),
                     "balanced_accuracy": ev.get("balanced_accuracy", float("nan")),
                     "balanced_accuracy_all_classes": ev.get("balanced_accuracy_all_classes", float("nan")),
                     "n_reassigned": ev.get("n_reassigned", -1),
                     "roc_auc": ev.get("roc_auc", float("nan")), "ece": ev.get("ece", float("nan")),
                     **({k: ev.get(k, float("nan")) for k in ("r2", "spearman", "rmse")}
                        if is_regression(rec) else {})})
    return pd.DataFrame(rows)


def reliability_df(adata: AnnData, *, key: str | None = None) -> pd.DataFrame:
    """Per predicted trait with known classes, the reliability curve of :func:`radiogx.tl.predict`'s probabilities:
    patients binned by the probability of their predicted class (among the compared classes; ten equal-width bins).

    Returns
    -------
    DataFrame with ``trait``, ``lower``, ``upper``, ``n``, ``confidence`` (the bin's mean predicted probability) and
    ``accuracy`` (its share of correct calls); probabilities that mean what they say lie on the diagonal. Empty when no
    prediction was scored against known classes (or for older records).
    """
    out = record_part(adata, find_record(adata, "prediction", key), "reliability")
    if out is None:
        return pd.DataFrame(columns=["trait", "lower", "upper", "n", "confidence", "accuracy"])
    return out[["trait", *[c for c in out.columns if c != "trait"]]]


def record_part(adata: AnnData, key: str, part: str) -> pd.DataFrame | None:
    """The table ``part`` of each trait's prediction record in ``adata.uns[key]`` (``confusion``, ``reliability``,
    ``retention``, ``gene_dropout``), stacked with a ``trait`` column; ``None`` when no trait has it."""
    frames = [rec[part].assign(trait=t) for t, rec in adata.uns[key].items() if part in rec]
    return pd.concat(frames, ignore_index=True) if frames else None
