"""The ``radiogx`` command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from . import __version__
from ._settings import settings

__all__ = ["main"]

DEMO_CONFIG = Path(__file__).parent / "workflow" / "configs" / "demo.toml"


def _demo(args: argparse.Namespace) -> int:
    """Load the bundled real cohorts, encode their imaging traits and clinical data, and print a summary."""
    from . import datasets, pp

    t0 = time.perf_counter()
    print(f"radiogx {__version__} demo: real data from {settings.datasetdir}\n")
    rows = []
    verhaak = datasets.verhaak2010()
    rows.append(("verhaak2010", f"{verhaak.n_obs} x {verhaak.n_vars}",
                 ", ".join(f"{k} {v}" for k, v in verhaak.obs["subtype"].value_counts().sort_index().items())))
    for name in ("phillips2006", "freije2004", "cancersubtypes_gbm", "iclusterplus_gbm"):
        ad = getattr(datasets, name)()
        rows.append((name, f"{ad.n_obs} x {ad.n_vars}", ", ".join(list(ad.obs.columns[:4]) + list(ad.obsm.keys())) or "-"))
    clinical = datasets.tcga_gbm_clinical()
    rows.append(("tcga_gbm_clinical", f"{len(clinical)} patients",
                 f"{int(clinical['os_event'].sum())} deaths, median OS {clinical['os_days'].median():.0f} days"))
    subtypes = datasets.tcga_glioma_subtypes()
    rows.append(("tcga_glioma_subtypes", f"{len(subtypes)} GBM patients", f"G-CIMP {int(subtypes['gcimp'].sum())}"))
    volumes = datasets.tcga_gbm_volumetrics()
    rows.append(("tcga_gbm_volumetrics", f"{len(volumes)} GBM patients", "ET/NET/ED/TC/WT volumes"))
    vasari = datasets.vasari_demo()
    rows.append(("vasari_demo", f"{len(vasari)} patients", ", ".join(c.split(".")[0] for c in vasari.columns if c[:1] == "f")))
    for name in datasets.GENE_SET_COLLECTIONS:
        gs = datasets.gene_sets(name)
        rows.append((f"gene_sets({name!r})", f"{len(gs)} sets", f"{sum(map(len, gs.values()))} gene entries"))
    print(pd.DataFrame(rows, columns=["data set", "size", "contents"]).to_string(index=False))

    # The imaging cohort: Verhaak patients with volumetric traits, VASARI where annotated, and survival.
    cohort = verhaak.copy()
    pp.volumetric_traits(cohort, volumes)
    pp.encode_vasari(cohort, vasari)
    pp.add_clinical(cohort, clinical, columns=["os_days", "os_event", "age", "gender", "kps"])
    pp.add_clinical(verhaak, clinical, columns=["os_days", "os_event", "age", "gender"])  # survival in the R export
    print("\nVerhaak patients with imaging traits and survival; volume ratios (continuous):")
    ratios = ["enhancing", "ncet_necrosis", "edema"]
    print(cohort.obs[ratios].describe().loc[["count", "mean", "std", "min", "max"]].T.round(3).to_string())
    print("VASARI annotations (categories):")
    traits = ["f5", "f6", "f7", "f9", "f10", "f14"]
    summary = pd.DataFrame(
        {t: cohort.obs[t].value_counts().reindex(cohort.obs[t].cat.categories).tolist() + [int(cohort.obs[t].isna().sum())]
         for t in traits},
        index=["negative", "positive", "missing"],
    ).T
    print(summary.to_string())
    print(f"\nsurvival joined for {int(cohort.obs['os_days'].notna().sum())} of {cohort.n_obs} patients "
          f"({time.perf_counter() - t0:.1f} s)")
    if args.skip_models:
        return 0
    from . import workflow

    print(f"\nrunning the bundled config {DEMO_CONFIG.name} (radiogx run); log and results in {args.out}/")
    workflow.run(DEMO_CONFIG, out=args.out, n_jobs=args.n_jobs)
    print(f"\ndone in {time.perf_counter() - t0:.0f} s; open {Path(args.out) / 'report.html'}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from . import workflow

    if args.help_config:
        print(workflow.describe_schema())
        return 0
    if args.config is None:
        raise ValueError("radiogx run needs a CONFIG.toml (radiogx run --help-config lists every key)")
    t0 = time.perf_counter()
    cfg = workflow.load_config(args.config)  # validated before any work
    out = Path(args.out or cfg["run"]["out"])
    workflow.run(args.config, out=args.out, n_jobs=args.n_jobs, scheduler=args.scheduler)
    print(f"done in {time.perf_counter() - t0:.0f} s; report: {out / 'report.html'}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from . import workflow

    adata = workflow.read_results(args.results)
    out = Path(args.out) if args.out else Path(args.results).parent
    path = workflow.render_report(adata, out, formats=args.formats)
    print(f"report: {path}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from . import get, workflow

    adata = workflow.predict_cohort(args.model, args.cohort, args.out, obs=args.obs, orientation=args.orientation,
                                    truth=args.truth,
                                    missing_genes=args.missing_genes, scale=args.scale, min_coverage=args.min_coverage,
                                    reference=args.reference, abstain_below=args.abstain_below)
    summary = get.prediction_summary_df(adata)
    print(summary.drop(columns=["classes_compared"]).to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    counts = get.predictions_df(adata)["predicted"].value_counts()
    print("predicted: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    print(f"written: {Path(args.out) / 'predictions.tsv'}, predictions.h5ad, report.html")
    return 0


def _model_info(args: argparse.Namespace) -> int:
    from .nn import model_info

    info = model_info(args.model)
    training = info.pop("training")
    width = max(map(len, info)) + 1
    for k, v in info.items():
        print(f"{k:<{width}} {v}")
    if training:
        cv = training.get("cv", {})
        regression = training.get("task") == "regression"
        what = (f"a continuous trait (mean {training.get('observed_mean', float('nan')):.3g}, sd "
                f"{training.get('observed_sd', float('nan')):.3g}, transform {training.get('transform', 'none')})"
                if regression else
                "classes " + ", ".join(f"{c} {n}" for c, n in dict(training.get("class_counts", {})).items()))
        print(f"{'trained on':<{width}} {training.get('n_patients')} patients x {training.get('n_genes')} genes; {what}")
        if cv:
            metric, name = ("r2", "R^2") if regression else ("roc_auc", "ROC-AUC")
            print(f"{'nested CV':<{width}} {cv.get('folds')} folds ({cv.get('protocol')}): {name} "
                  f"{cv.get(f'{metric}_mean', float('nan')):.3f} +/- {cv.get(f'{metric}_sd', float('nan')):.3f} over "
                  f"folds, pooled out-of-fold {cv.get(f'{metric}_pooled', float('nan')):.3f}")
    else:
        print(f"{'trained on':<{width}} (not recorded: a model saved by radiogx 0.3 or earlier)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``radiogx`` command."""
    parser = argparse.ArgumentParser(prog="radiogx", description="Transcriptomic drivers of imaging traits.")
    parser.add_argument("--version", action="version", version=f"radiogx {__version__}")
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors, no progress bars")
    parser.add_argument("--datasetdir", help="folder with the data files (default: $RADIOGX_DATASETDIR or ../shared/data)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the analysis on the bundled real data")
    demo.add_argument("--out", default="radiogx_demo", help="output folder (default: radiogx_demo)")
    demo.add_argument("--n-jobs", type=int, default=None, help="parallel jobs (default: all cores); results do not depend on it")
    demo.add_argument("--skip-models", action="store_true", help="only load and summarise the data")
    run = sub.add_parser("run", help="run the whole pipeline of a TOML config (resumes from stored step results)")
    run.add_argument("config", nargs="?", help="the TOML config (see --help-config)")
    run.add_argument("--out", help="output folder (default: the config's [run] out)")
    run.add_argument("--n-jobs", type=int, default=None, help="parallel jobs (default: the config's); results do not depend on it")
    run.add_argument("--scheduler", help="Dask scheduler for the parallel work: 'local' or tcp://HOST:PORT "
                     "(overrides [run] scheduler); results do not depend on it")
    run.add_argument("--help-config", action="store_true", help="print every config key with its default and allowed values")
    report = sub.add_parser("report", help="re-render report.html (and the figures) from a run's results.h5ad")
    report.add_argument("results", help="results.h5ad written by radiogx run")
    report.add_argument("--out", help="output folder (default: the folder of RESULTS)")
    report.add_argument("--formats", nargs="*", default=["png", "svg"], help="figure file formats (default: png svg)")
    pred = sub.add_parser("predict", help="apply a saved model to a new cohort (table, .h5ad and report.html)")
    pred.add_argument("model", help="a model saved by radiogx (model.save, or the .pt files of radiogx run)")
    pred.add_argument("cohort", help="the cohort: .h5ad, or an expression table .tsv/.csv/.gct (optionally .gz)")
    pred.add_argument("--out", required=True, help="output folder")
    pred.add_argument("--obs", help="a table of per-patient columns (first column: patient id), e.g. known classes")
    pred.add_argument("--orientation", choices=("auto", "genes_x_samples", "samples_x_genes"), default="auto",
                      help="axes of an expression table (default: auto, from the labels, else the longer axis is genes)")
    pred.add_argument("--truth", help="the .obs column of known classes to score against (default: the model's trait)")
    pred.add_argument("--missing-genes", choices=("error", "impute", "infer"), default="error",
                      help="model genes the cohort lacks: refuse, set them to the training mean, or infer them from "
                           "the measured genes (default: error)")
    pred.add_argument("--scale", choices=("training", "cohort", "reference"), default="training",
                      help="scale genes with the training cohort's statistics, within this cohort (another "
                           "platform), or with a reference cohort of this platform (--reference) (default: training)")
    pred.add_argument("--reference", help="with --scale reference: a cohort file of the same platform (as COHORT)")
    pred.add_argument("--abstain-below", type=float, default=None,
                      help="mark a call abstain when its class probability is below this (default: 0.6)")
    pred.add_argument("--min-coverage", type=float, default=0.8,
                      help="smallest share of the network's first-layer weight on measured genes (default: 0.8)")
    info = sub.add_parser("model-info", help="what a saved model says about itself (training cohort, CV, versions)")
    info.add_argument("model", help="a saved radiogx model")
    args = parser.parse_args(argv)
    if args.quiet:
        settings.verbosity = 1
        settings.progress = False
    if args.datasetdir:
        settings.datasetdir = args.datasetdir
    try:
        return {"demo": _demo, "run": _run, "report": _report, "predict": _predict,
                "model-info": _model_info}[args.command](args)
    except (FileNotFoundError, ValueError) as err:
        print(f"radiogx: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
