"""Readers and writers of rg.io."""

from __future__ import annotations

import gzip

import anndata as ad

import numpy as np
import pandas as pd
import pytest

import radiogx as rg


def test_gmt_round_trip(tmp_path):
    sets = {"A": ["TP53", "EGFR"], "B": ["PTEN"]}
    rg.io.write_gmt(sets, tmp_path / "x.gmt")
    assert rg.io.read_gmt(tmp_path / "x.gmt") == sets
    rg.io.write_gmt(sets, tmp_path / "x.gmt.gz", descriptions={"A": "first"})
    assert rg.io.read_gmt(tmp_path / "x.gmt.gz") == sets
    with gzip.open(tmp_path / "x.gmt.gz", "rt") as fh:
        assert fh.readline() == "A\tfirst\tTP53\tEGFR\n"
    with pytest.raises(FileExistsError, match="overwrite=True"):
        rg.io.write_gmt(sets, tmp_path / "x.gmt")


def test_read_gmt_real_hallmark_matches_raw_lines(data_dir):
    path = data_dir / "msigdb_v7.1/h.all.v7.1.symbols.gmt"
    sets = rg.io.read_gmt(path)
    first = path.read_text().splitlines()[0].split("\t")
    assert list(sets)[0] == first[0] and sets[first[0]] == first[2:]
    assert len(sets["HALLMARK_HYPOXIA"]) == 200


def test_read_gmt_drops_repeats_within_a_set(tmp_path):
    (tmp_path / "r.gmt").write_text("S\tna\tA\tB\tA\n\nT\tna\tC\n")
    assert rg.io.read_gmt(tmp_path / "r.gmt") == {"S": ["A", "B"], "T": ["C"]}


def test_read_vasari_csv_and_xlsx_agree(data_dir, tmp_path):
    csv_table = rg.io.read_vasari(data_dir / "vasari_demo/vasari_annotations.csv")
    assert csv_table.index.name == "patient" and csv_table.index[0] == "TCGA-08-0354"
    assert csv_table.loc["TCGA-14-1401", "f10.t1.flair.ratio"] == "n/a"
    csv_table.reset_index().to_excel(tmp_path / "v.xlsx", index=False)
    xlsx_table = rg.io.read_vasari(tmp_path / "v.xlsx")
    pd.testing.assert_frame_equal(csv_table.fillna(""), xlsx_table.fillna(""), check_dtype=False)


def test_read_vasari_short_research_ids(tmp_path):
    pd.DataFrame({"research.id": ["08-0354", "14-1401"], "f5.proportion.enhancing": ["Minimal", "n/a"]}).to_csv(
        tmp_path / "v.csv", index=False)
    table = rg.io.read_vasari(tmp_path / "v.csv")
    assert list(table.index) == ["TCGA-08-0354", "TCGA-14-1401"]


def test_read_tcga_clinical_placeholders_and_types(data_dir):
    clin = rg.io.read_tcga_clinical(data_dir / "tcga_gbm_clinical/nationwidechildrens.org_clinical_patient_gbm.txt")
    assert clin.shape == (548, 38)
    assert clin.loc["TCGA-02-0001", "death_days_to"] == 358
    assert pd.api.types.is_numeric_dtype(clin["death_days_to"])
    assert pd.isna(clin.loc["TCGA-02-0001", "ecog_score"])  # "[Not Available]"
    text = clin.select_dtypes(exclude="number").astype(str)
    assert not text.apply(lambda c: c.str.startswith("[")).any().any()


@pytest.mark.parametrize("suffix,sep", [(".tsv", "\t"), (".csv", ","), (".txt.gz", "\t")])
def test_read_expression_formats_and_orientation(tmp_path, suffix, sep):
    frame = pd.DataFrame(np.arange(12, dtype=float).reshape(4, 3), index=["G1", "G2", "G3", "G4"],
                         columns=["TCGA-02-0001-01A", "TCGA-02-0003-01A", "TCGA-02-0006-01A"])
    path = tmp_path / f"e{suffix}"
    frame.to_csv(path, sep=sep)
    adata = rg.io.read_expression(path)
    assert adata.shape == (3, 4) and list(adata.var_names) == ["G1", "G2", "G3", "G4"]
    np.testing.assert_array_equal(adata.X, frame.T.to_numpy(dtype=np.float32))
    frame.T.to_csv(tmp_path / f"t{suffix}", sep=sep)  # samples x genes, detected from the sample ids
    np.testing.assert_array_equal(rg.io.read_expression(tmp_path / f"t{suffix}").X, adata.X)


def test_read_expression_gct(tmp_path):
    body = "#1.2\n2\t2\nName\tDescription\tS1\tS2\nTP53\tna\t1.5\t2.5\nEGFR\tna\t3\t4\n"
    (tmp_path / "e.gct").write_text(body)
    adata = rg.io.read_expression(tmp_path / "e.gct")
    assert list(adata.obs_names) == ["S1", "S2"] and list(adata.var_names) == ["TP53", "EGFR"]
    np.testing.assert_array_equal(adata.X, np.array([[1.5, 3], [2.5, 4]], dtype=np.float32))


@pytest.mark.parametrize(
    "rule,expected",
    [("max_mean", [[5, 6], [1, 1]]), ("mean", [[3, 4], [1, 1]]), ("first", [[1, 2], [1, 1]])],
)
def test_read_expression_duplicate_rules(tmp_path, rule, expected):
    pd.DataFrame({"S1": [1, 1, 5], "S2": [2, 1, 6]}, index=["TP53", "EGFR", "TP53"]).to_csv(tmp_path / "d.tsv", sep="\t")
    adata = rg.io.read_expression(tmp_path / "d.tsv", orientation="genes_x_samples", duplicates=rule)
    assert list(adata.var_names) == ["TP53", "EGFR"]
    np.testing.assert_array_equal(adata.X.T, np.array(expected, dtype=np.float32))
    assert adata.uns["read_expression"]["duplicate_rows_dropped"] == 1


def test_outputs_survive_h5ad(tmp_path, data_dir):
    adata = rg.io.read_expression(data_dir / "cancersubtypes_tcga_gbm/GeneExp_1500genes_x_100patients.csv")
    adata.write_h5ad(tmp_path / "e.h5ad")
    back = ad.read_h5ad(tmp_path / "e.h5ad")
    np.testing.assert_array_equal(back.X, adata.X)
    assert back.uns["read_expression"]["orientation"] == "genes_x_samples"
