"""Continuous traits (volume ratios, radiomic features): regression networks, baselines, bootstrap, masking, saliency,
survival and the workflow, checked against scikit-learn, direct computations and planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm, spearmanr
from sklearn.metrics import r2_score

import radiogx as rg
from radiogx.workflow._report import figure_specs


@pytest.fixture(scope="module")
def planted():
    """A continuous trait linear in one planted module of 20 genes (score = module activity + noise sd 0.5), with the
    network, two baselines, the bootstrap and masking of the planted set among 10 decoys."""
    adata = rg.datasets.synthetic(n_obs=150, n_vars=300, n_traits=1, kinds=["linear"], module_size=20, n_decoys=10,
                                  noise=0.5, continuous=True, seed=1)
    rg.tl.train(adata, "trait_0", cv=3, inner_splits=1, seed=0, n_jobs=2)
    rg.tl.compare(adata, "trait_0", models=["ridge", "lasso"], n_jobs=2)
    rg.tl.bootstrap(adata, "trait_0", n_boot=500)
    rg.tl.gene_masking(adata, adata.uns["synthetic"]["gene_sets"], n_null=200)
    return adata


def test_regression_scores_agree_with_scikit_learn_and_a_direct_gaussian_likelihood():
    from radiogx.nn._fit import regression_scores
    from radiogx.tl._bootstrap import _rows_r2
    from radiogx.tl._masking_scores import score_masked as _score, score_permuted as _score_permuted

    rng = np.random.default_rng(0)
    y = rng.normal(2.0, 3.0, 40)
    predictions = y[None, :] * rng.uniform(0, 1, (5, 1)) + rng.normal(0, 2, (5, 40))
    scores = regression_scores(y, predictions[0])
    assert scores["r2"] == pytest.approx(r2_score(y, predictions[0]), abs=1e-12)
    assert scores["spearman"] == pytest.approx(spearmanr(y, predictions[0]).statistic, abs=1e-12)
    assert scores["rmse"] == pytest.approx(np.sqrt(np.mean((y - predictions[0]) ** 2)), abs=1e-12)
    masked = _score(predictions[:, :, None], y, [0])
    for i, p in enumerate(predictions):
        sigma = np.sqrt(np.mean((y - p) ** 2))  # the maximum-likelihood residual sd
        assert masked["r2"][0, i] == pytest.approx(r2_score(y, p), abs=1e-10)
        assert masked["loglik"][0, i] == pytest.approx(norm.logpdf(y, loc=p, scale=sigma).mean(), abs=1e-10)
        assert np.isnan(masked["auc"][0, i])
    permuted = np.stack([rng.permutation(y) for _ in range(7)])
    by_product = _score_permuted(predictions[:, :, None], permuted, 0, "r2")  # sets x permutations, as matrix products
    direct = np.array([[r2_score(perm, p) for perm in permuted] for p in predictions])
    np.testing.assert_allclose(by_product, direct, atol=1e-10)
    rows = rng.integers(0, 40, (6, 40))
    np.testing.assert_allclose(_rows_r2(y[rows], predictions[0][rows]),
                               [r2_score(y[r], predictions[0][r]) for r in rows], atol=1e-12)


def test_a_planted_continuous_trait_is_learnt_as_well_as_ridge_and_its_set_found(planted):
    adata = planted
    table = rg.get.compare_df(adata).set_index("model")
    print("\n" + table[["r2", "r2_sd", "spearman", "rmse", "r2_pooled"]].round(3).to_string())
    assert (table["metric"] == "r2").all()
    assert table.loc["network", "r2_pooled"] >= table.loc["ridge", "r2_pooled"] - 0.05
    assert table.loc["network", "r2_pooled"] > 0.5  # the best possible: 1 / (1 + 0.5^2) = 0.8
    cv = rg.get.cv_df(adata)
    assert list(cv.columns[5:8]) == ["r2", "spearman", "rmse"] and len(cv) == 3
    oof = rg.get.oof_df(adata)
    assert {"observed", "predicted"} <= set(oof.columns)
    assert table.loc["network", "r2_pooled"] == pytest.approx(r2_score(oof["observed"], oof["predicted"]))
    masking = rg.get.masking_df(adata)
    planted_set = list(adata.uns["synthetic"]["traits"]["trait_0"]["sets"])
    print(masking.head(3)[["gene_set", "loglik", "r2", "pval", "padj", "pval_method"]].to_string())
    assert masking.iloc[0]["gene_set"] == planted_set[0] and masking.iloc[0]["target"] == "trait_0"
    assert masking.iloc[0]["padj"] < 0.05 and (masking.iloc[1:]["padj"] >= 0.05).all()
    assert masking["auc"].isna().all() and masking["r2"].notna().all()


def test_bootstrap_intervals_of_r2_and_of_differences(planted):
    boot = rg.get.bootstrap_df(planted).set_index("model")
    table = rg.get.compare_df(planted).set_index("model")
    assert (boot["metric"] == "r2").all() and "R^2" in boot["covers"].iloc[0]
    for model in ("network", "ridge", "lasso"):
        assert boot.loc[model, "estimate"] == pytest.approx(table.loc[model, "r2_pooled"])
        assert boot.loc[model, "ci_lower"] < boot.loc[model, "estimate"] < boot.loc[model, "ci_upper"]
    diffs = rg.get.bootstrap_df(planted, differences=True).set_index("baseline")
    assert diffs.loc["ridge", "estimate"] == pytest.approx(table.loc["network", "r2_pooled"] - table.loc["ridge", "r2_pooled"])
    assert set(planted.uns["radiogx_bootstrap"]["trait_0"]["boots"].columns) == {"boot", "model", "r2"}
    assert rg.get.compare_df(planted)["network_verdict"].iloc[0]
    with pytest.raises(ValueError, match="continuous: its bootstrap resamples the out-of-fold predictions"):
        rg.tl.bootstrap(planted.copy(), "trait_0", method="refit")


def test_saliency_enrichment_and_prediction_of_a_continuous_trait(planted):
    adata = planted.copy()
    rg.tl.saliency(adata)
    record = adata.uns["saliency"]["trait_0"]
    assert list(record["targets"]) == ["trait_0"] and "saliency_trait_0" in adata.layers
    module = set(adata.uns["synthetic"]["gene_sets"][adata.uns["synthetic"]["traits"]["trait_0"]["sets"][0]])
    top = rg.get.saliency_df(adata, n_top=10)["gene"]
    assert len(module.intersection(top)) >= 8  # the planted genes carry the gradient
    rg.tl.enrich(adata, gene_sets=adata.uns["synthetic"]["gene_sets"], key="saliency", n_perm=1000, min_size=5)
    enriched = rg.get.enrich_df(adata)
    assert enriched.iloc[0]["gene_set"] == adata.uns["synthetic"]["traits"]["trait_0"]["sets"][0]
    with pytest.raises(ValueError, match=r"score='auc' does not apply to the continuous trait"):
        rg.tl.gene_masking(adata, "single", score="auc", n_null=0)
    new = planted[:40].copy()
    rg.tl.predict(new, model=rg.get.model(planted, "trait_0"))
    summary = rg.get.prediction_summary_df(new).iloc[0]
    assert summary["n_compared"] == 40 and summary["r2"] > 0.5  # in-sample patients: a check of the plumbing
    assert rg.get.predictions_df(new)["predicted"].dtype == float
    fig = rg.pl.predictions(new, return_fig=True)
    assert len(fig.axes) == 3 and fig.axes[2].get_title().startswith("R$^2$")
    spec = next(f for f in figure_specs(new) if f.name == "predictions_trait_0")
    assert spec.caption.startswith("trait_0: predicted values")
    with pytest.raises(ValueError, match=r"continuous: draw its out-of-fold predictions with rg.pl.predicted_vs_observed"):
        rg.pl.roc(planted, "trait_0")


def test_permuted_continuous_trait_masking_calls_at_most_five_percent():
    """Calibration: networks trained on a permuted continuous trait (5 outer folds: with 3, the label null, which
    holds the fold networks fixed, is liberal and gene_masking warns); masking (random-set and label nulls) calls
    few sets, and the label-permutation p-values of all sets are not too small."""
    base = rg.datasets.synthetic(n_obs=100, n_vars=200, n_traits=1, kinds=["linear"], module_size=10, n_decoys=30,
                                 noise=0.5, continuous=True, seed=4)
    rng = np.random.default_rng(0)
    called, small, tested = 0, 0, 0
    for i in range(6):
        adata = base.copy()
        adata.obs["trait_0"] = rng.permutation(adata.obs["trait_0"].to_numpy())
        rg.tl.train(adata, "trait_0", hidden=(8,), epochs=40, cv=5, inner_splits=1, select_genes="all", seed=i)
        rg.tl.gene_masking(adata, adata.uns["synthetic"]["gene_sets"], n_null=100, seed=i)
        df = rg.get.masking_df(adata)
        called += int((df["padj"] < 0.05).sum())
        small += int((df["pval_labels"] < 0.05).sum())
        tested += len(df)
    print(f"\n{called} of {tested} sets called; {small} label p-values below 0.05")
    assert called <= 0.05 * tested
    assert small <= 0.05 * tested + 3 * np.sqrt(0.05 * 0.95 * tested)  # within 3 binomial sd of the nominal 5%


def test_volume_ratios_run_as_continuous_traits_through_the_workflow(tmp_path):
    """radiogx run on a synthetic continuous trait: every step, survival per sd, the report and the R-ready tables."""
    cohort = rg.datasets.synthetic(n_obs=90, n_vars=150, n_traits=1, module_size=10, n_decoys=5, continuous=True, seed=5)
    rng = np.random.default_rng(1)
    hazard = np.exp(0.5 * cohort.obs["trait_0"].to_numpy())
    pd.DataFrame({"os_days": np.round(rng.exponential(500 / hazard)) + 1, "os_event": (rng.random(90) < 0.8).astype(int),
                  "age": rng.normal(60, 10, 90).round(1)}, index=cohort.obs_names).to_csv(tmp_path / "clin.tsv", sep="\t")
    rg.workflow.run({
        "run": {"seed": 0, "n_jobs": 2},
        "input": {"dataset": "synthetic", "obs": str(tmp_path / "clin.tsv"),
                  "synthetic": {"n_obs": 90, "n_vars": 150, "n_traits": 1, "module_size": 10, "n_decoys": 5, "seed": 5,
                                "continuous": True}},
        "steps": {"train": {"epochs": 30, "cv": 3, "inner_splits": 1}, "compare": {"regression_models": ["ridge", "svr"]},
                  "bootstrap": {"n_boot": 100}, "masking": {"collections": ["synthetic"], "n_null": 50},
                  "saliency": {"methods": ["saliency", "input_x_gradient"]},
                  "enrich": {"collections": ["synthetic"], "n_perm": 200, "min_size": 5},
                  "survival": {"enabled": True, "covariates": ["age"], "associations": False}},
        "outputs": {"figures": ["png"], "rds": True},
    }, out=tmp_path / "out")
    out = tmp_path / "out"
    steps = pd.read_csv(out / "tables" / "run_steps.tsv", sep="\t").set_index("step")
    assert {"train:trait_0", "compare:trait_0", "bootstrap:trait_0", "masking:synthetic", "survival"} <= set(steps.index)
    compare = pd.read_csv(out / "tables" / "compare.tsv", sep="\t")
    assert list(compare["model"]) == ["network", "ridge", "svr"] and compare["r2_pooled"].notna().all()
    survival = pd.read_csv(out / "tables" / "survival.tsv", sep="\t").set_index("feature")
    assert survival.loc["trait_0", "unit"] == "per sd" and survival.loc["trait_0", "hazard_ratio"] > 1
    assert (out / "figures" / "predicted_trait_0.png").is_file() and not (out / "figures" / "roc_trait_0.png").exists()
    report = (out / "report.html").read_text()
    assert "R^2" in report and "predicted against observed" in report
    from radiogx.io._rpy2 import import_rpy2

    ro = import_rpy2()
    ro.r("suppressWarnings(suppressPackageStartupMessages(library(SummarizedExperiment)))")
    r2 = list(ro.r(f'S4Vectors::metadata(readRDS("{out / "results.rds"}"))$tables$compare$r2_pooled'))
    np.testing.assert_allclose(r2, compare["r2_pooled"], rtol=1e-6)


def test_r2_difference_interval_is_calibrated_under_a_null_of_two_equal_models():
    """Two predictions equally good by construction (the same signal plus independent noise of the same size) on 48
    patients, the size of the demo's volumetric traits: how often the 95% percentile interval of the paired
    bootstrap's R^2 difference excludes 0 (measured: 15 of 200, 7.5%, a little above the nominal 5% at this size;
    10 of 200 on 150 patients)."""
    from radiogx.nn._fit import REGRESSION
    from radiogx.tl._bootstrap import _interval, _oof_bootstrap

    rng = np.random.default_rng(1)
    called, sims, n = 0, 200, 48
    for s in range(sims):
        y = rng.normal(size=n)
        p1, p2 = 0.7 * y + rng.normal(0, 0.7, n), 0.7 * y + rng.normal(0, 0.7, n)
        _, boots, est, _ = _oof_bootstrap(y, {"network": p1[:, None], "other": p2[:, None]}, REGRESSION,
                                          np.arange(n) % 5, statistic="pooled", n_boot=1000, seed=s,
                                          interval="percentile")
        lo, hi = _interval(boots[:, 0] - boots[:, 1], est[0] - est[1], None, 0.95, "percentile")
        called += lo > 0 or hi < 0
    print(f"R^2 difference interval excludes 0 in {called}/{sims} null simulations")
    assert called <= 0.10 * sims
