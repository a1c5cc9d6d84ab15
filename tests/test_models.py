"""Radiogenomic networks with honest evaluation: rg.tl.pretrain/train/compare/bootstrap, the model object, tables, plots."""

from __future__ import annotations

import anndata as ad
import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

import radiogx as rg
from radiogx.nn import _persist

matplotlib.use("Agg")

SMALL = {"hidden": (128, 64), "dropout": 0.4, "epochs": 40, "patience": 10}
TINY_GRIDS = {"logit_l1": {"C": [0.1, 1.0]}, "logit_l2": {"C": [0.01, 1.0]}, "svm": {"C": [1.0], "kernel": ["linear"]},
              "random_forest": {"max_features": ["sqrt"], "criterion": ["gini"]},
              "gbt": {"max_depth": [2], "n_estimators": [100], "learning_rate": [0.1]}}


@pytest.fixture(scope="module")
def subtype_run(verhaak):
    """Verhaak subtypes: the network and all five baselines on the same 5 outer folds."""
    adata = verhaak.copy()
    model = rg.tl.train(adata, "subtype", cv=5, seed=0, n_jobs=2, **SMALL)
    rg.tl.compare(adata, "subtype", param_grids=TINY_GRIDS, n_jobs=2)
    return adata, model


def test_subtype_network_reaches_macro_auc_with_baselines_on_the_same_folds(subtype_run):
    adata, model = subtype_run
    table = rg.get.compare_df(adata)
    print("\n" + table.to_string(index=False))
    assert list(table["model"]) == ["network", "logit_l1", "logit_l2", "svm", "random_forest", "gbt"]
    assert (table["n_folds"] == 5).all()
    assert table.set_index("model").loc["network", "roc_auc"] >= 0.95
    # same patients in the same folds for every model
    oof_net, oof_cmp = adata.uns["radiogx"]["subtype"]["oof"], adata.uns["radiogx_compare"]["subtype"]["oof"]
    pd.testing.assert_series_equal(oof_net["fold"], oof_cmp["fold"])
    assert model.classes == ["Classical", "Mesenchymal", "Neural", "Proneural"]


def test_macro_auc_matches_scikit_learn(subtype_run):
    adata, _ = subtype_run
    oof = adata.uns["radiogx"]["subtype"]["oof"]
    probs = oof[[f"p_{i}" for i in range(4)]].to_numpy()
    y = oof["label"].cat.codes.to_numpy()
    for k in range(5):
        test = (oof["fold"] == k).to_numpy()
        expected = roc_auc_score(y[test], probs[test], multi_class="ovr", average="macro")
        assert adata.uns["radiogx"]["subtype"]["cv"].loc[k, "roc_auc"] == pytest.approx(expected, abs=1e-12)


def test_l1_logit_is_really_l1(subtype_run):
    from radiogx.tl._compare import baseline_estimator

    est = baseline_estimator("logit_l1", 0).set_params(C=0.05)
    est.fit(np.random.default_rng(0).normal(size=(80, 50)), np.r_[np.zeros(40), np.ones(40)])
    assert (est.coef_ == 0).sum() > 25  # the L1 penalty zeroes coefficients; the paper's "l1" (really L2) never does


@pytest.mark.slow  # 35-57 s on 2 cores; the default suite stays within its 18 minutes
def test_permuted_trait_is_at_chance_nested_but_not_under_the_paper_protocol(verhaak):
    adata = verhaak.copy()
    y = (adata.obs["subtype"] == "Mesenchymal").map({True: "MES", False: "other"}).to_numpy()
    rng = np.random.default_rng(0)
    aucs = {"nested": [], "paper": []}
    for i in range(5):
        adata.obs["permuted"] = pd.Categorical(rng.permutation(y), categories=["other", "MES"])
        for protocol in aucs:
            rg.tl.train(adata, "permuted", cv=5, seed=i, protocol=protocol, key_added=f"perm_{protocol}", n_jobs=2,
                        **SMALL)
            aucs[protocol].append(adata.uns[f"perm_{protocol}"]["permuted"]["summary"]["roc_auc_mean"])
    nested, paper = np.mean(aucs["nested"]), np.mean(aucs["paper"])
    print(f"\npermuted Mesenchymal-vs-rest, 5 permutations: nested {nested:.3f} {np.round(aucs['nested'], 3)}, "
          f"paper protocol {paper:.3f} {np.round(aucs['paper'], 3)}")
    assert abs(nested - 0.5) <= 0.05
    assert paper > nested + 0.05  # picking the epoch on the held-out fold itself inflates the estimate


def test_network_beats_l2_logit_on_an_interaction_trait():
    adata = rg.datasets.synthetic(n_obs=600, n_vars=100, n_traits=2, module_size=10, noise=0.1, module_strength=1.5, seed=0)
    assert adata.uns["synthetic"]["traits"]["trait_1"]["kind"] == "interaction"
    rg.tl.train(adata, "trait_1", hidden=(64, 32), activation="relu", dropout=0.3, epochs=300, patience=30, cv=5, seed=0, n_jobs=2)
    rg.tl.compare(adata, "trait_1", models=["logit_l2"])
    table = rg.get.compare_df(adata).set_index("model")
    print("\n" + table.to_string())
    assert table.loc["network", "roc_auc"] > table.loc["logit_l2", "roc_auc"] + 0.2


def test_results_do_not_depend_on_n_jobs_and_repeat_with_the_seed(small_synthetic):
    runs = []
    for n_jobs in (1, 2, 1):
        adata = small_synthetic.copy()
        rg.tl.train(adata, "trait_0", hidden=(16,), epochs=8, patience=3, cv=3, seed=5, n_jobs=n_jobs,
                    param_grid={"dropout": [0.0, 0.3]})
        runs.append(adata.uns["radiogx"]["trait_0"])
    for other in runs[1:]:
        pd.testing.assert_frame_equal(runs[0]["oof"], other["oof"])
        pd.testing.assert_frame_equal(runs[0]["cv"], other["cv"])


def test_save_load_round_trip_and_gene_checks(small_synthetic, tmp_path):
    adata = small_synthetic.copy()
    model = rg.tl.train(adata, "trait_0", hidden=(16, 8), epochs=5, patience=3, cv=3, seed=0)
    before = model.predict_proba(adata)
    assert list(before.columns) == ["negative", "positive"]
    np.testing.assert_allclose(before.sum(axis=1), 1.0)
    path = model.save(tmp_path / "m.pt")
    assert adata.uns["radiogx"]["trait_0"]["path"] == "", "model.save changes no AnnData"
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save(tmp_path / "m.pt")
    rg.io.save_model(adata, "trait_0", path, overwrite=True)  # records the path explicitly
    assert adata.uns["radiogx"]["trait_0"]["path"] == str(path.resolve())
    loaded = rg.nn.RadiogenomicModel.load(path, adata=adata)
    pd.testing.assert_frame_equal(loaded.predict_proba(adata), before, check_exact=True)
    for k in range(3):
        np.testing.assert_array_equal(loaded.predict_logits(adata, fold=k), model.predict_logits(adata, fold=k))
    # a fresh session: the id no longer resolves in memory, the recorded path does
    _persist._REGISTRY.pop(model.model_id)
    _persist._REGISTRY.pop(loaded.model_id, None)
    from radiogx.get import model as resolve_model
    np.testing.assert_array_equal(resolve_model(adata, "trait_0").predict_proba(adata), before)
    other = adata[:, adata.var_names[5:]].copy()
    with pytest.raises(ValueError, match=r"adata lacks 5 of them \['G"):
        rg.nn.RadiogenomicModel.load(path, adata=other)
    with pytest.raises(ValueError, match="adata lacks 5 of them"):
        model.predict_proba(other)


def test_pretrain_records_heldout_r2_and_transfers(small_synthetic):
    adata = small_synthetic.copy()
    adata.obs["annotated"] = np.where(np.arange(adata.n_obs) < 30, "yes", None)
    ae = rg.tl.pretrain(adata, exclude="annotated", hidden=(32, 16), epochs=30, patience=10, seed=0)
    rec = adata.uns["pretrain"]
    assert len(rec["patients"]) == adata.n_obs - 30 and -1 < rec["r2_holdout"] < 1
    assert ae.hparams["hidden"] == [32, 16]
    model = rg.tl.train(adata, "trait_0", hidden=(32, 16), pretrained=ae, freeze=1, epochs=5, patience=3, cv=3, seed=0,
                        select_genes="all", final="refit")  # one network on every gene: the transfer itself
    net = model.network()
    np.testing.assert_array_equal(net.dense_layers()[0].weight.detach().numpy(), ae.dense_layers()[0].weight.detach().numpy())
    assert not torch.equal(net.dense_layers()[1].weight, ae.dense_layers()[1].weight)  # fine-tuned, not frozen
    with pytest.raises(ValueError, match="does not match the network's hidden layers"):
        rg.tl.train(adata, "trait_0", hidden=(8,), pretrained=ae, epochs=2, cv=3)


def test_bootstrap_is_paired_with_percentile_intervals(small_synthetic):
    adata = small_synthetic.copy()
    rg.tl.train(adata, "trait_0", hidden=(16,), epochs=10, patience=3, cv=3, seed=0)
    rg.tl.compare(adata, "trait_0", models=["logit_l2", "random_forest"], param_grids=TINY_GRIDS)
    rg.tl.bootstrap(adata, "trait_0", n_boot=4)
    res = adata.uns["radiogx_bootstrap"]["trait_0"]
    wide = res["boots"].pivot(index="boot", columns="model", values="roc_auc")
    assert wide.shape == (4, 3)
    summary = rg.get.bootstrap_df(adata).set_index("model")
    assert (summary["ci_lower"] <= summary["mean"]).all() and (summary["mean"] <= summary["ci_upper"]).all()
    diffs = rg.get.bootstrap_df(adata, differences=True).set_index("baseline")
    assert diffs.loc["logit_l2", "mean"] == pytest.approx((wide["network"] - wide["logit_l2"]).mean())
    again = adata.copy()
    rg.tl.bootstrap(again, "trait_0", n_boot=4, n_jobs=2)
    pd.testing.assert_frame_equal(again.uns["radiogx_bootstrap"]["trait_0"]["boots"], res["boots"])


def test_tables_plots_and_h5ad(subtype_run, tmp_path):
    adata, _ = subtype_run
    snapshot = adata.copy()
    cv = rg.get.cv_df(adata)
    assert list(cv.columns[:4]) == ["trait", "protocol", "fold", "n_train"] and len(cv) == 5
    for plot in (rg.pl.roc, rg.pl.compare):
        fig = plot(adata, "subtype", return_fig=True)
        assert fig.axes and fig.axes[0].get_title().startswith("subtype")
    assert adata.uns.keys() == snapshot.uns.keys()
    adata.write_h5ad(tmp_path / "m.h5ad")
    back = ad.read_h5ad(tmp_path / "m.h5ad")
    pd.testing.assert_frame_equal(back.uns["radiogx"]["subtype"]["cv"], adata.uns["radiogx"]["subtype"]["cv"])
    pd.testing.assert_frame_equal(rg.get.compare_df(back), rg.get.compare_df(adata))


BAD = [
    ("unknown trait", lambda a: rg.tl.train(a, "grade", cv=3), ValueError, r"trait 'grade' is not a column of adata.obs"),
    ("single-class trait", lambda a: rg.tl.train(a, "one", cv=3), ValueError, r"has a single class \['x'\]"),
    ("fewer patients per class than folds", lambda a: rg.tl.train(a, "rare", cv=5), ValueError,
     r"fewer patients than folds \(cv=5\) in classes \{'b': 3\}"),
    ("whole numbers of many values", lambda a: rg.tl.train(a, "count", cv=3), ValueError,
     r"looks continuous .* task='regression'"),
    ("constant continuous trait", lambda a: rg.tl.train(a, "flat", cv=3), ValueError, r"'flat' is constant"),
    ("continuous trait, too few patients for the folds", lambda a: rg.tl.train(a, "few", cv=3), ValueError,
     r"has 5 patients with a value, fewer than 2 per fold \(cv=3\)"),
    ("non-finite continuous trait", lambda a: rg.tl.train(a, "infinite", cv=3), ValueError,
     r"'infinite' has non-finite values for patients \['P0001'\]"),
    ("categories as a regression", lambda a: rg.tl.train(a, "trait_0", cv=3, task="regression"), ValueError,
     r"task='regression' needs numbers"),
    ("logit of values outside (0, 1)", lambda a: rg.tl.train(a, "score", cv=3, transform="logit"), ValueError,
     r"transform='logit' needs fractions strictly between 0 and 1"),
    ("transform of categories", lambda a: rg.tl.train(a, "trait_0", cv=3, transform="log"), ValueError,
     r"applies to a continuous trait"),
    ("paper protocol of a continuous trait", lambda a: rg.tl.train(a, "score", cv=3, protocol="paper"), ValueError,
     r"continuous: the paper's protocol"),
    ("classifiers for a continuous trait", lambda a: rg.tl.compare(a, "score", cv=3, models=["logit_l2"]), ValueError,
     r"unknown baselines \['logit_l2'\] for a continuous trait"),
    ("unknown protocol", lambda a: rg.tl.train(a, "trait_0", protocol="fast"), ValueError, r"protocol must be 'nested' or 'paper'"),
    ("unknown grid key", lambda a: rg.tl.train(a, "trait_0", param_grid={"depth": [1]}), ValueError, r"unknown network settings \['depth'\]"),
    ("unknown baseline", lambda a: rg.tl.compare(a, "trait_0", models=["knn"]), ValueError, r"unknown baselines \['knn'\]"),
    ("bootstrap without a model", lambda a: rg.tl.bootstrap(a, "trait_1"), ValueError, r"no model for trait 'trait_1'.*rg.tl.train"),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_refused_and_adata_unchanged(small_synthetic, call, exc, match):
    adata = small_synthetic.copy()
    adata.obs["one"] = pd.Categorical(["x"] * adata.n_obs)
    adata.obs["rare"] = pd.Categorical(["a"] * (adata.n_obs - 3) + ["b"] * 3)
    adata.obs["score"] = np.linspace(0, 1, adata.n_obs)
    adata.obs["count"] = np.arange(adata.n_obs, dtype=float)
    adata.obs["flat"] = 0.5
    adata.obs["few"] = np.where(np.arange(adata.n_obs) < 5, np.linspace(0.1, 0.9, adata.n_obs), np.nan)
    adata.obs["infinite"] = np.where(np.arange(adata.n_obs) == 0, np.inf, np.linspace(0.1, 0.9, adata.n_obs))
    before = adata.copy()
    with pytest.raises(exc, match=match):
        call(adata)
    pd.testing.assert_frame_equal(adata.obs, before.obs)
    assert adata.uns.keys() == before.uns.keys()


def test_non_finite_expression_is_refused(small_synthetic):
    adata = small_synthetic.copy()
    adata.X[3, 7] = np.nan
    with pytest.raises(ValueError, match=r"non-finite values \(NaN or inf\), the first at row 3, column 7"):
        rg.tl.train(adata, "trait_0", cv=3)
    assert "radiogx" not in adata.uns


def test_missing_trait_values_are_dropped_and_counted(small_synthetic, caplog):
    import logging

    adata = small_synthetic.copy()
    adata.obs.loc[adata.obs_names[:10], "trait_0"] = np.nan
    with caplog.at_level(logging.INFO, logger="radiogx"):
        rg.tl.train(adata, "trait_0", hidden=(8,), epochs=3, patience=2, cv=3, seed=0)
    assert "10 patients without a value are left out (110 used)" in caplog.text
    assert len(adata.uns["radiogx"]["trait_0"]["oof"]) == 110
    assert adata.obs["trait_0"].isna().sum() == 10


def test_class_names_with_slashes_survive_h5ad_without_warnings(verhaak, tmp_path):
    import warnings

    adata = verhaak.copy()
    rg.pp.volumetric_traits(adata, rg.datasets.tcga_gbm_volumetrics(), threshold=1 / 3)
    rg.tl.train(adata, "ncet_necrosis", hidden=(8,), epochs=3, patience=2, cv=3, seed=0)
    rg.tl.compare(adata, "ncet_necrosis", models=["logit_l2"], param_grids=TINY_GRIDS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adata.write_h5ad(tmp_path / "slash.h5ad")
    back = ad.read_h5ad(tmp_path / "slash.h5ad")
    assert list(back.uns["radiogx"]["ncet_necrosis"]["classes"]) == ["Less than 1/3", "More than 1/3"]
    pd.testing.assert_frame_equal(back.uns["radiogx"]["ncet_necrosis"]["oof"], adata.uns["radiogx"]["ncet_necrosis"]["oof"])


def test_dask_cluster_gives_the_same_results(small_synthetic):
    """Distributed runs: joblib's dask backend on a LocalCluster spreads the folds and changes nothing."""
    from dask.distributed import Client, LocalCluster
    from joblib import parallel_config

    local, spread = small_synthetic.copy(), small_synthetic.copy()
    kwargs = {"hidden": (16,), "epochs": 5, "patience": 3, "cv": 3, "seed": 1}
    rg.tl.train(local, "trait_0", n_jobs=1, **kwargs)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, Client(cluster):
        with parallel_config(backend="dask"):
            rg.tl.train(spread, "trait_0", n_jobs=-1, **kwargs)
    pd.testing.assert_frame_equal(local.uns["radiogx"]["trait_0"]["oof"], spread.uns["radiogx"]["trait_0"]["oof"])
