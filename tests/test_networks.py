"""Networks that earn their place: the default recipe, ensembles, the gene-set architecture and its set nodes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import radiogx as rg
from radiogx.nn._masking_engine import FoldedNetwork
from radiogx.nn._modules import RadiogenomicNetwork, merge_networks, network_from_state
from radiogx.workflow import ConfigError, validate_config

FAST_BASELINES = {"logit_l2": {"C": [0.01, 0.1, 1.0]}, "random_forest": {"max_features": ["sqrt"], "criterion": ["gini"]}}


def _best_baseline(adata, trait):
    table = rg.get.compare_df(adata, trait=trait)
    return table.loc[table["model"] != "network", "roc_auc"].max()


@pytest.fixture(scope="module")
def planted():
    """A planted cohort: trait_0 linear in one module, trait_1 the product of two modules (no marginal signal)."""
    return rg.datasets.synthetic(300, 1500, 2, seed=3, module_size=30, n_decoys=10)


def test_default_recipe_matches_the_best_baseline_on_a_linear_trait(planted):
    adata = planted.copy()
    model = rg.tl.train(adata, "trait_0", cv=3, seed=0, n_jobs=2)
    rg.tl.compare(adata, "trait_0", models=list(FAST_BASELINES), param_grids=FAST_BASELINES, n_jobs=2)
    params = adata.uns["radiogx"]["trait_0"]["params"]
    assert params["preset"] == "default" and params["final"] == "ensemble" and params["inner_splits"] == 3
    assert params["config_rule"] == "best"
    assert list(model.fold_config(0).hidden) == [rg.nn._recipes.auto_width(300)]
    assert {model.fold_config(k).select_genes for k in range(3)} <= {30, 100, 1000}
    network = adata.uns["radiogx"]["trait_0"]["summary"]["roc_auc_mean"]
    assert network >= _best_baseline(adata, "trait_0") - 0.03


def test_screened_first_layer_sees_only_the_training_patients_top_genes(planted):
    from radiogx.nn._fit import NetworkConfig, fit_network, screen_mask

    x = (planted.X - planted.X.mean(0)) / planted.X.std(0)
    y = planted.obs["trait_0"].cat.codes.to_numpy()
    cfg = NetworkConfig.from_dict({"hidden": (8,), "epochs": 5, "select_genes": 40})
    fit = fit_network(x[:200], y[:200], n_classes=2, cfg=cfg, seed=0)
    used = np.flatnonzero(fit.state["blocks.0.0.weight"].abs().sum(0).numpy() > 0)
    expected = np.flatnonzero(screen_mask(x[:200], y[:200], 40, 8)[0].numpy())
    assert np.array_equal(used, expected)  # weights outside the screen stayed exactly zero through training
    # the screen is computed on the patients given, not on all of them
    assert not np.array_equal(expected, np.flatnonzero(screen_mask(x, y, 40, 8)[0].numpy()))


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_screened_network_trained_on_its_genes_alone_is_the_full_width_one(planted, monkeypatch, task):
    """Training on the screened genes alone is the same network and optimisation as on every gene with the others'
    weights held at zero (radiogx <= 0.8): without dropout, whose masks are drawn for the genes seen, the two fits
    agree to float32 rounding, and the state is the full-width one. (By SGD: the Dense biases before BatchNorm get
    gradients of rounding size only, which Adam would scale to steps of its learning rate, in another direction for
    each summation order.)"""
    from radiogx.nn import _fit

    x = ((planted.X - planted.X.mean(0)) / planted.X.std(0)).astype(np.float32)
    y = planted.obs["trait_0"].cat.codes.to_numpy().astype(np.int64)
    n_classes = 2
    if task == "regression":
        y, n_classes = x[:, :5].sum(1) + np.random.default_rng(0).normal(size=len(x)), _fit.REGRESSION
    cfg = _fit.NetworkConfig.from_dict({"hidden": (8, 4), "epochs": 20, "patience": 5, "select_genes": 40,
                                        "dropout": 0.0, "optimizer": "sgd", "learning_rate": 0.05})
    args = dict(n_classes=n_classes, cfg=cfg, seed=0, x_val=x[200:], y_val=y[200:])
    fits = {}
    for alone in (True, False):
        monkeypatch.setattr(_fit, "_TRAIN_ON_SCREENED", alone)
        fits[alone] = _fit.fit_network(x[:200], y[:200], **args)
    assert fits[True].best_epoch == fits[False].best_epoch
    assert fits[True].state.keys() == fits[False].state.keys()
    for key, value in fits[False].state.items():
        torch.testing.assert_close(fits[True].state[key], value, atol=1e-5, rtol=1e-4)
    assert not fits[True].state["blocks.0.0.weight"][:, fits[True].state["blocks.0.0.mask"][0] == 0].any()
    outputs = [network_from_state(fit.state, activation="tanh")(torch.from_numpy(x)) for fit in fits.values()]
    torch.testing.assert_close(outputs[0], outputs[1], atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(fits[True].val_auc, fits[False].val_auc, atol=1e-6)


def test_ensemble_is_exactly_the_mean_of_the_fold_networks(planted):
    adata = planted.copy()
    model = rg.tl.train(adata, "trait_0", hidden=(8,), epochs=5, cv=3, seed=0)
    assert model.is_ensemble and adata.uns["radiogx"]["trait_0"]["summary"]["final_epochs"] == 0
    members = np.mean([model.predict_logits(adata, fold=k) for k in range(3)], axis=0)
    np.testing.assert_allclose(model.predict_logits(adata), members, atol=1e-5)


def test_merge_keeps_interaction_terms_and_the_masking_engine_agrees():
    torch.manual_seed(0)
    mask = (torch.rand(6, 20) > 0.5).float()
    nets = [RadiogenomicNetwork(20, 3, (6, 4), first_mask=mask, interaction_rank=2).eval() for _ in range(3)]
    for net in nets:
        for bn in (b[1] for b in net.blocks):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2)
    scales, shifts = [torch.rand(20) + 0.5 for _ in nets], [torch.randn(20) for _ in nets]
    merged = merge_networks(nets, scales=scales, shifts=shifts)
    x = torch.randn(7, 20)
    expected = torch.stack([n(x * s + b) for n, s, b in zip(nets, scales, shifts)]).mean(0)
    torch.testing.assert_close(merged(x), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(FoldedNetwork(merged).logits(x), expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="different depths"):
        merge_networks([nets[0], RadiogenomicNetwork(20, 3, (6,))])


def test_refit_final_model_trains_for_at_least_the_floor(planted):
    adata = planted.copy()
    rg.tl.train(adata, "trait_0", hidden=(8,), epochs=3, patience=1, cv=3, seed=0, final="refit", min_epochs=7)
    assert adata.uns["radiogx"]["trait_0"]["summary"]["final_epochs"] == 7
    with pytest.raises(ValueError, match="final='ensemble' averages the nested protocol"):
        rg.tl.train(adata, "trait_0", protocol="paper", final="ensemble", cv=3)


def test_the_widest_screen_within_one_standard_error_of_the_best_is_chosen():
    from radiogx.nn._recipes import choose_config

    widths = [50, 100, 1500]  # genes each configuration's first layer sees
    scores = np.array([[-0.30, -0.32, -0.34],   # the best mean, -0.32; its SE 0.0115
                       [-0.33, -0.33, -0.33],   # within one SE of it
                       [-0.40, -0.41, -0.39]])  # not
    assert choose_config(scores, widths, "best") == 0
    assert choose_config(scores, widths, "widest_within_se") == 1
    scores[2] = [-0.31, -0.33, -0.335]  # now the widest is within one SE too
    assert choose_config(scores, widths, "widest_within_se") == 2
    # a configuration with a split that scored nothing is never chosen; equal widths go to the best mean
    scores[2, 1] = np.nan
    assert choose_config(scores, widths, "widest_within_se") == 1
    assert choose_config(scores, [100, 100, 100], "widest_within_se") == 0
    with pytest.raises(ValueError, match="config_rule must be one of"):
        choose_config(scores, widths, "smallest")


def test_the_attribution_preset_averages_six_inner_networks_and_keeps_the_widest_screen_within_one_se(planted):
    adata = planted.copy()
    model = rg.tl.train(adata, "trait_0", preset="attribution", hidden=(8,), epochs=10, cv=2, seed=0)
    params = adata.uns["radiogx"]["trait_0"]["params"]
    assert (params["preset"], params["inner_splits"], params["config_rule"]) == ("attribution", 6, "widest_within_se")
    assert {model.fold_config(k).select_genes for k in range(2)} <= {50, 100, 1000}
    # six inner networks of 8 units averaged into each fold's network
    assert model.network(0).blocks[0][0].out_features == 6 * 8
    assert rg.nn._recipes.PRESETS["travel"] == {**rg.nn._recipes.PRESETS["attribution"],
                                                "input_transform": "rank_normal"}


def test_a_fold_keeps_the_configuration_its_rule_chose(planted):
    """On the planted linear trait, a grid of a 20-gene and a 1,000-gene screen: with the same inner networks, the
    widest-within-one-SE rule never keeps a narrower screen than the best mean's; the rule is recorded, replayed by
    stability (``"best"`` for a record without it), and an unknown rule is refused."""
    from radiogx.tl._stability import retrain_settings

    kept = {}
    for rule in ("best", "widest_within_se"):
        adata = planted.copy()
        model = rg.tl.train(adata, "trait_0", hidden=(8,), epochs=20, cv=2, inner_splits=3, seed=0,
                            param_grid={"select_genes": [20, 1000]}, config_rule=rule)
        cv = adata.uns["radiogx"]["trait_0"]["cv"]
        assert adata.uns["radiogx"]["trait_0"]["params"]["config_rule"] == rule
        assert retrain_settings(model)["config_rule"] == rule
        kept[rule] = [model.fold_config(k).select_genes for k in range(2)]
        assert len(cv) == 2
    model.settings.pop("config_rule")  # a model of radiogx <= 0.8, which chose the best mean, retrains so
    assert retrain_settings(model)["config_rule"] == "best"
    for best, widest in zip(kept["best"], kept["widest_within_se"]):
        assert (widest or 1500) >= (best or 1500)  # never narrower than the best mean's
    with pytest.raises(ValueError, match="config_rule must be one of"):
        rg.tl.train(planted.copy(), "trait_0", cv=2, config_rule="smallest")


@pytest.mark.slow
def test_paper_preset_is_the_papers_recipe(planted):
    adata = planted.copy()
    model = rg.tl.train(adata, "trait_0", preset="paper", epochs=1, cv=2, seed=0, n_jobs=2)
    params = adata.uns["radiogx"]["trait_0"]["params"]
    assert list(model.config.hidden) == [4000, 2000, 1000]
    assert (params["optimizer"], params["batch_size"], params["final"], params["inner_splits"]) == ("adadelta", 10, "refit", 1)
    assert model.config.select_genes is None and params["param_grid"] == ""


def test_gene_set_network_finds_a_product_of_two_set_activities(planted):
    """No model of single genes can rank a product of two module activities; the gene-set network can, and its
    top set nodes are the planted sets."""
    adata = planted.copy()
    sets = adata.uns["synthetic"]["gene_sets"]
    model = rg.tl.train(adata, "trait_1", architecture="gene_sets", gene_sets=sets, cv=3, seed=0, n_jobs=2)
    rg.tl.compare(adata, "trait_1", models=list(FAST_BASELINES), param_grids=FAST_BASELINES, n_jobs=2)
    network = adata.uns["radiogx"]["trait_1"]["summary"]["roc_auc_mean"]
    assert network >= _best_baseline(adata, "trait_1") + 0.10
    rg.tl.set_nodes(adata, trait="trait_1")
    table = rg.get.set_nodes_df(adata, trait="trait_1")
    planted_sets = set(adata.uns["synthetic"]["traits"]["trait_1"]["sets"])
    assert set(table.nsmallest(2, "rank")["gene_set"]) == planted_sets
    assert adata.obsm["set_nodes_trait_1"].shape == (adata.n_obs, len(sets))
    # masking works on it unchanged. Kept alone, either planted set carries nothing (the other set at its mean zeroes
    # the product); kept together, they carry the trait
    union = sorted(set().union(*(sets[s] for s in planted_sets)))
    rg.tl.gene_masking(adata, {s: sets[s] for s in sorted(sets)[:12]} | {"PLANTED_PAIR": union},
                       trait="trait_1", null="labels", n_null=200)
    result = rg.get.masking_df(adata).set_index("gene_set")
    assert result["auc"].idxmax() == "PLANTED_PAIR" and result.loc["PLANTED_PAIR", "padj"] < 0.05
    assert len(model.node_sets()) == model.network().blocks[0][0].out_features


def test_gene_set_model_round_trips(planted, tmp_path):
    adata = planted.copy()
    sets = adata.uns["synthetic"]["gene_sets"]
    model = rg.tl.train(adata, "trait_1", architecture="gene_sets", gene_sets=sets, hidden=(4,), epochs=3, cv=3, seed=0)
    model.save(tmp_path / "m.pt")
    loaded = rg.nn.RadiogenomicModel.load(tmp_path / "m.pt")
    np.testing.assert_array_equal(loaded.predict_logits(adata), model.predict_logits(adata))
    assert loaded.node_sets() == model.node_sets() and loaded.set_nodes == model.set_nodes
    assert torch.equal(loaded.set_mask, model.set_mask)


@pytest.mark.parametrize("kwargs, message", [
    ({"architecture": "gene_sets"}, "needs gene_sets="),
    ({"architecture": "gene_sets", "gene_sets": "hallmark", "select_genes": 10}, "select_genes restricts a dense"),
    ({"preset": "fast"}, "preset must be one of"),
    ({"final": "average"}, "final must be 'ensemble' or 'refit'"),
    ({"inner_splits": 0}, "inner_splits must be a positive integer"),
])
def test_bad_recipes_are_refused(planted, kwargs, message):
    with pytest.raises(ValueError, match=message):
        rg.tl.train(planted.copy(), "trait_0", cv=3, **kwargs)


def test_workflow_train_keys_are_checked():
    base = {"input": {"dataset": "synthetic"}}
    with pytest.raises(ConfigError, match="needs \\[steps.train\\] gene_sets"):
        validate_config({**base, "steps": {"train": {"architecture": "gene_sets"}}})
    with pytest.raises(ConfigError, match="needs \\[steps.train\\] hidden"):
        validate_config({**base, "steps": {"pretrain": {"enabled": True}}})
    cfg = validate_config({**base, "steps": {"train": {"architecture": "gene_sets", "gene_sets": "synthetic",
                                                       "final": "refit", "min_epochs": 5}}})
    assert cfg["steps.train"]["gene_sets"] == "synthetic" and cfg["steps.train"]["preset"] == "default"


def test_fits_in_threads_equal_the_same_fits_one_after_another():
    """Dask's threaded workers train folds at once in one process: weight starts and dropout masks must not come from
    torch's global generator, which the threads share (one fold differed now and then under load)."""
    from concurrent.futures import ThreadPoolExecutor

    from radiogx.nn._fit import NetworkConfig, fit_network

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 400)).astype(np.float32)
    y = (x[:, :5].sum(1) + rng.normal(size=300) > 0).astype(np.int64)
    cfg = NetworkConfig.from_dict({"hidden": (64, 32), "dropout": 0.3, "input_dropout": 0.2, "epochs": 30,
                                   "batch_size": 8, "optimizer": "adam", "learning_rate": 1e-3})

    def fit(seed):
        torch.set_num_threads(1)
        return fit_network(x, y, n_classes=2, cfg=cfg, seed=seed).state

    threads = torch.get_num_threads()
    try:
        serial = [fit(s) for s in range(6)]
        with ThreadPoolExecutor(6) as pool:
            threaded = list(pool.map(fit, range(6)))
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(serial, threaded, strict=True):
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(serial[0]["head.weight"], serial[1]["head.weight"])
