"""Python and R read and write the same gene-set files (R through rpy2, the direction radiogx supports)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import radiogx as rg

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def r():
    from radiogx.io._rpy2 import import_rpy2

    robjects = import_rpy2()
    robjects.r["source"](str(ROOT / "R" / "readGmt.R"))
    return robjects


@pytest.mark.data
@pytest.mark.r
def test_r_readgmt_reads_what_python_writes(r, tmp_path):
    """R: ``gs <- readGmt(path)``; every set name and gene must equal Python's."""
    sets = rg.datasets.gene_sets("ivygap")
    rg.io.write_gmt(sets, tmp_path / "ivy.gmt.gz")
    from_r = r.r["readGmt"](str(tmp_path / "ivy.gmt.gz"))
    assert list(from_r.names) == list(sets)
    for name, genes in zip(from_r.names, from_r):
        assert list(genes) == sets[name]


@pytest.mark.r
def test_r_and_python_read_go_bp_identically(r, data_dir):
    path = data_dir / "msigdb_v7.1/c5.bp.v7.1.symbols.gmt.gz"
    py = rg.io.read_gmt(path)
    from_r = r.r["readGmt"](str(path))
    assert len(from_r) == len(py) == 7530
    assert {name: list(genes) for name, genes in zip(from_r.names, from_r)} == py


@pytest.fixture(scope="module")
def analysed():
    """A small cohort through the whole pipeline: models, baselines, masking, saliency, enrichment, survival."""
    import numpy as np
    import pandas as pd

    adata = rg.datasets.synthetic(n_obs=120, n_vars=200, n_traits=1, kinds=["linear"], module_size=15, n_decoys=5, seed=0)
    rng = np.random.default_rng(0)
    adata.obs["os_days"] = rng.exponential(400, adata.n_obs)
    adata.obs.loc[adata.obs_names[:3], "os_days"] = np.nan
    adata.obs["os_event"] = pd.array([1, 0, pd.NA] + list(rng.integers(0, 2, adata.n_obs - 3)), dtype="Int64")
    adata.obs["flag"] = pd.array([True, None] + [i % 3 == 0 for i in range(adata.n_obs - 2)], dtype="boolean")
    adata.obs["grade"] = pd.Categorical(rng.choice(["G4", "G3"], adata.n_obs), categories=["G4", "G3", "unused"])
    sets = adata.uns["synthetic"]["gene_sets"]
    rg.tl.train(adata, "trait_0", hidden=(16,), epochs=10, patience=3, cv=3, seed=0)
    rg.tl.compare(adata, "trait_0", models=["logit_l2"], param_grids={"logit_l2": {"C": [1.0]}})
    rg.tl.bootstrap(adata, "trait_0", n_boot=3)
    rg.tl.gene_masking(adata, sets, n_null=20)
    rg.tl.saliency(adata)
    rg.tl.enrich(adata, key="saliency_trait_0", gene_sets=sets, min_size=5)
    rg.tl.survival(adata, features=["trait_0", "grade"], covariates=())
    return adata


@pytest.mark.r
@pytest.mark.parametrize("assays", ["memory", "hdf5"])
def test_write_r_round_trip_is_exact(analysed, tmp_path, assays):
    """R: ``se <- readRadiogx(path); radiogxResults(se, "masking")`` gives back every value, with the assays in the
    ``.rds`` or in the HDF5 file beside it."""
    import numpy as np
    import pandas as pd
    from radiogx.io._rpy2 import import_rpy2

    ro = import_rpy2()  # first: it keeps LD_LIBRARY_PATH as it was
    from rpy2.robjects import pandas2ri
    from rpy2.robjects.conversion import localconverter

    ro.r["source"](str(ROOT / "R" / "readRadiogx.R"))
    path = rg.io.write_r(analysed, tmp_path / "a.rds", assays=assays)
    assert (tmp_path / "a_assays.h5").exists() == (assays == "hdf5")
    if assays == "hdf5":  # the two files moved together still read
        (moved := tmp_path / "moved").mkdir()
        for f in (path, tmp_path / "a_assays.h5"):
            f.rename(moved / f.name)
        path = moved / path.name
    ro.globalenv["se"] = ro.r["readRadiogx"](str(path))
    r = ro.r
    assert list(r("SummarizedExperiment::assayNames(se)")) == ["expression", "saliency_trait_0"]
    if assays == "hdf5":  # on the file beside the .rds, read on demand
        assert r("HDF5Array::path(SummarizedExperiment::assay(se, 'saliency_trait_0'))")[0] == str(
            (path.parent / "a_assays.h5").resolve())
    else:
        assert list(r("class(SummarizedExperiment::assay(se, 'saliency_trait_0'))")) == ["matrix", "array"]
    np.testing.assert_array_equal(np.asarray(r("as.matrix(SummarizedExperiment::assay(se, 'expression'))")),
                                  analysed.X.T)
    np.testing.assert_array_equal(np.asarray(r("as.matrix(SummarizedExperiment::assay(se, 'saliency_trait_0'))")),
                                  analysed.layers["saliency_trait_0"].T)
    assert list(r("rownames(SummarizedExperiment::assay(se, 'saliency_trait_0'))")) == list(analysed.var_names)
    assert list(r("colnames(se)")) == list(analysed.obs_names) and list(r("rownames(se)")) == list(analysed.var_names)
    # colData: numbers, missing values, factor levels (unused ones too), nullable integers and booleans
    obs = analysed.obs
    np.testing.assert_array_equal(np.asarray(r("se$os_days")), obs["os_days"].to_numpy())
    assert list(r("is.na(se$os_event)")) == list(obs["os_event"].isna())
    assert list(r("as.integer(se$os_event)"))[3:] == list(obs["os_event"].astype("float").to_numpy()[3:].astype(int))
    assert list(r("class(se$os_event)")) == ["integer"] and list(r("class(se$flag)")) == ["logical"]
    assert list(r("is.na(se$flag)")) == list(obs["flag"].isna())
    assert list(r("levels(se$grade)")) == ["G4", "G3", "unused"]
    assert list(r("as.character(se$grade)")) == list(obs["grade"].astype(str))
    assert list(r("levels(se$trait_0)")) == ["negative", "positive"]
    np.testing.assert_array_equal(np.asarray(r("SummarizedExperiment::rowData(se)$saliency_trait_0")),
                                  analysed.var["saliency_trait_0"].to_numpy())
    # result tables equal the rg.get tables
    expected = {"cv": rg.get.cv_df(analysed), "compare": rg.get.compare_df(analysed),
                "bootstrap": rg.get.bootstrap_df(analysed), "masking": rg.get.masking_df(analysed),
                "enrichment.enrich_saliency_trait_0": rg.get.enrich_df(analysed, key="enrich_saliency_trait_0"),
                "survival": rg.get.survival_df(analysed)}
    assert set(expected) <= set(r("radiogxResults(se)"))
    for name, table in expected.items():
        with localconverter(ro.default_converter + pandas2ri.converter):
            back = ro.conversion.get_conversion().rpy2py(r["radiogxResults"](ro.globalenv["se"], name))
        back.index = table.index
        pd.testing.assert_frame_equal(back, table.reset_index(drop=True).set_axis(table.index), check_dtype=False,
                                      check_categorical=False, check_exact=True)
        assert '"' in str(r(f"attr(radiogxResults(se, '{name}'), 'params')")[0])
    with pytest.raises(FileExistsError, match="overwrite=True"):
        rg.io.write_r(analysed, path)
    if assays == "hdf5":
        other = tmp_path / "other"
        rg.io.write_r(analysed, other / "a.rds", assays="hdf5")
        (other / "a_assays.h5").replace(path.with_name("a_assays.h5"))  # another export's assays
        with pytest.raises(Exception, match="was not written with 'a.rds'"):
            ro.r["readRadiogx"](str(path))
        path.with_name("a_assays.h5").unlink()
        with pytest.raises(Exception, match="which is not beside it"):
            ro.r["readRadiogx"](str(path))
        rg.io.write_r(analysed, path, assays="memory", overwrite=True)  # no stale assays file is left
        assert sorted(p.name for p in path.parent.iterdir()) == ["a.rds"]


@pytest.mark.r
def test_python_subprocesses_still_work_after_the_r_export(small_synthetic, tmp_path):
    """Starting R (rpy2) must not leave LD_LIBRARY_PATH pointing Python's later subprocesses and joblib workers at the
    system's libpython (which broke them on pyenv Pythons)."""
    import os
    import subprocess
    import sys

    import joblib

    before = os.environ.get("LD_LIBRARY_PATH")
    rg.io.write_r(small_synthetic, tmp_path / "s.rds")
    assert os.environ.get("LD_LIBRARY_PATH") == before
    res = subprocess.run([sys.executable, "-c", "import threading; threading.RLock()._recursion_count()"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert joblib.Parallel(n_jobs=2)(joblib.delayed(abs)(-i) for i in range(4)) == [0, 1, 2, 3]


def _rscript(code: str, *, timeout: int = 600, **env):
    """Run R code in a fresh Rscript with this repository's R package (installed in .Rlib by `make test`) and the
    venv's radiogx program on the PATH."""
    import os
    import shutil
    import subprocess
    import sys

    lib = ROOT / ".Rlib"
    assert (lib / "radiogx").is_dir(), "the R package is not installed in .Rlib; `make test` installs it (r-install)"
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run([shutil.which("Rscript"), "-e", code], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "R_LIBS": str(lib), "PATH": path, **env})


@pytest.mark.r
def test_r_man_pages_and_namespace_are_generated_by_roxygen_and_check_clean(tmp_path):
    """NAMESPACE and man/ are what roxygen2 writes from the R sources (regenerate: Rscript -e 'roxygen2::roxygenise()'),
    and tools::checkRd finds nothing in them."""
    import shutil
    import subprocess

    for name in ("DESCRIPTION", "NAMESPACE", "R", "man"):
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, tmp_path / name)
    res = subprocess.run([shutil.which("Rscript"), "-e", f'roxygen2::roxygenise("{tmp_path}")'], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    generated = sorted(p.name for p in (tmp_path / "man").glob("*.Rd"))
    assert generated == sorted(p.name for p in (ROOT / "man").glob("*.Rd"))
    for name in ["NAMESPACE", *(f"man/{g}" for g in generated)]:
        assert (tmp_path / name).read_text() == (ROOT / name).read_text(), f"{name} is not roxygen's output"
        if name.startswith("man/"):
            assert (ROOT / name).read_text().startswith("% Generated by roxygen2")
    res = subprocess.run([shutil.which("Rscript"), "-e", f'for (f in list.files("{ROOT / "man"}", full.names = TRUE)) '
                          'print(tools::checkRd(f))'], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "", res.stdout + res.stderr


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.r
def test_an_r_user_runs_radiogx_and_gets_the_python_results(tmp_path):
    """From R: runRadiogx() on the shipped small config streams the progress, returns a SummarizedExperiment whose
    tables equal the run's Python results, and a refused config stops with radiogx's own message."""
    import anndata as ad

    out = tmp_path / "run"
    res = _rscript(f'''
        se <- radiogx::runRadiogx(system.file("extdata", "demo_small.toml", package = "radiogx"), out = "{out}")
        stopifnot(methods::is(se, "SummarizedExperiment"))
        write.csv(radiogx::radiogxResults(se, "compare"), "{tmp_path / 'compare.csv'}", row.names = FALSE)
        write.csv(radiogx::radiogxResults(se, "masking"), "{tmp_path / 'masking.csv'}", row.names = FALSE)
        msg <- tryCatch(radiogx::runRadiogx(list(input = list(dataset = "verhaak2010"),
                                                 steps = list(train = list(dropout = 1.5)))),
                        error = function(e) conditionMessage(e))
        cat("REFUSED:", msg, "\\n")
    ''')
    assert res.returncode == 0, res.stderr[-3000:]
    assert "run: [1/" in res.stderr and "done in" in res.stdout + res.stderr  # progress streamed to the console
    assert "REFUSED: radiogx: [steps.train] dropout = 1.5: must be in [0, 1)" in res.stdout
    import pandas as pd

    adata = ad.read_h5ad(out / "results.h5ad")
    compare_r = pd.read_csv(tmp_path / "compare.csv")
    compare_py = rg.get.compare_df(adata)
    assert list(compare_r["model"]) == list(compare_py["model"])
    np_close = (compare_r["roc_auc"] - compare_py["roc_auc"]).abs().max()
    assert np_close < 1e-9, np_close
    masking_r, masking_py = pd.read_csv(tmp_path / "masking.csv"), rg.get.masking_df(adata)
    assert list(masking_r["gene_set"]) == list(masking_py["gene_set"])
    assert (masking_r["pval"] - masking_py["pval"]).abs().max() < 1e-12


@pytest.mark.r
def test_r_predicts_with_a_reference_and_reads_confidence_apart_from_the_classes(tmp_path):
    """radiogxPredict: the classes are the model's (not the confidence or abstain columns beside them), abstain is a
    logical column, and scale = "reference" takes a reference matrix; the calls equal Python's."""
    full = rg.datasets.synthetic(n_obs=160, n_vars=40, n_traits=1, kinds=["linear"], module_size=8, n_decoys=3,
                                 noise=0.3, seed=1)
    train, new = full[:100].copy(), full[100:].copy()
    model = rg.tl.train(train, "trait_0", hidden=(8,), epochs=10, patience=3, cv=3, inner_splits=1,
                        select_genes="all", seed=0)
    model.save(tmp_path / "m.pt")
    expected = rg.get.predictions_df(rg.tl.predict(new[:30].copy(), model=model, scale="reference",
                                                   reference=new[30:].copy(), copy=True)).set_index("patient")
    pd.DataFrame(np.asarray(new.X).T, index=new.var_names, columns=new.obs_names).to_csv(tmp_path / "x.csv")
    res = _rscript(f'''
        x <- as.matrix(read.csv("{tmp_path / 'x.csv'}", row.names = 1, check.names = FALSE))
        se <- SummarizedExperiment::SummarizedExperiment(list(expression = x[, 1:30]))
        out <- radiogx::radiogxPredict("{tmp_path / 'm.pt'}", se, scale = "reference", reference = x[, 31:60])
        cd <- as.data.frame(SummarizedExperiment::colData(out))
        stopifnot(identical(levels(cd$predict_trait_0), c("negative", "positive")), is.logical(cd$predict_trait_0_abstain))
        write.csv(cd, "{tmp_path / 'cd.csv'}")
        msg <- tryCatch(radiogx::radiogxPredict("{tmp_path / 'm.pt'}", se, scale = "reference"),
                        error = function(e) conditionMessage(e))
        cat("REFUSED:", msg, "\\n")
    ''')
    assert res.returncode == 0, res.stderr[-3000:]
    assert "REFUSED: scale = \"reference\" needs 'reference'" in res.stdout
    cd = pd.read_csv(tmp_path / "cd.csv", index_col=0)
    assert list(cd["predict_trait_0"]) == list(expected.loc[cd.index, "predicted"].astype(str))
    assert list(cd["predict_trait_0_abstain"]) == list(expected.loc[cd.index, "abstain"])
    np.testing.assert_allclose(cd["predict_trait_0_p_positive"], expected.loc[cd.index, "positive"], atol=1e-6)


@pytest.mark.r
def test_r_finds_an_attribution_by_the_export_s_table_not_by_its_name(tmp_path):
    """A trait named ``f5`` beside ``f5_x``: their attribution columns share a prefix, which decoding names cannot
    tell apart; ``radiogxEnrich`` reads the export's ``attributions`` table instead."""
    adata = rg.datasets.synthetic(n_obs=90, n_vars=80, n_traits=2, kinds=["linear", "linear"], module_size=10,
                                  n_decoys=4, noise=0.3, seed=2)
    adata.obs = adata.obs.rename(columns={"trait_0": "f5", "trait_1": "f5_x"})
    for trait in ("f5", "f5_x"):
        rg.tl.train(adata, trait, hidden=(16,), epochs=10, patience=3, cv=3, inner_splits=1, seed=0)
    rg.tl.saliency(adata)
    rg.io.write_r(adata, tmp_path / "se.rds")
    rg.io.write_gmt(adata.uns["synthetic"]["gene_sets"], tmp_path / "sets.gmt")
    res = _rscript(f'library(radiogx); se <- readRadiogx("{tmp_path / "se.rds"}"); '
                   f'sets <- readGmt("{tmp_path / "sets.gmt"}"); '
                   'for (t in c("f5", "f5_x")) cat(attr(radiogxEnrich(se, sets, trait = t, method = "camera", '
                   'minSize = 3L), "attribution"), "\\n"); '
                   'print(radiogxResults(se, "attributions")[, c("trait", "column")])')
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[:2] == ["saliency_f5", "saliency_f5_x"], res.stdout
