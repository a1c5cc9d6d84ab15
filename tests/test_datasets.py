"""Real-data loaders: the counts the foundation issue names, checked on the files in ../shared/data."""

from __future__ import annotations

import csv
import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest

import radiogx as rg
from radiogx.datasets import _fetch


def test_verhaak2010_shape_subtypes_and_signatures(verhaak):
    assert verhaak.shape == (173, 840)
    assert verhaak.obs["subtype"].value_counts().to_dict() == {
        "Proneural": 53, "Neural": 26, "Classical": 38, "Mesenchymal": 56,
    }
    assert verhaak.var["signature"].value_counts().to_dict() == {"PN": 178, "NL": 129, "CL": 162, "MES": 216}
    assert int(verhaak.var["signature"].isna().sum()) == 155
    assert all(len(p) == 12 and p.startswith("TCGA-") for p in verhaak.obs_names)
    assert verhaak.obs_names.is_unique
    assert verhaak.X.dtype == np.float32 and np.isfinite(verhaak.X).all()


def test_verhaak2010_values_match_the_raw_file(verhaak, data_dir):
    with open(data_dir / "verhaak2010/TCGA_unified_CORE_ClaNC840.txt") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    header, subtypes, cdkn1b = rows[0], rows[1], rows[2]
    assert cdkn1b[0] == "CDKN1B" and verhaak.var_names[0] == "CDKN1B"
    np.testing.assert_allclose(verhaak[:, "CDKN1B"].X.ravel(), np.array(cdkn1b[2:], dtype=np.float32))
    assert list(verhaak.obs["sample_barcode"]) == header[2:]
    assert list(verhaak.obs["subtype"].astype(str)) == subtypes[2:]


@pytest.mark.data
def test_gene_set_collections_sizes():
    assert len(rg.datasets.gene_sets("hallmark")) == 50
    assert len(rg.datasets.gene_sets("hallmark_v6.2")) == 50
    assert len(rg.datasets.gene_sets("verhaak")) == 4
    ivy = rg.datasets.gene_sets("ivygap")
    assert len(ivy) == 21
    assert all(11 <= len(g) <= 53 for g in ivy.values())
    assert "na" not in {g for genes in ivy.values() for g in genes}
    assert len(rg.datasets.gene_sets("reactome")) == 1738
    assert len(rg.datasets.gene_sets("go_bp")) == 7530


def test_verhaak_gene_sets_are_the_signatures(verhaak):
    sets = rg.datasets.gene_sets("verhaak")
    assert {k: len(v) for k, v in sets.items()} == {"PN": 178, "NL": 129, "CL": 162, "MES": 216}
    assert set(sets["MES"]) == set(verhaak.var_names[verhaak.var["signature"] == "MES"])
    assert set(rg.datasets.VERHAAK_SIGNATURES.values()) == set(sets)


def test_tcga_gbm_clinical_os_matches_the_whole_file(data_dir):
    clin = rg.datasets.tcga_gbm_clinical()
    assert len(clin) == 548
    assert clin.index.is_unique
    with open(data_dir / "tcga_gbm_clinical/nationwidechildrens.org_clinical_patient_gbm.txt") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    names = rows[0]
    raw = [dict(zip(names, r)) for r in rows[3:] if r]
    assert len(raw) == 548
    n_dead = n_alive = 0
    for r in raw:
        got = clin.loc[r["bcr_patient_barcode"]]
        if r["vital_status"] == "Dead":
            n_dead += 1
            assert got["os_event"] == 1
            expected = r["death_days_to"]
        elif r["vital_status"] == "Alive":
            n_alive += 1
            assert got["os_event"] == 0
            expected = r["last_contact_days_to"]
        else:  # vital status not recorded: no endpoint
            assert pd.isna(got["os_event"]) and pd.isna(got["os_days"])
            continue
        if expected.startswith("["):
            assert pd.isna(got["os_days"])
        else:
            assert got["os_days"] == float(expected)
    assert (n_dead, n_alive) == (411, 135)
    assert clin["age"].between(10, 90).all()
    assert set(clin["gender"].dropna().unique()) == {"female", "male"}
    assert clin["kps"].dropna().between(0, 100).all()


@pytest.mark.data
def test_tcga_glioma_subtypes_gbm_rows():
    sub = rg.datasets.tcga_glioma_subtypes()
    assert len(sub) == 606
    assert int(sub["gcimp"].sum()) == 39
    assert set(sub["idh"].dropna()) == {"WT", "Mutant"}
    assert set(sub["mgmt"].dropna()) == {"Methylated", "Unmethylated"}


@pytest.mark.data
def test_volumetrics_vasari_and_external_cohorts():
    vol = rg.datasets.tcga_gbm_volumetrics()
    assert len(vol) == 97 and (vol["Histology"] == "glioblastoma").all()
    fractal = rg.datasets.tcga_glioma_fractal()
    assert fractal.shape == (159, 42) and (fractal.dtypes == float).all()
    adata = rg.datasets.verhaak2010()
    rg.pp.add_clinical(adata, fractal, columns=["et_mean3dfd"])  # a radiomic feature, a continuous trait
    assert adata.obs["et_mean3dfd"].notna().sum() == 48
    assert rg._traits.trait_task(adata.obs["et_mean3dfd"]) == "regression"
    assert rg.datasets.vasari_demo().shape == (20, 10)
    ph = rg.datasets.phillips2006()
    assert ph.shape == (100, 12703)
    assert ph[ph.obs["Histology"] == "GBM"].obs["Subtype.svm"].value_counts().to_dict() == {
        "Proneural": 26, "Classical": 26, "Mesenchymal": 24}
    assert ph.obs["os_event"].dtype == "Int64"
    cs = rg.datasets.cancersubtypes_gbm()
    assert cs.shape == (100, 1500) and cs.obs["os_days"].notna().all()
    ic = rg.datasets.iclusterplus_gbm()
    assert ic.shape == (84, 1740) and ic.obsm["mutations"].shape == (84, 306)
    assert rg.datasets.freije2004().shape == (85, 12713)


def test_unknown_gene_set_collection():
    with pytest.raises(ValueError, match="unknown gene-set collection 'kegg'.*hallmark"):
        rg.datasets.gene_sets("kegg")


# fetch: verification, download, and the error a user sees ---------------------------------------------------------

def _registry_entry(monkeypatch, tmp_path, *, url):
    src = tmp_path / "source" / "toy.txt"
    src.parent.mkdir()
    src.write_text("toy data\n")
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    entry = _fetch.DataFile("toy/toy.txt", sha, url(src), "a toy source")
    monkeypatch.setitem(_fetch.REGISTRY, "toy/toy.txt", entry)
    return src, entry


def test_fetch_downloads_verifies_and_reuses(monkeypatch, tmp_path):
    src, _ = _registry_entry(monkeypatch, tmp_path, url=lambda p: p.as_uri())
    rg.settings.datasetdir = tmp_path / "data"
    path = _fetch.fetch("toy/toy.txt")
    assert path == tmp_path / "data" / "toy" / "toy.txt" and path.read_text() == "toy data\n"
    assert not list(path.parent.glob("*.part"))
    src.unlink()  # second call needs no source: the verified copy is used
    assert _fetch.fetch("toy/toy.txt") == path


def test_fetch_replaces_a_damaged_copy(monkeypatch, tmp_path):
    _registry_entry(monkeypatch, tmp_path, url=lambda p: p.as_uri())
    rg.settings.datasetdir = tmp_path / "data"
    (tmp_path / "data" / "toy").mkdir(parents=True)
    (tmp_path / "data" / "toy" / "toy.txt").write_text("damaged\n")
    assert _fetch.fetch("toy/toy.txt").read_text() == "toy data\n"


def test_fetch_error_names_file_folder_and_setting(monkeypatch, tmp_path):
    _registry_entry(monkeypatch, tmp_path, url=lambda p: (p.parent / "missing.txt").as_uri())
    rg.settings.datasetdir = tmp_path / "data"
    with pytest.raises(FileNotFoundError) as err:
        _fetch.fetch("toy/toy.txt")
    msg = str(err.value)
    assert "toy/toy.txt" in msg and str(tmp_path / "data") in msg
    assert "rg.settings.datasetdir" in msg and "RADIOGX_DATASETDIR" in msg and "failed" in msg


def test_fetch_rejects_a_download_with_the_wrong_checksum(monkeypatch, tmp_path):
    src, entry = _registry_entry(monkeypatch, tmp_path, url=lambda p: p.as_uri())
    monkeypatch.setitem(_fetch.REGISTRY, "toy/toy.txt", _fetch.DataFile(entry.path, "0" * 64, entry.url, entry.source))
    rg.settings.datasetdir = tmp_path / "data"
    with pytest.raises(FileNotFoundError, match="sha256"):
        _fetch.fetch("toy/toy.txt")
    assert not (tmp_path / "data" / "toy" / "toy.txt").exists()


def test_loader_without_download_explains_where_the_file_comes_from(tmp_path):
    rg.settings.datasetdir = tmp_path
    with pytest.raises(FileNotFoundError, match="no direct public download.*SOURCE.txt.*RADIOGX_DATASETDIR"):
        rg.datasets.phillips2006()


def test_registry_checksums_match_the_shared_files(data_dir):
    for name, entry in _fetch.REGISTRY.items():
        assert hashlib.sha256((data_dir / name).read_bytes()).hexdigest() == entry.sha256, name


def test_loader_refuses_a_changed_copy(tmp_path, data_dir):
    shutil.copytree(data_dir / "vasari_demo", tmp_path / "vasari_demo")
    target = tmp_path / "vasari_demo" / "vasari_annotations.csv"
    target.chmod(0o644)
    target.write_text(target.read_text().replace("Focal", "Focal ", 1))
    rg.settings.datasetdir = tmp_path
    # the registered URL is unreachable here, or replaces the copy: either way no changed data are returned silently
    try:
        table = rg.datasets.vasari_demo()
    except FileNotFoundError as err:
        assert "sha256" in str(err)
    else:
        assert hashlib.sha256(target.read_bytes()).hexdigest() == _fetch.REGISTRY["vasari_demo/vasari_annotations.csv"].sha256
        assert table.shape == (20, 10)
