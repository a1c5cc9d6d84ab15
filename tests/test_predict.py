"""Models that travel: a trained model applied to a new cohort (rg.tl.predict, `radiogx predict`, model files)."""

from __future__ import annotations

import logging

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import torch

import radiogx as rg
from radiogx.nn._model import model_info

NET = {"hidden": (8,), "epochs": 15, "patience": 5, "cv": 3, "inner_splits": 1, "select_genes": "all", "seed": 0}


@pytest.fixture(scope="module")
def cohorts():
    """One synthetic population: 200 patients to train on, 80 others to predict (the trait known)."""
    full = rg.datasets.synthetic(n_obs=280, n_vars=80, n_traits=1, kinds=["linear"], module_size=10, n_decoys=3,
                                 noise=0.3, seed=0)
    return full[:200].copy(), full[200:].copy()


@pytest.fixture(scope="module")
def trained(cohorts):
    adata = cohorts[0].copy()
    model = rg.tl.train(adata, "trait_0", **NET)
    return adata, model


@pytest.fixture
def new_cohort(cohorts):
    return cohorts[1].copy()


@pytest.fixture(scope="module")
def tcga_model(verhaak):
    """A Verhaak subtype model trained on 150 TCGA patients; the other 23 are held out."""
    held = np.random.default_rng(0).choice(verhaak.n_obs, 23, replace=False)
    train = verhaak[~np.isin(np.arange(verhaak.n_obs), held)].copy()
    return rg.tl.train(train, "subtype", seed=0, cv=3, inner_splits=1), verhaak[held].copy()


def test_one_patient_is_predicted_on_the_training_scale_and_not_by_cohort_scaling(tcga_model):
    """radiogx 0.7.0 cohort-scaled a single patient to all zeros (the same probabilities whoever it was) with ood 0,
    "in range"."""
    model, held = tcga_model
    one = held[:1].copy()
    with pytest.raises(ValueError, match=r"scale='cohort' .* needs at least 10 patients; this cohort has 1"):
        rg.tl.predict(one, model=model, scale="cohort")
    assert "predict" not in one.uns
    alone = [rg.get.predictions_df(rg.tl.predict(held[i:i + 1].copy(), model=model, copy=True)).iloc[0]
             for i in range(held.n_obs)]
    ood = np.array([r["ood"] for r in alone])
    together = rg.get.predictions_df(rg.tl.predict(held.copy(), model=model, copy=True))
    print(f"\nood of {held.n_obs} held-out TCGA patients predicted alone: {np.round(np.sort(ood), 2)}")
    assert ((ood > 0.5) & (ood < 2)).all()
    np.testing.assert_allclose(ood, together["ood"], rtol=1e-6)  # the training scale does not depend on the cohort
    # cohort-scaled, the ood of a small cohort is still measured against the training data, and a warning says that
    # cohort scaling is unreliable on 23 patients
    small = rg.get.predictions_df(rg.tl.predict(held.copy(), model=model, scale="cohort", copy=True))
    np.testing.assert_allclose(small["ood"], together["ood"], rtol=1e-6)


def test_a_tcga_subtype_model_reads_the_phillips_gbms_across_platforms(verhaak):
    model = rg.tl.train(verhaak.copy(), "subtype", seed=0, cv=3, inner_splits=1)
    phillips = rg.datasets.phillips2006()
    gbm = phillips[phillips.obs["Subtype.svm"].notna()].copy()
    assert gbm.n_obs == 76
    before = (set(gbm.uns), list(gbm.obs.columns))
    with pytest.raises(ValueError, match=r"measures 795 of the model's 840 genes, carrying 9\d\.\d% of its first-layer "
                                         r"weight; missing \['"):
        rg.tl.predict(gbm, model=model)
    assert (set(gbm.uns), list(gbm.obs.columns)) == before  # nothing written when refused
    summary = {}
    for scale in ("cohort", "training"):
        out = rg.tl.predict(gbm, model=model, missing_genes="impute", scale=scale, truth="Subtype.svm", copy=True)
        summary[scale] = rg.get.prediction_summary_df(out).iloc[0]
        assert len(out.uns["predict"]["subtype"]["imputed_genes"]) == 45
    print("\n" + pd.DataFrame(summary).T[["coverage", "cohort_shift", "n_outside", "balanced_accuracy",
                                          "balanced_accuracy_all_classes", "n_reassigned", "roc_auc"]].to_string())
    cohort, training = summary["cohort"], summary["training"]
    assert cohort["n_present"] == 795 and cohort["coverage"] > 0.9
    assert cohort["n_compared"] == 76 and cohort["classes_compared"] == "Classical;Mesenchymal;Proneural"
    assert cohort["balanced_accuracy"] >= 0.70
    # the three-class score reassigns the patients called Neural; the plain four-class call is reported beside it
    assert cohort["n_reassigned"] > 0
    assert cohort["balanced_accuracy_all_classes"] < cohort["balanced_accuracy"]
    # the GEO arrays lie far from TCGA's values, whatever the scaling (cohort scaling moves the cohort's centre, not
    # the distance from the training data): every patient is flagged; on the training scale the predictions are worse
    assert training["n_outside"] == 76 and cohort["n_outside"] == 76
    assert training["balanced_accuracy"] < cohort["balanced_accuracy"]


def test_cohort_scaling_undoes_a_platform_s_gene_scales(trained, new_cohort, caplog):
    _, model = trained
    other = new_cohort.copy()
    rng = np.random.default_rng(0)
    other.X = (new_cohort.X * rng.uniform(0.5, 3, other.n_vars) + rng.uniform(2, 8, other.n_vars)).astype(np.float32)
    same = rg.tl.predict(new_cohort, model=model, scale="cohort", copy=True)
    shifted = rg.tl.predict(other, model=model, scale="cohort", copy=True)
    p_same, p_shifted = rg.get.predictions_df(same), rg.get.predictions_df(shifted)
    np.testing.assert_allclose(p_same["positive"], p_shifted["positive"], atol=1e-5)
    # the same predictions, but the shifted values are far from the training data: ood says so whatever the scaling
    assert p_same["outside"].sum() <= 4 and p_shifted["outside"].all()
    with caplog.at_level(logging.WARNING, logger="radiogx"):
        wrong = rg.tl.predict(other, model=model, scale="training", copy=True)
    assert rg.get.prediction_summary_df(wrong)["n_outside"].iloc[0] == other.n_obs
    assert "lie outside the training range" in caplog.text and "needs scale='cohort'" in caplog.text
    # on the training scale, the same platform: predictions scored against the known trait
    right = rg.tl.predict(new_cohort, model=model, copy=True)
    s = rg.get.prediction_summary_df(right).iloc[0]
    assert s["truth"] == "trait_0" and s["n_compared"] == 80 and s["roc_auc"] > 0.8 and s["n_outside"] <= 4


def test_missing_genes_coverage_and_case_are_handled_and_reported(trained, new_cohort, caplog):
    adata, model = trained
    weight = model.input_weight()
    heavy = model.genes[np.argsort(-weight)[:30]]  # the genes that carry most of the first layer
    lacking = new_cohort[:, ~new_cohort.var_names.isin(heavy)].copy()
    before = (set(lacking.uns), list(lacking.obs.columns))
    with pytest.raises(ValueError, match=r"missing \['.*Pass missing_genes='impute'"):
        rg.tl.predict(lacking, model=model)
    with pytest.raises(ValueError, match=r"measures 50 of the model's 80 genes, carrying \d+\.\d% .*below min_coverage=0\.8; "
                                         r"missing \[.*the cohort has \["):
        rg.tl.predict(lacking, model=model, missing_genes="impute")
    assert (set(lacking.uns), list(lacking.obs.columns)) == before
    rg.tl.predict(lacking, model=model, missing_genes="impute", min_coverage=0.05)
    params = lacking.uns["predict"]["trait_0"]["params"]
    assert params["n_present"] == 50 and params["coverage"] < 0.8
    assert sorted(lacking.uns["predict"]["trait_0"]["imputed_genes"]) == sorted(heavy)
    # symbols that differ only by case are matched, with a warning, and predict the same
    lower = new_cohort.copy()
    lower.var_names = [g.lower() if i % 2 else g for i, g in enumerate(new_cohort.var_names)]
    with caplog.at_level(logging.WARNING, logger="radiogx"):
        rg.tl.predict(lower, model=model)
    assert "matched only when ignoring case" in caplog.text
    exact = rg.tl.predict(new_cohort, model=model, copy=True)
    np.testing.assert_allclose(rg.get.predictions_df(lower)["positive"], rg.get.predictions_df(exact)["positive"])
    with pytest.raises(ValueError, match=r"shares no gene with the 'trait_0' model"):
        rg.tl.predict(ad.AnnData(np.ones((3, 2), dtype=np.float32), var=pd.DataFrame(index=["A1", "B2"])), model=model)


def test_bad_cohorts_and_bad_model_files_are_refused(trained, new_cohort, tmp_path):
    _, model = trained
    dup = new_cohort.copy()
    dup.obs_names = [dup.obs_names[0]] + list(dup.obs_names[1:-1]) + [dup.obs_names[0]]
    with pytest.raises(ValueError, match="duplicated patient names"):
        rg.tl.predict(dup, model=model)
    nan = new_cohort.copy()
    nan.X[3, 4] = np.nan
    with pytest.raises(ValueError, match="non-finite values"):
        rg.tl.predict(nan, model=model)
    with pytest.raises(ValueError, match="truth='nope' is not an .obs column"):
        rg.tl.predict(new_cohort, model=model, truth="nope")
    path = model.save(tmp_path / "m.pt")
    info = model_info(path)
    counts = trained[0].obs["trait_0"].value_counts()
    assert info["training"]["n_patients"] == 200
    assert info["training"]["class_counts"] == {"negative": counts["negative"], "positive": counts["positive"]}
    assert len(info["training"]["cv"]["roc_auc_per_fold"]) == 3 and len(info["content_sha256"]) == 64
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    (tmp_path / "text.pt").write_text("not a model")
    (tmp_path / "half.pt").write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    payload = torch.load(path, weights_only=True)
    payload["mean"][0] += 1
    torch.save(payload, tmp_path / "altered.pt")
    for name, message in (("other.pt", "not a saved radiogx model"), ("text.pt", "could not be read as a radiogx model"),
                          ("half.pt", "could not be read as a radiogx model"),
                          ("altered.pt", "does not match the hash saved with it")):
        with pytest.raises(ValueError, match=message):
            rg.tl.predict(new_cohort, model=tmp_path / name)
    assert "predict" not in new_cohort.uns
    newer = torch.load(path, weights_only=True)
    import json

    meta = json.loads(newer["meta"])
    newer["meta"] = json.dumps({**meta, "format": "radiogx.RadiogenomicModel/9", "radiogx_version": "9.0"})
    torch.save(newer, tmp_path / "newer.pt")
    with pytest.raises(ValueError, match=r"saved by a newer radiogx \(9.0.*upgrade radiogx"):
        rg.nn.RadiogenomicModel.load(tmp_path / "newer.pt")


def test_predictions_are_a_result_like_the_others(trained, new_cohort, tmp_path, caplog):
    adata, model = trained
    path = model.save(tmp_path / "m.pt")
    rg.tl.predict(new_cohort, model=str(path))
    cols = ["predict_trait_0", "predict_trait_0_p_negative", "predict_trait_0_p_positive", "predict_trait_0_ood",
            "predict_trait_0_fold_sd", "predict_trait_0_abstain"]
    assert all(c in new_cohort.obs for c in cols)
    assert list(new_cohort.uns["predict"]["trait_0"]["added"]["obs"]) == cols
    assert rg.get.records(new_cohort, "prediction")["key"].tolist() == ["predict"]
    table = rg.get.predictions_df(new_cohort)
    assert (table["predicted"].astype(str).to_numpy() == new_cohort.obs["predict_trait_0"].astype(str).to_numpy()).all()
    np.testing.assert_allclose(table[["negative", "positive"]].sum(axis=1), 1, atol=1e-6)
    new_cohort.write_h5ad(tmp_path / "c.h5ad")
    back = ad.read_h5ad(tmp_path / "c.h5ad")
    pd.testing.assert_frame_equal(rg.get.predictions_df(back), table, check_categorical=False)
    assert new_cohort.uns["predict"]["trait_0"]["params"]["model_path"] == str(path.resolve())
    # the model's own cohort: found in adata, and the in-sample caveat is said
    with caplog.at_level(logging.WARNING, logger="radiogx"):
        rg.tl.predict(adata, key_added="refit_check")
    assert "predictions are in-sample" in caplog.text
    fig = rg.pl.predictions(new_cohort, return_fig=True)
    assert len(fig.axes) == 6  # with known classes: the confusion matrix, the reliability and retention curves


def test_predict_command_from_a_fresh_shell(trained, new_cohort, tmp_path):
    from test_workflow_run import _cli, browser_check

    _, model = trained
    model.save(tmp_path / "model.pt")
    table = pd.DataFrame(new_cohort.X.T, index=new_cohort.var_names, columns=new_cohort.obs_names)
    table.iloc[:, :].to_csv(tmp_path / "cohort.tsv", sep="\t")
    new_cohort.obs[["trait_0"]].to_csv(tmp_path / "known.tsv", sep="\t")
    res = _cli("predict", str(tmp_path / "model.pt"), str(tmp_path / "cohort.tsv"), "--out", str(tmp_path / "out"),
               "--obs", str(tmp_path / "known.tsv"))
    assert res.returncode == 0, res.stderr
    assert "predicted:" in res.stdout and "written:" in res.stdout
    written = pd.read_csv(tmp_path / "out" / "predictions.tsv", sep="\t")
    assert list(written["patient"]) == list(new_cohort.obs_names) and {"negative", "positive", "ood"} <= set(written)
    assert ad.read_h5ad(tmp_path / "out" / "predictions.h5ad").n_obs == new_cohort.n_obs
    images, errors = browser_check(tmp_path / "out" / "report.html")
    assert [name for name, *_ in images] == ["predictions_trait_0"]
    assert all(complete and w > 0 for _, complete, w, _ in images) and errors == []
    html = (tmp_path / "out" / "report.html").read_text()
    assert "prediction_summary (predict)" in html and "balanced_accuracy" in html
    info = _cli("model-info", str(tmp_path / "model.pt"))
    assert info.returncode == 0 and "trained on       200 patients x 80 genes" in info.stdout
    # refused: too little coverage; a file that is not a model. Nothing is written.
    new_cohort[:20, :30].to_df().T.to_csv(tmp_path / "few.tsv", sep="\t")
    res = _cli("predict", str(tmp_path / "model.pt"), str(tmp_path / "few.tsv"), "--out", str(tmp_path / "no1"),
               "--missing-genes", "impute")
    assert res.returncode == 2 and "below min_coverage" in res.stderr and not (tmp_path / "no1").exists()
    res = _cli("predict", str(tmp_path / "known.tsv"), str(tmp_path / "cohort.tsv"), "--out", str(tmp_path / "no2"))
    assert res.returncode == 2 and "could not be read as a radiogx model" in res.stderr
    assert not (tmp_path / "no2").exists()


# --- within-patient inputs, single patients, confidence and calibration (models that travel, to the ceiling) -------

def test_predict_command_on_a_one_column_table_gives_the_patient_s_call_in_the_cohort(rank_model, new_cohort,
                                                                                       tmp_path):
    """`radiogx predict` of a cohort of one (a one-column TSV), scaled by a reference series: the call and the
    probabilities that patient gets inside the whole cohort."""
    from test_workflow_run import _cli

    rank_model.save(tmp_path / "model.pt")
    table = pd.DataFrame(new_cohort.X.T, index=new_cohort.var_names, columns=new_cohort.obs_names)
    table.iloc[:, 40:].to_csv(tmp_path / "reference.tsv", sep="\t")
    table.iloc[:, :40].to_csv(tmp_path / "cohort.tsv", sep="\t")
    table.iloc[:, [7]].to_csv(tmp_path / "one.tsv", sep="\t")
    out = {}
    for name in ("cohort", "one"):
        res = _cli("predict", str(tmp_path / "model.pt"), str(tmp_path / f"{name}.tsv"), "--out",
                   str(tmp_path / name), "--scale", "reference", "--reference", str(tmp_path / "reference.tsv"))
        assert res.returncode == 0, res.stderr
        out[name] = pd.read_csv(tmp_path / name / "predictions.tsv", sep="\t").set_index("patient")
    one, whole = out["one"], out["cohort"].loc[out["one"].index]
    assert list(one.index) == [new_cohort.obs_names[7]]
    assert (one["predicted"] == whole["predicted"]).all()
    np.testing.assert_allclose(one[["negative", "positive"]].to_numpy(), whole[["negative", "positive"]].to_numpy(),
                               rtol=0, atol=1e-6)
    # cohort scaling refuses a cohort of one, with the reason, and writes nothing
    res = _cli("predict", str(tmp_path / "model.pt"), str(tmp_path / "one.tsv"), "--out", str(tmp_path / "no"),
               "--scale", "cohort")
    assert res.returncode == 2 and "needs at least 10 patients" in res.stderr and not (tmp_path / "no").exists()


def test_rank_normal_scores_each_patient_alone():
    from radiogx._inputs import transform_inputs

    x = np.array([[5.0, 1.0, 3.0, 3.0], [0.1, 0.2, 0.3, 0.4]])
    z = transform_inputs(x, "rank_normal")
    # ranks 4, 1, 2.5, 2.5 of 4 -> normal quantiles of (r - 1/2) / 4; the second row 1..4
    from scipy.stats import norm
    np.testing.assert_allclose(z[0], norm.ppf((np.array([4, 1, 2.5, 2.5]) - 0.5) / 4), rtol=1e-6)
    np.testing.assert_allclose(z[1], norm.ppf((np.arange(1, 5) - 0.5) / 4), rtol=1e-6)
    np.testing.assert_allclose(transform_inputs(x[:1], "rank_normal"), z[:1])  # one patient alone: the same
    np.testing.assert_allclose(transform_inputs(np.exp(x) * 7 - 2, "rank_normal"), z)  # any increasing map
    with pytest.raises(ValueError, match="finite"):
        transform_inputs(np.array([[1.0, np.nan]]), "rank_normal")
    with pytest.raises(ValueError, match="input_transform must be one of"):
        transform_inputs(x, "quantile")


@pytest.fixture(scope="module")
def rank_model(cohorts):
    adata = cohorts[0].copy()
    return rg.tl.train(adata, "trait_0", input_transform="rank_normal", **NET)


def test_a_rank_normal_model_predicts_one_patient_alone_as_inside_a_cohort(rank_model, new_cohort, tmp_path):
    assert rank_model.input_transform == "rank_normal"
    together = rg.get.predictions_df(rg.tl.predict(new_cohort, model=rank_model, copy=True)).set_index("patient")
    alone = pd.concat([rg.get.predictions_df(rg.tl.predict(new_cohort[i:i + 1].copy(), model=rank_model, copy=True))
                       for i in range(0, new_cohort.n_obs, 8)]).set_index("patient")
    cols = ["negative", "positive", "ood", "fold_sd", "confidence"]
    # the same call; the same numbers up to float32 rounding (a matrix product of one row sums in another order)
    np.testing.assert_allclose(alone[cols].to_numpy(), together.loc[alone.index, cols].to_numpy(), rtol=0, atol=1e-6)
    assert (alone["predicted"] == together.loc[alone.index, "predicted"]).all()
    assert (alone["abstain"] == together.loc[alone.index, "abstain"]).all()
    # the transform travels with the model file
    path = tmp_path / "rank.pt"
    rank_model.save(path)
    loaded = rg.nn.RadiogenomicModel.load(path)
    assert loaded.input_transform == "rank_normal"
    again = rg.get.predictions_df(rg.tl.predict(new_cohort, model=path, copy=True)).set_index("patient")
    np.testing.assert_allclose(again[cols].to_numpy(), together[cols].to_numpy(), rtol=0, atol=1e-6)


def test_the_travel_preset_is_the_attribution_recipe_on_within_patient_normal_scores(rank_model, cohorts, new_cohort):
    adata = cohorts[0].copy()
    travel = rg.tl.train(adata, "trait_0", preset="travel", **NET)
    assert travel.input_transform == "rank_normal" and travel.settings["preset"] == "travel"
    cols = ["negative", "positive"]
    same = [rg.get.predictions_df(rg.tl.predict(new_cohort, model=m, copy=True))[cols].to_numpy()
            for m in (travel, rank_model)]
    # with the recipe's search and splits fixed (NET), the same networks as the default with rank_normal
    np.testing.assert_array_equal(same[0], same[1])
    # a setting given wins over the preset's, as for every other setting
    plain = rg.tl.train(cohorts[0].copy(), "trait_0", preset="travel", input_transform="none", **NET)
    assert plain.input_transform == "none"
    with pytest.raises(ValueError, match="preset must be one of"):
        rg.tl.train(cohorts[0].copy(), "trait_0", preset="portable", **NET)


def test_a_within_patient_transform_survives_a_platform_s_monotone_distortion(trained, rank_model, new_cohort):
    """A planted platform shift: every value through one increasing, non-linear map. Within-patient ranks do not
    move, so the rank-normal model's calls are unchanged; on the training scale the plain model falls."""
    _, plain = trained
    other = new_cohort.copy()
    other.X = (np.exp(np.asarray(new_cohort.X, dtype=np.float64)) * 2 + 4).astype(np.float32)

    def ba(model, cohort):
        return rg.get.prediction_summary_df(rg.tl.predict(cohort, model=model, copy=True))["balanced_accuracy"].iloc[0]

    scores = {(name, which): ba(model, cohort) for name, model in (("plain", plain), ("rank_normal", rank_model))
              for which, cohort in (("same", new_cohort), ("shifted", other))}
    print("\n", scores)
    assert scores["rank_normal", "shifted"] == scores["rank_normal", "same"] >= 0.75
    assert scores["plain", "same"] >= 0.75
    assert scores["plain", "shifted"] <= scores["plain", "same"] - 0.1
    assert scores["rank_normal", "shifted"] >= scores["plain", "shifted"] + 0.15


def test_rank_normal_reaches_the_baselines_and_the_interpreters(rank_model, cohorts):
    """A model's transform is applied wherever its inputs are read: the baselines are compared on the same inputs,
    saliency attributes the transformed values."""
    adata = cohorts[0].copy()
    rg.tl.train(adata, "trait_0", input_transform="rank_normal", **NET)
    rg.tl.compare(adata, "trait_0", models=["logit_l2"])
    assert adata.uns["radiogx_compare"]["trait_0"]["params"]["input_transform"] == "rank_normal"
    rg.tl.saliency(adata, trait="trait_0", method="input_x_gradient")
    model = rg.get.model(adata, "trait_0")
    from radiogx._inputs import transform_inputs
    np.testing.assert_allclose(model.scaled(adata), (transform_inputs(adata.X, "rank_normal") - model.mean)
                               / model.scale, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="input_transform must be one of"):
        rg.tl.train(adata, "trait_0", input_transform="ranks", **NET)


def test_reliability_table_and_ece_on_planted_calibration():
    from radiogx.tl._predict import reliability_table

    rng = np.random.default_rng(0)
    # 400 calls at 0.75 of which exactly 300 right: calibrated; 200 at 0.95 of which 100 right: ECE 0.45 on them
    conf = np.r_[np.full(400, 0.75), np.full(200, 0.95)]
    correct = np.r_[rng.permutation(np.r_[np.ones(300), np.zeros(100)]), np.r_[np.ones(100), np.zeros(100)]]
    table, ece = reliability_table(conf[:400], correct[:400])
    assert len(table) == 1 and table["n"].iloc[0] == 400 and ece == pytest.approx(0.0, abs=1e-12)
    table, ece = reliability_table(conf, correct)
    assert table["n"].tolist() == [400, 200]
    assert ece == pytest.approx(200 / 600 * 0.45)
    assert table["accuracy"].tolist() == pytest.approx([0.75, 0.5])


def test_predict_reports_calibration_retention_and_gene_dropout(trained, new_cohort):
    _, model = trained
    out = rg.tl.predict(new_cohort, model=model, abstain_below=0.7, copy=True)
    rec = out.uns["predict"]["trait_0"]
    df = rg.get.predictions_df(out)
    assert (df["confidence"] == df[["negative", "positive"]].max(axis=1)).all()
    assert (df["abstain"] == (df["confidence"] < 0.7)).all()
    assert out.obs["predict_trait_0_abstain"].tolist() == df["abstain"].tolist()
    s = rg.get.prediction_summary_df(out).iloc[0]
    assert s["n_abstained"] == df["abstain"].sum() and 0 <= s["ece"] <= 1
    rel = rg.get.reliability_df(out)
    assert rel["n"].sum() == 80 and (rel["upper"] - rel["lower"]).round(6).eq(0.1).all()
    retention = rec["retention"]
    assert retention["share_retained"].iloc[0] == 1.0
    assert retention["balanced_accuracy"].iloc[0] == pytest.approx(s["balanced_accuracy"])
    assert (np.diff(retention["n"]) < 0).all()
    # the most confident patients are the more accurate ones on this planted trait
    assert retention["accuracy"].iloc[-1] >= retention["accuracy"].iloc[0]
    dropout = rec["gene_dropout"]
    assert dropout["share_removed"].tolist() == [0.0, 0.1, 0.2, 0.3, 0.5]
    assert dropout["n_draws"].tolist() == [1, 10, 10, 10, 10]
    assert dropout["balanced_accuracy"].iloc[0] == pytest.approx(s["balanced_accuracy"])
    assert dropout["balanced_accuracy"].iloc[-1] < dropout["balanced_accuracy"].iloc[0]
    from radiogx.get._kind_tables import prediction_tables
    assert {"prediction_reliability", "prediction_retention", "prediction_gene_dropout"} <= set(
        prediction_tables(out, "predict"))
    with pytest.raises(ValueError, match="abstain_below must be in"):
        rg.tl.predict(new_cohort, model=model, abstain_below=1.5)


def test_a_reference_cohort_of_the_platform_scales_each_patient_alone(trained, cohorts):
    """A planted platform: every gene through its own affine map. A reference series of that platform (other
    patients, the same population) scales each patient alone: the calls match cohort scaling on a balanced cohort,
    and a cohort of one class keeps its calls, where cohort scaling centres it on itself."""
    _, model = trained
    platform = cohorts[1].copy()  # 80 patients the model never saw: 40 to predict, 40 as the platform's reference
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.5, 3, platform.n_vars), rng.uniform(2, 8, platform.n_vars)
    platform.X = (np.asarray(platform.X) * a + b).astype(np.float32)
    new, reference = platform[::2].copy(), platform[1::2].copy()

    def summary(cohort, **kw):
        out = rg.tl.predict(cohort, model=model, copy=True, **kw)
        return rg.get.prediction_summary_df(out).iloc[0], rg.get.predictions_df(out).set_index("patient")

    s_ref, p_ref = summary(new, scale="reference", reference=reference)
    s_coh, _ = summary(new, scale="cohort")
    s_train, _ = summary(new)
    print(f"\nbalanced accuracy: reference {s_ref['balanced_accuracy']:.3f}, cohort {s_coh['balanced_accuracy']:.3f}, "
          f"training scale {s_train['balanced_accuracy']:.3f}")
    assert s_ref["balanced_accuracy"] >= 0.8 and abs(s_ref["balanced_accuracy"] - s_coh["balanced_accuracy"]) <= 0.05
    assert s_train["balanced_accuracy"] <= s_ref["balanced_accuracy"] - 0.2
    one = summary(new[3:4].copy(), scale="reference", reference=reference)[1]
    np.testing.assert_allclose(one["positive"], p_ref.loc[one.index, "positive"], atol=1e-6, rtol=0)
    positives = new[new.obs["trait_0"].astype(str) == "positive"].copy()
    alone = summary(positives, scale="reference", reference=reference)[1]["predicted"]
    calls = {"reference": (alone == "positive").mean(),
             "cohort": (summary(positives, scale="cohort")[1]["predicted"] == "positive").mean()}
    print(f"a cohort of positives only, share called positive: {calls}")
    assert (alone == p_ref.loc[alone.index, "predicted"]).all()  # the calls they had in the balanced cohort
    assert calls["reference"] >= 0.7 and calls["cohort"] <= calls["reference"] - 0.2
    rec = rg.tl.predict(new, model=model, scale="reference", reference=reference, copy=True).uns["predict"]["trait_0"]
    assert rec["params"]["n_reference"] == reference.n_obs and rec["params"]["scale"] == "reference"
    with pytest.raises(ValueError, match="pass it as reference="):
        rg.tl.predict(new, model=model, scale="reference")
    with pytest.raises(ValueError, match="pass reference= only with scale='reference'"):
        rg.tl.predict(new, model=model, reference=reference)
    with pytest.raises(ValueError, match="reference cohort has 5 patients"):
        rg.tl.predict(new, model=model, scale="reference", reference=reference[:5].copy())


def test_missing_genes_inferred_from_the_co_expressed_ones(trained, new_cohort, tmp_path):
    """The planted module's genes are co-expressed: with 7 of its 10 missing, inferring them from the measured
    genes (the training cohort's probabilistic PCA, kept in the model file) predicts better than the training
    mean, and recovers their values."""
    from radiogx._inputs import infer_missing

    adata, model = trained
    planted = adata.uns["synthetic"]
    module = list(planted["gene_sets"][str(planted["traits"]["trait_0"]["sets"][0])])
    assert len(module) == 10
    gone = module[:7]
    kept = new_cohort[:, [g for g in new_cohort.var_names if g not in gone]].copy()
    ba = {how: rg.get.prediction_summary_df(rg.tl.predict(kept, model=model, missing_genes=how, min_coverage=0.1,
                                                          copy=True))["balanced_accuracy"].iloc[0]
          for how in ("impute", "infer")}
    z = model.scaled(new_cohort)
    present = ~model.genes.isin(gone)
    guess = infer_missing(z[:, present], present, model.gene_structure)
    r = np.corrcoef(guess.ravel(), z[:, ~present].ravel())[0, 1]
    print(f"\n7 of 10 module genes missing: balanced accuracy {ba}; inferred against true values r = {r:.2f}")
    assert r >= 0.5 and ba["infer"] >= ba["impute"] + 0.01
    path = model.save(tmp_path / "m.pt")
    loaded = rg.nn.RadiogenomicModel.load(path)
    np.testing.assert_array_equal(loaded.gene_structure["loadings"], model.gene_structure["loadings"])
    loaded.gene_structure = None  # a model file of radiogx 0.8
    with pytest.raises(ValueError, match="holds no gene structure"):
        rg.tl.predict(kept, model=loaded, missing_genes="infer", min_coverage=0.1)
