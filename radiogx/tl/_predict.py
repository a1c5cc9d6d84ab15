"""Apply a trained radiogenomic model to a new cohort: gene matching, scaling across platforms, coverage and an
out-of-distribution signal per patient (Smedley, El-Saden & Hsu 2020 train on TCGA; labs apply to their own cohorts)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .._docs import doc_params
from .. import __version__
from .._logging import log_added, logger
from .._inputs import infer_missing, transform_inputs
from .._settings import settings
from .._validation import check_adata, preview
from ..nn import RadiogenomicModel
from ..nn.engine import register
from ._gene_sets import SymbolIndex, report_case_matches
from ._record import write_record
from ._saliency import attribution_key
from ._models import models_to_explain

__all__ = ["predict", "prediction_columns", "reliability_table"]


def prediction_columns(key_added: str, trait: str, classes: list[str]) -> dict[str, object]:
    """The ``.obs`` columns :func:`predict` writes for one trait: ``"class"``, ``"ood"``, ``"fold_sd"``, ``"abstain"``
    and, per class,
    its probability (named as :func:`radiogx.tl.saliency` names its layers: ``/`` becomes ``-``)."""
    base = attribution_key(key_added, trait, None)
    return {"class": base, "ood": f"{base}_ood", "fold_sd": f"{base}_fold_sd", "abstain": f"{base}_abstain",
            "proba": {c: attribution_key(key_added, trait, f"p_{c}") for c in classes}}


def _match_genes(model: RadiogenomicModel, var_names: pd.Index) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Position in ``var_names`` of each model gene (-1: absent), by the rule of :class:`SymbolIndex`; a data gene
    that another model gene matches exactly is not taken again by case."""
    index = SymbolIndex(var_names)
    found = [index.find(g) for g in model.genes]
    position = np.array([i for i, _ in found], dtype=np.int64)
    by_case = np.array([c for _, c in found], dtype=bool)
    taken = set(position[(position >= 0) & ~by_case].tolist())
    case_only = []
    for j in np.flatnonzero(by_case):
        if position[j] in taken:
            position[j] = -1
        else:
            taken.add(int(position[j]))
            case_only.append((model.genes[j], str(var_names[position[j]])))
    return position, case_only
def _input(x: np.ndarray, present: np.ndarray, mean: np.ndarray, scale: np.ndarray, how: str,
           reference: np.ndarray | None = None, structure: dict | None = None) -> np.ndarray:
    """Model-order input: present genes scaled (training: the model's scaler; cohort: z-scored within the cohort;
    reference: z-scored with a reference cohort's values ``reference``, present genes only), absent genes at the
    training mean (0), or with ``structure`` inferred from the present ones (:func:`radiogx._inputs.infer_missing`)."""
    z = np.zeros((x.shape[0], len(present)), dtype=np.float64)
    if how == "training":
        z[:, present] = (x - mean[present]) / scale[present]
    else:
        base = x if how == "cohort" else reference
        sd = base.std(axis=0)
        z[:, present] = np.where(sd > 0, (x - base.mean(axis=0)) / np.where(sd > 0, sd, 1.0), 0.0)
    if structure is not None and not present.all():
        z[:, ~present] = infer_missing(z[:, present], present, structure)
    return z.astype(np.float32)


#: ``scale="cohort"`` standardises each gene within the cohort: below this many patients it is refused (a cohort of
#: one is all zeros, whoever the patient; a handful is centred on its own class mix) ...
MIN_COHORT_SCALING = 10
#: ... and below this many it warns (CMScaller's rule of thumb for cohort centring: more than 40 samples of a
#: balanced, heterogeneous cohort).
WARN_COHORT_SCALING = 40
#: A patient's call is set aside (``abstain``) when the probability of its predicted class is below this.
ABSTAIN_BELOW = 0.6
#: Total variation distance between the predicted and the training class mix above which predict warns.
CLASS_MIX_WARNING = 0.3


def _class_mix(m: RadiogenomicModel, predicted: pd.Categorical) -> float:
    """Total variation distance between the predicted class mix and the training cohort's (NaN when the model file
    does not record its class counts)."""
    counts = dict(m.training.get("class_counts", {}) or {})
    if not counts or not len(predicted):
        return float("nan")
    train = np.array([float(counts.get(c, 0)) for c in m.classes])
    if train.sum() <= 0:
        return float("nan")
    new = pd.Series(np.asarray(predicted, dtype=object)).value_counts().reindex(m.classes, fill_value=0).to_numpy(float)
    return float(0.5 * np.abs(new / new.sum() - train / train.sum()).sum())


def _load(model) -> RadiogenomicModel:
    if isinstance(model, str | os.PathLike):
        return RadiogenomicModel.load(Path(model))
    if not isinstance(model, RadiogenomicModel):
        raise TypeError(f"model must be a RadiogenomicModel or the path of a saved one, got {type(model).__name__}")
    return model


@doc_params
def predict(
    adata: AnnData,
    *,
    model: RadiogenomicModel | str | os.PathLike | None = None,
    trait: str | None = None,
    missing_genes: Literal["error", "impute", "infer"] = "error",
    scale: Literal["training", "cohort", "reference"] = "training",
    reference: AnnData | None = None,
    min_coverage: float = 0.8,
    ood_threshold: float = 2.0,
    abstain_below: float = ABSTAIN_BELOW,
    truth: str | None = None,
    key: str | None = None,
    device: str | None = None,
    key_added: str = "predict",
    copy: bool = False,
) -> AnnData | None:
    """Predict a trait in a new cohort with a trained model (e.g. trained on TCGA, applied to a GEO series).

    Genes are matched by symbol (exact, then ignoring case, with a warning; aliases are not resolved: rename them
    first). ``missing_genes="impute"`` sets a model gene the cohort lacks to the training mean (0 in scaled units),
    which is what masking does with the genes outside a set. The **coverage** is the share of the network's first-layer
    weight (L1, per gene; :meth:`~radiogx.nn.RadiogenomicModel.input_weight`) that falls on genes the cohort measures;
    below ``min_coverage`` prediction is refused, as a prediction from a small part of the network's input says little.

    ``scale="training"`` scales each gene with the training cohort's mean and standard deviation: right when the
    cohort was measured and normalised as the training cohort was. Across platforms (TCGA's unified expression against
    a GEO U133 series) the scales differ, and ``scale="cohort"`` standardises each gene within the new cohort, the
    usual remedy. Its assumption: the cohort's class mix is comparable to the training cohort's, since a cohort of
    one class would be centred on that class. It is refused below ``MIN_COHORT_SCALING`` (10) patients and warns
    below ``WARN_COHORT_SCALING`` (40); a warning also says when the predicted class mix departs from the training
    mix (total variation distance above 0.3, stored as ``class_mix_distance``). A model trained with
    ``input_transform="rank_normal"`` first replaces each patient's values by the normal scores of their ranks
    among the model genes that patient has; with ``scale="training"`` each patient's prediction then depends on that
    patient alone (a cohort of one gives the call it gets inside any cohort). ``scale="reference"`` standardises each
    gene with a ``reference`` cohort of the same platform instead of the cohort itself: each patient is predicted
    alone, on that platform's scales. For another platform, a model trained with ``preset="travel"`` (rank_normal)
    and ``scale="reference"`` transferred best and most steadily over training seeds (``benchmarks/travel.py``).
    Every patient is also scored by each
    fold network (each with its own scaler under ``"training"``); their disagreement is stored.

    Out-of-distribution signal, per patient: ``ood``, the root mean square over the genes the network uses of the
    patient's values **scaled with the training scaler**, whatever ``scale`` (a cohort-scaled input is centred on the
    cohort by construction, so it could not show a cohort far from the training data). In the training cohort its
    mean square averages 1, so ``ood > ood_threshold`` (default 2, a mean square 4 times the training average) flags a
    patient outside the training range. The shift of the whole cohort is stored as ``cohort_shift``: the median over
    genes of ``|cohort mean - training mean| / training sd``. ``fold_sd``: the standard deviation over the fold networks of the predicted probability, averaged
    over classes; high where the fold models disagree.

    Parameters
    ----------
    adata
        The new cohort, patients x genes (any gene order; extra genes are ignored).
    model
        A :class:`~radiogx.nn.RadiogenomicModel`, the path of a saved one, or ``None``: the models
        :func:`radiogx.tl.train` recorded in ``adata.uns[key]`` (for ``trait`` or every trained trait).
    trait
        With ``model=None``: which trained trait.
    missing_genes
        ``"error"``: refuse a cohort without every model gene; ``"impute"``: use the training mean for them;
        ``"infer"``: their expected values given the patient's measured genes, under a probabilistic PCA of the
        training cohort (50 components, kept in the model file; Tipping & Bishop 1999), which co-expressed genes make
        informative. Coverage is checked the same way for both.
    scale
        ``"training"``, ``"cohort"`` or ``"reference"`` (see above).
    reference
        With ``scale="reference"``: a cohort measured on the new cohort's platform (a public series of the same array,
        say), whose per-gene mean and sd standardise each patient in place of the cohort's own. Each patient is then
        predicted alone, and the class mix of the cohort being predicted does not move its calls; the reference's own
        mix does, so take one as varied as the training cohort. Genes the reference lacks count as missing.
    min_coverage
        Smallest share of the first-layer weight on measured genes, in (0, 1].
    ood_threshold
        ``ood`` above which a patient is flagged as outside the training range.
    abstain_below
        A patient whose predicted class has a probability below this is marked ``abstain`` (classes only): a call to
        set aside or confirm otherwise. With known classes, the record's ``retention`` table gives the accuracy
        among the most confident patients for each share retained.
    truth
        An ``.obs`` column of known classes to score the predictions against (default: the model's trait, when
        ``adata.obs`` has it). Only the model's classes that occur in it are compared: the prediction is the most
        probable of them (e.g. Verhaak's four subtypes scored against a three-class call); the plain call's balanced
        accuracy over all the model's classes and the number of patients the restriction reassigned are reported
        beside it.
    {device}
    key
        Where :func:`radiogx.tl.train` recorded the models (with ``model=None``); ``None``:
        ``"radiogx"``, else the only model record (the rule of :func:`radiogx.get.record`).
    key_added
        The record's key and the prefix of the ``.obs`` columns.
    {copy}

    Returns
    -------
    ``None``, or the modified copy with ``copy=True``. Writes, per trait (names from :func:`prediction_columns`):
    ``adata.obs[f"{key_added}_{trait}"]``, the predicted class (a continuous trait: the predicted value, on the
    model's transformed scale); ``..._p_<class>``, the probabilities; ``..._ood`` and
    ``..._fold_sd``, ``..._abstain``; and ``adata.uns[key_added][trait]`` (a ``"prediction"`` record): ``params`` (model id and path,
    the options, ``n_model_genes``, ``n_present``, ``n_case_matched``, ``coverage``, ``cohort_shift``,
    ``n_outside``, ``ood_reference``, ``class_mix_distance``), ``imputed_genes``, ``results`` (per patient:
    ``patient``, ``predicted``, ``p_<i>`` per class ``i`` of ``classes``, ``ood``, ``outside``, ``fold_sd``,
    ``confidence``, the probability of the predicted class, and ``abstain``) and, with
    known classes, ``evaluation`` (``n``, ``balanced_accuracy`` (restricted to the compared classes),
    ``balanced_accuracy_all_classes``, ``n_reassigned``, ``roc_auc``, ``ece``, the compared classes; a continuous
    trait: ``n``, ``r2``, ``spearman``, ``rmse``), ``confusion``, ``reliability`` (:func:`reliability_table`),
    ``retention`` (accuracy among the most confident patients per share retained) and ``gene_dropout`` (balanced
    accuracy with 10-50% of the model's genes removed at random, 10 draws per share, treated as missing genes are).
    Read it with :func:`radiogx.get.predictions_df`, :func:`radiogx.get.prediction_summary_df` and
    :func:`radiogx.get.reliability_df`.

    Examples
    --------
    >>> import radiogx as rg
    >>> full = rg.datasets.synthetic(n_obs=160, n_vars=60, n_traits=1, module_size=10, n_decoys=3, seed=0)
    >>> train, new = full[:120].copy(), full[120:, 5:].copy()  # a new cohort that lacks 5 of the genes
    >>> model = rg.tl.train(train, "trait_0", hidden=(8,), epochs=5, cv=3, inner_splits=1, select_genes="all")
    >>> rg.tl.predict(new, model=model, missing_genes="impute", scale="cohort")
    >>> rg.get.predictions_df(new).columns.tolist()[:3]
    ['trait', 'patient', 'predicted']
    """
    adata = adata.copy() if copy else adata
    check_adata(adata, what="the cohort")
    if missing_genes not in ("error", "impute", "infer"):
        raise ValueError(f"missing_genes must be 'error', 'impute' or 'infer', got {missing_genes!r}")
    if scale not in ("training", "cohort", "reference"):
        raise ValueError(f"scale must be 'training', 'cohort' or 'reference', got {scale!r}")
    if (scale == "reference") != (reference is not None):
        raise ValueError("scale='reference' standardises each gene with a reference cohort of the same platform: pass "
                         "it as reference= (an AnnData), and pass reference= only with scale='reference'")
    if reference is not None:
        check_adata(reference, what="the reference cohort")
        if reference.n_obs < MIN_COHORT_SCALING:
            raise ValueError(f"predict: the reference cohort has {reference.n_obs} patients; a gene's mean and sd "
                             f"need at least {MIN_COHORT_SCALING}")
    if not 0 < min_coverage <= 1:
        raise ValueError(f"min_coverage must be in (0, 1], got {min_coverage!r}")
    if not ood_threshold > 0:
        raise ValueError(f"ood_threshold must be positive, got {ood_threshold!r}")
    if not 0 <= abstain_below <= 1:
        raise ValueError(f"abstain_below must be in [0, 1], got {abstain_below!r}")
    if truth is not None and truth not in adata.obs.columns:
        raise ValueError(f"truth={truth!r} is not an .obs column of the cohort; columns: {list(adata.obs.columns)[:10]}")
    models = [_load(model)] if model is not None else models_to_explain(adata, None, trait, key)
    if model is not None and trait is not None and models[0].trait != trait:
        raise ValueError(f"the model predicts {models[0].trait!r}, not trait={trait!r}")
    device = str(settings.torch_device(device))
    outputs = [_predict_one(adata, m, missing_genes, scale, min_coverage, ood_threshold, abstain_below, truth,
                            key_added, device, reference)
               for m in models]  # every model checked before anything is written
    for m, (obs_columns, record) in zip(models, outputs):
        for name, values in obs_columns.items():
            adata.obs[name] = values
        record["added"] = log_added("predict", obs=list(obs_columns), uns=key_added)
        write_record(adata, key_added, record, tool="predict", trait=m.trait)
        register(m, adata)
    return adata if copy else None


def _predict_one(adata: AnnData, m: RadiogenomicModel, missing_genes: str, scale: str, min_coverage: float,
                 ood_threshold: float, abstain_below: float, truth: str | None, key_added: str,
                 device: str, reference: AnnData | None = None) -> tuple[dict, dict]:
    position, case_only = _match_genes(m, adata.var_names)
    present = position >= 0
    ref_position = None
    if reference is not None:  # a gene is used where both the cohort and the reference measure it
        ref_position = _match_genes(m, reference.var_names)[0]
        present &= ref_position >= 0
        position = np.where(present, position, -1)
    weight = m.input_weight()
    used = weight > 0
    coverage = float(weight[present].sum() / weight.sum()) if weight.sum() > 0 else float(present.mean())
    absent = m.genes[~present]
    report_case_matches("predict", case_only, "model genes")
    if not present.any():
        raise ValueError(f"predict: the cohort shares no gene with the {m.trait!r} model: the model has "
                         f"{preview(list(m.genes))}, the cohort {preview(list(adata.var_names))}. Are both gene "
                         "symbols (HGNC) of the same species?")
    summary = (f"the cohort {'and its reference ' if reference is not None else ''}measure"
               f"{'' if reference is not None else 's'} {int(present.sum())} of the model's {len(m.genes)} genes, "
               f"carrying {coverage:.1%} of its first-layer weight")
    if len(absent) and missing_genes == "error":
        raise ValueError(f"predict: {summary}; missing {preview(list(absent))}. Pass missing_genes='impute' to set "
                         "them to the training mean, or 'infer' to estimate them from the measured genes (coverage is "
                         "checked against min_coverage)")
    if coverage < min_coverage:
        raise ValueError(f"predict: {summary}, below min_coverage={min_coverage:g}; missing {preview(list(absent))}, "
                         f"the cohort has {preview(list(adata.var_names))}. Lower min_coverage to predict anyway")
    fill = "inferred from the measured ones" if missing_genes == "infer" else "set to the training mean"
    logger.info(f"predict: {m.trait}: {summary}" + (f"; {len(absent)} {fill}" if len(absent) else ""))
    trained_on = {p for f in m.cv_folds for p in f["test"]}
    n_seen = int(adata.obs_names.isin(list(trained_on)).sum())
    if n_seen:
        logger.warning(f"predict: {n_seen} of {adata.n_obs} patients trained the {m.trait!r} model: their predictions "
                       "are in-sample (rg.get.oof_df holds their honest out-of-fold predictions)")
    if scale == "cohort" and adata.n_obs < MIN_COHORT_SCALING:
        raise ValueError(f"predict: scale='cohort' standardises each gene within the cohort, which needs at least "
                         f"{MIN_COHORT_SCALING} patients; this cohort has {adata.n_obs} (a single patient would be all "
                         "zeros, whoever it is). Use scale='training' for a cohort measured as the training one was")
    if scale == "cohort" and adata.n_obs < WARN_COHORT_SCALING:
        logger.warning(f"predict: scale='cohort' on {adata.n_obs} patients: cohort scaling assumes a cohort of more "
                       f"than {WARN_COHORT_SCALING} patients whose class mix resembles the training cohort's; a small "
                       "cohort is centred on its own mix, which moves every prediction")
    mean, sd = m.mean.astype(np.float64), m.scale.astype(np.float64)
    structure = _structure(m, missing_genes)

    def model_input(keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The cohort's measured values of the ``keep`` genes and the network's input built from them."""
        measured = _measured(adata, m, position, keep)
        ref = _measured(reference, m, ref_position, keep) if reference is not None else None
        return measured, _input(measured, keep, mean, sd, scale, ref, structure)

    x, z = model_input(present)
    shift = float(np.median(np.abs(x.mean(axis=0) - m.mean[present]) / m.scale[present]))
    proba = m.proba_of_scaled(z, device=device)
    if m.cv_folds:
        folds = np.stack([m.proba_of_scaled(
            z if scale != "training" else _input(x, present, np.asarray(f["mean"], np.float64),
                                               np.asarray(f["scale"], np.float64), "training", None, structure),
            fold=k, device=device)
            for k, f in enumerate(m.cv_folds)])
        fold_sd = folds.std(axis=0).mean(axis=1)  # a continuous trait: the sd of the predicted value
    else:
        fold_sd = np.full(adata.n_obs, np.nan)
    # ood against the training distribution whatever the scaling: cohort-scaled inputs are centred on the cohort by
    # construction (a cohort of one would be at distance 0, "in range")
    z_train = z if scale == "training" else _input(x, present, mean, sd, "training")
    on = used & present
    ood = np.sqrt(np.mean(z_train[:, on] ** 2, axis=1)) if on.any() else np.full(adata.n_obs, np.nan)
    outside = ood > ood_threshold
    if outside.mean() > 0.2:
        logger.warning(f"predict: {int(outside.sum())} of {adata.n_obs} patients lie outside the training range of the "
                       f"{m.trait!r} model (ood > {ood_threshold:g}; median gene shift {shift:.2f} training sd)"
                       + ("; a cohort from another platform needs scale='cohort' or scale='reference'"
                          if scale == "training" else
                          f"; scale={scale!r} removes a shift of the whole cohort, not these patients' distance from "
                          "the training data"))
    if m.is_regression:
        predicted = proba[:, 0]
    else:
        predicted = pd.Categorical(np.asarray(m.classes, dtype=object)[proba.argmax(axis=1)], categories=m.classes)
    # a class mix needs a cohort: one patient's "mix" is one class, whatever the model
    mix = float("nan") if m.is_regression or adata.n_obs < MIN_COHORT_SCALING else _class_mix(m, predicted)
    if mix > CLASS_MIX_WARNING:
        logger.warning(f"predict: the predicted class mix of {m.trait!r} departs from the training mix (total variation "
                       f"distance {mix:.2f} > {CLASS_MIX_WARNING:g})"
                       + ("; scale='cohort' assumes a mix like the training one, so these calls may be shifted"
                          if scale == "cohort" else ""))
    names = prediction_columns(key_added, m.trait, m.classes)
    obs_columns = {names["class"]: predicted}
    for i, c in enumerate(m.classes):
        obs_columns[names["proba"][c]] = proba[:, i]
    obs_columns[names["ood"]] = ood
    obs_columns[names["fold_sd"]] = fold_sd
    confidence = np.full(adata.n_obs, np.nan) if m.is_regression else proba.max(axis=1)
    abstain = confidence < abstain_below
    obs_columns[names["abstain"]] = abstain
    results = pd.DataFrame({"patient": adata.obs_names.astype(str), "predicted": predicted})
    for i in range(len(m.classes)):
        results[f"p_{i}"] = proba[:, i]
    results["ood"], results["outside"], results["fold_sd"] = ood, outside, fold_sd
    results["confidence"], results["abstain"] = confidence, abstain
    params = {"kind": "prediction", "trait": m.trait, "model_id": m.model_id, "model_path": m.path or "",
              "missing_genes": missing_genes, "scale": scale,
              "n_reference": int(reference.n_obs) if reference is not None else 0, "min_coverage": float(min_coverage),
              "ood_threshold": float(ood_threshold), "abstain_below": float(abstain_below),
              "n_abstained": int(abstain.sum()), "n_model_genes": int(len(m.genes)),
              "n_present": int(present.sum()), "n_case_matched": len(case_only), "coverage": coverage,
              "cohort_shift": shift, "n_outside": int(outside.sum()), "ood_reference": "training",
              "class_mix_distance": mix, "truth": "",
              "task": "regression" if m.is_regression else "classification",
              "transform": str(m.settings.get("transform", "none")), "input_transform": m.input_transform,
              "device": device, "precision": "fp32",
              "radiogx_version": __version__}
    record = {"params": params, "classes": list(m.classes), "results": results,
              "imputed_genes": np.asarray(list(absent), dtype=object)}
    column = truth if truth is not None else (m.trait if m.trait in adata.obs.columns else None)
    if column is not None and m.is_regression:
        evaluation = _evaluate_values(adata, column, predicted, params["transform"])
        if evaluation is not None:
            params["truth"] = column
            record["evaluation"] = evaluation
            logger.info(f"predict: {m.trait} against {column!r} ({evaluation['n']} patients): R^2 "
                        f"{evaluation['r2']:.3f}, Spearman {evaluation['spearman']:.3f}, RMSE {evaluation['rmse']:.3g}")
    elif column is not None:
        evaluation, confusion, reliability = _evaluate(adata.obs[column], proba, m.classes)
        if evaluation is not None:
            params["truth"] = column
            record["evaluation"], record["confusion"], record["reliability"] = evaluation, confusion, reliability
            record["retention"] = _retention(adata.obs[column], proba, m.classes, confidence)
            record["gene_dropout"] = _gene_dropout(
                lambda keep: m.proba_of_scaled(model_input(keep)[1], device=device), present, proba,
                adata.obs[column], m.classes)
            logger.info(f"predict: {m.trait} against {column!r} ({evaluation['n']} patients, classes "
                        f"{evaluation['classes']}): balanced accuracy {evaluation['balanced_accuracy']:.3f}, ROC-AUC "
                        f"{evaluation['roc_auc']:.3f}, expected calibration error {evaluation['ece']:.3f}")
    return obs_columns, record


def _structure(m: RadiogenomicModel, missing_genes: str) -> dict | None:
    """The model's gene structure when missing genes are inferred (refusing a model file that lacks it)."""
    if missing_genes != "infer":
        return None
    if m.gene_structure is None:
        raise ValueError(f"missing_genes='infer': the {m.trait!r} model holds no gene structure (a model file of radiogx "
                         "0.8 or older); train it again, or use missing_genes='impute' (the training mean)")
    return m.gene_structure


def _measured(adata: AnnData, m: RadiogenomicModel, position: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The cohort's values of the model genes it has (model order), through the model's within-patient transform,
    which ranks each patient among those genes alone."""
    x = adata.X[:, position[present]]
    return transform_inputs(x.toarray() if hasattr(x, "toarray") else x, m.input_transform).astype(np.float64)


#: Shares of the model's genes removed at random for the gene-dropout curve, and the draws per share.
DROPOUT_SHARES = (0.1, 0.2, 0.3, 0.5)
DROPOUT_DRAWS = 10
#: Shares of the patients kept, most confident first, for the accuracy-retained curve.
RETAINED_SHARES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)


def _gene_dropout(proba_of, present: np.ndarray, proba: np.ndarray, labels: pd.Series,
                  classes: list[str]) -> pd.DataFrame:
    """Balanced accuracy against known classes when a share of the model's genes is removed at random,
    ``DROPOUT_DRAWS`` seeded draws per share of ``DROPOUT_SHARES``; the share 0 row is the cohort as measured
    (``proba``). ``proba_of(keep)``: the probabilities with only the ``keep`` genes measured (the others treated as a
    missing gene is: the training mean, or inferred; the within-patient transform ranks the rest)."""
    rows = []
    for share in (0.0, *DROPOUT_SHARES):
        for d in range(DROPOUT_DRAWS if share else 1):
            keep = present.copy()
            if share:
                drop = np.random.default_rng([29, d, int(round(share * 1000))]).permutation(len(present))
                keep[drop[:int(round(share * len(present)))]] = False
            if not keep.any():
                continue
            evaluation = _evaluate(labels, proba_of(keep) if share else proba, classes, quiet=True)[0]
            rows.append({"share_removed": share, "draw": d, "n_genes": int(keep.sum()),
                         "balanced_accuracy": evaluation["balanced_accuracy"]})
    draws = pd.DataFrame(rows)
    return (draws.groupby("share_removed")
            .agg(n_draws=("draw", "size"), n_genes=("n_genes", "median"),
                 balanced_accuracy=("balanced_accuracy", "mean"), balanced_accuracy_sd=("balanced_accuracy", "std"),
                 balanced_accuracy_min=("balanced_accuracy", "min"))
            .reset_index())


def _retention(labels: pd.Series, proba: np.ndarray, classes: list[str], confidence: np.ndarray) -> pd.DataFrame:
    """Balanced accuracy and accuracy against known classes among the most confident patients, for each share of
    ``RETAINED_SHARES`` (patients ranked by ``confidence``, ties kept together), and the confidence at the cut."""
    rows = []
    known = labels.astype("string").to_numpy(dtype=object, na_value=None)
    order = np.argsort(-confidence, kind="stable")
    for share in RETAINED_SHARES:
        n = max(1, int(round(share * len(order))))
        cut = confidence[order[n - 1]]
        kept = confidence >= cut
        evaluation = _evaluate(pd.Series(np.where(kept, known, None)), proba, classes, quiet=True)[0]
        if evaluation is None:
            continue
        rows.append({"share_retained": share, "n": evaluation["n"], "confidence_cut": float(cut),
                     "balanced_accuracy": evaluation["balanced_accuracy"], "accuracy": evaluation["accuracy"]})
    return pd.DataFrame(rows, columns=["share_retained", "n", "confidence_cut", "balanced_accuracy", "accuracy"])


def _evaluate_values(adata: AnnData, column: str, predicted: np.ndarray, transform: str) -> dict | None:
    """R^2, Spearman's rho and the RMSE of predicted values against a known continuous trait (on the model's
    transformed scale)."""
    from .._metrics import regression_scores
    from .._traits import continuous_values

    if not pd.api.types.is_numeric_dtype(adata.obs[column]) or adata.obs[column].notna().sum() < 3:
        logger.warning(f"predict: {column!r} holds no continuous values to score the predictions against; no evaluation")
        return None
    mask, y = continuous_values(adata, column, transform=transform, func="predict")
    return {"n": int(mask.sum()), **regression_scores(y, predicted[mask])}


def _evaluate(labels: pd.Series, proba: np.ndarray, classes: list[str],
              quiet: bool = False) -> tuple[dict | None, pd.DataFrame | None, pd.DataFrame | None]:
    """Balanced accuracy and ROC-AUC (one-vs-rest macro average for more than two classes) against known classes,
    restricted to the model's classes that occur among them; the prediction is the most probable of those. Beside
    it, the plain call's balanced accuracy (the most probable of all the model's classes; a class the truth lacks is
    wrong) and how many patients the restriction reassigned; the calibration of the compared classes' probabilities
    (:func:`reliability_table`)."""
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, roc_auc_score

    known = labels.astype("string").to_numpy(dtype=object, na_value=None)
    compared = [c for c in classes if c in set(k for k in known if k is not None)]
    keep = np.array([k in compared for k in known])
    if len(compared) < 2 or keep.sum() < 2:
        if quiet:
            return None, None, None
        logger.warning(f"predict: the known classes share fewer than two classes with the model's {classes}; "
                       "no evaluation")
        return None, None, None
    cols = [classes.index(c) for c in compared]
    p = proba[keep][:, cols]
    p = p / p.sum(axis=1, keepdims=True)
    y = np.array([compared.index(k) for k in known[keep]])
    pred = p.argmax(axis=1)
    # the plain call over all the model's classes: a patient called a class the truth does not know is wrong
    plain = np.asarray(cols)[None, :] == proba[keep].argmax(axis=1)[:, None]  # patients x compared
    plain_pred = np.where(plain.any(axis=1), plain.argmax(axis=1), -1)
    plain_ba = float(np.mean([np.mean(plain_pred[y == k] == k) for k in range(len(compared)) if (y == k).any()]))
    auc = float(roc_auc_score(y, p[:, 1]) if len(compared) == 2 else roc_auc_score(y, p, multi_class="ovr",
                                                                                 labels=list(range(len(compared)))))
    reliability, ece = reliability_table(p.max(axis=1), pred == y)
    evaluation = {"n": int(keep.sum()), "classes": list(compared),
                  "balanced_accuracy": float(balanced_accuracy_score(y, pred)), "roc_auc": auc,
                  "balanced_accuracy_all_classes": plain_ba, "n_reassigned": int((plain_pred == -1).sum()),
                  "ece": ece, "accuracy": float(np.mean(pred == y))}
    confusion = pd.DataFrame(confusion_matrix(y, pred, labels=list(range(len(compared)))),
                             index=pd.Index(compared, name="known"), columns=[c.replace("/", "-") for c in compared])
    return evaluation, confusion.reset_index(), reliability


#: Equal-width bins of the reliability curve and the expected calibration error.
RELIABILITY_BINS = 10


def reliability_table(confidence: np.ndarray, correct: np.ndarray,
                      n_bins: int = RELIABILITY_BINS) -> tuple[pd.DataFrame, float]:
    """The reliability curve of top-label probabilities and the expected calibration error (Guo et al., ICML 2017).

    Patients are binned by ``confidence`` (the probability of the predicted class) into ``n_bins`` equal-width bins
    of [0, 1]; per non-empty bin: its bounds, ``n``, the mean ``confidence`` and the ``accuracy`` (share of
    ``correct`` calls). The ECE is the patient-weighted mean of ``|accuracy - confidence|`` over the bins: 0 for
    probabilities that mean what they say, up to 1. With few patients per bin it is biased upwards (read it with
    ``n``)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, n_bins - 1)
    rows = [{"lower": edges[b], "upper": edges[b + 1], "n": int((which == b).sum()),
             "confidence": float(confidence[which == b].mean()), "accuracy": float(correct[which == b].mean())}
            for b in range(n_bins) if (which == b).any()]
    table = pd.DataFrame(rows, columns=["lower", "upper", "n", "confidence", "accuracy"])
    ece = float((table["n"] * (table["accuracy"] - table["confidence"]).abs()).sum() / max(len(confidence), 1))
    return table, ece
