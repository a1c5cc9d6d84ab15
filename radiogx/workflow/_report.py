"""``report.html``: every figure and table of a run's results, its parameters, versions and seeds, in one file.

The report is rendered from the results alone (``radiogx report results.h5ad`` gives the same report as the run);
figures are embedded as base64 PNG, so the file is self-contained, and also written as files in the chosen formats.
"""

from __future__ import annotations

import base64
import html
import io as _io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from anndata import AnnData
from tqdm.auto import tqdm

from .. import get, pl
from ..get._kind_tables import TABLES
from ..get._records import is_regression
from .._logging import logger
from .._settings import settings
from ..tl._trait import trained_traits
from ._inputs import collection_label
from .._atomic import atomic_path

__all__ = ["figure_specs", "render_report", "save_figures"]


@dataclass
class FigureSpec:
    section: str
    name: str
    caption: str
    draw: object  # () -> matplotlib Figure
    png: str = ""

    def __post_init__(self) -> None:  # a file name: class names may hold "/" or spaces
        self.name = re.sub(r"[^A-Za-z0-9_.+-]+", "_", self.name)


def _keys(adata: AnnData, kind: str, *, per_patient: bool | None = None) -> list[str]:
    """The ``adata.uns`` keys of the ``kind`` results (:func:`radiogx.get.records`), however they were made."""
    keys = get.records(adata, kind)["key"].tolist()
    if per_patient is not None:
        keys = [k for k in keys if bool(adata.uns[k]["params"].get("per_patient")) == per_patient]
    return keys


def _models(adata: AnnData) -> list[tuple[str, str | None, list[str]]]:
    """(model key, the key of its baselines or ``None``, trained traits) of every model record, ``radiogx`` first."""
    compares = {k: next(iter(adata.uns[k].values()))["params"].get("model_key", "") for k in _keys(adata, "compare")}
    out = []
    for key in sorted(_keys(adata, "model"), key=lambda k: k != get.KINDS["model"].default_key):
        matched = [c for c, m in compares.items() if m == key] or [c for c, m in compares.items() if not m]
        out.append((key, matched[0] if matched else None, trained_traits(adata, key)))
    return out


def _suffix(key: str, kind: str, form: str = "_{}") -> str:
    """Nothing for a result under its tool's default key, else ``form`` filled with the key (names and titles)."""
    return "" if key == get.KINDS[kind].default_key else form.format(key)


def _km_features(adata: AnnData, key: str) -> list[str]:
    """Features with Kaplan-Meier curves in ``adata.uns[key]`` (a survival record), most significant (log-rank)
    first."""
    surv = adata.uns[key]
    if surv.get("km") is None or not len(surv["km"]):
        return []
    res = surv["results"].drop_duplicates("feature").set_index("feature")["logrank_pval"].dropna()
    with_curves = set(surv["km"]["feature"])
    return [f for f in res.sort_values().index if f in with_curves]


def overview(adata: AnnData):
    """The run at a glance (the report's first figure): each trait's models on the same folds (up to two traits),
    the first gene-masking heatmap, and the Kaplan-Meier curves of the most significant survival feature (else the
    first cohort-level enrichment)."""
    models = _models(adata)
    traits = [(key, ck, t) for key, ck, ts in models[:1] for t in ts[:2]]
    masking = _keys(adata, "masking")
    try:  # the config's first collection first (the demo: the Verhaak signatures)
        first = json.loads(adata.uns["radiogx_run"]["config"])["steps.masking"]["collections"][0]
        masking.sort(key=lambda k: k != f"masking_{collection_label(first)}")
    except (KeyError, IndexError, TypeError):
        pass
    masking = masking[:1]
    survival = _keys(adata, "survival")[:1]
    km = next(((k, f) for k in survival for f in _km_features(adata, k)), None)
    enrich = _keys(adata, "enrichment", per_patient=False)[:1]
    panels = [("compare", t) for t in traits] + [("masking", k) for k in masking]
    panels += [("km", km)] if km else [("enrichment", k) for k in enrich]
    ncols = 2
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(13, 4.8 * nrows), layout="constrained", squeeze=False)
    for ax, (kind, what) in zip(axes.flat, panels):
        if kind == "compare":
            pl.compare(adata, what[2], key=what[0], compare_key=what[1], ax=ax)
        elif kind == "masking":
            pl.masking(adata, key=what, n_top=5, ax=ax)
        elif kind == "km":
            pl.km(adata, what[1], key=what[0], ax=ax)
        else:
            pl.enrichment(adata, key=what, ax=ax)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(str(adata.uns.get("radiogx_run", {}).get("name", "radiogx results")))
    return fig


def figure_specs(adata: AnnData) -> list[FigureSpec]:
    """The figures a run's results call for, in report order."""
    specs: list[FigureSpec] = []
    models = _models(adata)
    traits = [t for _, _, ts in models for t in ts]
    if traits:
        specs.append(FigureSpec("Overview", "overview", "the run at a glance: models on the same folds, gene "
                                "masking, and survival (or enrichment)", lambda: overview(adata)))
    for key, ck, ts in models:
        for t in ts:
            name = f"{t}{_suffix(key, 'model')}"
            continuous = is_regression(adata.uns[key][t])
            if continuous:
                specs.append(FigureSpec("Models", f"predicted_{name}", f"{t}: out-of-fold predicted against observed "
                                        "values of the network and the best baseline, with the pooled R^2",
                                        lambda t=t, k=key, c=ck: pl.predicted_vs_observed(adata, t, key=k,
                                                                                          compare_key=c,
                                                                                          return_fig=True)))
            else:
                specs.append(FigureSpec("Models", f"roc_{name}", f"{t}: out-of-fold ROC curves of the network and the "
                                        "baselines", lambda t=t, k=key, c=ck: pl.roc(adata, t, key=k, compare_key=c,
                                                                                     return_fig=True)))
            specs.append(FigureSpec("Models", f"compare_{name}",
                                    f"{t}: {'R^2' if continuous else 'ROC-AUC'} per model, each interval around its "
                                    "own estimate (the bootstrap's when run, else the mean over folds +/- sd)",
                                    lambda t=t, k=key, c=ck: pl.compare(adata, t, key=k, compare_key=c,
                                                                        return_fig=True)))
    for key in _keys(adata, "set_nodes"):
        for t, rec in adata.uns[key].items():
            for target in rec["targets"]:
                specs.append(FigureSpec("Models", f"set_nodes_{t}_{target}{_suffix(key, 'set_nodes')}",
                                        f"{t} -> {target}: the gene sets that drive the gene-set network (mean "
                                        "|gradient x activation| of their nodes)",
                                        lambda t=t, target=str(target), k=key: pl.set_nodes(adata, t, key=k,
                                                                                            target=target,
                                                                                            return_fig=True)))
    for key in _keys(adata, "masking"):
        specs.append(FigureSpec("Gene masking", key, f"{key}: best sets per trait and class (score minus the "
                                "size-matched null mean; * padj < 0.05)",
                                lambda key=key: pl.masking(adata, key=key, return_fig=True)))
    for method in _keys(adata, "saliency"):
        for t, rec in adata.uns[method].items():
            for target in rec["targets"]:
                name = f"{method}_{t}" + (f"_{target}" if target != t else "")
                specs.append(FigureSpec("Saliency", name,
                                        f"{method}, {t} -> {target}: top genes and the patients x genes attributions",
                                        lambda t=t, target=target, m=method: pl.saliency(adata, t, key=m,
                                                                                         target=str(target),
                                                                                         return_fig=True)))
    for key in _keys(adata, "enrichment", per_patient=False):
        specs.append(FigureSpec("Enrichment", key, f"{key}: cohort-level GSEA of the mean attribution",
                                lambda key=key: pl.enrichment(adata, key=key, return_fig=True)))
        specs.append(FigureSpec("Enrichment", f"{key}_running", f"{key}: running score of the most significant set",
                                lambda key=key: pl.running_score(adata, key=key, return_fig=True)))
    for key in _keys(adata, "enrichment", per_patient=True):
        specs.append(FigureSpec("Enrichment", key, f"{key}: share of patients in which each set is enriched",
                                lambda key=key: pl.enrichment(adata, key=key, return_fig=True)))
    for key in _keys(adata, "associations"):
        if any(len(r["counts"]) for r in adata.uns[key].values()):
            specs.append(FigureSpec("Associations", f"associations{_suffix(key, 'associations')}",
                                    "patients carrying each radiogenomic feature",
                                    lambda k=key: pl.associations(adata, key=k, return_fig=True)))
    for key in _keys(adata, "survival"):
        sfx = _suffix(key, "survival")
        specs.append(FigureSpec("Survival", f"cox_forest{sfx}", "Cox hazard ratios of each feature (adjusted for the "
                                "covariates), 95% intervals", lambda k=key: pl.forest(adata, key=k, return_fig=True)))
        with_curves = _km_features(adata, key)
        for f in dict.fromkeys([t for t in traits if t in with_curves] + with_curves[:4]):
            specs.append(FigureSpec("Survival", f"km_{f}{sfx}", f"{f}: Kaplan-Meier curves with numbers at risk",
                                    lambda f=f, k=key: pl.km(adata, f, key=k, return_fig=True)))
    for key in _keys(adata, "prediction"):
        for t, rec in adata.uns[key].items():
            what = ("predicted values, the distance of each patient from the training data and, with known values, "
                    "predicted against known" if is_regression(rec) else
                    "predicted classes, their probability, the distance of each patient from the training data and, "
                    "with known classes, the confusion matrix")
            specs.append(FigureSpec("Prediction", f"predictions_{t}{_suffix(key, 'prediction')}", f"{t}: {what}",
                                    lambda t=t, k=key: pl.predictions(adata, t, key=k, return_fig=True)))
    return specs


def save_figures(adata: AnnData, out: str | Path, *, formats=("png", "svg"), embed: bool = False) -> list[FigureSpec]:
    """Draw every figure of :func:`figure_specs` into ``<out>/figures/<name>.<format>`` (with ``embed``, also keep
    each as base64 PNG in ``spec.png``); return the specs."""
    specs = figure_specs(adata)
    for spec in tqdm(specs, desc="figures", disable=not settings.show_progress):
        fig = spec.draw()
        if embed:  # first, so that the embedded image does not depend on the file formats drawn before it
            spec.png = _png(fig)
        for fmt in formats:
            with atomic_path(Path(out) / "figures" / f"{spec.name}.{fmt}") as tmp:
                fig.savefig(tmp, format=fmt, dpi=120)
        plt.close(fig)
    written = {f"{spec.name}.{fmt}" for spec in specs for fmt in formats}
    for old in (Path(out) / "figures").glob("*"):  # figures of an earlier run's traits or settings
        if old.suffix.lstrip(".") in ("png", "svg", "pdf") and old.name not in written:
            old.unlink()
    return specs


def _table(df: pd.DataFrame, n: int = 25, width: int = 80) -> str:
    more = f"<p class='note'>first {n} of {len(df)} rows; all rows in tables/</p>" if len(df) > n else ""
    shown = df.head(n).copy()
    for c in shown.columns:
        if shown[c].dtype == object:
            shown[c] = shown[c].astype(str).str.slice(0, width)
    return shown.to_html(index=False, border=0, classes="tbl", na_rep="", float_format=lambda x: f"{x:.4g}") + more


def _tables(adata: AnnData) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for key, ck, _ in _models(adata):
        table = get.compare_df(adata, key=key, compare_key=ck)
        of = _suffix(key, "model", " ({})")
        out.setdefault("Models", []).append((f"Which model wins{of}", _verdicts(table)))
        out["Models"].append((f"Cross-validated performance (same outer folds for every model){of}",
                              _table(table.drop(columns=["best_model", "network_wins", "network_verdict"])
                                     .dropna(axis=1, how="all"))))
    for key in _keys(adata, "bootstrap"):
        of = _suffix(key, "bootstrap", " ({})")
        out.setdefault("Models", []).append((f"Paired bootstrap of the AUC (R^2 of continuous traits){of}",
                                             _table(get.bootstrap_df(adata, key=key))))
        out["Models"].append((f"Bootstrap differences to the network{of}",
                              _table(get.bootstrap_df(adata, key=key, differences=True))))
    for key in _keys(adata, "set_nodes"):
        df = get.set_nodes_df(adata, key=key).groupby(["trait", "target"], sort=False).head(5)
        out.setdefault("Models", []).append((f"Gene-set network ({key}): the five sets of largest attribution per "
                                             "trait and class (mean |gradient x activation| of the set nodes)",
                                             _table(df, 60)))
    for key in _keys(adata, "autoencoder"):
        rec = adata.uns[key]
        out.setdefault("Models", []).append((f"Autoencoder pre-training ({key})", _table(pd.DataFrame(
            {"patients": [len(rec.get("patients", []))], "best_epoch": [rec["best_epoch"]],
             "r2_holdout": [rec["r2_holdout"]], "hidden": [str(list(rec["params"]["hidden"]))]}))))
    for key in _keys(adata, "masking"):
        df = get.masking_df(adata, key=key).groupby(["trait", "target"], sort=False).head(5)
        cols = [c for c in ("trait", "target", "gene_set", "n_genes", "loglik", "auc", "r2", "null_mean", "pval", "padj")
                if c in df.columns and df[c].notna().any()]
        out.setdefault("Gene masking", []).append((f"{key}: five best sets per trait and class", _table(df[cols], 60)))
    for method in _keys(adata, "saliency"):
        df = get.saliency_df(adata, key=method, n_top=10)
        out.setdefault("Saliency", []).append((f"{method}: ten genes of highest mean attribution", _table(df, 60)))
    for key in _keys(adata, "enrichment", per_patient=False):
        df = get.enrich_df(adata, key=key).drop(columns="leading_edge")
        out.setdefault("Enrichment", []).append((key, _table(df, 10)))
    for key in _keys(adata, "enrichment", per_patient=True):
        df = get.enrich_df(adata, key=key)
        hits = df[(df["padj"] < 0.05) & (df["nes"] > 0)].groupby("gene_set").size().rename("patients_enriched")
        summary = hits.sort_values(ascending=False).reset_index()
        out.setdefault("Enrichment", []).append((f"{key}: patients with the set enriched (padj < 0.05, NES > 0)",
                                                 _table(summary, 10)))
    for key in _keys(adata, "associations"):
        df = get.associations_df(adata, key=key).sort_values("n_patients", ascending=False, kind="stable")
        out.setdefault("Associations", []).append((f"Radiogenomic features ({key})", _table(df)))
    for key in _keys(adata, "survival"):
        surv = adata.uns[key]
        of = _suffix(key, "survival", " ({})")
        table = get.survival_df(adata, key=key)
        flagged = table[table["fit_flag"] != ""] if "fit_flag" in table.columns else table.iloc[:0]
        warn = ("" if not len(flagged) else
                f"<p class='note'>Flagged Cox fits ({html.escape(', '.join(flagged['term'].astype(str)))}): "
                f"{html.escape('; '.join(sorted(set(flagged['fit_flag']))))}. Their hazard ratios and intervals are "
                "not estimates (the coefficient diverges); their pval is the likelihood-ratio test's.</p>")
        out.setdefault("Survival", []).append((f"Cox models and log-rank tests{of}", _table(table, 40) + warn))
        if "multivariable" in surv:
            how = {"stepwise_aic": "stepwise AIC in both directions from the covariate-only model (the paper's)",
                   "backward_aic": "backward elimination by AIC", "penalized": "lasso Cox, covariates unpenalised"}
            selection = str(surv["params"].get("selection", ""))
            caveat = html.escape(str(surv["params"].get("selection_caveat", "")))
            out["Survival"].append((f"Multivariable model: {how.get(selection, selection)}",
                                    _table(get.survival_df(adata, key=key, multivariable=True), 40)
                                    + f"<p class='note'>Caveat: {caveat}.</p>"))
        if surv["params"].get("not_tested"):
            nt = pd.DataFrame(list(dict(surv["params"]["not_tested"]).items()), columns=["feature", "why not tested"])
            out["Survival"].append(("Features not tested", _table(nt)))
    for kind in get.KINDS:  # every other kind: its tables as rg.get reads them, with no code of its own here
        if kind in _CURATED:
            continue
        for key in _keys(adata, kind):
            for name, df in TABLES[kind](adata, key).items():
                out.setdefault(kind.replace("_", " ").capitalize(), []).append((f"{name} ({key})", _table(df, 40)))
    return out


#: The kinds whose tables the report summarises by hand above.
_CURATED = {"model", "compare", "bootstrap", "set_nodes", "autoencoder", "masking", "saliency", "enrichment",
            "associations", "survival"}


def _verdicts(table: pd.DataFrame) -> str:
    """Per trait, whether the network beats the baselines; where it does not, what that means for its genes."""
    per_trait = table.drop_duplicates("trait")[["trait", "best_model", "network_wins", "network_verdict"]]
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
    note = f"<ul class='verdict'>{''.join(notes)}</ul>" if notes else ""
    return _table(per_trait.rename(columns={"best_model": "best model",
                                             "network_wins": "network wins?",
                                             "network_verdict": "why"}), n=50, width=400) + note


def _png(fig) -> str:
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode()


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1150px;color:#222;padding:0 1em}
h1{margin-bottom:0.2em} h2{border-bottom:2px solid #ddd;padding-bottom:0.2em;margin-top:2em}
nav a{margin-right:1em} figure{display:inline-block;margin:0.5em;vertical-align:top;max-width:100%}
figure img{max-width:100%;height:auto;border:1px solid #eee} figcaption{font-size:0.85em;color:#555;max-width:520px}
table.tbl{border-collapse:collapse;font-size:0.8em;margin:0.5em 0} .tbl th,.tbl td{padding:2px 8px;text-align:right}
.tbl th{background:#f3f3f3} .tbl tr:nth-child(even){background:#fafafa} .note{font-size:0.8em;color:#777}
summary{cursor:pointer;font-weight:600;margin:0.8em 0} pre{background:#f6f6f6;padding:0.8em;font-size:0.78em;overflow-x:auto} .meta td{padding:1px 10px 1px 0}
"""
_SECTIONS = ["Overview", "Run", "Models", "Gene masking", "Saliency", "Enrichment", "Associations", "Survival"]


def render_report(adata: AnnData, out: str | Path, *, formats=("png", "svg"), title: str | None = None) -> Path:
    """Write ``<out>/report.html`` and every figure as ``<out>/figures/<name>.<format>``; return the report's path.

    Parameters
    ----------
    adata
        Results of ``radiogx run`` (or any AnnData holding radiogx results).
    out
        Output folder.
    formats
        File formats of the figures besides the PNG embedded in the report.
    title
        The report's title (default: the run's name).

    Returns
    -------
    The path of ``report.html``.
    """
    out = Path(out)
    run = adata.uns.get("radiogx_run", {})
    specs = save_figures(adata, out, formats=formats, embed=True)
    tables = _tables(adata)
    sections = _SECTIONS + list(dict.fromkeys(s for s in [*(spec.section for spec in specs), *tables]
                                              if s not in _SECTIONS))
    blocks: dict[str, list[str]] = {s: [] for s in sections}
    for spec in specs:
        blocks[spec.section].append(
            f"<figure><img alt='{html.escape(spec.name)}' src='data:image/png;base64,{spec.png}'>"
            f"<figcaption>{html.escape(spec.caption)}</figcaption></figure>")
    body = []
    for section in sections:
        parts = [f"<h3>{html.escape(title)}</h3>{table}" for title, table in tables.get(section, [])]
        if section == "Run":
            parts = [_run_section(adata, run)] if run or title is None else []
        if not parts and not blocks[section]:
            continue
        anchor = section.lower().replace(" ", "-")
        body.append(f"<section id='{anchor}'><h2>{section}</h2>{''.join(blocks[section])}{''.join(parts)}</section>")
    nav = " ".join(f"<a href='#{s.lower().replace(' ', '-')}'>{s}</a>" for s in sections
                   if any(f"id='{s.lower().replace(' ', '-')}'" in b for b in body))
    title = html.escape(title or f"radiogx report: {run.get('name', 'results')}")
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<link rel='icon' href='data:,'><style>{_CSS}</style></head><body><h1>{title}</h1>"
            f"<p class='note'>{adata.n_obs} patients x {adata.n_vars} genes; rendered "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}</p><nav>{nav}</nav>{''.join(body)}</body></html>")
    path = out / "report.html"
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    logger.info(f"report: {len(specs)} figures, {sum(map(len, tables.values()))} tables -> {path}")
    return path


def _run_section(adata: AnnData, run: dict) -> str:
    if not run:
        return "<p>These results were not made by <code>radiogx run</code>: no run parameters recorded.</p>"
    meta = [("seed", run.get("seed")), ("n_jobs (results do not depend on it)", run.get("n_jobs")),
            ("traits modelled", ", ".join(map(str, run.get("traits", [])))), ("radiogx", run.get("radiogx_version"))]
    pre = adata.uns.get("pretrain")
    if isinstance(pre, dict) and "patients" in pre:
        meta.append(("autoencoder pre-trained on", f"{len(pre['patients'])} "
                     + str(pre["params"].get("patients_used", "patients (not recorded which)"))))
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in meta)
    parts = [f"<table class='meta'>{rows}</table>"]
    skipped = run.get("skipped_traits")
    if skipped is not None and len(skipped):
        parts.append("<h3>Traits not modelled</h3>" + _table(skipped))
    steps = run.get("steps")
    if steps is not None:
        parts.append("<h3>Steps (computed now, or reused from a stored result of the same fingerprint)</h3>"
                     + _table(steps, 100))
    versions = pd.DataFrame(list(dict(run.get("versions", {})).items()), columns=["package", "version"])
    parts.append("<details><summary>Versions</summary>" + _table(versions, 50) + "</details>")
    config = run.get("config", "{}")
    parts.append("<details><summary>Configuration (validated, with defaults)</summary><pre>"
                 + html.escape(json.dumps(json.loads(config), indent=1)) + "</pre></details>")
    return "".join(parts)
