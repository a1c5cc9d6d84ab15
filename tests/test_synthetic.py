"""The seeded synthetic cohort: planted modules really drive the traits they are said to drive."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import radiogx as rg


def _module_score(adata, genes):
    x = adata[:, genes].X
    z = (x - x.mean(0)) / x.std(0)
    signs = np.sign([np.corrcoef(z[:, i], z[:, 0])[0, 1] for i in range(z.shape[1])])  # align with the first gene
    return (z * signs).mean(1)


def test_synthetic_is_seeded_and_shaped(small_synthetic):
    again = rg.datasets.synthetic(n_obs=120, n_vars=400, n_traits=2, module_size=15, n_decoys=5, seed=3)
    np.testing.assert_array_equal(small_synthetic.X, again.X)
    assert small_synthetic.uns["synthetic"]["gene_sets"] == again.uns["synthetic"]["gene_sets"]
    other = rg.datasets.synthetic(n_obs=120, n_vars=400, n_traits=2, module_size=15, n_decoys=5, seed=4)
    assert not np.array_equal(small_synthetic.X, other.X)
    assert small_synthetic.shape == (120, 400) and small_synthetic.X.dtype == np.float32
    assert list(small_synthetic.obs.columns) == ["trait_0", "trait_1"]
    assert list(small_synthetic.obs["trait_0"].cat.categories) == ["negative", "positive"]


def test_planted_modules_drive_linear_and_interaction_traits():
    adata = rg.datasets.synthetic(n_obs=400, n_vars=600, n_traits=2, module_size=20, n_decoys=3, noise=0.2, seed=1)
    truth = adata.uns["synthetic"]["traits"]
    sets = adata.uns["synthetic"]["gene_sets"]
    assert truth["trait_0"]["kind"] == "linear" and len(truth["trait_0"]["sets"]) == 1
    assert truth["trait_1"]["kind"] == "interaction" and len(truth["trait_1"]["sets"]) == 2
    y0 = (adata.obs["trait_0"] == "positive").to_numpy()
    s0 = _module_score(adata, sets[truth["trait_0"]["sets"][0]])
    assert max(roc_auc_score(y0, s0), roc_auc_score(y0, -s0)) > 0.9
    y1 = (adata.obs["trait_1"] == "positive").to_numpy()
    a, b = (_module_score(adata, sets[name]) for name in truth["trait_1"]["sets"])
    product = max(roc_auc_score(y1, a * b), roc_auc_score(y1, -a * b))
    marginal = max(abs(roc_auc_score(y1, a) - 0.5), abs(roc_auc_score(y1, b) - 0.5))
    assert product > 0.85 and marginal < 0.1  # the interaction, not either module alone, carries the trait


def test_collection_holds_planted_sets_among_size_matched_decoys(small_synthetic):
    info = small_synthetic.uns["synthetic"]
    sets = info["gene_sets"]
    planted = {s for t in info["traits"].values() for s in t["sets"]}
    assert len(planted) == 3  # linear (1) + interaction (2)
    assert len(sets) == 3 * (1 + 5)
    assert {len(g) for g in sets.values()} == {15}
    assert all(name.startswith("SET_") for name in sets)
    module_genes = {g for s in planted for g in sets[s]}
    decoy_genes = {g for s in set(sets) - planted for g in sets[s]}
    assert not module_genes & decoy_genes


def test_balance_is_controlled():
    adata = rg.datasets.synthetic(n_obs=200, n_vars=300, n_traits=2, module_size=10, balance=[0.25, 0.6], seed=0)
    assert (adata.obs["trait_0"] == "positive").sum() == 50
    assert (adata.obs["trait_1"] == "positive").sum() == 120


def test_paper_size_default_is_generated():
    adata = rg.datasets.synthetic()
    assert adata.shape == (528, 12042) and adata.obs.shape[1] == 6
    assert {t["kind"] for t in adata.uns["synthetic"]["traits"].values()} == {"linear", "interaction"}


def test_synthetic_survives_h5ad(small_synthetic, tmp_path):
    small_synthetic.write_h5ad(tmp_path / "s.h5ad")
    back = ad.read_h5ad(tmp_path / "s.h5ad")
    np.testing.assert_array_equal(back.X, small_synthetic.X)
    assert {k: list(v) for k, v in back.uns["synthetic"]["gene_sets"].items()} == small_synthetic.uns["synthetic"]["gene_sets"]
    assert list(back.uns["synthetic"]["traits"]["trait_1"]["sets"]) == list(small_synthetic.uns["synthetic"]["traits"]["trait_1"]["sets"])


@pytest.mark.parametrize(
    "kwargs,match",
    [({"kinds": ["quadratic", "linear"]}, "kinds"), ({"balance": 1.2}, "balance"), ({"module_size": 500}, "n_vars"),
     ({"n_obs": 2}, "n_obs"), ({"background_correlation": 1.0}, "background_correlation")],
)
def test_synthetic_bad_arguments(kwargs, match):
    base = {"n_obs": 50, "n_vars": 200, "n_traits": 2, "module_size": 10}
    with pytest.raises(ValueError, match=match):
        rg.datasets.synthetic(**{**base, **kwargs})
