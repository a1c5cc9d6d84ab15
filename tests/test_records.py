"""One contract: every result that a tool writes under its default key is found by rg.get.records, listed in the
report and exported to R, from the AnnData alone (also after an h5ad round trip)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import radiogx as rg
from radiogx.io._r_export import result_tables
from radiogx.workflow._report import _tables, figure_specs

NET = {"hidden": (16,), "epochs": 15, "patience": 5, "cv": 3, "inner_splits": 1, "select_genes": "all"}


@pytest.fixture(scope="module")
def every_result():
    adata = rg.datasets.synthetic(n_obs=120, n_vars=150, n_traits=2, kinds=["linear", "linear"], module_size=15,
                                  n_decoys=8, noise=0.3, seed=0)
    sets = adata.uns["synthetic"]["gene_sets"]
    rng = np.random.default_rng(0)
    adata.obs["os_days"] = rng.exponential(400, adata.n_obs)
    adata.obs["os_event"] = pd.array(rng.integers(0, 2, adata.n_obs), dtype="Int64")
    rg.tl.train(adata, "trait_0", seed=0, **NET)
    rg.tl.compare(adata, "trait_0", models=["logit_l2"])
    rg.tl.bootstrap(adata, "trait_0", n_boot=50)
    rg.tl.gene_masking(adata, sets, n_null=50)
    rg.tl.saliency(adata)
    rg.tl.enrich(adata, gene_sets=sets, min_size=5)  # the only saliency record, trait and class: nothing to type
    rg.tl.enrich(adata, gene_sets=sets, per_patient=True, min_size=5, n_perm=200,
                 key_added="enrich_patients")
    rg.tl.associations(adata, key="enrich_patients", min_patients=3)
    rg.tl.survival(adata, features="trait_0", covariates=())
    rg.tl.pretrain(adata, hidden=(16,), epochs=5)
    rg.tl.predict(adata, trait="trait_0")
    rg.tl.stability(adata, "trait_0", n_repeats=2, top_k=10)
    gs = adata.copy()
    rg.tl.train(gs, "trait_1", seed=0, architecture="gene_sets", gene_sets=sets, epochs=10, cv=3, inner_splits=1,
                key_added="gene_set_net")
    rg.tl.set_nodes(gs, key="gene_set_net")
    rg.tl.set_control(gs, "trait_1", n_draws=2, key="gene_set_net")
    adata.uns["set_nodes"] = gs.uns["set_nodes"]
    adata.uns["set_control"] = gs.uns["set_control"]
    adata.obsm.update({k: v for k, v in gs.obsm.items() if k.startswith("set_nodes")})
    return adata


EXPECTED = {"model": "radiogx", "compare": "radiogx_compare", "bootstrap": "radiogx_bootstrap",
            "masking": "gene_masking", "saliency": "saliency", "enrichment": "enrich_saliency_trait_0",
            "associations": "associations", "survival": "survival", "autoencoder": "pretrain",
            "set_nodes": "set_nodes", "prediction": "predict", "stability": "stability", "set_control": "set_control"}


def test_records_find_every_tool_s_result_under_its_default_key(every_result):
    found = rg.get.records(every_result)
    assert set(found["kind"]) == set(rg.get.KINDS)
    for kind, key in EXPECTED.items():
        assert key in set(found.loc[found["kind"] == kind, "key"]), (kind, key, found)
    assert found.set_index("key").loc["radiogx", "traits"] == "trait_0"
    # each record names what its tool wrote, so that the next step takes the names from it
    added = every_result.uns["saliency"]["trait_0"]["added"]
    assert list(added["layers"]) == ["saliency_trait_0"] and list(added["uns"]) == ["saliency"]
    features = list(every_result.uns["associations"]["saliency_trait_0"]["added"]["obs"])
    assert features == list(rg.get.associations_df(every_result)["feature"]) and features
    assert list(every_result.uns["gene_masking"]["added"]["uns"]) == ["gene_masking"]
    with pytest.raises(ValueError, match="kind must be one of"):
        rg.get.records(every_result, kind="nope")


def test_report_and_r_export_list_every_result_from_the_anndata_alone(every_result, tmp_path):
    every_result.write_h5ad(tmp_path / "r.h5ad")
    for adata in (every_result, ad.read_h5ad(tmp_path / "r.h5ad")):
        names = set(result_tables(adata))
        assert {"cv", "oof", "km", "compare", "bootstrap", "bootstrap_differences", "masking", "saliency",
                "enrichment.enrich_saliency_trait_0", "enrichment.enrich_patients", "associations", "survival",
                "autoencoder", "set_nodes", "predictions", "prediction_summary", "stability", "stability_summary",
                "stability_sanity", "set_control", "set_control_draws"} <= names, names
        titles = " | ".join(title for section in _tables(adata).values() for title, _ in section)
        for needle in ("Which model wins", "Paired bootstrap", "gene_masking: five best", "saliency: ten genes",
                       "enrich_saliency_trait_0", "enrich_patients", "Radiogenomic features (associations)",
                       "Cox models", "Gene-set network (set_nodes)", "Autoencoder pre-training (pretrain)",
                       "prediction_summary (predict)"):
            assert needle in titles, (needle, titles)
        figures = {spec.name for spec in figure_specs(adata)}
        assert {"roc_trait_0", "compare_trait_0", "enrich_saliency_trait_0", "enrich_patients", "associations",
                "cox_forest"} <= figures, figures
        assert any(f.startswith("set_nodes_trait_1") for f in figures)
    report = rg.workflow.render_report(adata, tmp_path / "report", formats=("png",))  # draws every figure
    html = report.read_text()
    assert "gene_masking: five best" in html and "Autoencoder pre-training (pretrain)" in html
    assert len(list((tmp_path / "report" / "figures").glob("*.png"))) == len(figures)


def test_readers_find_a_single_record_under_any_key(every_result):
    adata = every_result.copy()
    adata.uns["masking_hallmark"] = adata.uns.pop("gene_masking")  # as radiogx run names it
    assert len(rg.get.masking_df(adata)) == len(rg.get.masking_df(every_result))
    adata.uns["masking_other"] = adata.uns["masking_hallmark"]
    with pytest.raises(ValueError, match=r"2 masking results in adata: \['masking_hallmark', 'masking_other'\]"):
        rg.get.masking_df(adata)
    assert len(rg.get.masking_df(adata, key="masking_other"))
    with pytest.raises(ValueError, match="holds saliency results, not masking"):
        rg.get.masking_df(adata, key="saliency")
    with pytest.raises(ValueError, match="no survival results in adata; run rg.tl.survival first"):
        rg.get.survival_df(ad.AnnData(np.zeros((3, 2), dtype=np.float32)))
    table = rg.get.associations_df(adata)
    assert list(table.columns) == ["label", "feature", "gene_set", "n_patients"]
    assert set(table["feature"]) <= set(adata.obs.columns)


def test_tools_work_on_a_copy_when_asked(every_result):
    before = set(every_result.uns)
    out = rg.tl.survival(every_result, features="trait_0", covariates=(), key_added="survival_copy", copy=True)
    assert set(every_result.uns) == before and "survival_copy" in out.uns
    assert rg.tl.survival(out, features="trait_0", covariates=(), key_added="again") is None
    saliency = rg.tl.saliency(every_result, key_added="ixg_copy", method="input_x_gradient", copy=True)
    assert "ixg_copy_trait_0" in saliency.layers and "ixg_copy_trait_0" not in every_result.layers


def test_one_rerun_rule_for_every_tool(every_result, caplog):
    adata = every_result.copy()
    with caplog.at_level("WARNING", logger="radiogx"):
        rg.tl.survival(adata, features="trait_0", covariates=())
        rg.tl.saliency(adata)
    assert "survival: replacing adata.uns['survival']" in caplog.text
    assert "saliency: replacing adata.uns['saliency']['trait_0']" in caplog.text
    for tool, call in (("survival", lambda: rg.tl.survival(adata, features="trait_0", covariates=(), key_added="saliency")),
                       ("saliency", lambda: rg.tl.saliency(adata, key_added="gene_masking"))):
        before = adata.uns[{"survival": "saliency", "saliency": "gene_masking"}[tool]]
        with pytest.raises(ValueError, match=rf"{tool}: adata.uns\['\w+'\] holds (saliency|masking) results"):
            call()
        assert adata.uns[{"survival": "saliency", "saliency": "gene_masking"}[tool]] is before  # nothing lost
    adata.uns["mine"] = {"notes": "a user's own entry"}
    with pytest.raises(ValueError, match="holds something that is not a radiogx result"):
        rg.tl.gene_masking(adata, adata.uns["synthetic"]["gene_sets"], n_null=10, key_added="mine")


def test_out_of_fold_and_kaplan_meier_readers(every_result):
    oof = rg.get.oof_df(every_result)
    assert len(oof) == every_result.n_obs and set(oof["trait"]) == {"trait_0"}
    assert oof["probability"].between(0, 1).all() and oof["fold"].nunique() == 3
    assert (oof["target"] == every_result.uns["radiogx"]["trait_0"]["classes"][-1]).all()
    km = rg.get.km_df(every_result, feature="trait_0")
    assert set(km["group"]) == set(every_result.obs["trait_0"].astype(str)) and km["survival"].between(0, 1).all()
    with pytest.raises(ValueError, match="features with curves: \\['trait_0'\\]"):
        rg.get.km_df(every_result, feature="nope")


def test_every_kind_has_its_tables_for_the_r_export_and_the_report():
    from radiogx._registry import resolve

    for name, kind in rg.get.KINDS.items():
        assert callable(resolve(kind.tables)), name
        for what in ("figures", "summary", "overview"):
            assert getattr(kind, what) is None or callable(resolve(getattr(kind, what))), (name, what)


def test_every_kind_s_default_key_is_its_tool_s_default():
    import inspect

    for kind, spec in rg.get.KINDS.items():
        default = inspect.signature(getattr(rg.tl, spec.tool)).parameters["key_added"].default
        assert (default or "") == spec.default_key, (kind, default, spec.default_key)


def test_enrich_takes_the_saliency_record_trait_and_class_not_a_generated_name():
    adata = rg.datasets.synthetic(n_obs=90, n_vars=80, n_traits=2, kinds=["linear", "linear"], module_size=10,
                                  n_decoys=4, noise=0.3, seed=1)
    sets = adata.uns["synthetic"]["gene_sets"]
    adata.obs["grade"] = pd.Categorical(np.select(
        [adata.obs["trait_0"] == "positive", adata.obs["trait_1"] == "positive"], ["A", "B"], "C"))
    rg.tl.train(adata, "grade", seed=0, **NET)
    rg.tl.train(adata, "trait_0", seed=0, **NET)
    rg.tl.saliency(adata, abs=False)
    before = set(adata.uns)
    with pytest.raises(ValueError, match=r"holds traits \['grade', 'trait_0'\]; pass trait="):
        rg.tl.enrich(adata, gene_sets=sets, min_size=3)
    with pytest.raises(ValueError, match=r"cover the classes \['A', 'B', 'C'\]; pass target="):
        rg.tl.enrich(adata, trait="grade", gene_sets=sets, min_size=3)
    with pytest.raises(ValueError, match=r"no class 'D'; classes: \['A', 'B', 'C'\]"):
        rg.tl.enrich(adata, trait="grade", target="D", gene_sets=sets, min_size=3)
    with pytest.raises(ValueError, match=r"is an attribution .*pass the record's key"):
        rg.tl.enrich(adata, key="saliency_grade_B", trait="grade", gene_sets=sets, min_size=3)
    with pytest.raises(ValueError, match=r"no .var column 'saliency_grade' to rank, and no saliency record"):
        rg.tl.enrich(adata, key="saliency_grade", gene_sets=sets, min_size=3)
    assert set(adata.uns) == before
    rg.tl.enrich(adata, key="saliency", trait="grade", target="B", gene_sets=sets, min_size=3)
    rg.tl.enrich(adata, key="saliency_grade_B", gene_sets=sets, min_size=3, key_added="by_name")
    by_record = rg.get.enrich_df(adata, key="enrich_saliency_grade_B")
    pd.testing.assert_frame_equal(by_record, rg.get.enrich_df(adata, key="by_name"))
    assert adata.uns["enrich_saliency_grade_B"]["params"]["key"] == "saliency_grade_B"
    rg.tl.enrich(adata, trait="trait_0", gene_sets=sets, min_size=3, per_patient=True, n_perm=100, key_added="pp")
    assert rg.get.enrich_df(adata, key="pp")["patient"].nunique() == adata.n_obs
