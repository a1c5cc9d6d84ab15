"""Gene masking and gene saliency: the engine's properties, the scores against scikit-learn, and the validation on real
subtypes and planted synthetic sets."""

from __future__ import annotations

import logging

import anndata as ad
import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import false_discovery_control, hypergeom
from sklearn.metrics import average_precision_score, roc_auc_score

import radiogx as rg
from radiogx.nn._masking_engine import FoldedNetwork, dense_masked_logits, masked_logits, pack_sets
from radiogx.nn._modules import RadiogenomicNetwork
from radiogx._metrics import benjamini_hochberg, rows_auc, rows_average_precision, rows_loglik, score_auc

matplotlib.use("Agg")
SUBTYPE_NET = {"hidden": (512, 256), "dropout": 0.4, "epochs": 100, "patience": 15, "cv": 5, "seed": 0}


@pytest.fixture(scope="module")
def subtypes(verhaak):
    adata = verhaak.copy()
    rg.tl.train(adata, "subtype", **SUBTYPE_NET)
    return adata


@pytest.fixture(scope="module")
def folded():
    torch.manual_seed(0)
    net = RadiogenomicNetwork(60, 3, (16, 8), dropout=0.2)
    net.train()
    for _ in range(3):
        net(torch.randn(32, 60))  # BatchNorm running statistics that differ from the identity
    return net.eval()


# the engine ---------------------------------------------------------------------------------------------------------

def test_engine_matches_dense_reference_and_the_two_extremes(folded):
    x = torch.randn(25, 60)
    rng = np.random.default_rng(0)
    sets = [np.arange(60), np.array([], dtype=np.int64), *[rng.choice(60, k, replace=False) for k in (1, 5, 30)]]
    fast = masked_logits(FoldedNetwork(folded), x, sets)
    torch.testing.assert_close(fast, dense_masked_logits(folded, x, sets), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast[0], folded(x), atol=1e-5, rtol=1e-5)      # all genes: the unmasked prediction
    assert torch.all(fast[1] == fast[1][0])                                   # no gene: one constant prediction
    for rows in (25, 50, 1000):  # chunking changes nothing beyond float32 rounding (BLAS kernels depend on the rows)
        torch.testing.assert_close(masked_logits(FoldedNetwork(folded), x, sets, max_rows=rows), fast, atol=1e-6, rtol=1e-6)
    bf16 = masked_logits(FoldedNetwork(folded, dtype=torch.bfloat16), x, sets)
    assert (bf16 - fast).abs().max() < 0.05


def test_engine_on_a_screened_network_skips_the_genes_it_does_not_weigh(folded):
    """A gene screen zeroes most first-layer columns: sets are reduced to the weighed genes, the network can be
    restricted to a superset of them, and a set without any gets the empty set's prediction; all as the dense pass."""
    screened = RadiogenomicNetwork(60, 3, (16, 8), dropout=0.2)
    screened.load_state_dict(folded.state_dict())
    screened.eval()
    weighed = np.array([3, 17, 18, 40, 59])
    with torch.no_grad():
        keep = torch.zeros(60, dtype=torch.bool)
        keep[weighed] = True
        screened.blocks[0][0].weight[:, ~keep] = 0
    x = torch.randn(25, 60)
    rng = np.random.default_rng(3)
    sets = [np.arange(60), np.array([], dtype=np.int64), np.array([0, 1, 2]), np.array([59, 3]),
            *[rng.choice(60, k, replace=False) for k in (1, 5, 5, 30, 30, 45)]]
    net = FoldedNetwork(screened)
    np.testing.assert_array_equal(net.active, weighed)
    assert net.first_weight_t.shape == (len(weighed) + 1, 16) and not net.first_weight_t[-1].any()
    fast = masked_logits(net, x, sets)
    dense = dense_masked_logits(screened, x, sets)
    torch.testing.assert_close(fast, dense, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast[2], fast[1])  # none of its genes weighed: the empty set's prediction
    genes = np.array([0, 3, 9, 17, 18, 40, 41, 59])  # a superset of the weighed genes, as the masking scorer's
    lookup = np.full(60, len(genes))
    lookup[genes] = np.arange(len(genes))
    packed = pack_sets(sets, lookup, n_genes=len(genes))
    assert packed.counts.tolist() == [len(genes), 0, 1, 2, *[np.isin(s, genes).sum() for s in sets[4:]]]
    restricted = masked_logits(net.restrict(genes), x[:, genes], packed, max_rows=30)
    torch.testing.assert_close(restricted, dense, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="every gene the network weighs"):
        net.restrict(np.array([3, 17]))
    with pytest.raises(ValueError, match="packed for 8 genes"):
        masked_logits(net, x, packed)


@pytest.mark.parametrize("rank", [0, 2])
def test_stacked_fold_networks_score_each_patient_by_its_own_fold(rank):
    """Fold networks stacked into one batched network give what each fold's network gives its own patients (with
    and without the pairwise-interaction head)."""
    from radiogx.nn.engine import FoldStack

    nets, xs, positions = [], [], []
    order = np.random.default_rng(4).permutation(31)
    for f, pos in enumerate(np.array_split(order, 3)):
        torch.manual_seed(f)
        net = RadiogenomicNetwork(60, 3, (16, 8), dropout=0.2, interaction_rank=rank)
        net.train()
        for _ in range(3):
            net(torch.randn(32, 60))  # BatchNorm statistics of its own
        with torch.no_grad():
            net.blocks[0][0].weight[:, 20 + 10 * f:] = 0  # each fold weighs its own genes
        nets.append(FoldedNetwork(net.eval()))
        xs.append(torch.randn(len(pos), 60))
        positions.append(pos)
    rng = np.random.default_rng(5)
    sets = [np.arange(60), np.array([], dtype=np.int64), np.array([55, 59]),
            *[rng.choice(60, k, replace=False) for k in (1, 5, 30, 30)]]
    expected = torch.empty((len(sets), 31, 3))
    for net, x, pos in zip(nets, xs, positions):
        expected[:, torch.as_tensor(pos)] = masked_logits(net, x, sets)
    stack = FoldStack(nets, xs, positions)
    for rows in (None, 10, 1000):  # chunks of one set, of a few, of all
        torch.testing.assert_close(stack.masked_logits(pack_sets(sets, n_genes=60), max_rows=rows), expected,
                                   atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="different architectures"):
        FoldStack([nets[0], FoldedNetwork(RadiogenomicNetwork(60, 3, (8,)).eval())], xs[:2], positions[:2])


def test_score_auc_is_scikit_learns_with_ties_and_absent_classes():
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(4, 40))
        y = rng.integers(0, 4, n)
        scores = np.round(rng.normal(size=(n, 4)), int(rng.integers(0, 2)))  # many ties
        if len(np.unique(y)) > 1:  # macro one-vs-rest over the classes present
            expected = np.mean([roc_auc_score(y == k, scores[:, k]) for k in np.unique(y)])
            assert score_auc(y, scores, 4) == pytest.approx(expected, abs=1e-12)
        b = y % 2
        if len(np.unique(b)) > 1:
            assert score_auc(b, scores[:, 0], 2) == pytest.approx(roc_auc_score(b, scores[:, 0]), abs=1e-12)
            assert score_auc(b.astype(bool), scores[:, :1], 2) == pytest.approx(roc_auc_score(b, scores[:, 0]), abs=1e-12)
    assert np.isnan(score_auc(np.zeros(5, dtype=int), rng.random(5), 2))
    with pytest.raises(ValueError, match="NaN"):
        score_auc(np.array([0, 1, 0, 1]), np.array([0.1, np.nan, 0.3, 0.4]), 2)


def test_vectorised_scores_match_scikit_learn():
    rng = np.random.default_rng(1)
    y = rng.random(40) < 0.4
    scores = np.round(rng.random((6, 40)), 1)  # many ties
    scores[0] = 0.5                            # all tied
    for row, s in enumerate(scores):
        assert rows_auc(scores, y)[row] == pytest.approx(roc_auc_score(y, s))
        assert rows_average_precision(scores, y)[row] == pytest.approx(average_precision_score(y, s))
        assert rows_loglik(scores.clip(0.01, 0.99), y)[row] == pytest.approx(
            np.mean(np.where(y, np.log(s.clip(0.01, 0.99)), np.log(1 - s.clip(0.01, 0.99)))))
    p = rng.random(30) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p, method="bh"))


# validation on real subtypes ------------------------------------------------------------------------------------------

def test_verhaak_own_signature_is_the_best_masked_set(subtypes):
    rg.tl.gene_masking(subtypes, "verhaak", n_null=200)
    table = rg.get.masking_df(subtypes)
    best = table.loc[table.groupby("target")["loglik"].idxmax()].set_index("target")["gene_set"]
    print("\nbest masked signature per subtype (out-of-fold log-likelihood):", best.to_dict())
    assert best.to_dict() == rg.datasets.VERHAAK_SIGNATURES


@pytest.mark.slow  # 190 s on 2 cores: every gene of the subtype network against permuted labels
def test_verhaak_single_gene_masking_top_genes(subtypes):
    adata = subtypes.copy()
    rg.tl.gene_masking(adata, "single", n_null=100, key_added="single")
    table = rg.get.masking_df(adata, key="single")
    own = {}
    for target, group in table.groupby("target"):
        top = group.nlargest(20, "loglik")["gene_set"]
        own[target] = int((adata.var.loc[top, "signature"].astype(str) == rg.datasets.VERHAAK_SIGNATURES[target]).sum())
    print("\nown-signature genes among the 20 best single genes:", own)
    assert sum(v > 10 for v in own.values()) >= 3


def test_verhaak_signed_saliency_top_genes_are_the_own_signature(subtypes):
    adata = subtypes.copy()
    rg.tl.saliency(adata, abs=False)
    signature = adata.var["signature"].astype(str)
    pvals = {}
    for subtype, code in rg.datasets.VERHAAK_SIGNATURES.items():
        top = adata.var[f"saliency_subtype_{subtype}"].nlargest(100).index
        k = int((signature[top] == code).sum())
        pvals[subtype] = (k, hypergeom.sf(k - 1, adata.n_vars, int((signature == code).sum()), 100))
    print("\nown-signature genes among the top 100 by mean signed saliency (count, hypergeometric p):", pvals)
    assert all(p < 1e-3 for _, p in pvals.values())


@pytest.mark.data
@pytest.mark.slow
def test_phillips_own_signature_beats_other_signatures_and_random_sets():
    ph = rg.datasets.phillips2006()
    adata = ph[ph.obs["Subtype.svm"].notna()].copy()
    adata.obs["subtype"] = adata.obs["Subtype.svm"].astype(str).astype("category")
    assert adata.shape == (76, 12703)
    rg.tl.train(adata, "subtype", hidden=(256, 128), dropout=0.4, epochs=100, patience=15, cv=5, inner_splits=1, seed=0)
    rg.tl.gene_masking(adata, "verhaak", n_null=500)
    table = rg.get.masking_df(adata)
    wins = 0
    for subtype in ("Classical", "Mesenchymal", "Proneural"):
        rows = table[table["target"] == subtype].set_index("gene_set")
        own = rg.datasets.VERHAAK_SIGNATURES[subtype]
        print(f"\n{subtype}: own {own} loglik {rows.loc[own, 'loglik']:.3f} padj {rows.loc[own, 'padj']:.2e}; "
              f"others {rows.drop(own)['loglik'].round(3).to_dict()}")
        wins += bool(rows["loglik"].idxmax() == own and rows.loc[own, "padj"] < 0.05)
    assert wins == 3


# known truth -----------------------------------------------------------------------------------------------------------

SYN_NET = {"hidden": (64, 32), "activation": "relu", "dropout": 0.3, "epochs": 100, "patience": 15, "cv": 5}


@pytest.fixture(scope="module")
def planted():
    return rg.datasets.synthetic(n_obs=300, n_vars=500, n_traits=2, kinds=["linear", "linear"], module_size=20,
                                 n_decoys=15, noise=0.3, seed=0)


@pytest.mark.slow  # 35-57 s on 2 cores; the default suite stays within its 18 minutes
def test_planted_sets_rank_first_and_are_significant(planted):
    adata = planted.copy()
    for trait in ("trait_0", "trait_1"):
        rg.tl.train(adata, trait, seed=0, n_jobs=2, **SYN_NET)
    rg.tl.gene_masking(adata, adata.uns["synthetic"]["gene_sets"], n_null=300)
    for trait, info in adata.uns["synthetic"]["traits"].items():
        table = rg.get.masking_df(adata, trait=trait)
        assert table["gene_set"].iloc[0] == info["sets"][0]
        assert table["padj"].iloc[0] < 0.05


def test_permuted_trait_calls_at_most_five_percent_of_sets(planted, permuted_copies):
    called = []
    for i, adata in permuted_copies(planted, "trait_0", 5, seed=1):
        rg.tl.train(adata, "permuted", seed=i, n_jobs=2, **SYN_NET)
        rg.tl.gene_masking(adata, adata.uns["synthetic"]["gene_sets"], n_null=300, seed=i)
        called.append(float((rg.get.masking_df(adata)["padj"] < 0.05).mean()))
    print(f"\nfraction of sets with padj < 0.05 under 5 permutations: {called}")
    assert np.mean(called) <= 0.05


def test_masking_is_seeded_and_in_sample_option(planted):
    adata = planted.copy()
    rg.tl.train(adata, "trait_0", hidden=(16,), epochs=10, patience=3, cv=3, seed=0)
    sets = adata.uns["synthetic"]["gene_sets"]
    rg.tl.gene_masking(adata, sets, n_null=50, seed=3, key_added="a")
    rg.tl.gene_masking(adata, sets, n_null=50, seed=3, key_added="b", batch_size=7)
    pd.testing.assert_frame_equal(adata.uns["a"]["results"], adata.uns["b"]["results"], atol=1e-9)
    rg.tl.gene_masking(adata, sets, n_null=0, patients="all", key_added="c")
    assert adata.uns["c"]["results"]["pval"].isna().all()


def test_masking_of_a_screened_network_recalls_sets_without_changing_a_result(planted, monkeypatch):
    """A screened network weighs few genes, so random sets keep the same few again and again: the scorer scores each
    distinct set of weighed genes once and recalls it. Its results equal those of scoring every set anew."""
    from radiogx.tl import _gene_masking

    adata = planted.copy()
    rg.tl.train(adata, "trait_0", hidden=(16,), select_genes=10, epochs=10, patience=3, cv=3, seed=0)
    sets = adata.uns["synthetic"]["gene_sets"]
    scored = []
    engine = _gene_masking._Scorer._logits

    def counting(self, packed):
        scored.append(len(packed))
        return engine(self, packed)

    monkeypatch.setattr(_gene_masking._Scorer, "_logits", counting)
    rg.tl.gene_masking(adata, sets, n_null=200, seed=3, key_added="recalled")
    recalled, scored[:] = sum(scored), []
    monkeypatch.setattr(_gene_masking, "_MEMO_BYTES", 0)
    rg.tl.gene_masking(adata, sets, n_null=200, seed=3, key_added="anew")
    assert recalled < sum(scored) / 3
    pd.testing.assert_frame_equal(adata.uns["recalled"]["results"], adata.uns["anew"]["results"], atol=1e-9)


def test_distinct_rows_as_numpy_unique():
    from radiogx.nn.engine import distinct_rows

    rng = np.random.default_rng(0)
    for shape, high in (((300, 4), 6), ((300, 40), 2**20), ((5, 0), 1), ((1, 3), 9)):  # exact keys, hashed, empty
        index = rng.integers(0, high, size=shape)
        index[::3] = index[1::3][: len(index[::3])] if len(index) > 1 else index[::3]  # some rows twice
        distinct, inverse = distinct_rows(index)
        np.testing.assert_array_equal(distinct[inverse], index)
        assert len(distinct) == len(np.unique(index, axis=0))


# saliency ---------------------------------------------------------------------------------------------------------------

def _finite_differences(net, x: np.ndarray, genes, eps: float = 1e-6) -> np.ndarray:
    """d logit / d x of ``net`` (float64) at ``x`` for ``genes``, by central differences: patients x genes."""
    out = []
    for gene in genes:
        up, down = x.copy(), x.copy()
        up[:, gene] += eps
        down[:, gene] -= eps
        with torch.no_grad():
            out.append((net(torch.from_numpy(up)) - net(torch.from_numpy(down))).numpy().ravel() / (2 * eps))
    return np.stack(out, axis=1)


def test_saliency_equals_finite_differences_and_batch_size_does_not_matter(planted):
    """Out of fold (the default): each patient's gradient is its held-out fold network's, at that fold's scaling;
    patients="all": the final network's (the paper's in-sample scheme)."""
    adata = planted.copy()
    adata.obs.loc[adata.obs_names[:10], "trait_0"] = np.nan  # unlabelled: explained by the final model
    model = rg.tl.train(adata, "trait_0", hidden=(16, 8), activation="tanh", epochs=10, patience=3, cv=3, seed=0)
    rg.tl.saliency(adata, abs=False, batch_size=7)
    rg.tl.saliency(adata, abs=False, patients="all", key_added="insample")
    genes = [0, 17, 250]
    folds = adata.uns["saliency"]["trait_0"]["explained_by"]["fold"].to_numpy()
    assert sorted(set(folds)) == [-1, 0, 1, 2] and (folds[:10] == -1).all() and (folds[10:] >= 0).all()
    grad = adata.layers["saliency_trait_0"]
    for k in (-1, 0, 1, 2):
        rows = np.flatnonzero(folds == k)
        fold = None if k < 0 else k
        x = model.scaled(adata[rows], fold=fold).astype(np.float64)
        fd = _finite_differences(model.network(fold, device="cpu").double(), x, genes)
        np.testing.assert_allclose(grad[np.ix_(rows, genes)], fd, rtol=1e-3, atol=1e-5)
    x = model.scaled(adata).astype(np.float64)
    fd = _finite_differences(model.network(device="cpu").double(), x, genes)
    np.testing.assert_allclose(adata.layers["insample_trait_0"][:, genes], fd, rtol=1e-3, atol=1e-5)
    assert not np.allclose(grad[10:], adata.layers["insample_trait_0"][10:])  # the fold networks are other networks
    again = adata.copy()
    rg.tl.saliency(again, abs=False, batch_size=1000)
    np.testing.assert_allclose(again.layers["saliency_trait_0"], grad, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(adata.var["saliency_trait_0"], grad.mean(axis=0), rtol=1e-5)
    table = rg.get.attributions_df(adata, key="saliency")
    assert table["patients"].tolist() == ["out_of_fold"]
    assert rg.get.attributions_df(adata, key="insample")["patients"].tolist() == ["all"]


def test_saliency_multiclass_targets_methods_and_h5ad(subtypes, tmp_path):
    adata = subtypes.copy()
    rg.tl.saliency(adata, normalize="minmax")
    layers = [f"saliency_subtype_{c}" for c in ("Classical", "Mesenchymal", "Neural", "Proneural")]
    assert all(name in adata.layers and name in adata.var for name in layers)
    mat = adata.layers["saliency_subtype_Neural"]
    np.testing.assert_allclose(mat.min(axis=1), 0)
    np.testing.assert_allclose(mat.max(axis=1), 1)
    for method in ("integrated_gradients", "deeplift", "input_x_gradient"):
        rg.tl.saliency(adata, method=method, target="Proneural", abs=False, key_added=method)
        assert list(adata.uns[method]["subtype"]["targets"]) == ["Proneural"]
    ixg = adata.layers["input_x_gradient_subtype_Proneural"]
    rg.tl.saliency(adata, target="Proneural", abs=False, key_added="grad")
    model = rg.get.model(adata, "subtype")
    folds = adata.uns["grad"]["subtype"]["explained_by"]["fold"].to_numpy()
    scaled = np.empty(adata.shape, dtype=np.float32)  # each patient in the scaling of the fold that explains it
    for k in np.unique(folds):
        scaled[folds == k] = model.scaled(adata[folds == k], fold=None if k < 0 else int(k))
    np.testing.assert_allclose(ixg, adata.layers["grad_subtype_Proneural"] * scaled, rtol=1e-4, atol=1e-6)
    fig = rg.pl.saliency(adata, "subtype", target="Proneural", return_fig=True)
    assert len(fig.axes) == 3
    adata.write_h5ad(tmp_path / "s.h5ad")
    back = ad.read_h5ad(tmp_path / "s.h5ad")
    np.testing.assert_array_equal(back.layers["saliency_subtype_Neural"], mat)
    assert list(back.uns["saliency"]["subtype"]["keys"]) == layers


def test_masking_table_plot_and_h5ad(subtypes, tmp_path):
    adata = subtypes.copy()
    rg.tl.gene_masking(adata, "verhaak", n_null=50)
    fig = rg.pl.masking(adata, return_fig=True)
    assert fig.axes[0].get_title().startswith("gene masking")
    adata.write_h5ad(tmp_path / "m.h5ad")
    pd.testing.assert_frame_equal(rg.get.masking_df(ad.read_h5ad(tmp_path / "m.h5ad")), rg.get.masking_df(adata))


# bad input ---------------------------------------------------------------------------------------------------------------

def test_gene_sets_without_overlap_show_both_sides(planted):
    adata = planted.copy()
    rg.tl.train(adata, "trait_0", hidden=(8,), epochs=3, patience=2, cv=3, seed=0)
    before = set(adata.uns)
    with pytest.raises(ValueError, match=r"share no gene with the data: sets list \['ENSG1', 'ENSG2'\].*the data has \['G00001'"):
        rg.tl.gene_masking(adata, {"A": ["ENSG1"], "B": ["ENSG2"]})
    assert set(adata.uns) == before


def test_case_only_matches_are_warned_and_used(planted, caplog):
    adata = planted.copy()
    rg.tl.train(adata, "trait_0", hidden=(8,), epochs=3, patience=2, cv=3, seed=0)
    with caplog.at_level(logging.WARNING, logger="radiogx"):
        rg.tl.gene_masking(adata, {"A": ["g00001", "G00002"]}, n_null=0)
    assert "1 gene symbols matched only when ignoring case" in caplog.text and "'g00001->G00001'" in caplog.text
    assert rg.get.masking_df(adata)["n_genes"].tolist() == [2]


def test_model_from_other_genes_and_missing_model_are_refused(planted):
    adata = planted.copy()
    model = rg.tl.train(adata, "trait_0", hidden=(8,), epochs=3, patience=2, cv=3, seed=0)
    other = adata[:, 10:].copy()
    with pytest.raises(ValueError, match=r"adata lacks 10 of them \['G00001'"):
        rg.tl.gene_masking(other, {"A": ["G00020"]}, model=model)
    with pytest.raises(ValueError, match=r"no model for trait 'trait_1' in adata.uns\['radiogx'\]: run rg.tl.train"):
        rg.tl.saliency(adata, trait="trait_1")
    with pytest.raises(ValueError, match=r"score must be one of \('loglik', 'auc', 'pr_auc', 'r2'\), got 'f1'"):
        rg.tl.gene_masking(adata, {"A": ["G00020"]}, score="f1")
    assert "gene_masking" not in adata.uns and "saliency" not in adata.uns


def test_label_null_draws_permutations_a_block_at_a_time(monkeypatch):
    """A set with a tiny p-value draws permutations up to the cap: the labels are made and scored a block at a time
    (radiogx <= 0.6 stacked every permutation of a round at once, gigabytes for 12,042 single genes), and the block
    size does not change the stream, so the p-values are the same."""
    import tracemalloc

    from radiogx.tl import _masking_nulls

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 100)
    p1 = np.stack([np.full(200, 0.5), rng.uniform(0.2, 0.8, 200), np.where(y == 1, 0.9, 0.1)])  # none, noise, signal
    probs = np.stack([1 - p1, p1], axis=2)

    def run():
        return _masking_nulls.label_null(probs, y, [1], np.arange(200) % 5, n_null=100, n_max=200_000,
                                         score="loglik", seed=0, method="sequential")

    tracemalloc.start()
    mean, sd, res, _ = run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert res.n_draws[0, 2] == 200_000 and res.pval[0, 2] == pytest.approx(1 / 200_001)  # ran to the cap: a bound
    assert not res.resolved[0, 2] and res.pval[0, 0] == 1.0
    assert peak < 50 * 2**20, f"peak {peak / 2**20:.0f} MiB"  # all 200,000 permutations at once: 320 MiB of labels
    monkeypatch.setattr(_masking_nulls, "_PERM_BLOCK", 37)
    mean_b, sd_b, res_b, _ = run()
    np.testing.assert_array_equal(res_b.pval, res.pval)
    np.testing.assert_array_equal(res_b.n_draws, res.n_draws)
    np.testing.assert_allclose(mean_b, mean, rtol=1e-12)
    np.testing.assert_allclose(sd_b, sd, rtol=1e-6, atol=1e-6)  # a constant set: 0 up to the moments' rounding
