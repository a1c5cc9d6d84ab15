"""Trustworthy inference: calibrated masking and enrichment p-values, the out-of-fold bootstrap, fold settings,
the L1 logit, survival selection and the workflow's autoencoder. Each test fails on radiogx 0.1.0's behaviour."""

from __future__ import annotations

import re
import tomllib
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import radiogx as rg
from radiogx.tl._gene_masking import _labelled, _Scorer
from radiogx.tl._gsea_engine import prerank_many
from radiogx._metrics import benjamini_hochberg
from radiogx.tl._sequential_null import sequential_pvalues

ROOT = Path(__file__).resolve().parents[1]
SMALL_NET = {"hidden": (64, 32), "dropout": 0.4, "epochs": 60, "cv": 5}


# --- sequential Monte Carlo p-values ---------------------------------------------------------------------------------


def _uniform_null(observed: np.ndarray, seed: int):
    """draw() for tests whose null is U(0, 1): the true p-value of a score s is 1 - s."""
    rng = np.random.default_rng(seed)

    def draw(n, rows, cols):
        null = rng.random(n)
        return null[None, None, :] >= observed[np.ix_(rows, cols)][:, :, None], None

    return draw


def test_sequential_pvalues_are_valid_and_resolve_small_ones():
    rng = np.random.default_rng(0)
    null_obs = rng.random((1, 20_000))  # true nulls: P(p <= a) <= a for every a
    res = sequential_pvalues(null_obs.shape, _uniform_null(null_obs, 1), n_first=100, n_max=20_000)
    for a in (0.001, 0.01, 0.05, 0.2):
        assert np.mean(res.pval <= a) <= a * 1.15 + 3 * np.sqrt(a / null_obs.size)
    strong = np.array([[1 - 1e-3, 1 - 1e-4, 1.0]])  # true p 1e-3, 1e-4 and 0
    res = sequential_pvalues(strong.shape, _uniform_null(strong, 2), n_first=100, n_max=200_000)
    assert res.resolved[0, :2].all() and not res.resolved[0, 2]
    assert 3e-4 < res.pval[0, 0] < 3e-3 and 3e-5 < res.pval[0, 1] < 3e-4
    assert res.pval[0, 2] == pytest.approx(1 / 200_001)  # never 0: the bound at the resolution, and said so
    assert list(res.methods()[0]) == ["sequential_mc", "sequential_mc", "mc_bound"]
    assert res.n_draws[0, 1] > 10 * res.n_draws[0, 0] / 3  # draws go where they are needed


# --- gene masking ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def subtype_model(verhaak):
    adata = verhaak.copy()
    rg.tl.train(adata, "subtype", seed=0, n_jobs=2, **SMALL_NET)
    return adata


#: Limits of P(p <= a) for a calibrated test, per a: the tests of one run share its network and its permutations, so
#: their fractions vary more than independent tests' would (binomial 99.9% limits of 7,700 independent tests at 0.05:
#: [0.042, 0.058]); these are the goals of the statistics issue, 0.4a-0.6a on each side.
CALIBRATED = {0.01: (0.004, 0.016), 0.05: (0.035, 0.065), 0.1: (0.07, 0.13)}


def _calibration(pvals: np.ndarray) -> dict[float, float]:
    """P(p <= a) for each a of CALIBRATED."""
    return {a: float(np.mean(pvals <= a)) for a in CALIBRATED}


@pytest.mark.data
@pytest.mark.slow
def test_label_null_is_calibrated_on_both_sides_under_permuted_subtypes(permuted_copies):
    """Verhaak 173 x 840 with permuted subtypes: a network without signal. The label null permutes within the outer
    folds, so P(p <= a) is close to a, not merely below it: radiogx 0.7.0 permuted across folds and gave
    P(p <= 0.05) = 1 in 26,880 single-gene tests (the fold networks' spread inflated its null). Only tests whose masked
    predictions vary within a fold count (the others have p = 1 by construction). And no run calls more than chance
    allows: at most one of three."""
    verhaak = rg.datasets.verhaak2010()
    pvals, calls = [], []
    for i, adata in permuted_copies(verhaak, "subtype", 3, seed=11):
        rg.tl.train(adata, "permuted", seed=i, n_jobs=2, inner_splits=1, **SMALL_NET)
        for collection in ("single", "hallmark"):
            rg.tl.gene_masking(adata, collection, seed=i, key_added=collection)
            res = adata.uns[collection]["results"]
            pvals.append(res.loc[res["varies"], "pval_labels"].to_numpy())
            calls.append(int((res["padj"] < 0.05).sum()))
            assert (res.loc[~res["varies"], "pval_labels"] == 1).all()
        assert adata.uns["single"]["params"]["null"] == "labels"
    p = np.concatenate(pvals)
    fractions = _calibration(p)
    print(f"\n{len(p)} label-null tests: P(p <= a): {fractions}; sets called per run: {calls}")
    for a, frac in fractions.items():
        assert CALIBRATED[a][0] <= frac <= CALIBRATED[a][1], (a, frac)
    assert sum(c > 0 for c in calls) <= 1


@pytest.mark.slow
def test_label_null_is_calibrated_for_a_continuous_trait(tcga_clinical):
    """The same for a regression network: TCGA age at diagnosis, permuted over the Verhaak patients. radiogx 0.7.0:
    0 of 124 tests at p <= 0.05."""
    verhaak = rg.datasets.verhaak2010()
    verhaak.obs["age"] = tcga_clinical.obs["age"].reindex(verhaak.obs_names).astype(float)
    verhaak = verhaak[verhaak.obs["age"].notna()].copy()
    rng = np.random.default_rng(3)
    pvals = []
    for i in range(2):
        adata = verhaak.copy()
        adata.obs["permuted"] = rng.permutation(adata.obs["age"].to_numpy())
        rg.tl.train(adata, "permuted", task="regression", seed=i, n_jobs=2, inner_splits=1, **SMALL_NET)
        rg.tl.gene_masking(adata, "single", seed=i)
        res = adata.uns["gene_masking"]["results"]
        pvals.append(res.loc[res["varies"], "pval_labels"].to_numpy())
    p = np.concatenate(pvals)
    fractions = _calibration(p)
    print(f"\n{len(p)} label-null tests of a permuted continuous trait: P(p <= a): {fractions}")
    for a, frac in fractions.items():
        assert CALIBRATED[a][0] <= frac <= CALIBRATED[a][1], (a, frac)


def test_in_sample_masking_gives_scores_and_ranks_only(small_synthetic):
    """radiogx 0.7.0 tested in-sample masked predictions against permuted labels, though the network had fitted those
    very labels (on permuted Verhaak subtypes it called 1-32 of 196 hallmark sets per run)."""
    adata = small_synthetic.copy()
    rg.tl.train(adata, "trait_0", hidden=(16,), epochs=5, cv=3, seed=0, inner_splits=1)
    sets = adata.uns["synthetic"]["gene_sets"]
    with pytest.raises(ValueError, match=r"patients='all' with n_null=1000: in-sample masking .* n_null=0"):
        rg.tl.gene_masking(adata, sets, patients="all", n_null=1000)
    assert "gene_masking" not in adata.uns
    rg.tl.gene_masking(adata, sets, patients="all", n_null=0)
    res = adata.uns["gene_masking"]["results"]
    assert res["pval"].isna().all() and res["padj"].isna().all() and (res["pval_method"] == "none").all()
    assert res["loglik"].notna().all()


def test_label_null_warns_below_five_folds(small_synthetic, caplog):
    import logging

    adata = small_synthetic.copy()
    rg.tl.train(adata, "trait_0", hidden=(16,), epochs=5, cv=3, seed=0, inner_splits=1)
    with caplog.at_level(logging.WARNING, logger="radiogx"):
        rg.tl.gene_masking(adata, "single", n_null=20, max_null=40)
    assert "3 outer folds: the label null" in caplog.text and "liberal" in caplog.text


def test_masking_pvalues_of_random_sets_are_calibrated_and_monotone(subtype_model):
    """True nulls: random sets of sizes 5-60 against random sets of the same size, by the sequential reference."""
    adata = subtype_model.copy()
    rng = np.random.default_rng(5)
    genes = np.asarray(adata.var_names)
    sizes = rng.choice([5, 12, 30, 60], 1200)
    random_sets = {f"R{i}": list(rng.choice(genes, k, replace=False)) for i, k in enumerate(sizes)}
    rg.tl.gene_masking(adata, random_sets, null="random_sets", n_null=200, max_null=20_000, seed=3,
                       method="sequential")
    res = adata.uns["gene_masking"]["results"]
    assert res["pval_labels"].isna().all() and (res["pval"] == res["pval_random_sets"]).all()
    fractions = {a: float((res["pval"] <= a).mean()) for a in (0.01, 0.05)}
    print(f"\n{len(res)} true-null tests: fraction with p <= a: {fractions}")
    assert 0.004 <= fractions[0.01] <= 0.02 and 0.03 <= fractions[0.05] <= 0.07
    assert (res["pval"] > 0).all() and set(res["pval_method"]) <= {"random_sets:sequential_mc", "random_sets:mc_bound"}
    for _, g in res.groupby(["target", "n_genes"]):  # monotone in the score within a size
        ordered = g.sort_values("loglik", kind="stable")
        assert (np.diff(ordered["pval"].to_numpy()) <= 1e-12).all()


def test_multilevel_pvalues_of_random_sets_are_calibrated(subtype_model, monkeypatch):
    """The same true nulls with multilevel p-values for every test that 50 draws leave unresolved (fewer than 10
    exceedances: p below about 0.2), BH's stopping rule switched off so that the estimates themselves are tested:
    P(p <= a) close to a on both sides, and monotone in the score within a size (one ruler per size and target)."""
    import radiogx.tl._gene_masking as gm

    adata = subtype_model.copy()
    rng = np.random.default_rng(5)
    genes = np.asarray(adata.var_names)
    sizes = rng.choice([5, 12, 30, 60], 1200)
    random_sets = {f"R{i}": list(rng.choice(genes, k, replace=False)) for i, k in enumerate(sizes)}
    monkeypatch.setattr(gm, "undecided_tests", lambda parts, **kw: (np.ones(parts[0].pval.shape, dtype=bool),) * 2)
    rg.tl.gene_masking(adata, random_sets, null="random_sets", n_null=50, seed=3)
    res = adata.uns["gene_masking"]["results"]
    refined = res["pval_method"] == "random_sets:multilevel"
    fractions = {a: float((res["pval"] <= a).mean()) for a in (0.01, 0.05)}
    print(f"\n{len(res)} true-null tests ({int(refined.sum())} multilevel): fraction with p <= a: {fractions}")
    assert refined.sum() > 0.1 * len(res) and res.loc[refined, "log2err"].notna().all()
    assert 0.004 <= fractions[0.01] <= 0.02 and 0.03 <= fractions[0.05] <= 0.07
    for _, g in res[refined].groupby(["target", "n_genes"]):
        ordered = g.sort_values("loglik", kind="stable")
        assert (np.diff(ordered["pval"].to_numpy()) <= 1e-12).all()


def test_pvalues_of_early_stopped_first_draws_are_calibrated(small_synthetic, monkeypatch):
    """True nulls of the competitive test (random sets against random sets of their size: exchangeable, whatever the
    network learned) with the default method and ``n_null=400``, few tests per size, so that many sizes stop their
    first draws early (once all their tests are resolved): P(p <= a) close to a on both sides."""
    import radiogx.tl._masking_nulls as mn

    adata = small_synthetic.copy()
    rg.tl.train(adata, "trait_0", hidden=(16,), epochs=20, cv=5, seed=0, inner_splits=1)
    rng = np.random.default_rng(6)
    genes = np.asarray(adata.var_names)
    sizes = rng.integers(5, 129, 2000)
    random_sets = {f"R{i}": list(rng.choice(genes, k, replace=False)) for i, k in enumerate(sizes)}
    drawn = []
    real_subsets = mn.random_subsets

    def counted(rng, n_items, size, count):
        drawn.append(count)
        return real_subsets(rng, n_items, size, count)

    monkeypatch.setattr(mn, "random_subsets", counted)
    rg.tl.gene_masking(adata, random_sets, null="random_sets", n_null=400, seed=4)
    res = adata.uns["gene_masking"]["results"]
    n_sizes = len(np.unique(sizes))
    fractions = {a: float((res["pval"] <= a).mean()) for a in (0.01, 0.05)}
    print(f"\n{len(res)} true-null tests of {n_sizes} sizes, {sum(drawn)} random sets (all first draws: "
          f"{400 * n_sizes}): fraction with p <= a: {fractions}")
    assert sum(drawn) < 0.8 * 400 * n_sizes
    assert 0.004 <= fractions[0.01] <= 0.02 and 0.03 <= fractions[0.05] <= 0.07


def test_confidence_bounds_of_counted_and_refined_pvalues():
    """Counted p-values get Clopper-Pearson bounds; a multilevel estimate, p times 2 to the -/+ z log2err; a
    multilevel bound, 0 and the bound. The random-set null is refined first, and these bounds decide which label
    rulers are still needed."""
    from scipy.stats import beta, norm

    from radiogx.tl._sequential_null import SequentialPvalues

    pval = np.array([[0.3, 1e-6, 1e-9]])
    res = SequentialPvalues(pval, np.array([[100, 200, 200]]), np.array([[True, True, False]]),
                            np.array([[29, 0, 0]]), log2err=np.array([[np.nan, 0.5, np.nan]]),
                            refined=np.array([[False, True, True]]))
    lo, hi = res.confidence(1e-3)
    assert lo[0, 0] == pytest.approx(beta.ppf(1e-3, 29, 72)) and hi[0, 0] == pytest.approx(beta.ppf(1 - 1e-3, 30, 71))
    spread = 2 ** (norm.ppf(1 - 1e-3) * 0.5)
    assert lo[0, 1] == pytest.approx(1e-6 / spread) and hi[0, 1] == pytest.approx(1e-6 * spread)
    assert lo[0, 2] == 0 and hi[0, 2] == 1e-9
    unrefined = SequentialPvalues(pval, res.n_draws, res.resolved, res.exceedances)
    assert unrefined.confidence(1e-3)[0][0, 1] == 0  # 0 exceedances in 200 draws: nothing excluded


def test_stopping_decided_tests_keeps_the_full_runs_decisions(small_synthetic, monkeypatch):
    """Draws stop for tests whose Benjamini-Hochberg decision the first draws settled (at a resampling risk of 1e-3
    each): the calls at padj < 0.05 and < 0.1 are those of the run that refines every unresolved test, and those of
    the sequential reference; the planted sets get p-values far below the sequential run's reach, not bounds."""
    import radiogx.tl._gene_masking as gm

    adata = small_synthetic.copy()
    rg.tl.train(adata, "trait_0", hidden=(16,), epochs=20, cv=5, seed=0, inner_splits=1)
    rng = np.random.default_rng(1)
    sets = dict(adata.uns["synthetic"]["gene_sets"])
    sets.update({f"R{i}": list(rng.choice(adata.var_names, 15, replace=False)) for i in range(80)})
    rg.tl.gene_masking(adata, sets, n_null=200, seed=0, key_added="early")
    rg.tl.gene_masking(adata, sets, n_null=200, seed=0, method="sequential", key_added="sequential")
    with monkeypatch.context() as patch:
        patch.setattr(gm, "undecided_tests", lambda parts, **kw: (np.ones(parts[0].pval.shape, dtype=bool),) * 2)
        rg.tl.gene_masking(adata, sets, n_null=200, seed=0, key_added="full")
    early, full, sequential = (adata.uns[k]["results"] for k in ("early", "full", "sequential"))
    stopped = early["pval_method"].str.endswith(("mc_uncallable", "mc_called"))
    print(f"\n{int(stopped.sum())} tests stopped; called {int((early['padj'] < 0.05).sum())}")
    assert stopped.any() and (early.loc[stopped, "pval"] >= 1 / 201).all()
    for alpha in (0.05, 0.1):
        assert ((early["padj"] < alpha) == (full["padj"] < alpha)).all()
        assert ((early["padj"] < alpha) == (sequential["padj"] < alpha)).all()
    planted = early["gene_set"].isin(adata.uns["synthetic"]["traits"]["trait_0"]["sets"])
    assert (early.loc[planted, "pval"] < 1e-6).all() and early.loc[planted, "pval_method"].str.contains("multilevel").all()
    assert (sequential.loc[planted, "pval"] >= 1 / (sequential.loc[planted, "n_draws"] + 1)).all()


def test_first_draws_of_a_size_stop_once_its_tests_are_resolved(small_synthetic, monkeypatch):
    """With ``method="multilevel"`` the random sets of one size are drawn in doubling batches from ``FIRST_DRAWS``
    and stop once every test of the size has its 10th exceedance. A resolved p-value, 10 / L, depends on the draws up
    to L only, so on a stream that does not depend on the batching (one ``choice`` call per set) every p-value,
    decision and draw count is that of drawing all ``n_null`` sets, at a fraction of the sets scored."""
    import radiogx.tl._masking_nulls as mn

    adata = small_synthetic.copy()
    rg.tl.train(adata, "trait_0", hidden=(16,), epochs=20, cv=5, seed=0, inner_splits=1)
    rng = np.random.default_rng(1)
    sets = dict(adata.uns["synthetic"]["gene_sets"])
    sets.update({f"R{i}": list(rng.choice(adata.var_names, 5 + i % 4 * 7, replace=False)) for i in range(80)})
    drawn = []

    def one_by_one(rng, n_items, size, count):
        drawn.append(count)
        return np.stack([rng.choice(n_items, size=size, replace=False) for _ in range(count)]).astype(np.int64)

    monkeypatch.setattr(mn, "random_subsets", one_by_one)
    runs = {}
    for first in (mn.FIRST_DRAWS, 1000):
        monkeypatch.setattr(mn, "FIRST_DRAWS", first)
        drawn.clear()
        rg.tl.gene_masking(adata, sets, null="random_sets", n_null=1000, seed=0, key_added=f"first_{first}")
        runs[first] = (adata.uns[f"first_{first}"]["results"], sum(drawn))
    (early, early_sets), (full, full_sets) = runs[100], runs[1000]
    print(f"\nrandom sets scored: {early_sets} stopping early, {full_sets} drawing all n_null")
    assert early_sets < 0.6 * full_sets
    columns = ["pval", "padj", "n_draws", "pval_method", "log2err"]
    pd.testing.assert_frame_equal(early[columns], full[columns])
    assert (early["padj"] < 0.05).any() and early["null_mean"].notna().all() and (early["null_sd"] > 0).all()


def test_own_signatures_stay_significant(subtype_model):
    adata = subtype_model.copy()
    rg.tl.gene_masking(adata, "verhaak", seed=0)
    res = adata.uns["gene_masking"]["results"]
    own = {"Classical": "CL", "Mesenchymal": "MES", "Neural": "NL", "Proneural": "PN"}
    for target, code in own.items():
        top = res[res["target"] == target].sort_values("pval", kind="stable").iloc[0]
        assert top["gene_set"] == code and top["padj"] < 0.05
    assert adata.uns["gene_masking"]["params"]["null"] == "both"
    assert (res["pval"] == res[["pval_random_sets", "pval_labels"]].max(axis=1)).all()
    bounded = res[res["pval_method"].str.endswith("mc_bound")]
    assert (bounded["pval"] >= 1 / (bounded["n_draws"] + 1) - 1e-15).all()


def test_single_genes_use_the_label_permutation_null(subtype_model, monkeypatch):
    """Single genes on the real subtypes, tested against labels permuted within the outer folds; permuting across them
    (radiogx 0.7.0: the fold networks' spread in the null) called far fewer genes (578 against 1,547 in the review)."""
    import radiogx.tl._gene_masking as gm

    adata = subtype_model.copy()
    across = subtype_model.copy()
    with monkeypatch.context() as patch:
        within = gm.label_null  # across folds: one group of every patient, for the first draws and the multilevel moves
        patch.setattr(gm, "label_null", lambda probs, y, targets, groups, **kw: within(probs, y, targets,
                                                                                     np.zeros_like(groups), **kw))
        rg.tl.gene_masking(across, "single", seed=0)
    n_across = int((across.uns["gene_masking"]["results"]["padj"] < 0.05).sum())
    for null in ("random_sets", "both"):
        with pytest.raises(ValueError, match="circular"):
            rg.tl.gene_masking(adata, "single", null=null)
    rg.tl.gene_masking(adata, "single", seed=0)
    res = adata.uns["gene_masking"]["results"]
    assert adata.uns["gene_masking"]["params"]["null"] == "labels"
    called = res[res["padj"] < 0.05]
    verhaak = {g for s in rg.datasets.gene_sets("verhaak").values() for g in s}
    print(f"\nsingle genes called: {len(called)} of {len(res)} (permuting across folds: {n_across}); Verhaak "
          f"signature genes among them: {called['gene_set'].isin(verhaak).mean():.2f}")
    assert len(called) >= 1.8 * n_across and len(called) > 20 and (res["pval"] > 0).all()
    # the label null, for one gene, against a direct permutation test of the same statistic
    resolved = res[(res["pval_method"] == "labels:sequential_mc") & (res["pval"].between(0.005, 0.2))]
    gene = resolved.iloc[0]
    model = rg.get.model(adata, "subtype")
    names, y = _labelled(adata, model)
    probs = _Scorer(adata, model, "out_of_fold", names, precision="fp32", max_rows=None).probs(
        [np.array([model.genes.get_loc(gene["gene_set"])])])[0]
    k = model.classes.index(gene["target"])
    lp, lq = np.log(np.clip(probs[:, k], 1e-12, 1 - 1e-12)), np.log1p(-np.clip(probs[:, k], 1e-12, 1 - 1e-12))
    observed = np.mean(np.where(y == k, lp, lq))
    rng = np.random.default_rng(1)
    folds = _Scorer(adata, model, "out_of_fold", names, precision="fp32", max_rows=None).groups
    permuted = y.copy()

    def within_folds():
        for f in np.unique(folds):
            permuted[folds == f] = rng.permutation(y[folds == f])
        return permuted

    perms = np.array([np.mean(np.where(within_folds() == k, lp, lq)) for _ in range(20_000)])
    direct = (1 + np.sum(perms >= observed - 1e-12)) / 20_001
    assert observed == pytest.approx(gene["loglik"], abs=1e-6)
    assert 0.4 < gene["pval"] / direct < 2.5  # Besag-Clifford with 10 exceedances: about 30% relative error


def test_fold_networks_keep_their_own_settings(tmp_path):
    """A grid whose folds choose different widths: out-of-fold masking with every gene kept reproduces train's
    out-of-fold probabilities (radiogx 0.1.0 rebuilt every fold with the final widths and crashed)."""
    adata = rg.datasets.synthetic(n_obs=120, n_vars=200, n_traits=1, module_size=15, n_decoys=5, seed=3)
    model = rg.tl.train(adata, "trait_0", hidden=(16,), dropout=0.0, epochs=15, patience=5, cv=3, seed=0,
                        param_grid={"hidden": [(8,), (32, 8)]}, inner_splits=1, final="refit")
    widths = [model.fold_config(k).hidden for k in range(3)]
    assert len(set(widths)) > 1, widths  # the seed was chosen so that the folds disagree
    names, y = _labelled(adata, model)
    probs = _Scorer(adata, model, "out_of_fold", names, precision="fp32", max_rows=None).probs(
        [np.arange(adata.n_vars)])[0]
    oof = adata.uns["radiogx"]["trait_0"]["oof"].loc[names]
    np.testing.assert_allclose(probs, oof[["p_0", "p_1"]].to_numpy(), atol=1e-5)
    model.save(tmp_path / "m.pt")
    loaded = rg.nn.RadiogenomicModel.load(tmp_path / "m.pt")
    assert [loaded.fold_config(k).hidden for k in range(3)] == widths
    rg.tl.gene_masking(adata, adata.uns["synthetic"]["gene_sets"], model=loaded, n_null=50)


# --- bootstrap -------------------------------------------------------------------------------------------------------


def test_default_bootstrap_resamples_out_of_fold_predictions(small_synthetic):
    adata = small_synthetic.copy()
    rg.tl.train(adata, "trait_0", hidden=(32,), epochs=30, cv=3, seed=0)
    rg.tl.compare(adata, "trait_0", models=["logit_l2"])
    rg.tl.bootstrap(adata, "trait_0")
    record = adata.uns["radiogx_bootstrap"]["trait_0"]
    assert record["params"]["method"] == "oof" and record["params"]["n_boot"] == 2000
    summary = rg.get.bootstrap_df(adata).set_index("model")
    oof = adata.uns["radiogx"]["trait_0"]["oof"]
    y = (oof["label"] == "positive").to_numpy()
    base = adata.uns["radiogx_compare"]["trait_0"]["oof"].loc[oof.index, "logit_l2"]
    assert summary.loc["network", "estimate"] == pytest.approx(roc_auc_score(y, oof["p_1"]))
    assert summary.loc["logit_l2", "estimate"] == pytest.approx(roc_auc_score(y, base))
    diff = rg.get.bootstrap_df(adata, differences=True).iloc[0]
    assert diff["estimate"] == pytest.approx(roc_auc_score(y, oof["p_1"]) - roc_auc_score(y, base))
    for row in (*summary.to_dict("records"), diff):  # each interval around its own estimate
        assert row["ci_lower"] <= row["estimate"] <= row["ci_upper"]
    assert "pooled out-of-fold" in diff["covers"]
    rg.tl.bootstrap(adata, "trait_0", statistic="fold_mean", key_added="folds")  # the CV mean of compare_df
    cv_mean = rg.get.compare_df(adata).set_index("model")["roc_auc"]
    folds = rg.get.bootstrap_df(adata, key="folds").set_index("model")
    np.testing.assert_allclose(folds["estimate"], cv_mean[folds.index], atol=1e-12)
    assert ((folds["ci_lower"] <= folds["estimate"]) & (folds["estimate"] <= folds["ci_upper"])).all()
    rg.tl.bootstrap(adata, "trait_0", interval="bca", n_boot=500, key_added="bca")
    bca = rg.get.bootstrap_df(adata, key="bca", differences=True).iloc[0]
    assert bca["ci_lower"] <= bca["estimate"] <= bca["ci_upper"]


def test_bootstrap_of_two_equal_models_covers_zero(small_synthetic):
    """A baseline whose out-of-fold predictions equal the network's, up to noise: the paired interval covers 0."""
    adata = small_synthetic.copy()
    rg.tl.train(adata, "trait_0", hidden=(32,), epochs=30, cv=3, seed=0)
    rg.tl.compare(adata, "trait_0", models=["logit_l2"])
    comp = adata.uns["radiogx_compare"]["trait_0"]["oof"]
    net = adata.uns["radiogx"]["trait_0"]["oof"]["p_1"].reindex(comp.index)
    comp["logit_l2"] = net + np.random.default_rng(0).normal(0, 0.05, len(net))
    rg.tl.bootstrap(adata, "trait_0")
    diff = rg.get.bootstrap_df(adata, differences=True).iloc[0]
    assert diff["ci_lower"] < 0 < diff["ci_upper"] and abs(diff["estimate"]) < 0.03


def test_refit_bootstrap_is_there_by_name_and_keeps_the_autoencoder(small_synthetic):
    adata = small_synthetic.copy()
    ae = rg.tl.pretrain(adata, hidden=(16, 8), epochs=3, seed=0)
    rg.tl.train(adata, "trait_0", hidden=(16, 8), epochs=5, cv=3, seed=0, pretrained=ae, freeze=1)
    with pytest.raises(ValueError, match="pretrained="):
        rg.tl.bootstrap(adata, "trait_0", method="refit", n_boot=2)
    rg.tl.bootstrap(adata, "trait_0", method="refit", n_boot=2, pretrained=ae)
    params = adata.uns["radiogx_bootstrap"]["trait_0"]["params"]
    assert params["method"] == "refit" and params["pretrained"] and params["freeze"] == 1
    assert "refit" in rg.get.bootstrap_df(adata)["covers"].iloc[0]


def _equally_good_verdicts(auc: float, n_sims: int, rho: float = 0.0, n: int = 173) -> tuple[float, float]:
    """Simulations of a network and five baselines whose scores have the same AUC (binormal, independent or
    correlated errors), n patients: the share of simulations in which the verdict says "network worse", and the share
    in which radiogx 0.7.0's rule (any per-comparison 95% interval below 0) would have."""
    from scipy.stats import norm

    from radiogx.tl._bootstrap import AUC_CEILING, _difference_table, _oof_bootstrap

    rng = np.random.default_rng(int(auc * 1000) + int(rho * 10))
    mu = np.sqrt(2) * norm.ppf(auc)
    y = np.r_[np.zeros(n // 2, dtype=np.int64), np.ones(n - n // 2, dtype=np.int64)]
    worse = old = 0
    for s in range(n_sims):
        common = rng.normal(size=n)
        scores = {m: (mu * y + np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(size=n))[:, None]
                  for m in ["network", "b1", "b2", "b3", "b4", "b5"]}
        names, values, est, jack = _oof_bootstrap(y, scores, 2, np.arange(n) % 5, statistic="pooled", n_boot=1000,
                                                  seed=s, interval="percentile")
        d = _difference_table(values, est, jack, names, ci=0.95, interval="percentile", margin=0.01,
                              ceiling=AUC_CEILING)
        worse += bool((d["verdict"] == "worse").any())
        old += bool((d["ci_upper"] < 0).any())
    return worse / n_sims, old / n_sims


@pytest.mark.slow
def test_verdict_controls_its_error_over_equally_good_baselines():
    """Five baselines as good as the network: "network worse" in at most 5% of simulations, at AUC 0.76 (simultaneous
    intervals over the baselines) and at 0.998 (the ceiling). radiogx 0.7.0 said "worse" whenever any one 95% interval
    lay below 0: 11% of simulations at 0.76 in the review."""
    settings = ((0.76, 0.0), (0.76, 0.5), (0.998, 0.0))
    rates = {(auc, rho): _equally_good_verdicts(auc, 200, rho) for auc, rho in settings}
    print(f"\nP(network worse), today vs radiogx 0.7.0's rule: {rates}")
    for (auc, rho), (today, before) in rates.items():
        assert today <= 0.05, (auc, rho, today)
    assert rates[0.76, 0.0][1] > 0.05  # the simulation can catch the old rule


def test_bootstrap_over_training_runs_covers_the_seed_variance(small_synthetic):
    adata = small_synthetic.copy()
    net = {"hidden": (32,), "epochs": 30, "cv": 3, "inner_splits": 1}
    rg.tl.train(adata, "trait_0", seed=0, **net)
    pooled = [adata.uns["radiogx"]["trait_0"]["summary"]]
    for s in (1, 2):
        rg.tl.train(adata, "trait_0", seed=s, key_added=f"seed{s}", **net)
        pooled.append(adata.uns[f"seed{s}"]["trait_0"]["summary"])
    aucs = [float(p["roc_auc_pooled"]) for p in pooled]
    rg.tl.compare(adata, "trait_0", models=["logit_l2"])
    rg.tl.bootstrap(adata, "trait_0", key_added="one")
    rg.tl.bootstrap(adata, "trait_0", repeats=["seed1", "seed2"], key_added="runs")
    one, runs = (rg.get.bootstrap_df(adata, key=k).set_index("model").loc["network"] for k in ("one", "runs"))
    print(f"\npooled AUCs of three runs {np.round(aucs, 4)}; network interval, one run [{one['ci_lower']:.4f}, "
          f"{one['ci_upper']:.4f}], three runs [{runs['ci_lower']:.4f}, {runs['ci_upper']:.4f}]")
    assert runs["estimate"] == pytest.approx(np.mean(aucs)) and one["estimate"] == pytest.approx(aucs[0])
    assert "over 3 training runs" in runs["covers"] and "conditional on this one training run" in one["covers"]
    assert rg.get.bootstrap_df(adata, key="runs", differences=True)["sim_lower"].notna().all()
    with pytest.raises(ValueError, match=r"no training run of 'trait_0' in adata.uns\['seed9'\]"):
        rg.tl.bootstrap(adata, "trait_0", repeats=["seed9"])
    with pytest.raises(ValueError, match="repeats= needs interval='percentile'"):
        rg.tl.bootstrap(adata, "trait_0", repeats=["seed1"], interval="bca")


def test_subtype_network_and_logit_are_indistinguishable_at_the_ceiling(subtype_model):
    """The demo's subtype verdict: the network's pooled AUC 0.99x against the L2 logit's 1.000. radiogx 0.7.0 read
    "network worse than logit_l2" into a difference of -0.003 at the ceiling, where most resamples tie."""
    adata = subtype_model.copy()
    rg.tl.compare(adata, "subtype", models=["logit_l2"], n_jobs=2)
    rg.tl.bootstrap(adata, "subtype")
    table = rg.get.compare_df(adata).set_index("model")
    diffs = rg.get.bootstrap_df(adata, differences=True).iloc[0]
    print(f"\nnetwork {table.loc['network', 'roc_auc_pooled']:.4f}, logit_l2 {table.loc['logit_l2', 'roc_auc_pooled']:.4f}"
          f"; {table['network_verdict'].iloc[0]}")
    assert min(table["roc_auc_pooled"]) >= 0.99 and diffs["verdict"] == "ceiling"
    assert table["network_wins"].iloc[0] == "equivalent"
    assert table["network_verdict"].iloc[0].startswith("network indistinguishable at the ceiling from logit_l2")
    with pytest.warns(UserWarning, match="BCa replaced by percentile: .* reach AUC >= 0.99"):
        rg.tl.bootstrap(adata, "subtype", interval="bca", n_boot=200, key_added="bca")
    assert adata.uns["bca"]["subtype"]["params"]["interval"] == "percentile"


def test_verdict_says_which_model_wins(small_synthetic):
    adata = small_synthetic.copy()
    rg.tl.train(adata, "trait_0", hidden=(32,), epochs=30, cv=3, seed=0)
    rg.tl.compare(adata, "trait_0", models=["logit_l2", "random_forest"])
    table = rg.get.compare_df(adata)
    assert "no interval" in table["network_verdict"].iloc[0]
    rg.tl.bootstrap(adata, "trait_0")
    table = rg.get.compare_df(adata).set_index("model")
    best = table["roc_auc_pooled"].idxmax()
    assert (table["best_model"] == best).all()
    diffs = rg.get.bootstrap_df(adata, differences=True).set_index("baseline")
    verdict, wins = table["network_verdict"].iloc[0], table["network_wins"].iloc[0]
    assert (wins == "no") == bool((diffs["ci_upper"] < 0).any())
    assert wins != "no" or verdict.startswith("network worse than")
    print(f"\nbest model {best}; network wins: {wins}; {verdict}")
    from radiogx.workflow._report_kinds import _verdict_notes

    html = _verdict_notes(rg.get.compare_df(adata).drop_duplicates("trait"))
    assert ("weaker evidence" in html) == (wins == "no")


def test_verdict_says_when_the_network_is_at_chance(small_synthetic, permuted_copies):
    _, adata = next(permuted_copies(small_synthetic, "trait_0", 1, seed=4))
    rg.tl.train(adata, "permuted", hidden=(16,), epochs=10, cv=3, seed=0)
    rg.tl.compare(adata, "permuted", models=["logit_l2"])
    rg.tl.bootstrap(adata, "permuted")
    table = rg.get.compare_df(adata)
    assert table["network_wins"].iloc[0] != "yes" and "not clearly better than chance" in table["network_verdict"].iloc[0]
    from radiogx.workflow._report_kinds import _verdict_notes

    notes = _verdict_notes(table.drop_duplicates("trait"))
    assert "exploratory" in notes or "weaker evidence" in notes


# --- baselines -------------------------------------------------------------------------------------------------------


def test_lowest_allowed_scikit_learn_makes_logit_l1_lasso():
    """pyproject's lower bound must be a version where l1_ratio alone sets the penalty (>= 1.8), and the installed
    one zeroes coefficients (on 1.4-1.7, l1_ratio=1 without penalty='elasticnet' was silently L2)."""
    import sklearn

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    spec = next(d for d in deps if d.startswith("scikit-learn"))
    lowest = tuple(int(v) for v in re.search(r">=\s*([\d.]+)", spec).group(1).split(".")[:2])
    assert lowest >= (1, 8), spec
    assert tuple(int(v) for v in sklearn.__version__.split(".")[:2]) >= lowest
    from radiogx.tl._compare import baseline_estimator

    est = baseline_estimator("logit_l1", 0).set_params(C=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecated penalty argument either
        est.fit(np.random.default_rng(0).normal(size=(80, 50)), np.r_[np.zeros(40), np.ones(40)])
    assert (est.coef_ == 0).sum() > 25


# --- enrichment ------------------------------------------------------------------------------------------------------


def test_per_patient_enrichment_resolves_a_planted_set_and_stays_calibrated():
    """A strongly planted set among 50: radiogx 0.1.0's 1,000 permutations could not go below p ~ 1/500, so BH over
    50 sets called it in 1 of 20 rankings."""
    rng = np.random.default_rng(0)
    sets = [rng.choice(2000, 30, replace=False) for _ in range(50)]
    noise = rng.normal(size=(20, 2000))
    planted = noise.copy()
    planted[:, sets[0]] += 1.0
    res = prerank_many(planted, sets, n_perm=1000, seed=1)
    padj = np.array([benjamini_hochberg(row) for row in res.pval])
    assert (padj[:, 0] < 0.05).sum() >= 19
    null_rankings = np.array([rng.permutation(row) for row in planted])
    res = prerank_many(null_rankings, sets, n_perm=1000, seed=2)
    padj = np.array([benjamini_hochberg(row) for row in res.pval])
    print(f"\nplanted called in {(padj[:, 0] < 0.05).sum()} of 20 permuted rankings; sets called: {(padj < 0.05).mean():.3f}")
    assert (padj < 0.05).mean() <= 0.05 and (res.pval > 0).all()


def test_leading_edge_of_negative_scores_matches_gseapy():
    import gseapy

    rng = np.random.default_rng(0)
    genes = np.array([f"G{i}" for i in range(2000)])
    values = rng.normal(size=2000)
    values[:40] -= 1.5
    values[40:80] += 1.5
    sets = {"DOWN": list(genes[:40]), "UP": list(genes[40:80]), "MIXED": list(genes[20:60]) + list(genes[200:230])}
    adata = ad.AnnData(np.zeros((1, 2000)), var=pd.DataFrame(index=genes))
    adata.layers["rank"] = values[None, :]
    rg.tl.enrich(adata, key="rank", gene_sets=sets, per_patient=True, min_size=5, key_added="e")
    ours = adata.uns["e"]["results"].set_index("gene_set")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = gseapy.prerank(rnk=pd.Series(values, index=genes), gene_sets=sets, min_size=5, max_size=500,
                             permutation_num=100, seed=0, outdir=None, no_plot=True).res2d.set_index("Term")
    assert ours.loc["DOWN", "es"] < 0
    for name in sets:
        assert set(ours.loc[name, "leading_edge"].split(";")) == set(str(ref.loc[name, "Lead_genes"]).split(";"))


# --- survival --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tcga(tcga_clinical):
    adata = tcga_clinical.copy()
    adata.obs["noise"] = np.random.default_rng(0).normal(size=adata.n_obs)  # a feature with no effect
    return adata


@pytest.mark.r
def test_stepwise_aic_is_r_step_from_the_covariate_model(tcga):
    """R::

        fit0 <- coxph(Surv(T, E) ~ male, data = d, ties = "efron")
        step(fit0, scope = list(lower = ~ male, upper = ~ male + gcimp + mgmt + age + kps + noise), direction = "both")
    """
    from radiogx.io._rpy2 import import_rpy2

    ro = import_rpy2()
    from rpy2.robjects import pandas2ri
    from rpy2.robjects.conversion import localconverter

    adata = tcga.copy()
    features = ["gcimp", "mgmt", "age_per_10y", "kps", "noise"]
    rg.tl.survival(adata, features=features, covariates=("gender",), selection="stepwise_aic")
    ours = rg.get.survival_df(adata, multivariable=True)
    assert "ignore the selection" in adata.uns["survival"]["params"]["selection_caveat"]
    d = adata.obs[["os_days", "os_event", "gender", *features]].dropna()
    frame = pd.DataFrame({"T": d["os_days"].astype(float), "E": d["os_event"].astype(int),
                          "male": (d["gender"] == "male").astype(float), "gcimp": d["gcimp"].astype(float),
                          "mgmt": (d["mgmt"] == "Unmethylated").astype(float), "age": d["age_per_10y"].astype(float),
                          "kps": d["kps"].astype(float), "noise": d["noise"].astype(float)})
    with localconverter(ro.default_converter + pandas2ri.converter):
        ro.globalenv["d"] = frame
    ro.r("suppressPackageStartupMessages(library(survival))")
    kept = list(ro.r('s <- step(coxph(Surv(T, E) ~ male, data = d, ties = "efron"), scope = list(lower = ~ male, '
                     'upper = ~ male + gcimp + mgmt + age + kps + noise), direction = "both", trace = 0); names(coef(s))'))
    aic = ro.r("extractAIC(s)")[1]
    rename = {"gender=male": "male", "gcimp=True": "gcimp", "mgmt=Unmethylated": "mgmt", "age_per_10y": "age"}
    assert sorted(rename.get(t, t) for t in ours["term"]) == sorted(kept)
    assert ours["aic_partial"].iloc[0] == pytest.approx(aic, abs=1e-3)


def test_lasso_cox_leaves_covariates_unpenalised_and_reports_no_pvalues(tcga):
    adata = tcga.copy()
    rg.tl.survival(adata, features=["gcimp", "mgmt", "age_per_10y", "noise"], covariates=("gender",),
                   selection="penalized", penalizer=0.2)
    multi = rg.get.survival_df(adata, multivariable=True).set_index("term")
    assert not multi.loc["gender=male", "penalized"] and multi.loc["gender=male", "coef"] != 0
    assert multi["pval"].isna().all() and multi["ci_lower"].isna().all()
    assert (multi.loc[multi["penalized"], "coef"] == 0).any()  # the lasso drops features, never the covariate
    from radiogx.workflow._report import _tables

    html = "".join(title + table for title, table in _tables(adata)["Survival"])
    assert "lasso Cox, covariates unpenalised" in html and "ignore the selection" in html


# --- workflow --------------------------------------------------------------------------------------------------------


def test_workflow_refuses_to_pretrain_on_patients_that_folds_hold_out(tmp_path):
    cfg = {
        "run": {"seed": 0, "n_jobs": 1},
        "input": {"dataset": "synthetic", "synthetic": {"n_obs": 60, "n_vars": 100, "n_traits": 1, "module_size": 10,
                                                          "n_decoys": 2, "seed": 2}},
        "steps": {"pretrain": {"enabled": True, "epochs": 2}, "train": {"hidden": [8], "epochs": 2, "cv": 3}},
    }
    with pytest.raises(rg.workflow.ConfigError, match="without any modelled trait"):
        rg.workflow.run(cfg, out=tmp_path / "out")
