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
    print("\nVerhaak patients with imaging traits (volumetric, VASARI) and survival:")
    traits = ["enhancing", "ncet_necrosis", "edema", "f5", "f6", "f7", "f9", "f10", "f14"]
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
    _demo_models(verhaak, cohort, Path(args.out), n_jobs=args.n_jobs)
    print(f"\ndone in {time.perf_counter() - t0:.0f} s; results in {args.out}/")
    return 0


def _demo_models(verhaak, cohort, out: Path, *, n_jobs: int) -> None:
    """Subtype and imaging-trait networks with nested 5-fold CV, each beside the five baselines on the same folds."""
    import matplotlib

    matplotlib.use("Agg")
    from . import get, pl, tl

    out.mkdir(parents=True, exist_ok=True)
    print("\n== Verhaak subtypes: network vs baselines, nested 5-fold CV (macro one-vs-rest ROC-AUC) ==")
    tl.train(verhaak, "subtype", hidden=(512, 256), dropout=0.4, epochs=100, patience=15, cv=5, seed=0, n_jobs=n_jobs)
    tl.compare(verhaak, "subtype", n_jobs=n_jobs)
    print(get.compare_df(verhaak).round(3).to_string(index=False))
    jobs = [(verhaak, "subtype")]
    print("\n== Imaging traits from segmented MRI volumes (Verhaak patients with volumes) ==")
    for trait in ("enhancing", "ncet_necrosis", "edema"):
        counts = cohort.obs[trait].value_counts()
        if counts.min() < 5:
            print(f"{trait}: skipped, {counts.to_dict()} leaves fewer than 5 patients in a class for 5-fold CV")
            continue
        tl.train(cohort, trait, hidden=(256, 128), dropout=0.4, epochs=100, patience=15, cv=5, seed=0, n_jobs=n_jobs)
        tl.compare(cohort, trait, n_jobs=n_jobs)
        print(get.compare_df(cohort, trait=trait).round(3).to_string(index=False))
        jobs.append((cohort, trait))
    for adata, trait in jobs:
        for name, plot in (("roc", pl.roc), ("compare", pl.compare)):
            fig = plot(adata, trait, return_fig=True)
            fig.savefig(out / f"{name}_{trait}.png", dpi=120)
            matplotlib.pyplot.close(fig)

    _demo_interpretation(verhaak, cohort, jobs, out)


def _demo_interpretation(verhaak, cohort, jobs, out: Path) -> None:
    """Gene masking, saliency, enrichment and survival on the demo's models."""
    import anndata
    import matplotlib

    from . import datasets, get, pl, pp, tl

    print("\n== Interpretation: out-of-fold gene masking (size-matched null, BH) and saliency ==")
    collections = {f"verhaak.{k}": v for k, v in datasets.gene_sets("verhaak").items()}
    for name in ("hallmark", "ivygap"):
        collections.update({f"{name}.{k}": v for k, v in datasets.gene_sets(name).items()})
    for adata, _ in ((verhaak, None), (cohort, None)):
        traits = [t for a, t in jobs if a is adata]
        if not traits:
            continue
        tl.gene_masking(adata, collections, min_size=5, n_null=1000)
        table = get.masking_df(adata)
        best = table.groupby(["trait", "target"], sort=False).head(3)
        print(best[["trait", "target", "gene_set", "n_genes", "loglik", "auc", "padj"]].round(4).to_string(index=False))
        tl.saliency(adata, abs=False)
        fig = pl.masking(adata, return_fig=True)
        fig.savefig(out / f"masking_{'_'.join(traits)}.png", dpi=120)
        matplotlib.pyplot.close(fig)
        for trait in traits:
            fig = pl.saliency(adata, trait, return_fig=True)
            fig.savefig(out / f"saliency_{trait}.png", dpi=120)
            matplotlib.pyplot.close(fig)
    sig = verhaak.var["signature"].astype(str)
    hits = {s: int((sig[get.saliency_df(verhaak, n_top=100).query("target == @s")["gene"]] == code).sum())
            for s, code in datasets.VERHAAK_SIGNATURES.items()}
    print(f"own-signature genes among each subtype's 100 most salient genes (signed): {hits}")

    print("\n== Enrichment: cohort level on the mean signed gradient, per patient on signed input x gradient ==")
    for adata, _ in ((verhaak, None), (cohort, None)):
        traits = [t for a, t in jobs if a is adata]
        if not traits:
            continue
        tl.saliency(adata, method="input_x_gradient", abs=False, key_added="ixg")
        for trait in traits:
            rec = adata.uns["saliency"][trait]
            for target, layer in zip(rec["targets"], rec["keys"]):
                tl.enrich(adata, key=layer, gene_sets=collections, min_size=10, max_size=500)
                top = get.enrich_df(adata, key=f"enrich_{layer}").head(3)
                print(f"{trait} -> {target}: " + "; ".join(f"{g} (NES {n:.2f}, padj {p:.1e})" for g, n, p in
                                                           zip(top["gene_set"], top["nes"], top["padj"])))
    own = {}
    for subtype, code in datasets.VERHAAK_SIGNATURES.items():
        group = verhaak[verhaak.obs["subtype"] == subtype].copy()
        tl.enrich(group, key=f"ixg_subtype_{subtype}", gene_sets=datasets.gene_sets("verhaak"), per_patient=True,
                  key_added="per_patient")
        res = get.enrich_df(group, key="per_patient")
        hit = res[(res["gene_set"] == code) & (res["padj"] < 0.05) & (res["nes"] > 0)]
        own[subtype] = f"{len(hit)}/{group.n_obs}"
    print(f"per-patient enrichment: own signature enriched (padj < 0.05) in {own} patients")
    fig = pl.enrichment(verhaak, key="enrich_saliency_subtype_Mesenchymal", return_fig=True)
    fig.savefig(out / "enrichment_subtype_Mesenchymal.png", dpi=120)
    matplotlib.pyplot.close(fig)

    print("\n== Survival on the TCGA-GBM patients (Cox adjusted for age and gender; log-rank) ==")
    clinical = datasets.tcga_gbm_clinical()
    tcga = anndata.AnnData(obs=pd.DataFrame(index=clinical.index))
    pp.add_clinical(tcga, clinical, columns=["os_days", "os_event", "age", "gender", "kps"])
    pp.add_clinical(tcga, datasets.tcga_glioma_subtypes(), columns=["gcimp", "mgmt", "Original.Subtype"])
    pp.add_clinical(tcga, verhaak.obs[["subtype"]])
    pp.volumetric_traits(tcga, datasets.tcga_gbm_volumetrics())
    tcga.obs["age_per_10y"] = tcga.obs["age"] / 10
    tl.survival(tcga, features=["gcimp", "mgmt", "subtype", "ncet_necrosis"], covariates=("age", "gender"))
    table = get.survival_df(tcga)
    print(table[["term", "hazard_ratio", "ci_lower", "ci_upper", "pval", "padj", "n", "events", "logrank_pval"]]
          .round(4).to_string(index=False))
    for feature in ("gcimp", "ncet_necrosis"):
        fig = pl.km(tcga, feature, return_fig=True)
        fig.savefig(out / f"km_{feature}.png", dpi=120)
        matplotlib.pyplot.close(fig)
    fig = pl.forest(tcga, return_fig=True)
    fig.savefig(out / "cox_forest.png", dpi=120)
    matplotlib.pyplot.close(fig)
    from . import io

    for adata, name in ((tcga, "tcga_survival"), (verhaak, "verhaak_subtypes"), (cohort, "imaging_cohort")):
        adata.write_h5ad(out / f"{name}.h5ad")
        io.write_r(adata, out / f"{name}.rds", overwrite=True)  # for R: radiogx::readRadiogx()



def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``radiogx`` command."""
    parser = argparse.ArgumentParser(prog="radiogx", description="Transcriptomic drivers of imaging traits.")
    parser.add_argument("--version", action="version", version=f"radiogx {__version__}")
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors, no progress bars")
    parser.add_argument("--datasetdir", help="folder with the data files (default: $RADIOGX_DATASETDIR or ../shared/data)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the analysis on the bundled real data")
    demo.add_argument("--out", default="radiogx_demo", help="folder for figures and .h5ad results (default: radiogx_demo)")
    demo.add_argument("--n-jobs", type=int, default=-1, help="parallel jobs (default: all cores); results do not depend on it")
    demo.add_argument("--skip-models", action="store_true", help="only load and summarise the data")
    args = parser.parse_args(argv)
    if args.quiet:
        settings.verbosity = 1
        settings.progress = False
    if args.datasetdir:
        settings.datasetdir = args.datasetdir
    try:
        return {"demo": _demo}[args.command](args)
    except (FileNotFoundError, ValueError) as err:
        print(f"radiogx: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
