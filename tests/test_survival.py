"""Survival analysis on the real TCGA-GBM clinical data, checked against R's survival package."""

from __future__ import annotations

import anndata as ad
import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

import radiogx as rg

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def tcga(tcga_clinical):
    return tcga_clinical.copy()


def test_age_is_prognostic_and_gcimp_separates_survival(tcga):
    adata = tcga.copy()
    rg.tl.survival(adata, features=["age_per_10y", "gcimp"], covariates=("gender",))
    table = rg.get.survival_df(adata).set_index("term")
    print("\n" + table.round(4).to_string())
    age = table.loc["age_per_10y"]
    assert age["hazard_ratio"] > 1 and age["pval"] < 0.01 and age["ci_lower"] > 1
    assert table.loc["gcimp=True", "logrank_pval"] < 0.01
    assert table.loc["gcimp=True", "hazard_ratio"] < 1
    assert age["n"] == 546 and age["events"] == 411  # the 2 patients without vital status are left out


def test_cox_and_logrank_agree_with_r_survival(tcga):
    """R::

        fit <- coxph(Surv(T, E) ~ age_per_10y + gender, data = d, ties = "efron")
        survdiff(Surv(T, E) ~ gcimp, data = d)$chisq
    """
    from radiogx.io._rpy2 import import_rpy2

    ro = import_rpy2()  # first: it keeps LD_LIBRARY_PATH as it was
    from rpy2.robjects import pandas2ri
    from rpy2.robjects.conversion import localconverter

    adata = tcga.copy()
    rg.tl.survival(adata, features=["age_per_10y", "gcimp", "kps"], covariates=("gender",), continuous="per_unit")
    ours = rg.get.survival_df(adata).set_index("term")
    ro.r("suppressPackageStartupMessages(library(survival))")
    for feature, term in (("age_per_10y", "age_per_10y"), ("kps", "kps"), ("gcimp", "gcimp=True")):
        d = adata.obs[["os_days", "os_event", feature, "gender"]].dropna()
        frame = pd.DataFrame({"T": d["os_days"].astype(float), "E": d["os_event"].astype(int),
                              "x": d[feature].astype(float), "male": (d["gender"] == "male").astype(float)})
        with localconverter(ro.default_converter + pandas2ri.converter):
            ro.globalenv["d"] = frame
        coef = ro.r('coef(coxph(Surv(T, E) ~ x + male, data = d, ties = "efron"))')
        assert ours.loc[term, "coef"] == pytest.approx(coef[0], abs=1e-4)
        if feature == "gcimp":
            chisq = ro.r("survdiff(Surv(T, E) ~ x, data = d)$chisq")[0]
            assert ours.loc[term, "logrank_stat"] == pytest.approx(chisq, abs=1e-4)
        covariates = adata.uns["survival"]["covariate_terms"].set_index(["feature", "term"])
        assert covariates.loc[(feature, "gender=male"), "coef"] == pytest.approx(coef[1], abs=1e-4)


def test_kaplan_meier_multivariable_models_and_figures(tcga, tmp_path):
    adata = tcga.copy()
    rg.tl.survival(adata, features=["gcimp", "mgmt", "age_per_10y"], covariates=("gender",), selection="stepwise_aic")
    km = adata.uns["survival"]["km"]
    first = km[(km["feature"] == "gcimp") & (km["group"] == "True")].iloc[0]
    assert first["time"] == 0 and first["survival"] == 1.0
    multi = rg.get.survival_df(adata, multivariable=True)
    assert "gender=male" in set(multi["term"]) and multi["n"].iloc[0] > 300
    rg.tl.survival(adata, features=["gcimp", "mgmt", "age_per_10y"], covariates=("gender",), selection="penalized",
                   penalizer=0.05, key_added="lasso")
    assert set(rg.get.survival_df(adata, key="lasso", multivariable=True)["term"]) >= {"gcimp=True", "age_per_10y"}
    fig = rg.pl.km(adata, "gcimp", return_fig=True)
    assert "log-rank p" in fig.axes[0].get_title()
    rg.pl.forest(adata, multivariable=True, return_fig=True)
    adata.write_h5ad(tmp_path / "s.h5ad")
    back = ad.read_h5ad(tmp_path / "s.h5ad")
    pd.testing.assert_frame_equal(rg.get.survival_df(back), rg.get.survival_df(adata))


BAD = [
    ("negative duration", lambda o: o.__setitem__("os_days", o["os_days"].where(o.index != o.index[0], -5)),
     {"features": "age_per_10y"}, r"'os_days' has negative values for patients \['TCGA-02-0001'\]"),
    ("events not 0/1", lambda o: o.__setitem__("os_event", o["os_event"].astype(float) * 2),
     {"features": "age_per_10y"}, r"'os_event' must be coded 0/1"),
    ("covariate with one level", lambda o: o.__setitem__("site", "same"),
     {"features": "age_per_10y", "covariates": ("site",)}, r"'site' has a single level \['same'\]"),
    ("unknown feature", lambda o: None, {"features": "grade"}, r"\['grade'\] not in adata.obs"),
    ("penalized without a penalty", lambda o: None, {"features": "age_per_10y", "selection": "penalized"},
     r"needs penalizer > 0"),
]


@pytest.mark.parametrize("edit,kwargs,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_survival_input(tcga, edit, kwargs, match):
    adata = tcga.copy()
    edit(adata.obs)
    before = adata.obs.copy()
    with pytest.raises(ValueError, match=match):
        rg.tl.survival(adata, **kwargs)
    pd.testing.assert_frame_equal(adata.obs, before)
    assert "survival" not in adata.uns


def test_more_parameters_than_events_and_missing_durations(tcga, caplog):
    adata = tcga[:40].copy()
    adata.obs["os_event"] = pd.array([1, 1] + [0] * 38, dtype="Int64")
    with pytest.raises(ValueError, match=r"has 2 parameters but only 2 events among 40 patients"):
        rg.tl.survival(adata, features="age_per_10y", covariates=("gender",))
    adata = tcga.copy()
    adata.obs.loc[adata.obs_names[:10], "os_days"] = np.nan
    rg.tl.survival(adata, features="age_per_10y", covariates=())
    assert rg.get.survival_df(adata)["n"].iloc[0] == 536  # missing durations are left out and counted in n


def test_a_continuous_feature_is_per_sd_with_a_median_split(tcga):
    """Per sd: the per-unit coefficient times the feature's sd (the same model); the Kaplan-Meier split at the median."""
    adata = tcga.copy()
    rg.tl.survival(adata, features="age_per_10y", covariates=("gender",), continuous="per_unit", key_added="unit")
    rg.tl.survival(adata, features="age_per_10y", covariates=("gender",))
    unit = rg.get.survival_df(adata, key="unit").iloc[0]
    per_sd = rg.get.survival_df(adata).iloc[0]
    used = adata.obs[["os_days", "os_event", "age_per_10y", "gender"]].dropna()
    sd = used["age_per_10y"].astype(float).std(ddof=1)
    assert per_sd["unit"] == "per sd" and unit["unit"] == "per unit"
    assert per_sd["sd"] == pytest.approx(sd)
    assert per_sd["coef"] == pytest.approx(unit["coef"] * sd, rel=1e-5)
    assert per_sd["pval"] == pytest.approx(unit["pval"], rel=1e-4)
    groups = set(adata.uns["survival"]["km"]["group"])
    median = used["age_per_10y"].median()
    assert groups == {f"above median ({median:.3g})", f"at or below median ({median:.3g})"}
    assert np.isfinite(per_sd["logrank_pval"])


def test_a_cox_fit_that_diverges_is_flagged_and_tested_by_likelihood_ratio(tcga, caplog):
    """Twelve patients, all censored and followed longest, make a binary feature whose hazard ratio runs to 0
    (monotone likelihood). radiogx 0.7.0 reported HR ~1e-7, CI [0, inf] and Wald's p ~ 0.99 without a word. R::

        fit <- coxph(Surv(T, E) ~ x, data = d, ties = "efron")   # "coefficient may be infinite"
        summary(fit)$logtest["pvalue"]
    """
    from radiogx.io._rpy2 import import_rpy2

    ro = import_rpy2()
    from rpy2.robjects import pandas2ri
    from rpy2.robjects.conversion import localconverter

    adata = tcga[tcga.obs[["os_days", "os_event"]].notna().all(axis=1)].copy()
    censored = adata.obs.loc[adata.obs["os_event"].astype(int) == 0, "os_days"].astype(float)
    adata.obs["all_censored"] = adata.obs_names.isin(censored.sort_values(ascending=False).index[:12])
    import logging

    with caplog.at_level(logging.WARNING, logger="radiogx"):
        rg.tl.survival(adata, features=["all_censored", "age_per_10y"], covariates=())
    table = rg.get.survival_df(adata).set_index("feature")
    flagged = table.loc["all_censored"]
    print("\n" + table[["hazard_ratio", "ci_lower", "ci_upper", "wald_pval", "lr_pval", "pval", "fit_flag",
                        "logrank_pval"]].to_string())
    assert "|log HR| > 10" in flagged["fit_flag"] or "did not converge" in flagged["fit_flag"]
    assert flagged["pval_method"] == "likelihood_ratio" and flagged["pval"] == flagged["lr_pval"]
    assert flagged["wald_pval"] > 0.5 and flagged["pval"] < 0.01 and flagged["logrank_pval"] < 0.01
    assert "Wald test is unreliable" in caplog.text
    age = table.loc["age_per_10y"]  # a well-behaved fit keeps Wald's test, and the LR test agrees with it
    assert age["fit_flag"] == "" and age["pval_method"] == "wald" and age["pval"] == age["wald_pval"]
    assert age["lr_pval"] < 1e-10 and age["wald_pval"] < 1e-10
    d = adata.obs[["os_days", "os_event", "all_censored"]]
    frame = pd.DataFrame({"T": d["os_days"].astype(float), "E": d["os_event"].astype(int),
                          "x": d["all_censored"].astype(float)})
    with localconverter(ro.default_converter + pandas2ri.converter):
        ro.globalenv["d"] = frame
    ro.r("suppressPackageStartupMessages(library(survival))")
    r_lr = ro.r('suppressWarnings(summary(coxph(Surv(T, E) ~ x, data = d, ties = "efron"))$logtest["pvalue"])')[0]
    r_stat = ro.r('suppressWarnings(summary(coxph(Surv(T, E) ~ x, data = d, ties = "efron"))$logtest["test"])')[0]
    assert flagged["lr_pval"] == pytest.approx(r_lr, abs=1e-4)
    assert chi2.isf(flagged["lr_pval"], 1) == pytest.approx(r_stat, rel=1e-4)  # the statistic, as p is tiny


def test_few_events_per_parameter_warn(tcga, caplog):
    import logging

    adata = tcga[:30].copy()
    with caplog.at_level(logging.WARNING, logger="radiogx"):
        rg.tl.survival(adata, features=["age_per_10y"], covariates=("gender", "kps"))
    epp = rg.get.survival_df(adata)["events_per_parameter"].iloc[0]
    assert epp < 10 and "events per parameter" in caplog.text
