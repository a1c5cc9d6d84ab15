# %% [markdown]
# # radiogx in Python: from the real TCGA-GBM data to the R export
#
# A walkthrough of the paper's pipeline (Smedley, El-Saden & Hsu, Bioinformatics 2020) on the real data bundled with
# radiogx, one call per step, as `radiogx run` chains them. The test suite executes this file
# (`tests/test_vignettes.py`); open it in Jupyter (jupytext percent format) or run `python vignettes/walkthrough.py`.
# Figures and the R export go to `$RADIOGX_VIGNETTE_OUT` (default `walkthrough_output/`).

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import radiogx as rg  # noqa: E402

out = Path(os.environ.get("RADIOGX_VIGNETTE_OUT", "walkthrough_output"))
out.mkdir(parents=True, exist_ok=True)
rg.settings.seed = 0


def save(fig, name):
    fig.savefig(out / f"{name}.png", dpi=100)
    plt.close(fig)


# %% [markdown]
# ## 1. Data: expression, traits and clinical data in one AnnData
#
# The Verhaak 2010 TCGA-GBM cohort: 173 patients x 840 classifier genes, the subtype in `.obs`. Imaging traits come
# from segmented MRI volumes (`volumetric_traits`) and VASARI annotations (`encode_vasari`); survival and covariates
# from the TCGA clinical tables.

# %%
adata = rg.datasets.verhaak2010()
rg.pp.volumetric_traits(adata, rg.datasets.tcga_gbm_volumetrics())
rg.pp.add_clinical(adata, rg.datasets.tcga_gbm_clinical(), columns=["os_days", "os_event", "age", "gender"])
rg.pp.add_clinical(adata, rg.datasets.tcga_glioma_subtypes(), columns=["gcimp"])
print(adata)
print(adata.obs[["subtype", "ncet_necrosis", "os_days", "gcimp"]].describe(include="all").T)

# %% [markdown]
# ## 2. A radiogenomic network, evaluated honestly
#
# Nested 5-fold cross-validation: the scaler, the epoch and the settings are chosen inside each training fold. The
# baselines run on the same outer folds. The paired bootstrap resamples patients and keeps every model's out-of-fold
# predictions: its intervals cover the pooled out-of-fold AUCs and their differences, and `compare_df` says, per
# trait, whether the network beats the baselines, from intervals that are simultaneous over the baselines. Both the
# network and the L2 logit reach AUCs near 1 on the subtypes: there, the verdict is "indistinguishable at the ceiling".

# %%
model = rg.tl.train(adata, "subtype", cv=5)
rg.tl.compare(adata, "subtype", models=("logit_l2", "random_forest"))
rg.tl.bootstrap(adata, "subtype")
print(rg.get.compare_df(adata).round(3))
print(rg.get.compare_df(adata)["network_verdict"].iloc[0])
print(rg.get.bootstrap_df(adata, differences=True).drop(columns="covers").round(3))
save(rg.pl.roc(adata, "subtype", return_fig=True), "roc_subtype")
save(rg.pl.compare(adata, "subtype", return_fig=True), "compare_subtype")

# %% [markdown]
# ## 3. Interpretation: gene masking and gene saliency
#
# Gene masking keeps one gene set and zeroes the others, scoring each patient out of fold against random sets of the
# same size and against the labels permuted within each outer fold; the p-values are Monte Carlo p-values, refined by
# multilevel splitting where a set's are too small for the draws. Each
# subtype's own Verhaak signature should come first.

# %%
signatures = rg.datasets.gene_sets("verhaak")
rg.tl.gene_masking(adata, signatures, key_added="masking_verhaak")
masking = rg.get.masking_df(adata, key="masking_verhaak")
best = masking.groupby("target", sort=False).head(1)[["target", "gene_set", "loglik", "padj"]]
print(best)
save(rg.pl.masking(adata, key="masking_verhaak", return_fig=True), "masking")

rg.tl.saliency(adata, abs=False)                                   # mean signed gradient, per class, in .var
rg.tl.saliency(adata, method="input_x_gradient", abs=False, key_added="ixg")   # per patient, in .layers
print(rg.get.saliency_df(adata, n_top=5))
save(rg.pl.saliency(adata, "subtype", target="Proneural", return_fig=True), "saliency_proneural")

# %% [markdown]
# ## 4. Enrichment, radiogenomic associations and survival
#
# GSEA of the Proneural attributions, at cohort level and per patient; per-patient enrichment becomes binary
# features (`associations`), which the survival analysis tests beside the subtype and G-CIMP.

# %%
rg.tl.enrich(adata, key="saliency", target="Proneural", gene_sets=signatures, min_size=10)  # saliency's .var
print(rg.get.enrich_df(adata)[["gene_set", "nes", "padj"]])       # the only enrichment so far: no key to type
save(rg.pl.running_score(adata, return_fig=True), "running_score")

rg.tl.enrich(adata, key="ixg", target="Proneural", gene_sets=signatures, per_patient=True, min_size=10)
rg.tl.associations(adata, min_patients=5)                        # reads the only per-patient enrichment
print(rg.get.associations_df(adata))                  # the features it wrote to .obs, and their patients
save(rg.pl.associations(adata, return_fig=True), "associations")

features = ["subtype", "gcimp"] + list(rg.get.associations_df(adata)["feature"])
rg.tl.survival(adata, features=features, covariates=("age",))
print(rg.get.survival_df(adata)[["term", "hazard_ratio", "ci_lower", "ci_upper", "pval", "logrank_pval"]].round(4))
save(rg.pl.km(adata, "gcimp", return_fig=True), "km_gcimp")
save(rg.pl.forest(adata, return_fig=True), "cox_forest")

# %% [markdown]
# ### A continuous imaging trait, and its survival
#
# The volume ratios are continuous (`edema` = edema / whole tumour volume, for the 48 patients with segmented MRI). A
# float trait gets a regression network (Gaussian loss, the same nested folds), scored by R^2 out of fold, against
# regressors on the same folds, `mean` (the training mean) the floor every model must beat. In a Cox model a
# continuous trait counts per standard deviation; its Kaplan-Meier curves split the patients at its median.

# %%
rg.tl.train(adata, "edema", cv=5)
rg.tl.compare(adata, "edema", models=("mean", "ridge", "svr"))
print(rg.get.compare_df(adata, trait="edema")[["model", "r2", "spearman", "r2_pooled", "best_model"]].round(3))
save(rg.pl.predicted_vs_observed(adata, "edema", return_fig=True), "predicted_edema")
rg.tl.survival(adata, features="edema", covariates=("age",), key_added="survival_edema")  # hazard ratio per sd
print(rg.get.survival_df(adata, key="survival_edema")[["term", "unit", "sd", "hazard_ratio", "pval", "logrank_pval"]])

# %% [markdown]
# ## 5. To R
#
# `write_r` exports a SummarizedExperiment: expression and attributions as assays, `.obs`/`.var` as colData/rowData,
# every result table with its parameters in the metadata. In R: `se <- radiogx::readRadiogx("walkthrough.rds")`,
# then `radiogxResults(se)`, `radiogxCamera()`, `radiogxSurvival()` (see the R vignette).

# %%
path = rg.io.write_r(adata, out / "walkthrough.rds", overwrite=True)
adata.write_h5ad(out / "walkthrough.h5ad")

from radiogx.io._rpy2 import import_rpy2  # noqa: E402 - rpy2, leaving this Python's later subprocesses unaffected

ro = import_rpy2()

ro.r("suppressWarnings(suppressPackageStartupMessages(library(SummarizedExperiment)))")
se_dim = list(ro.r(f'dim(readRDS("{path.resolve()}"))'))
tables = list(ro.r(f'names(S4Vectors::metadata(readRDS("{path.resolve()}"))$tables)'))
print(f"in R: {se_dim[0]} genes x {se_dim[1]} patients; tables {tables}")

# %% [markdown]
# ## 6. All of it in one command
#
# `radiogx run config.toml` chains these steps from a validated TOML file, resumes from stored results after a crash
# or a changed setting, and writes `results.h5ad`, `results.rds`, TSV tables, figures and a self-contained
# `report.html`. `radiogx demo` runs the bundled config on this cohort; `radiogx run --help-config` lists every key.
