"""Imaging-trait encoding and clinical joins (rg.pp)."""

from __future__ import annotations

import csv
import logging

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import radiogx as rg

# The paper's binarisation (their code's get_gbm_data), written out independently of radiogx's own tables.
PAPER = {
    "Minimal": "Less than 1/3", "Less than 1/3": "Less than 1/3",
    "Between 1/3 and 2/3": "More than 1/3", "More than 2/3": "More than 1/3",
    "Focal": "Focal", "Multifocal or Multicentric": "non-focal",
    "expansive (T1~FLAIR)": "expansive", "mixed (T1 less than FLAIR)": "infiltrative",
    "infiltrative (T1 much smaller than FLAIR)": "infiltrative",
}
COLUMNS = {"f5": "f5.proportion.enhancing", "f6": "f6.proportion.ncet", "f7": "f7.proportion.necrosis",
           "f9": "f9.multifocal.or.multicentric", "f10": "f10.t1.flair.ratio", "f14": "f14.proportion.edema"}
POSITIVE = {"f5": "More than 1/3", "f6": "More than 1/3", "f7": "More than 1/3", "f14": "More than 1/3",
            "f9": "non-focal", "f10": "infiltrative"}


@pytest.fixture(scope="module")
def raw_vasari(data_dir):
    with open(data_dir / "vasari_demo/vasari_annotations.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {r[""]: r for r in rows}


def _cohort(patients, *, suffix="-01A"):
    rng = np.random.default_rng(0)
    return ad.AnnData(X=rng.normal(size=(len(patients), 5)).astype(np.float32),
                      obs=pd.DataFrame(index=[p + suffix for p in patients]),
                      var=pd.DataFrame(index=[f"G{i}" for i in range(5)]))


def test_encode_vasari_every_cell_against_the_raw_strings(raw_vasari):
    adata = _cohort(list(raw_vasari))  # sample barcodes: matched on the 12-character patient barcode
    rg.pp.encode_vasari(adata, rg.datasets.vasari_demo())
    n_checked = n_missing = 0
    for patient, row in raw_vasari.items():
        for feature, column in COLUMNS.items():
            got = adata.obs.loc[patient + "-01A", feature]
            raw = row[column]
            if raw in ("n/a", "indeterminate", "", "NA"):
                assert pd.isna(got), (patient, feature, raw)
                n_missing += 1
            else:
                assert got == PAPER[raw], (patient, feature, raw, got)
            n_checked += 1
    assert n_checked == 120 and n_missing == 1
    for feature, positive in POSITIVE.items():
        assert list(adata.obs[feature].cat.categories)[1] == positive
        assert adata.uns["vasari"]["params"]["positive_class"][feature] == positive
    assert adata.uns["vasari"]["counts"]["f10"]["missing_answer"] == 1
    assert adata.uns["vasari"]["counts"]["f10"]["encoded"] == 19


def test_encode_vasari_ordinal_keeps_levels(raw_vasari):
    adata = _cohort(list(raw_vasari))
    rg.pp.encode_vasari(adata, rg.datasets.vasari_demo(), scheme="ordinal")
    assert adata.obs["f5"].cat.ordered
    assert list(adata.obs["f5"].cat.categories) == ["Minimal", "Less than 1/3", "Between 1/3 and 2/3", "More than 2/3"]
    assert adata.obs.loc["TCGA-06-0174-01A", "f7"] == "Between 1/3 and 2/3"
    assert adata.obs.loc["TCGA-76-6193-01A", "f10"] == "mixed"
    assert adata.obs.loc["TCGA-76-6193-01A", "f10"] > "expansive"


def test_encode_vasari_logs_missing_and_copy_leaves_input(raw_vasari, caplog):
    adata = _cohort([*list(raw_vasari)[:5], "TCGA-99-9999"], suffix="")
    before = adata.obs.copy()
    with caplog.at_level(logging.INFO, logger="radiogx"):
        out = rg.pp.encode_vasari(adata, rg.datasets.vasari_demo(), copy=True)
    pd.testing.assert_frame_equal(adata.obs, before)
    assert "vasari" not in adata.uns
    assert pd.isna(out.obs.loc["TCGA-99-9999", "f5"])
    assert "1 of 6 patients have no VASARI annotation" in caplog.text
    assert "'n/a'/indeterminate/blank" in caplog.text


def test_encode_vasari_refuses_to_overwrite(raw_vasari):
    adata = _cohort(list(raw_vasari))
    rg.pp.encode_vasari(adata, rg.datasets.vasari_demo())
    with pytest.raises(ValueError, match="already has.*overwrite=True"):
        rg.pp.encode_vasari(adata, rg.datasets.vasari_demo())
    rg.pp.encode_vasari(adata, rg.datasets.vasari_demo(), scheme="ordinal", overwrite=True)
    assert adata.obs["f5"].cat.ordered


def test_volumetric_traits_on_real_volumes(verhaak):
    vol = rg.datasets.tcga_gbm_volumetrics()
    adata = verhaak.copy()
    rg.pp.volumetric_traits(adata, vol)  # continuous fractions by default
    both = adata.obs_names.intersection(vol.index)
    assert len(both) == 48
    fraction = vol.loc[both, "VOLUME_ET"] / vol.loc[both, "VOLUME_WT"]
    np.testing.assert_allclose(adata.obs.loc[both, "enhancing"], fraction)
    # VASARI's shares of the whole abnormality: they sum to 1, and no two are mirror images (ET / TC and NET / TC were)
    ratios = adata.obs.loc[both, ["enhancing", "ncet_necrosis", "edema"]]
    np.testing.assert_allclose(ratios.sum(axis=1), 1.0)
    assert abs(np.corrcoef(ratios["enhancing"], ratios["ncet_necrosis"])[0, 1]) < 0.5
    assert adata.obs["enhancing"].dtype == float and "enhancing_fraction" not in adata.obs
    assert adata.uns["volumetric_traits"]["counts"]["edema"]["n"] == 48
    adata = verhaak.copy()
    rg.pp.volumetric_traits(adata, vol, threshold=1 / 3)
    np.testing.assert_allclose(adata.obs.loc[both, "enhancing_fraction"], fraction)
    expected = np.where(fraction > 1 / 3, "More than 1/3", "Less than 1/3")
    assert (adata.obs.loc[both, "enhancing"].astype(str).to_numpy() == expected).all()
    edema = vol.loc[both, "VOLUME_ED"] / vol.loc[both, "VOLUME_WT"]
    assert (adata.obs.loc[both, "edema"].astype(str).to_numpy() == np.where(edema > 1 / 3, "More than 1/3", "Less than 1/3")).all()
    assert adata.obs["ncet_necrosis"].notna().sum() == 48
    assert list(adata.obs["ncet_necrosis"].cat.categories) == ["Less than 1/3", "More than 1/3"]
    assert adata.uns["volumetric_traits"]["counts"]["ncet_necrosis"]["missing"] == 173 - 48
    half = verhaak.copy()
    rg.pp.volumetric_traits(half, vol, threshold=0.5)
    assert list(half.obs["edema"].cat.categories) == ["Less than 1/2", "More than 1/2"]
    median = verhaak.copy()
    rg.pp.volumetric_traits(median, vol, threshold="median")
    counts = median.uns["volumetric_traits"]["counts"]["enhancing"]
    assert abs(counts["positive"] - counts["negative"]) <= 1 and counts["positive"] + counts["negative"] == 48
    assert median.uns["volumetric_traits"]["params"]["cuts"]["enhancing"] == pytest.approx(np.median(fraction))


def test_add_clinical_joins_by_patient(verhaak, caplog):
    clin = rg.datasets.tcga_gbm_clinical()
    adata = verhaak.copy()
    with caplog.at_level(logging.WARNING, logger="radiogx"):
        rg.pp.add_clinical(adata, clin, columns=["os_days", "os_event", "age", "gender"])
    assert "17 of 173 patients have no clinical record" in caplog.text
    shared = adata.obs_names.intersection(clin.index)
    assert len(shared) == 156
    pd.testing.assert_series_equal(adata.obs.loc[shared, "os_days"], clin.loc[shared, "os_days"], check_names=False)
    assert adata.obs["os_event"].dtype == "Int64"
    assert adata.uns["clinical"]["n_unmatched"] == 17


def test_encoded_cohort_survives_h5ad(verhaak, tmp_path):
    adata = verhaak.copy()
    rg.pp.volumetric_traits(adata, rg.datasets.tcga_gbm_volumetrics())
    rg.pp.encode_vasari(adata, rg.datasets.vasari_demo())
    rg.pp.add_clinical(adata, rg.datasets.tcga_gbm_clinical())
    adata.write_h5ad(tmp_path / "c.h5ad")
    back = ad.read_h5ad(tmp_path / "c.h5ad")
    for col in ["f5", "f10", "enhancing", "os_days", "os_event", "gender", "vital_status"]:
        pd.testing.assert_series_equal(back.obs[col], adata.obs[col], check_categorical=True)
    assert back.uns["vasari"]["params"]["positive_class"]["f9"] == "non-focal"
    np.testing.assert_array_equal(back.X, adata.X)
