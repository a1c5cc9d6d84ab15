"""Survival analysis of traits and radiogenomic features: Kaplan-Meier, log-rank and Cox models (lifelines); the
paper's multivariable stepwise-AIC model and a lasso Cox model (scikit-survival) as options (Smedley, El-Saden &
Hsu 2020)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData  # noqa: F401  (type of the first argument)
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test, proportional_hazard_test
from scipy.stats import chi2

from .._docs import doc_params
from .. import __version__
from .._logging import log_added, logger
from .._validation import check_adata, preview
from ._record import write_record
from .._metrics import benjamini_hochberg

__all__ = ["survival"]

_SELECTIONS = (None, "stepwise_aic", "backward_aic", "penalized")
_CAVEAT = ("p-values and intervals of a model selected by AIC ignore the selection (too small); penalized terms have "
           "none")


def _design(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Numeric design columns: numbers as they are, booleans as 0/1, categories one-hot against their first level."""
    parts, terms = [], {}
    for col in columns:
        values = frame[col]
        if pd.api.types.is_bool_dtype(values) or (isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object
                                                  or pd.api.types.is_string_dtype(values)):
            cat = values.astype("category") if not isinstance(values.dtype, pd.CategoricalDtype) else values
            cat = cat.cat.remove_unused_categories()
            if len(cat.cat.categories) < 2:
                raise ValueError(f"survival: {col!r} has a single level {[str(c) for c in cat.cat.categories]} among the patients used; "
                                 "it cannot be estimated (drop it)")
            dummies = pd.get_dummies(cat, prefix=col, prefix_sep="=", drop_first=True, dtype=float)
            parts.append(dummies)
            terms[col] = list(dummies.columns)
        else:
            num = pd.to_numeric(values, errors="raise").astype(float)
            if num.nunique() < 2:
                raise ValueError(f"survival: {col!r} is constant among the patients used")
            parts.append(num.rename(col).to_frame())
            terms[col] = [col]
    return pd.concat(parts, axis=1), terms


def _is_continuous(values: pd.Series) -> bool:
    """Numbers with more than 5 distinct values (a continuous trait, a prediction, an enrichment score)."""
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) and values.nunique() > 5


def _groups(values: pd.Series) -> pd.Series:
    """Groups for Kaplan-Meier and log-rank: categorical/boolean features and numbers with few distinct values as they
    are; a continuous feature split at its median among the patients used (above it, or at or below it)."""
    if _is_continuous(values):
        median = float(values.median())
        return pd.Series(np.where(values > median, f"above median ({median:.3g})", f"at or below median ({median:.3g})"),
                         index=values.index)
    return values.astype(str)


def _per_sd(used: pd.DataFrame, features: Sequence[str], continuous: str) -> tuple[pd.DataFrame, dict[str, float]]:
    """``used`` with each continuous feature divided by its sd among the patients used (``continuous="per_sd"``), and
    those sds (a hazard ratio is then per standard deviation)."""
    sds = {}
    if continuous == "per_sd":
        used = used.copy()
        for f in features:
            if _is_continuous(used[f]):
                sds[f] = float(pd.to_numeric(used[f]).std(ddof=1))
                used[f] = pd.to_numeric(used[f]).astype(float) / sds[f]
    return used, sds


def _check_endpoint(obs: pd.DataFrame, duration: str, event: str) -> tuple[pd.Series, pd.Series]:
    for col in (duration, event):
        if col not in obs.columns:
            raise ValueError(f"survival: {col!r} is not a column of adata.obs; add it with rg.pp.add_clinical")
    t = pd.to_numeric(obs[duration], errors="coerce")
    if (t < 0).any():
        raise ValueError(f"survival: {duration!r} has negative values for patients {preview(obs.index[t < 0])}")
    e = obs[event]
    known = e.dropna()
    if pd.api.types.is_bool_dtype(known):
        known = known.astype(int)
    if not set(pd.unique(pd.to_numeric(known, errors="coerce"))) <= {0, 1}:
        raise ValueError(f"survival: {event!r} must be coded 0/1 (1 = event) or boolean, got values {sorted(map(str, set(known)))[:6]}")
    return t, pd.to_numeric(e.astype("Float64"), errors="coerce")


def _fit_cox(data: pd.DataFrame, penalizer: float, l1_ratio: float = 0.0) -> CoxPHFitter:
    """A lifelines Cox fit; ``cph.convergence_notes_`` keeps lifelines' convergence warnings (read by
    :func:`_fit_problems`), which would otherwise only reach the console."""
    cph = CoxPHFitter(penalizer=penalizer, l1_ratio=l1_ratio)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cph.fit(data, duration_col="_T", event_col="_E")
    cph.convergence_notes_ = [str(w.message) for w in caught if type(w.message).__name__ == "ConvergenceWarning"]
    return cph


#: A log hazard ratio beyond this is a coefficient running to infinity (monotone likelihood), not an estimate.
_MAX_LOG_HR = 10.0


def _fit_problems(cph: CoxPHFitter, term: str) -> str:
    """Why a Cox term's Wald test and interval cannot be trusted ("" when they can): lifelines did not converge, the
    log hazard ratio is beyond +-10, or the interval is infinite. Such fits arise from monotone likelihood, e.g. a
    binary feature whose members all are censored (Heinze & Schemper 2001), where the coefficient diverges, its
    standard error with it, and Wald's p-value goes to 1 while the likelihood-ratio test stays valid."""
    s = cph.summary.loc[term]
    problems = []
    if any("converge" in note.lower() for note in cph.convergence_notes_):
        problems.append("did not converge")
    if not np.isfinite(s["coef"]) or abs(s["coef"]) > _MAX_LOG_HR:
        problems.append(f"|log HR| > {_MAX_LOG_HR:g}")
    if not (np.isfinite(s["exp(coef) upper 95%"]) and s["exp(coef) lower 95%"] > 0):
        problems.append("infinite interval")
    return "; ".join(problems)


def _partial_loglik(data: pd.DataFrame, columns: list[str]) -> float:
    """Maximised Efron partial log-likelihood of the unpenalised Cox model of ``columns`` (none: the model without
    terms)."""
    base = data[["_T", "_E"]]
    if not columns:
        return -0.5 * _null_partial_aic(base)
    return float(_fit_cox(pd.concat([base, data[columns]], axis=1), 0.0).log_likelihood_)


def _lr_pval(data: pd.DataFrame, cph: CoxPHFitter, term: str) -> float:
    """Likelihood-ratio p-value of one term: twice the gain in partial log-likelihood over the model without it,
    against chi-square with 1 df (as R's ``anova(coxph)``)."""
    reduced = _partial_loglik(data, [c for c in data.columns if c not in ("_T", "_E", term)])
    return float(chi2.sf(max(2 * (float(cph.log_likelihood_) - reduced), 0.0), df=1))


@doc_params
def survival(
    adata: AnnData,
    *,
    features: str | Sequence[str],
    duration: str = "os_days",
    event: str = "os_event",
    covariates: Sequence[str] = ("age", "gender"),
    method: Literal["cox"] = "cox",
    selection: Literal["stepwise_aic", "backward_aic", "penalized"] | None = None,
    penalizer: float = 0.0,
    continuous: Literal["per_sd", "per_unit"] = "per_sd",
    key_added: str = "survival",
    not_tested: Mapping[str, str] | None = None,
    copy: bool = False,
) -> AnnData | None:
    """Associate features (imaging traits, radiogenomic features, subtypes...) with survival.

    Per feature: Kaplan-Meier estimates and a log-rank test across its groups (categorical or boolean features), and
    a Cox proportional-hazards model of the feature adjusted for ``covariates`` (lifelines; Efron ties, as R's
    ``coxph``), with its concordance and a proportional-hazards test (Schoenfeld residuals against rank time).
    ``padj``: Benjamini-Hochberg over the feature terms of the call. A fit that did not converge, or whose log hazard
    ratio exceeds 10 in size or whose interval is infinite (monotone likelihood: e.g. every patient of a group
    censored), is flagged in ``fit_flag`` and tested by the likelihood ratio instead of Wald's test, whose p-value
    goes to 1 as the coefficient diverges (Heinze & Schemper 2001). Patients missing the endpoint, the feature or a
    covariate are left out of that feature's analyses (counted in ``n``). A continuous feature (numbers with more than
    5 distinct values: a volume ratio, a network's prediction, an enrichment score) enters the Cox model per standard
    deviation among the patients used (``continuous="per_sd"``; the sd is in ``sd``), and its Kaplan-Meier curves and
    log-rank test compare the patients above its median with the others (a descriptive split: the Cox term is the
    test of the continuous feature).
    Multivariable models (``selection``), all with the ``covariates`` always in the model:

    - ``"stepwise_aic"``: the paper's model, R's ``step()`` in both directions from the covariate-only model: at each
      step the one feature added or removed that lowers the partial AIC most, until no move lowers it.
    - ``"backward_aic"``: backward elimination by AIC from the model with every feature.
    - ``"penalized"``: a lasso Cox model (scikit-survival's ``CoxnetSurvivalAnalysis``, features standardised,
      strength ``penalizer`` as its ``alpha``) in which the covariates are **not** penalised (penalty factor 0); it
      reports coefficients and hazard ratios, and no p-values or intervals, which a lasso does not give.

    Post-selection caveat: the p-values and intervals of a model chosen by AIC are those of an ordinary Cox fit of the
    chosen terms; they ignore the selection, so they are too small (Harrell 2015, section 4.3). Read them as
    descriptions, and test selected features in an independent cohort.

    Parameters
    ----------
    adata
        Patients in ``obs`` with the endpoint, the features and the covariates (``rg.pp.add_clinical``).
    features
        obs column(s) to test.
    duration, event
        Time to event (non-negative) and event indicator (1 or True = event, 0 = censored).
    covariates
        Adjustment variables of every Cox model.
    method
        ``"cox"``.
    selection
        ``None``, ``"stepwise_aic"``, ``"backward_aic"`` or ``"penalized"`` (multivariable model).
    penalizer
        Ridge penalty of lifelines' per-feature Cox models; the lasso ``alpha`` for ``selection="penalized"``.
    continuous
        ``"per_sd"`` (default): continuous features per standard deviation; ``"per_unit"``: per unit of the column.
    key_added
        ``adata.uns[key_added]`` receives ``results`` (per feature term: ``feature``, ``term``, ``coef``,
        ``hazard_ratio``, ``ci_lower``, ``ci_upper``, ``pval``, ``padj``, ``pval_method`` (``"wald"``, or
        ``"likelihood_ratio"`` for a flagged fit), ``wald_pval``, ``lr_pval`` (the term's likelihood-ratio test
        against the model without it; NaN with a ``penalizer``), ``fit_flag`` (``""``, or why the Wald test and
        interval cannot be trusted: no convergence, ``|log HR| > 10``, an infinite interval), ``n``, ``events``,
        ``events_per_parameter`` (below 10: a warning), ``concordance``,
        ``ph_pval``, ``logrank_stat``, ``logrank_pval``, ``unit``: ``"per sd"`` or ``"per unit"`` for a number,
        ``"vs first level"`` for a category, and ``sd``: the sd a per-sd term divides by), ``covariate_terms`` (the adjusting terms of each model),
        ``km`` (Kaplan-Meier estimates per feature and group with the numbers at risk), ``multivariable`` (with
        ``selection``) and ``params``.
    not_tested
        Features the caller left out, each with why (recorded in ``params["not_tested"]``, shown by the report).
    {copy}

    Returns
    -------
    ``None``, or the modified copy with ``copy=True``. Writes ``adata.uns[key_added]`` (a ``"survival"`` record), read
    by :func:`radiogx.get.survival_df` and drawn by :func:`radiogx.pl.forest` and :func:`radiogx.pl.km`.
    """
    adata = adata.copy() if copy else adata
    check_adata(adata, expression=False)
    if method != "cox":
        raise ValueError(f"method must be 'cox', got {method!r}")
    if selection not in _SELECTIONS:
        raise ValueError(f"selection must be one of {_SELECTIONS}, got {selection!r}")
    if selection == "penalized" and penalizer <= 0:
        raise ValueError("selection='penalized' needs penalizer > 0 (the lasso strength)")
    if continuous not in ("per_sd", "per_unit"):
        raise ValueError(f"continuous must be 'per_sd' or 'per_unit', got {continuous!r}")
    features = [features] if isinstance(features, str) else list(features)
    covariates = list(covariates)
    missing = [c for c in [*features, *covariates] if c not in adata.obs.columns]
    if missing or not features:
        raise ValueError(f"survival: {missing or 'no features'} not in adata.obs; columns include {preview(adata.obs.columns, 8)}")
    obs = adata.obs
    t, e = _check_endpoint(obs, duration, event)
    rows, covar_rows, km_rows = [], [], []
    for feature in features:
        used = pd.concat([t.rename("_T"), e.rename("_E"), obs[[feature, *covariates]]], axis=1).dropna()
        n_events = int(used["_E"].sum())
        groups = _groups(used[feature])
        numeric = pd.api.types.is_numeric_dtype(used[feature]) and not pd.api.types.is_bool_dtype(used[feature])
        used, sds = _per_sd(used, [feature], continuous)
        design, terms = _design(used, [feature, *covariates])
        n_params = design.shape[1]
        if n_events <= n_params:
            raise ValueError(f"survival: the Cox model of {feature!r} has {n_params} parameters but only {n_events} events "
                             f"among {len(used)} patients; use fewer covariates")
        if n_events < 10 * n_params:
            logger.warning(f"survival: the Cox model of {feature!r} has {n_events / n_params:.1f} events per parameter "
                           f"({n_events} events, {n_params} parameters): below 10, its estimates are biased and its "
                           "Wald intervals unreliable (Peduzzi et al. 1996); use fewer covariates")
        data = pd.concat([used[["_T", "_E"]].astype(float), design], axis=1)
        cph = _fit_cox(data, penalizer)
        summary = cph.summary
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ph = proportional_hazard_test(cph, data, time_transform="rank").summary["p"]
        lr_stat = lr_p = np.nan
        if groups.nunique() >= 2:
            lr = multivariate_logrank_test(used["_T"], groups, used["_E"])
            lr_stat, lr_p = float(lr.test_statistic), float(lr.p_value)
            for g, sub in used.groupby(groups, sort=True):
                km = KaplanMeierFitter().fit(sub["_T"], sub["_E"])
                table = km.event_table
                km_rows.append(pd.DataFrame({
                    "feature": feature, "group": str(g), "time": km.survival_function_.index.to_numpy(dtype=float),
                    "survival": km.survival_function_.iloc[:, 0].to_numpy(),
                    "ci_lower": km.confidence_interval_.iloc[:, 0].to_numpy(),
                    "ci_upper": km.confidence_interval_.iloc[:, 1].to_numpy(),
                    "at_risk": table["at_risk"].reindex(km.survival_function_.index).to_numpy(dtype=float),
                }))
        for term in terms[feature]:
            s = summary.loc[term]
            flag = _fit_problems(cph, term)
            lr_p = _lr_pval(data, cph, term) if penalizer == 0 else np.nan
            if flag:
                logger.warning(f"survival: the Cox term {term!r} of {feature!r}: {flag} (HR {s['exp(coef)']:.3g}); its "
                               f"Wald test is unreliable, pval is the likelihood-ratio p-value ({lr_p:.3g})")
            rows.append({"feature": feature, "term": term, "coef": s["coef"], "hazard_ratio": s["exp(coef)"],
                         "ci_lower": s["exp(coef) lower 95%"], "ci_upper": s["exp(coef) upper 95%"],
                         "pval": lr_p if flag and np.isfinite(lr_p) else s["p"],
                         "pval_method": "likelihood_ratio" if flag and np.isfinite(lr_p) else "wald",
                         "wald_pval": s["p"], "lr_pval": lr_p, "fit_flag": flag,
                         "events_per_parameter": n_events / n_params,
                         "n": len(used), "events": n_events, "concordance": cph.concordance_index_,
                         "ph_pval": float(ph.get(term, np.nan)), "logrank_stat": lr_stat, "logrank_pval": lr_p,
                         "unit": "per sd" if feature in sds else "per unit" if numeric else "vs first level",
                         "sd": sds.get(feature, np.nan)})
        for cov in covariates:
            for term in terms[cov]:
                s = summary.loc[term]
                covar_rows.append({"feature": feature, "term": term, "coef": s["coef"], "hazard_ratio": s["exp(coef)"],
                                   "pval": s["p"]})
    results = pd.DataFrame(rows)
    results["padj"] = benjamini_hochberg(results["pval"].to_numpy())
    record = {
        "results": results[["feature", "term", "coef", "hazard_ratio", "ci_lower", "ci_upper", "pval", "padj",
                            "pval_method", "wald_pval", "lr_pval", "fit_flag", "n", "events", "events_per_parameter",
                            "concordance", "ph_pval", "logrank_stat", "logrank_pval", "unit", "sd"]],
        "covariate_terms": pd.DataFrame(covar_rows, columns=["feature", "term", "coef", "hazard_ratio", "pval"]),
        "km": pd.concat(km_rows, ignore_index=True) if km_rows else pd.DataFrame(
            columns=["feature", "group", "time", "survival", "ci_lower", "ci_upper", "at_risk"]),
        "params": {"kind": "survival", "duration": duration, "event": event, "features": features, "covariates": covariates,
                   "not_tested": {str(k).replace("/", "-"): str(v) for k, v in dict(not_tested or {}).items()},
                   "method": method, "selection": selection or "", "penalizer": float(penalizer), "continuous": continuous,
                   "ties": "efron", "correction": "Benjamini-Hochberg over the feature terms of the call",
                   "selection_caveat": _CAVEAT if selection else "",
                   "radiogx_version": __version__},
    }
    if selection is not None:
        record["multivariable"] = _multivariable(t, e, obs, features, covariates, selection, penalizer, continuous)
    record["added"] = log_added("survival", uns=key_added)
    write_record(adata, key_added, record, tool="survival")
    return adata if copy else None


def _multivariable(t, e, obs, features, covariates, selection, penalizer, continuous) -> pd.DataFrame:
    used = pd.concat([t.rename("_T"), e.rename("_E"), obs[[*features, *covariates]]], axis=1).dropna()
    used, _ = _per_sd(used, features, continuous)
    design, terms = _design(used, [*features, *covariates])
    base = used[["_T", "_E"]].astype(float)
    covariate_cols = [c for f in covariates for c in terms[f]]
    if selection == "penalized":
        return _lasso_cox(base, design, covariate_cols, penalizer)

    def aic(feats):
        cols = [c for f in [*feats, *covariates] for c in terms[f]]
        if not cols:
            return _null_partial_aic(base)
        return _fit_cox(pd.concat([base, design[cols]], axis=1), 0.0).AIC_partial_

    if selection == "backward_aic":
        kept_features = list(features)
        current = aic(kept_features)
        while kept_features:
            trials = {f: aic([g for g in kept_features if g != f]) for f in kept_features}
            drop, best = min(trials.items(), key=lambda kv: kv[1])
            if best >= current:
                break
            kept_features.remove(drop)
            current = best
    else:  # stepwise_aic: both directions from the covariate-only model (R's step())
        kept_features = []
        current = aic(kept_features)
        while True:
            moves = {("add", f): aic([*kept_features, f]) for f in features if f not in kept_features}
            moves.update({("drop", f): aic([g for g in kept_features if g != f]) for f in kept_features})
            if not moves:
                break
            (how, f), best = min(moves.items(), key=lambda kv: kv[1])
            if best >= current:
                break
            kept_features = [*kept_features, f] if how == "add" else [g for g in kept_features if g != f]
            current = best
    kept = [c for f in [*kept_features, *covariates] for c in terms[f]]
    if not kept:
        return pd.DataFrame(columns=["term", "coef", "hazard_ratio", "ci_lower", "ci_upper", "pval", "penalized", "n",
                                     "events", "aic_partial"])
    cph = _fit_cox(pd.concat([base, design[kept]], axis=1), 0.0)
    s = cph.summary.loc[kept]
    return pd.DataFrame({"term": kept, "coef": s["coef"].to_numpy(), "hazard_ratio": s["exp(coef)"].to_numpy(),
                         "ci_lower": s["exp(coef) lower 95%"].to_numpy(), "ci_upper": s["exp(coef) upper 95%"].to_numpy(),
                         "pval": s["p"].to_numpy(), "penalized": False, "n": len(used), "events": int(used["_E"].sum()),
                         "aic_partial": float(cph.AIC_partial_)})


def _null_partial_aic(base: pd.DataFrame) -> float:
    """Partial AIC of the Cox model without any term: -2 x its partial log-likelihood (Efron ties, as lifelines: at
    beta = 0, an event time with ``d`` events and ``r`` patients at risk contributes ``-sum_j log(r - j)``)."""
    times = base["_T"].to_numpy(dtype=float)
    events = base["_E"].to_numpy(dtype=float) > 0
    loglik = 0.0
    for time in np.unique(times[events]):
        r = int(np.sum(times >= time))
        d = int(np.sum(events & (times == time)))
        loglik -= float(np.sum(np.log(r - np.arange(d))))
    return -2 * loglik


def _lasso_cox(base: pd.DataFrame, design: pd.DataFrame, covariate_cols: list[str], alpha: float) -> pd.DataFrame:
    """Lasso Cox model with unpenalised covariates (scikit-survival); coefficients per original unit, no p-values."""
    from sksurv.linear_model import CoxnetSurvivalAnalysis
    from sksurv.util import Surv

    mean, sd = design.mean(), design.std(ddof=0).replace(0, 1)
    x = ((design - mean) / sd).to_numpy(dtype=float)
    y = Surv.from_arrays(event=base["_E"].to_numpy().astype(bool), time=base["_T"].to_numpy(dtype=float))
    factor = np.array([0.0 if c in covariate_cols else 1.0 for c in design.columns])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes of the path's largest alphas
        fit = CoxnetSurvivalAnalysis(l1_ratio=1.0, alphas=[float(alpha)], penalty_factor=factor, max_iter=100_000).fit(x, y)
    coef = fit.coef_[:, -1] / sd.to_numpy()
    nan = np.full(len(coef), np.nan)
    return pd.DataFrame({"term": list(design.columns), "coef": coef, "hazard_ratio": np.exp(coef), "ci_lower": nan,
                         "ci_upper": nan, "pval": nan, "penalized": factor > 0, "n": len(base),
                         "events": int(base["_E"].sum()), "aic_partial": np.nan})
