"""What the report shows of each built-in result kind: its figures, its tables and its panels of the overview.

Each function is named in the kind's registry entry (:mod:`radiogx._registry`: ``<kind>_figures``,
``<kind>_summary``, ``<kind>_overview``) and takes ``(adata, record)``, a :class:`radiogx.get.Record`. Figures are
``(name, caption, draw)`` with ``draw() -> Figure``; tables are ``(title, DataFrame or HTML, rows shown, note)``;
overview panels are ``(slot, priority, draw(ax))``.
"""

from __future__ import annotations

import html

import pandas as pd
from anndata import AnnData

from .. import get, pl
from ..get import Record
from ._findings import strength
from ._html import html_table
from ._inputs import collection_label
from ._run_info import run_info

__all__ = []


def _suffix(rec: Record, form: str = "_{}") -> str:
    """Nothing for a result under its tool's default key, else ``form`` filled with the key (names and titles)."""
    return "" if rec.key == get.KINDS[rec.kind].default_key else form.format(rec.key)


def _compare_key(adata: AnnData, rec: Record) -> str | None:
    linked = get.linked_record(adata, "compare", rec.key)
    return None if linked is None else linked.key


def _trained(rec: Record) -> list[str]:
    return [t for t, e in rec.items() if "model_id" in e]


# --- model -------------------------------------------------------------------------------------------------------

def model_figures(adata: AnnData, rec: Record):
    ck = _compare_key(adata, rec)
    for t in _trained(rec):
        name = f"{t}{_suffix(rec)}"
        continuous = get.is_regression(rec.trait(t))
        if continuous:
            yield (f"predicted_{name}", f"{t}: out-of-fold predicted against observed values of the network and the "
                   "best baseline, with the pooled R^2",
                   lambda t=t: pl.predicted_vs_observed(adata, t, key=rec.key, compare_key=ck, return_fig=True))
        else:
            yield (f"roc_{name}", f"{t}: out-of-fold ROC curves of the network and the baselines",
                   lambda t=t: pl.roc(adata, t, key=rec.key, compare_key=ck, return_fig=True))
        yield (f"compare_{name}", f"{t}: {'R^2' if continuous else 'ROC-AUC'} per model, each interval around its own "
               "estimate (the bootstrap's when run, else the mean over folds +/- sd)",
               lambda t=t: pl.compare(adata, t, key=rec.key, compare_key=ck, return_fig=True))


def model_summary(adata: AnnData, rec: Record):
    table = get.compare_df(adata, key=rec.key, compare_key=_compare_key(adata, rec))
    of = _suffix(rec, " ({})")
    per_trait = table.drop_duplicates("trait")[["trait", "best_model", "network_wins", "network_verdict"]]
    verdicts = per_trait.rename(columns={"best_model": "best model", "network_wins": "network wins?",
                                         "network_verdict": "why"})
    yield f"Which model wins{of}", html_table(verdicts, n=50, width=400), 0, _verdict_notes(per_trait)
    yield (f"Cross-validated performance (same outer folds for every model){of}",
           table.drop(columns=["best_model", "network_wins", "network_verdict"]).dropna(axis=1, how="all"), 25, "")


def _strength(entry) -> float:
    """How far a trait's network is from chance (:func:`radiogx.workflow._findings.strength`)."""
    summary = entry["summary"]
    metric = "r2" if "r2_pooled" in summary else "roc_auc"
    return strength(metric, summary[f"{metric}_pooled"])


def model_overview(adata: AnnData, rec: Record):
    ck = _compare_key(adata, rec)
    # the traits with the strongest evidence first (the overview has room for a few)
    for t in sorted(_trained(rec), key=lambda t: -_strength(rec.trait(t))):
        yield ("models", 0 if rec.key == get.KINDS["model"].default_key else 1,
               lambda ax, t=t: pl.compare(adata, t, key=rec.key, compare_key=ck, ax=ax))


def _verdict_notes(per_trait: pd.DataFrame) -> str:
    """Per trait where the network does not beat the baselines, what that means for its genes."""
    notes = []
    for _, row in per_trait.iterrows():
        trait = html.escape(row["trait"])
        if row["network_wins"] == "no":
            notes.append(f"<li><b>{trait}</b>: a baseline predicts better than the network (best: "
                         f"{html.escape(row['best_model'])}). Interpreting the network's genes (masking, saliency, "
                         "enrichment, associations) is weaker evidence than interpreting the best baseline's.</li>")
        elif "chance" in row["network_verdict"]:
            notes.append(f"<li><b>{trait}</b>: the network is not clearly better than chance, so its genes say little "
                         "about the trait; read its masking and saliency results as exploratory.</li>")
        elif row["network_wins"] == "equivalent":
            notes.append(f"<li><b>{trait}</b>: the network predicts as well as the baselines (within the margin that "
                         "matters, or at the AUC ceiling with them): its genes are one reading among equally good "
                         "models.</li>")
        elif row["network_wins"] == "unclear":
            notes.append(f"<li><b>{trait}</b>: the network does not clearly beat every baseline: its genes are one "
                         "reading among models that predict about as well.</li>")
    return f"<ul class='verdict'>{''.join(notes)}</ul>" if notes else ""


# --- compare, bootstrap, autoencoder -----------------------------------------------------------------------------

def compare_summary(adata: AnnData, rec: Record):
    if any(_compare_key(adata, m) == rec.key for m in get.each_record(adata, "model")):
        return  # shown with its model's table
    yield (f"Baselines ({rec.key})", get.compare_df(adata, key=None, compare_key=rec.key), 40, "")


def bootstrap_summary(adata: AnnData, rec: Record):
    of = _suffix(rec, " ({})")
    yield f"Paired bootstrap of the AUC (R^2 of continuous traits){of}", get.bootstrap_df(adata, key=rec.key), 25, ""
    yield (f"Bootstrap differences to the network{of}", get.bootstrap_df(adata, key=rec.key, differences=True), 25, "")


def autoencoder_summary(adata: AnnData, rec: Record):
    yield (f"Autoencoder pre-training ({rec.key})", pd.DataFrame(
        {"patients": [len(rec.get("patients", []))], "best_epoch": [rec["best_epoch"]],
         "r2_holdout": [rec["r2_holdout"]], "hidden": [str(list(rec.params["hidden"]))],
         "patients_used": [str(rec.params.get("patients_used", "not recorded"))]}), 25, "")


# --- set nodes, saliency -------------------------------------------------------------------------------------------

def set_nodes_figures(adata: AnnData, rec: Record):
    for t, entry in rec.items():
        for target in entry["targets"]:
            yield (f"set_nodes_{t}_{target}{_suffix(rec)}", f"{t} -> {target}: the gene sets that drive the gene-set "
                   "network (mean |gradient x activation| of their nodes)",
                   lambda t=t, target=str(target): pl.set_nodes(adata, t, key=rec.key, target=target, return_fig=True))


def set_nodes_summary(adata: AnnData, rec: Record):
    df = get.set_nodes_df(adata, key=rec.key).groupby(["trait", "target"], sort=False).head(5)
    yield (f"Gene-set network ({rec.key}): the five sets of largest attribution per trait and class (mean "
           "|gradient x activation| of the set nodes)", df, 60, "")


def saliency_figures(adata: AnnData, rec: Record):
    for t, entry in rec.items():
        for target in entry["targets"]:
            yield (f"{rec.key}_{t}" + (f"_{target}" if target != t else ""),
                   f"{rec.key}, {t} -> {target}: top genes and the patients x genes attributions",
                   lambda t=t, target=str(target): pl.saliency(adata, t, key=rec.key, target=target, return_fig=True))


def saliency_summary(adata: AnnData, rec: Record):
    baseline = rec.params.get("model", "")
    if baseline:  # rg.tl.importance: a compared baseline's contributions
        how = (f"the best baseline, {baseline}, refit on each outer training fold, explains that fold's patients; mean "
               "absolute contribution")
    elif rec.params.get("patients") == "out_of_fold":
        how = "each patient explained by the fold network that never saw it"
    else:
        how = "every patient explained by the final model, in sample"
    yield (f"{rec.key}: ten genes of highest mean attribution ({how})", get.saliency_df(adata, key=rec.key, n_top=10),
           60, "")


def stability_figures(adata: AnnData, rec: Record):
    for t, entry in rec.items():
        for row in pd.DataFrame(entry["summary"]).itertuples():
            yield (f"{rec.key}_{t}_{row.method}" + (f"_{row.target}" if row.target != t else ""),
                   f"{rec.key}, {t} -> {row.target} ({row.method}): rank of the top genes over "
                   f"{row.n_repeats} retrainings, out of fold",
                   lambda t=t, m=str(row.method), target=str(row.target):
                   pl.stability(adata, t, key=rec.key, method=m, target=target, return_fig=True))


def stability_summary(adata: AnnData, rec: Record):
    summary = get.stability_summary_df(adata, key=rec.key)
    cols = ["trait", "method", "target", "phi", "phi_lower", "phi_upper", "jaccard", "median_rel_sd", "n_stable",
            "model_randomisation_rho", "label_randomisation_pval", "flags"]
    yield (f"{rec.key}: stability of the top {int(summary['top_k'].iloc[0])} over retrainings (Phi with its 95% "
           "interval) and the sanity checks (a flag: the method's genes survive random weights, or a network trained "
           "on permuted labels finds them too)", summary[cols], 60, "")
    stable = get.stability_df(adata, key=rec.key, stable_only=True)
    yield (f"{rec.key}: the stable genes (top {int(summary['top_k'].iloc[0])} in at least 80% of retrainings), ten "
           "per trait, method and class", stable.groupby(["trait", "method", "target"], sort=False).head(10)[
               ["trait", "method", "target", "gene", "rank", "rank_lower", "rank_upper", "top_fraction", "rel_sd"]],
           60, "")


# --- masking --------------------------------------------------------------------------------------------------------

def masking_figures(adata: AnnData, rec: Record):
    yield (rec.key, f"{rec.key}: best sets per trait and class (score minus the size-matched null mean; * padj < 0.05)",
           lambda: pl.masking(adata, key=rec.key, return_fig=True))


def masking_summary(adata: AnnData, rec: Record):
    df = get.masking_df(adata, key=rec.key).groupby(["trait", "target"], sort=False).head(5)
    cols = [c for c in ("trait", "target", "gene_set", "n_genes", "loglik", "auc", "r2", "null_mean", "pval", "padj")
            if c in df.columns and df[c].notna().any()]
    yield f"{rec.key}: five best sets per trait and class", df[cols], 60, ""


def masking_overview(adata: AnnData, rec: Record):
    try:  # the run's first collection first (the demo: the Verhaak signatures)
        first = run_info(adata)["config"]["steps.masking"]["collections"][0]
        preferred = rec.key == f"masking_{collection_label(first)}"
    except (KeyError, IndexError, TypeError):
        preferred = False
    yield "interpretation", 0 if preferred else 1, lambda ax: pl.masking(adata, key=rec.key, n_top=5, ax=ax)


# --- enrichment, associations -------------------------------------------------------------------------------------

def _per_patient(rec: Record) -> bool:
    return bool(rec.params.get("per_patient"))


def enrichment_figures(adata: AnnData, rec: Record):
    if _per_patient(rec):
        yield (rec.key, f"{rec.key}: share of patients in which each set is enriched",
               lambda: pl.enrichment(adata, key=rec.key, return_fig=True))
        return
    yield (rec.key, f"{rec.key}: cohort-level GSEA of the mean attribution",
           lambda: pl.enrichment(adata, key=rec.key, return_fig=True))
    yield (f"{rec.key}_running", f"{rec.key}: running score of the most significant set",
           lambda: pl.running_score(adata, key=rec.key, return_fig=True))


def enrichment_summary(adata: AnnData, rec: Record):
    df = get.enrich_df(adata, key=rec.key)
    if not _per_patient(rec):
        yield rec.key, df.drop(columns="leading_edge"), 10, ""
        return
    hits = df[(df["padj"] < 0.05) & (df["nes"] > 0)].groupby("gene_set").size().rename("patients_enriched")
    yield (f"{rec.key}: patients with the set enriched (padj < 0.05, NES > 0)",
           hits.sort_values(ascending=False).reset_index(), 10, "")


def enrichment_overview(adata: AnnData, rec: Record):
    if not _per_patient(rec):
        yield "outcome", 1, lambda ax: pl.enrichment(adata, key=rec.key, ax=ax)


def associations_figures(adata: AnnData, rec: Record):
    if any(len(e["counts"]) for _, e in rec.items()):
        yield (f"associations{_suffix(rec)}", "patients carrying each radiogenomic feature",
               lambda: pl.associations(adata, key=rec.key, return_fig=True))


def associations_summary(adata: AnnData, rec: Record):
    df = get.associations_df(adata, key=rec.key).sort_values("n_patients", ascending=False, kind="stable")
    yield f"Radiogenomic features ({rec.key})", df, 25, ""


# --- survival -------------------------------------------------------------------------------------------------------

def km_features(rec: Record) -> list[str]:
    """Features with Kaplan-Meier curves in a survival record, most significant (log-rank) first."""
    if rec.get("km") is None or not len(rec["km"]):
        return []
    res = rec["results"].drop_duplicates("feature").set_index("feature")["logrank_pval"].dropna()
    with_curves = set(rec["km"]["feature"])
    return [f for f in res.sort_values().index if f in with_curves]


def survival_figures(adata: AnnData, rec: Record):
    sfx = _suffix(rec)
    yield (f"cox_forest{sfx}", "Cox hazard ratios of each feature (adjusted for the covariates), 95% intervals",
           lambda: pl.forest(adata, key=rec.key, return_fig=True))
    traits = [t for r in get.each_record(adata, "model") for t in r.traits]
    with_curves = km_features(rec)
    for f in dict.fromkeys([t for t in traits if t in with_curves] + with_curves[:4]):
        yield (f"km_{f}{sfx}", f"{f}: Kaplan-Meier curves with numbers at risk",
               lambda f=f: pl.km(adata, f, key=rec.key, return_fig=True))


def survival_summary(adata: AnnData, rec: Record):
    table = get.survival_df(adata, key=rec.key)
    flagged = table[table["fit_flag"] != ""] if "fit_flag" in table.columns else table.iloc[:0]
    warn = ("" if not len(flagged) else
            f"<p class='note'>Flagged Cox fits ({html.escape(', '.join(flagged['term'].astype(str)))}): "
            f"{html.escape('; '.join(sorted(set(flagged['fit_flag']))))}. Their hazard ratios and intervals are "
            "not estimates (the coefficient diverges); their pval is the likelihood-ratio test's.</p>")
    yield f"Cox models and log-rank tests{_suffix(rec, ' ({})')}", table, 40, warn
    if "multivariable" in rec:
        how = {"stepwise_aic": "stepwise AIC in both directions from the covariate-only model (the paper's)",
               "backward_aic": "backward elimination by AIC", "penalized": "lasso Cox, covariates unpenalised"}
        selection = str(rec.params.get("selection", ""))
        caveat = html.escape(str(rec.params.get("selection_caveat", "")))
        yield (f"Multivariable model: {how.get(selection, selection)}",
               get.survival_df(adata, key=rec.key, multivariable=True), 40, f"<p class='note'>Caveat: {caveat}.</p>")
    if rec.params.get("not_tested"):
        yield ("Features not tested", pd.DataFrame(list(dict(rec.params["not_tested"]).items()),
                                                   columns=["feature", "why not tested"]), 25, "")


def survival_overview(adata: AnnData, rec: Record):
    features = km_features(rec)
    if features:
        yield "outcome", 0, lambda ax: pl.km(adata, features[0], key=rec.key, ax=ax)


# --- prediction -----------------------------------------------------------------------------------------------------

def prediction_figures(adata: AnnData, rec: Record):
    for t, entry in rec.items():
        what = ("predicted values, the distance of each patient from the training data and, with known values, "
                "predicted against known" if get.is_regression(entry) else
                "predicted classes, their probability, the distance of each patient from the training data and, "
                "with known classes, the confusion matrix")
        yield (f"predictions_{t}{_suffix(rec)}", f"{t}: {what}",
               lambda t=t: pl.predictions(adata, t, key=rec.key, return_fig=True))
