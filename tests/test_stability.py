"""Attributions you can publish: stability over retrainings (rg.tl.stability), its statistics, the sanity checks,
and the baselines' per-patient attributions (rg.tl.importance), each against planted truth."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

import radiogx as rg
from radiogx.tl._stability_stats import (cohort_scores, nogueira_phi, overlap_pvalue, pairwise_agreement,
                                        permuted_label_overlaps, top_selection)

matplotlib.use("Agg")

RECIPE = {"hidden": (16,), "epochs": 40, "patience": 10, "cv": 3, "inner_splits": 1, "select_genes": "all", "seed": 0}


@pytest.fixture(scope="module")
def planted():
    """A binary trait driven by one 12-gene module (genes G00001-G00012 of the synthetic cohort) among 150 genes."""
    adata = rg.datasets.synthetic(n_obs=160, n_vars=150, n_traits=1, module_size=12, n_decoys=2, seed=4)
    rg.tl.train(adata, "trait_0", **RECIPE)
    return adata


def _module(adata) -> set[str]:
    """The planted module's genes (the set the synthetic cohort records as driving trait_0)."""
    (name,) = adata.uns["synthetic"]["traits"]["trait_0"]["sets"]
    return set(adata.uns["synthetic"]["gene_sets"][name])


# --- statistics ---------------------------------------------------------------------------------------------------

def _selections(rng, m: int, d: int, k: int, preference: np.ndarray) -> np.ndarray:
    z = np.zeros((m, d), dtype=bool)
    for row in z:
        row[rng.choice(d, k, replace=False, p=preference / preference.sum())] = True
    return z


@pytest.mark.parametrize("structured", [False, True])
def test_phi_interval_covers_the_procedure_stability_at_five_repeats(structured):
    """Phi is 1 for identical selections. Its 95% interval over 5 repeats covers the procedure's stability (0 for
    random selections; for selections that prefer 60 genes, the Phi of 300 repeats) in about 95% of draws: neither
    always nor never (Nogueira's asymptotic interval covers 68-84% here)."""
    same = np.zeros((5, 200), dtype=bool)
    same[:, :20] = True
    assert nogueira_phi(same)[0] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    d, k = (840, 100) if structured else (200, 20)
    preference = np.r_[np.full(60, 30.0), np.ones(d - 60)] if structured else np.ones(d)
    truth = np.mean([nogueira_phi(_selections(rng, 300, d, k, preference))[0] for _ in range(3)]) if structured else 0.0
    draws = [nogueira_phi(_selections(rng, 5, d, k, preference)) for _ in range(300)]
    covered = np.mean([lo <= truth <= hi for _, lo, hi in draws])
    assert abs(np.mean([phi for phi, _, _ in draws]) - truth) < 0.02
    assert 0.90 <= covered <= 0.995


def test_phi_matches_the_pairwise_definition_for_selections_of_one_size():
    """With every selection of size k, Phi is the mean over pairs of (overlap - k^2/d) / (k - k^2/d) (Nogueira et al.
    2018, their equation relating Phi to Kuncheva's index)."""
    rng = np.random.default_rng(1)
    d, k = 60, 12
    z = np.zeros((6, d), dtype=bool)
    for i, row in enumerate(z):
        row[rng.choice(30, k, replace=False) if i % 2 else rng.choice(d, k, replace=False)] = True
    pairs = [((z[a] & z[b]).sum() - k * k / d) / (k - k * k / d) for a in range(6) for b in range(6) if a != b]
    assert nogueira_phi(z)[0] == pytest.approx(np.mean(pairs))


def test_the_class_contrast_ranks_the_planted_gene_first_and_ignores_sign_flipping_noise():
    """Gene 0 pushes the target's patients towards it; gene 1 has large attributions of random sign (a random weight
    on an uninformative gene): its mean absolute attribution is the largest, its contrast near 0."""
    rng = np.random.default_rng(2)
    y = np.repeat([0, 1, 2], 40)
    attr = rng.normal(0, 0.1, (120, 5))
    attr[y == 1, 0] += 1.0
    attr[:, 1] = rng.normal(0, 3.0, 120)
    contrast = cohort_scores(attr, y, score="contrast", target_code=1)
    assert np.argmax(contrast) == 0 and abs(contrast[1]) < 1.0
    assert np.argmax(cohort_scores(attr, y, score="mean_abs", target_code=1)) == 1
    values = rng.normal(size=120)
    attr_reg = np.c_[values * 2.0, rng.normal(size=120)]
    assert np.argmax(cohort_scores(attr_reg, values, score="contrast", target_code=None)) == 0
    with pytest.raises(ValueError, match="score must be"):
        cohort_scores(attr, y, score="median", target_code=1)


def test_top_selection_never_fills_the_list_with_genes_without_evidence():
    assert np.flatnonzero(top_selection(np.array([0.5, -1.0, 0.0, 2.0, 0.1]), 4)).tolist() == [0, 3, 4]


def test_overlap_p_value_is_calibrated_when_genes_are_co_expressed():
    """The label-randomisation null: a top-40 list ranked by random labels among 400 genes, 40 of which share a
    factor (a co-expressed module, the "signature"). Its overlap p under label permutations is calibrated, P(p <= a)
    within binomial limits of a at each a (slightly below where overlaps tie), never 0; the hypergeometric p of the
    same overlaps, which assumes independent genes, is not (about 13% of draws at p <= 0.01). A third of the draws
    overlap the module nowhere (p = 1), so above 0.25 the test is valid but conservative."""
    from scipy import stats

    rng = np.random.default_rng(0)
    n, d, m, k, draws = 80, 400, 40, 40, 500
    x = rng.standard_normal((n, d))
    x[:, :m] += rng.standard_normal(n)[:, None]
    module = np.arange(d) < m
    labels = np.repeat([0, 1], n // 2)
    xs = (x - x.mean(axis=0)) / x.std(axis=0)
    p, hyper = [], []
    for i in range(draws):
        y = labels[rng.permutation(n)]
        selected = top_selection(cohort_scores(xs, y, score="contrast", target_code=1), k)
        null = permuted_label_overlaps(x, y, module, score="contrast", target_code=1, k=k, n_permutations=199, seed=i)
        overlap, pval = overlap_pvalue(module, selected, null)
        p.append(pval)
        hyper.append(stats.hypergeom.sf(overlap - 1, d, m, k))
    p, hyper = np.array(p), np.array(hyper)
    assert p.min() >= 1 / 200
    for alpha in (0.05, 0.1, 0.25, 0.5, 0.75):  # valid at every level; tight where overlaps rarely tie
        limit = 3.5 * np.sqrt(alpha * (1 - alpha) / draws)
        assert (p <= alpha).mean() < alpha + limit
        if alpha <= 0.25:
            assert (p <= alpha).mean() > alpha - limit
    assert (hyper <= 0.01).mean() > 0.05


def test_permuted_label_overlaps_follow_the_score_and_check_their_input():
    """A module whose genes all rise with the target class is in every permuted top list only by chance: the null
    overlaps of a continuous slope and of absolute scores are of the right size, and bad input is refused."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((60, 100))
    reference = np.arange(100) < 10
    slope = permuted_label_overlaps(x, rng.standard_normal(60), reference, score="contrast", target_code=None, k=10,
                                    n_permutations=300, seed=0)
    absolute = permuted_label_overlaps(x, rng.integers(0, 2, 60), reference, score="mean_abs", target_code=1, k=10,
                                       n_permutations=300, seed=0)
    for null in (slope, absolute):  # independent genes: the hypergeometric mean, 10 x 10 / 100
        assert len(null) == 300 and abs(null.mean() - 1.0) < 0.25
    with pytest.raises(ValueError, match="patients x genes"):
        permuted_label_overlaps(x[:, :50], np.zeros(60), reference, score="contrast", target_code=1, k=5)
    with pytest.raises(ValueError, match="patients of the target class"):
        permuted_label_overlaps(x, np.zeros(60), reference, score="contrast", target_code=1, k=5)


def test_pairwise_agreement_of_identical_repeats_is_perfect():
    scores = np.tile(np.arange(10.0), (3, 1))
    sel = np.stack([top_selection(s, 4) for s in scores])
    assert pairwise_agreement(sel, scores) == (1.0, 1.0)


# --- the tool -----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stable(planted):
    adata = planted.copy()
    rg.tl.stability(adata, "trait_0", methods=["input_x_gradient", "saliency"], n_repeats=3, top_k=12, seed=5)
    return adata


def test_stability_finds_the_planted_module(stable):
    genes = rg.get.stability_df(stable, stable_only=True)
    module = _module(stable)
    ixg = set(genes.loc[genes["method"] == "input_x_gradient", "gene"])
    assert len(ixg & module) >= 9 and len(ixg - module) <= 2
    summary = rg.get.stability_summary_df(stable).set_index("method")
    assert summary.loc["input_x_gradient", "score"] == "contrast" and summary.loc["saliency", "score"] == "mean_abs"
    row = summary.loc["input_x_gradient"]
    assert row["phi_lower"] <= row["phi"] <= row["phi_upper"] and row["phi"] > 0.5
    assert row["model_randomisation_rho"] < 0.5 and row["label_randomisation_pval"] > 0.01
    assert row["flags"] == ""
    assert 0 <= row["median_rel_sd"] < 1
    rec = stable.uns["stability"]["trait_0"]
    assert len(rec["repeats"]) == 3 and rec["repeats"]["seed"].nunique() == 3
    assert int(stable.uns["radiogx"]["trait_0"]["params"]["seed"]) not in set(rec["repeats"]["seed"])
    assert stable.var["stability_input_x_gradient_trait_0"].idxmax() == genes.loc[genes["method"] == "input_x_gradient", "gene"].iloc[0]
    rg.tl.enrich(stable, key="stability_input_x_gradient_trait_0", gene_sets=stable.uns["synthetic"]["gene_sets"],
                 min_size=5, n_perm=200, key_added="enrich_stable")
    best = rg.get.enrich_df(stable, key="enrich_stable").iloc[0]
    assert {best["gene_set"]} == set(stable.uns["synthetic"]["traits"]["trait_0"]["sets"]) and best["nes"] > 0
    g = rg.get.stability_df(stable)
    assert (g["rank_lower"] <= g["mean_rank"]).all() and (g["mean_rank"] <= g["rank_upper"]).all()
    assert g.groupby(["method", "target"]).size().tolist() == [150, 150]


def test_stability_is_a_result_kind_like_the_others(stable, tmp_path):
    records = rg.get.records(stable)
    assert records.set_index("key").loc["stability", "kind"] == "stability"
    tables = rg.get.result_tables(stable)
    assert {"stability", "stability_summary", "stability_sanity"} <= set(tables)
    sanity = rg.get.stability_sanity_df(stable)
    assert set(sanity["check"]) == {"model_randomisation", "label_randomisation"}
    fig = rg.pl.stability(stable, "trait_0", return_fig=True)
    assert "Phi" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="no stability results for method"):
        rg.pl.stability(stable, "trait_0", method="deeplift")


def test_stability_does_not_depend_on_n_jobs(planted):
    one, two = planted.copy(), planted.copy()
    kwargs = {"methods": ["input_x_gradient"], "n_repeats": 2, "top_k": 10, "seed": 9, "sanity": False}
    rg.tl.stability(one, "trait_0", n_jobs=1, **kwargs)
    rg.tl.stability(two, "trait_0", n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(rg.get.stability_df(one), rg.get.stability_df(two))


def test_model_randomisation_flags_a_method_blind_to_the_weights(planted):
    """A method that returns the input itself (its map does not depend on the network) keeps its gene scores when
    the weights are re-initialised: flagged; input x gradient is not."""
    class Identity:
        def __init__(self, net):
            self.net = net

        def attribute(self, x, target=0):
            return x.detach().clone()

    rg.tl.register_attribution_method(rg.tl.AttributionMethod("identity_map", Identity), replace=True)
    try:
        adata = planted.copy()
        rg.tl.stability(adata, "trait_0", methods=["identity_map", "input_x_gradient"], n_repeats=2, top_k=12, seed=1)
        summary = rg.get.stability_summary_df(adata).set_index("method")
        assert summary.loc["identity_map", "model_randomisation_rho"] == pytest.approx(1.0)
        assert "model_randomisation" in summary.loc["identity_map", "flags"]
        assert "model_randomisation" not in summary.loc["input_x_gradient", "flags"]
        stages = rg.get.stability_sanity_df(adata)
        model_rows = stages[stages["check"] == "model_randomisation"]
        assert list(dict.fromkeys(model_rows["stage"])) == ["output layer", "hidden layer 1"]
        # every stage re-initialised MODEL_RANDOMISATIONS times; the summary reads the highest stage mean
        from radiogx.tl._stability import MODEL_RANDOMISATIONS

        mine = model_rows[model_rows["method"] == "input_x_gradient"]
        assert mine.groupby("stage")["draw"].apply(sorted).map(list).eq(
            [list(range(1, MODEL_RANDOMISATIONS + 1))] * 2).all()
        assert mine["value"].nunique() > 2  # the draws differ
        assert summary.loc["input_x_gradient", "model_randomisation_rho"] == pytest.approx(
            mine.groupby("stage")["value"].mean().max())
    finally:
        from radiogx._registry import ATTRIBUTION_METHODS

        ATTRIBUTION_METHODS.pop("identity_map", None)


def test_label_randomisation_flags_a_method_that_ranks_the_same_genes_whatever_the_labels(planted):
    """A magnitude map (scored by the mean |attribution|, as plain saliency) that weighs the planted module's genes
    20 times the others, whatever the network learnt, puts them in the top k of networks trained on permuted labels
    too: its overlap with the consensus top k is beyond what the genes' own |contrast| reaches under permuted labels
    (flagged); input x gradient's is not."""
    genes = list(rg.get.model(planted, "trait_0").genes)
    emphasis = torch.ones(len(genes))
    emphasis[[genes.index(g) for g in _module(planted)]] = 20.0

    class FixedEmphasis:
        def __init__(self, net):
            self.net = net

        def attribute(self, x, target=0):
            return x.detach() * emphasis

    rg.tl.register_attribution_method(rg.tl.AttributionMethod("fixed_emphasis", FixedEmphasis, score="mean_abs"),
                                      replace=True)
    try:
        adata = planted.copy()
        rg.tl.stability(adata, "trait_0", methods=["fixed_emphasis", "input_x_gradient"], n_repeats=2, top_k=12,
                        n_permutations=3, seed=2)
        summary = rg.get.stability_summary_df(adata).set_index("method")
        assert summary.loc["fixed_emphasis", "label_randomisation_pval"] == pytest.approx(1 / 1000)
        assert "label_randomisation" in summary.loc["fixed_emphasis", "flags"]
        assert summary.loc["input_x_gradient", "label_randomisation_pval"] > 0.05
        assert "label_randomisation" not in summary.loc["input_x_gradient", "flags"]
        sanity = rg.get.stability_sanity_df(adata)
        assert (sanity.loc[sanity["check"] == "label_randomisation", "pval"] >= 1 / 1000).all()
    finally:
        from radiogx._registry import ATTRIBUTION_METHODS

        ATTRIBUTION_METHODS.pop("fixed_emphasis", None)


def test_randomised_networks_keep_the_zeros_of_merged_and_screened_layers(planted):
    from radiogx.tl._stability import _cascade, _randomise

    model = rg.get.model(planted, "trait_0")
    net = model.network(0)
    before = net.blocks[0][0].weight.detach().clone()
    stages = _cascade(model)
    out = _randomise(stages[-1][1], seed=3)(net)
    after = out.blocks[0][0].weight.detach()
    assert torch.equal(before == 0, after == 0) and not torch.equal(before, after)


def test_stability_refuses_what_it_cannot_do(planted):
    with pytest.raises(ValueError, match="methods must name"):
        rg.tl.stability(planted.copy(), "trait_0", methods=["gradcam"])
    with pytest.raises(ValueError, match="n_repeats must be"):
        rg.tl.stability(planted.copy(), "trait_0", n_repeats=1)
    paper = rg.datasets.synthetic(n_obs=60, n_vars=30, n_traits=1, module_size=5, n_decoys=1, seed=0)
    rg.tl.train(paper, "trait_0", protocol="paper", hidden=(4,), epochs=2, cv=3)
    with pytest.raises(ValueError, match="protocol='paper'"):
        rg.tl.stability(paper, "trait_0")


def test_retrain_settings_reproduce_the_trait_model(planted):
    """A repeat trained with the recorded settings and the model's own seed is the model itself."""
    from radiogx.tl._stability import retrain_settings

    model = rg.get.model(planted, "trait_0")
    again = planted.copy()
    rg.tl.train(again, "trait_0", seed=0, key_added="again", **retrain_settings(model))
    pd.testing.assert_frame_equal(planted.uns["radiogx"]["trait_0"]["oof"], again.uns["again"]["trait_0"]["oof"])


# --- importance ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compared(planted):
    adata = planted.copy()
    rg.tl.compare(adata, "trait_0", models=["logit_l1", "gbt", "random_forest"])
    return adata


def test_stability_of_a_baseline_repeats_compare_and_finds_the_planted_module():
    """A baseline's repeat with compare's own seed and folds is compare's search (the same pooled AUC) and its gene
    scores are the class contrast of rg.tl.importance's contributions; over new splits its stable genes are the
    planted module's, the label check refits on permuted labels, and the result reads like the network's."""
    from radiogx.tl._baseline_stability import baseline_repeat
    from radiogx.tl._importance import compared_baseline
    from radiogx.tl._stability_stats import as_shares

    adata = rg.datasets.synthetic(n_obs=160, n_vars=150, n_traits=1, module_size=12, n_decoys=2, seed=4)
    rg.tl.compare(adata, "trait_0", models=["logit_l1"], cv=3, seed=3)
    settings = compared_baseline(adata, "trait_0", "logit_l1", None, func="stability")
    run = baseline_repeat(settings, settings.data.y, 3, "m")
    assert run["score"] == pytest.approx(rg.get.compare_df(adata, trait="trait_0").set_index("model").loc[
        "logit_l1", "roc_auc_pooled"], abs=1e-12)
    rg.tl.importance(adata, "trait_0", model="logit_l1")
    contributions = adata[settings.data.obs_names].layers["importance_trait_0"]
    expected = as_shares(cohort_scores(contributions, settings.data.y, score="contrast", target_code=1)[None])
    np.testing.assert_allclose(run["scores"]["m"], expected, rtol=1e-5, atol=1e-9)

    rg.tl.stability(adata, "trait_0", model="logit_l1", n_repeats=3, top_k=12, n_permutations=2, seed=1)
    assert rg.get.records(adata).set_index("key").loc["stability_logit_l1", "kind"] == "stability"
    summary = rg.get.stability_summary_df(adata).iloc[0]
    assert summary["method"] == "logit_l1 importance" and summary["phi"] > 0.5
    assert summary["label_randomisation_pval"] > 0.01 and np.isnan(summary["model_randomisation_rho"])
    stable = set(rg.get.stability_df(adata, stable_only=True)["gene"])
    assert len(stable) >= 6 and len(stable - _module(adata)) <= 1
    assert rg.get.stability_sanity_df(adata)["check"].eq("label_randomisation").all()
    assert adata.uns["stability_logit_l1"]["trait_0"]["params"]["model"] == "logit_l1"
    column = "stability_logit_l1_trait_0"
    assert adata.var[column].idxmax() in _module(adata)
    best = adata.copy()
    rg.tl.stability(best, "trait_0", model="best", n_repeats=2, top_k=12, sanity=False, seed=1)
    assert best.uns["stability_best"]["trait_0"]["params"]["model"] == "logit_l1"
    with pytest.raises(ValueError, match="was not compared"):
        rg.tl.stability(adata, "trait_0", model="svm", n_repeats=2)
    with pytest.raises(ValueError, match="needs its trait"):
        rg.tl.stability(adata, model="logit_l1", n_repeats=2)


def test_the_findings_name_the_stable_genes_of_the_network_and_of_a_baseline(planted):
    from radiogx.workflow._findings import findings

    adata = planted.copy()
    rg.tl.compare(adata, "trait_0", models=["logit_l1"])
    rg.tl.stability(adata, "trait_0", n_repeats=2, top_k=12, sanity=False, seed=1)
    rg.tl.stability(adata, "trait_0", model="logit_l1", n_repeats=2, top_k=12, sanity=False, seed=1)
    genes = findings(adata)["stable genes"].iloc[0]
    assert genes.startswith("input_x_gradient: positive:") and " | logit_l1 importance: positive:" in genes
    assert {"stability", "stability.stability_logit_l1"} <= set(rg.get.result_tables(adata))


def test_linear_importance_is_the_fold_model_coefficient_times_scaled_input(compared):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from radiogx.tl._compare import _model_key
    from radiogx.tl._folds import child_seed

    adata = compared.copy()
    rg.tl.importance(adata, "trait_0", model="logit_l1")
    rec = adata.uns["radiogx_compare"]["trait_0"]
    folds = rec["oof"]["fold"].to_numpy()
    chosen = json.loads(rec["folds"].query("model == 'logit_l1' and fold == 0")["best_params"].iloc[0])
    y = (adata.obs["trait_0"] == "positive").to_numpy().astype(int)
    x = adata.X
    scaler = StandardScaler().fit(x[folds != 0])
    fit = LogisticRegression(l1_ratio=1.0, solver="liblinear", intercept_scaling=100.0, class_weight="balanced",
                             max_iter=1000, tol=1e-3, C=chosen["C"],
                             random_state=child_seed(int(rec["params"]["seed"]), 0, _model_key("logit_l1"))).fit(scaler.transform(x[folds != 0]), y[folds != 0])
    expected = fit.coef_[0] * scaler.transform(x[folds == 0])
    np.testing.assert_allclose(adata.layers["importance_trait_0"][folds == 0], expected, rtol=1e-4, atol=1e-6)
    table = rg.get.attributions_df(adata, key="importance")
    assert table[["method", "patients"]].iloc[0].tolist() == ["logit_l1 importance", "out_of_fold"]
    assert (adata.uns["importance"]["trait_0"]["explained_by"]["fold"].to_numpy() == folds).all()


def test_tree_importance_adds_up_to_the_boosted_trees_margin(compared):
    """TreeSHAP values of a patient sum to its margin minus the fold model's bias: within a fold, the sum of the
    attributions and the log-odds of the out-of-fold probability differ by one constant."""
    adata = compared.copy()
    rg.tl.importance(adata, "trait_0", model="gbt", key_added="gbt")
    rec = adata.uns["radiogx_compare"]["trait_0"]
    folds, p = rec["oof"]["fold"].to_numpy(), rec["oof"]["gbt"].to_numpy()
    total = adata.layers["gbt_trait_0"].sum(axis=1)
    for k in range(3):
        gap = np.log(p[folds == k] / (1 - p[folds == k])) - total[folds == k]
        assert np.ptp(gap) < 1e-3


def test_best_importance_takes_the_winning_baseline_and_finds_the_module(compared):
    adata = compared.copy()
    rg.tl.importance(adata, "trait_0")
    table = rg.get.compare_df(adata)
    ranked = table[~table["model"].isin(["network", "random_forest"])].sort_values("roc_auc_pooled", ascending=False)
    winner = ranked["model"].iloc[0]  # random forest has no per-patient attributions
    assert adata.uns["importance"]["trait_0"]["params"]["model"] == winner
    y = (adata.obs["trait_0"] == "positive").to_numpy().astype(int)
    scores = cohort_scores(adata.layers["importance_trait_0"], y, score="contrast", target_code=1)
    top = set(adata.var_names[np.argsort(-scores)[:12]])
    assert len(top & _module(adata)) >= 9
    with pytest.raises(ValueError, match="has no per-patient attributions"):
        rg.tl.importance(adata, "trait_0", model="random_forest")
    with pytest.raises(ValueError, match="was not compared"):
        rg.tl.importance(adata, "trait_0", model="svm")


# --- radiogx run --------------------------------------------------------------------------------------------------

def test_stability_step_of_a_run(tmp_path):
    """[steps.stability] retrains each trait with the run's saliency methods; its tables are written and the
    report's saliency section shows them; a second run takes it from the store."""
    cfg = {
        "run": {"seed": 0, "n_jobs": 1},
        "input": {"dataset": "synthetic", "synthetic": {"n_obs": 90, "n_vars": 60, "n_traits": 1, "module_size": 8,
                                                          "n_decoys": 2, "seed": 2}},
        "steps": {"train": {"hidden": [8], "epochs": 10, "cv": 3, "inner_splits": 1, "select_genes": 1000},
                  "compare": {"enabled": False}, "bootstrap": {"enabled": False}, "masking": {"enabled": False},
                  "saliency": {"methods": ["input_x_gradient"]}, "stability": {"enabled": True, "n_repeats": 2,
                                                                                "top_k": 8},
                  "enrich": {"enabled": False}, "associations": {"enabled": False}},
        "outputs": {"rds": False, "report": True, "figures": [], "tables": True},
    }
    out = tmp_path / "out"
    adata = rg.workflow.run(cfg, out=out)
    steps = adata.uns["radiogx_run"]["steps"].set_index("step")
    assert "stability:trait_0" in steps.index
    summary = pd.read_csv(out / "tables" / "stability_summary.tsv", sep="\t")
    assert summary["method"].tolist() == ["input_x_gradient"] and (summary["n_repeats"] == 2).all()
    assert (out / "tables" / "stability.tsv").is_file() and (out / "tables" / "stability_sanity.tsv").is_file()
    report = (out / "report.html").read_text()
    assert "stability of the top 8 over retrainings" in report
    assert report.index("<h2>Findings</h2>") < report.index("<h2>Saliency</h2>")
    assert "input_x_gradient: positive:" in report  # the findings name the stable genes
    again = rg.workflow.run(cfg, out=out)
    assert again.uns["radiogx_run"]["steps"].set_index("step").loc["stability:trait_0", "status"] == "cached"
    pd.testing.assert_frame_equal(rg.get.stability_df(adata), rg.get.stability_df(again))


# --- gene-set networks against randomised collections -------------------------------------------------------------

def test_set_control_shows_the_gain_of_a_planted_collection():
    """An interaction trait driven by two planted sets: the network on the real collection beats networks whose sets
    are random genes of the same sizes (the planted product cannot be read from random sets)."""
    adata = rg.datasets.synthetic(n_obs=200, n_vars=300, n_traits=2, kinds=["linear", "interaction"], module_size=15,
                                  n_decoys=5, seed=3)
    rg.tl.train(adata, "trait_1", architecture="gene_sets", gene_sets=adata.uns["synthetic"]["gene_sets"], cv=3,
                epochs=40, inner_splits=1, seed=0)
    rg.tl.set_control(adata, "trait_1", n_draws=3, seed=1)
    row = rg.get.set_control_df(adata).iloc[0]
    assert row["collection"] == pytest.approx(rg.get.compare_df(adata)["roc_auc_pooled"].iloc[0])
    assert row["gain"] > 0.1 and row["gain_lower"] < row["gain"] < row["gain_upper"]
    assert {"set_control", "set_control_draws"} <= set(rg.get.result_tables(adata))
    with pytest.raises(ValueError, match="n_draws must be"):
        rg.tl.set_control(adata, "trait_1", n_draws=1)
    dense = rg.datasets.synthetic(n_obs=60, n_vars=30, n_traits=1, module_size=5, n_decoys=1, seed=0)
    rg.tl.train(dense, "trait_0", hidden=(4,), epochs=2, cv=3, inner_splits=1, select_genes="all")
    with pytest.raises(ValueError, match="dense network"):
        rg.tl.set_control(dense, "trait_0")


def test_stability_of_a_continuous_trait_ranks_the_planted_module_by_its_slope():
    """A continuous trait (the module's score itself): genes ranked by the slope of their attribution on the trait."""
    adata = rg.datasets.synthetic(n_obs=150, n_vars=120, n_traits=1, module_size=12, n_decoys=2, seed=6,
                                  continuous=True)
    rg.tl.train(adata, "trait_0", **RECIPE)
    rg.tl.stability(adata, "trait_0", n_repeats=2, top_k=12, seed=2)
    summary = rg.get.stability_summary_df(adata).iloc[0]
    assert summary["target"] == "trait_0" and summary["score"] == "contrast"
    top = rg.get.stability_df(adata).query("in_consensus_top")["gene"]
    assert len(set(top) & _module(adata)) >= 9
    assert "stability_input_x_gradient_trait_0" in adata.var


@pytest.mark.slow
def test_the_best_baselines_genes_feed_enrichment_associations_and_survival(verhaak, tcga_clinical):
    """On the Verhaak subtypes the L1 logit's out-of-fold genes are each subtype's own signature (top 100 by class
    contrast, hypergeometric p < 1e-6), and they go through per-patient enrichment, associations and survival with no
    generated key typed."""
    from scipy import stats

    adata = verhaak.copy()
    for column in ("os_days", "os_event", "age"):
        adata.obs[column] = tcga_clinical.obs[column].reindex(adata.obs_names)
    rg.tl.compare(adata, "subtype", models=["logit_l1"], cv=5, seed=0, n_jobs=2)
    rg.tl.importance(adata, "subtype")  # "best": the only compared baseline
    rec = adata.uns["importance"]["subtype"]
    assert rec["params"]["model"] == "logit_l1"
    classes = list(rec["targets"])
    codes = np.array([classes.index(v) for v in adata.obs["subtype"].astype(str)])
    signatures = rg.datasets.gene_sets("verhaak")
    for j, subtype in enumerate(classes):
        scores = cohort_scores(adata.layers[f"importance_subtype_{subtype}"], codes, score="contrast", target_code=j)
        top = set(adata.var_names[np.argsort(-scores)[:100]])
        own = set(signatures[rg.datasets.VERHAAK_SIGNATURES[subtype]]) & set(adata.var_names)
        p = stats.hypergeom.sf(len(top & own) - 1, adata.n_vars, len(own), 100)
        assert p < 1e-6, (subtype, len(top & own), p)
    proneural = adata[adata.obs["subtype"] == "Proneural"].copy()
    rg.tl.enrich(proneural, key="importance", target="Proneural", gene_sets="verhaak", per_patient=True)
    res = rg.get.enrich_df(proneural)
    own = res[res["gene_set"] == "PN"]
    assert ((own["padj"] < 0.05) & (own["nes"] > 0)).mean() > 0.5
    rg.tl.associations(proneural, min_patients=3)
    features = rg.get.associations_df(proneural)["feature"].tolist()
    assert features
    rg.tl.survival(proneural, features=features[:2], covariates=("age",))
    assert len(rg.get.survival_df(proneural)) >= 1
