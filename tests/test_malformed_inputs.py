"""Malformed inputs: each gives a clear error (naming what is wrong and the fix) and leaves its input unchanged."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import radiogx as rg


def _adata(names=("TCGA-02-0001", "TCGA-02-0003", "TCGA-02-0006")):
    return ad.AnnData(X=np.arange(len(names) * 3, dtype=np.float32).reshape(len(names), 3),
                      obs=pd.DataFrame({"kept": np.arange(len(names))}, index=list(names)),
                      var=pd.DataFrame(index=["G1", "G2", "G3"]))


def _vasari(**cols):
    base = {"f5.proportion.enhancing": ["Minimal", "More than 2/3", "n/a"]}
    base.update(cols)
    return pd.DataFrame(base, index=pd.Index(["TCGA-02-0001", "TCGA-02-0003", "TCGA-02-0006"], name="patient"))


def _snapshot(adata):
    return adata.X.copy(), adata.obs.copy(), dict(adata.uns), list(adata.obs_names), list(adata.var_names)


def _unchanged(adata, snap):
    x, obs, uns, obs_names, var_names = snap
    np.testing.assert_array_equal(adata.X, x)
    pd.testing.assert_frame_equal(adata.obs, obs)
    assert dict(adata.uns) == uns and list(adata.obs_names) == obs_names and list(adata.var_names) == var_names


ADATA_CASES = [
    # (id, build adata, call, error type, message pattern)
    ("unknown VASARI answer", _adata, lambda a: rg.pp.encode_vasari(a, _vasari(**{"f5.proportion.enhancing": ["Minimal", "Lots", "n/a"]})),
     ValueError, r"column 'f5.proportion.enhancing' has the unknown answer 'Lots' for patient TCGA-02-0003"),
    ("no VASARI feature column", _adata, lambda a: rg.pp.encode_vasari(a, pd.DataFrame({"size": ["big"] * 3}, index=_vasari().index)),
     ValueError, r"no VASARI feature column found.*'f5.proportion.enhancing'"),
    ("VASARI table repeats a patient", _adata,
     lambda a: rg.pp.encode_vasari(a, pd.DataFrame({"f5": ["Minimal", "Minimal"]}, index=["TCGA-02-0001", "TCGA-02-0001"])),
     ValueError, r"repeats patients \['TCGA-02-0001'\]"),
    ("two columns for one feature", _adata,
     lambda a: rg.pp.encode_vasari(a, _vasari(**{"f5_enhancing": ["Minimal"] * 3})), ValueError, r"two columns hold VASARI f5"),
    ("unknown scheme", _adata, lambda a: rg.pp.encode_vasari(a, _vasari(), scheme="binary"),
     ValueError, r"scheme must be 'paper' or 'ordinal', got 'binary'"),
    ("two samples of one patient", lambda: _adata(("TCGA-02-0001-01A", "TCGA-02-0001-02A", "TCGA-02-0006")),
     lambda a: rg.pp.encode_vasari(a, _vasari()), ValueError, r"duplicated patients in adata.obs_names.*TCGA-02-0001"),
    ("empty AnnData", lambda: ad.AnnData(np.zeros((0, 3), dtype=np.float32)),
     lambda a: rg.pp.encode_vasari(a, _vasari()), ValueError, r"adata is empty \(0 patients x 3 genes\)"),
    ("clinical repeats a patient", _adata,
     lambda a: rg.pp.add_clinical(a, pd.DataFrame({"age": [50, 60]}, index=["TCGA-02-0001", "TCGA-02-0001-01A"])),
     ValueError, r"duplicated patients in the clinical table.*TCGA-02-0001"),
    ("clinical column that does not exist", _adata,
     lambda a: rg.pp.add_clinical(a, pd.DataFrame({"age": [50]}, index=["TCGA-02-0001"]), columns=["os_days"]),
     ValueError, r"columns \['os_days'\].*are not in the clinical table"),
    ("clinical column clashes with obs", _adata,
     lambda a: rg.pp.add_clinical(a, pd.DataFrame({"kept": [1]}, index=["TCGA-02-0001"])),
     ValueError, r"adata.obs already has \['kept'\].*overwrite=True"),
    ("clinical given as a dict", _adata, lambda a: rg.pp.add_clinical(a, {"age": [1, 2, 3]}),
     TypeError, r"clinical must be a DataFrame indexed by patient, got dict"),
    ("volumes without VOLUME_WT", _adata,
     lambda a: rg.pp.volumetric_traits(a, pd.DataFrame({"VOLUME_ET": [1.0]}, index=["TCGA-02-0001"])),
     ValueError, r"the table lacks \['VOLUME_ED', 'VOLUME_NET', 'VOLUME_WT'\]"),
    ("negative volume", _adata,
     lambda a: rg.pp.volumetric_traits(a, pd.DataFrame({c: [-1.0] for c in ["VOLUME_ET", "VOLUME_NET", "VOLUME_ED", "VOLUME_TC", "VOLUME_WT"]},
                                                       index=["TCGA-02-0001"])),
     ValueError, r"negative volumes for patients \['TCGA-02-0001'\]"),
    ("threshold outside (0, 1)", _adata,
     lambda a: rg.pp.volumetric_traits(a, pd.DataFrame({c: [1.0] for c in ["VOLUME_ET", "VOLUME_NET", "VOLUME_ED", "VOLUME_TC", "VOLUME_WT"]},
                                                       index=["TCGA-02-0001"]), threshold=1.5),
     ValueError, r"threshold must be None \(continuous fractions\), 'median' or a fraction strictly between 0 and 1, got 1.5"),
    ("a DataFrame instead of an AnnData", lambda: pd.DataFrame({"G1": [1.0]}),
     lambda a: rg.pp.encode_vasari(a, _vasari()), TypeError, r"adata must be an AnnData \(patients x genes\), got DataFrame"),
]


@pytest.mark.parametrize("make,call,exc,match", [c[1:] for c in ADATA_CASES], ids=[c[0] for c in ADATA_CASES])
def test_bad_input_to_pp_is_refused_and_adata_unchanged(make, call, exc, match):
    adata = make()
    snap = _snapshot(adata) if isinstance(adata, ad.AnnData) else adata.copy()
    with pytest.raises(exc, match=match):
        call(adata)
    if isinstance(adata, ad.AnnData):
        _unchanged(adata, snap)
    else:
        pd.testing.assert_frame_equal(adata, snap)


FILE_CASES = [
    ("GMT set without genes", "x.gmt", "S1\tna\tA\nS2\tna\n", rg.io.read_gmt, r"line 2: gene set 'S2' lists no genes"),
    ("GMT set named twice", "x.gmt", "S1\tna\tA\nS1\tna\tB\n", rg.io.read_gmt, r"line 2: gene set 'S1' appears twice"),
    ("Biotab without its CDE row", "c.txt", "bcr_patient_barcode\tage\nTCGA-02-0001\t50\n", rg.io.read_tcga_clinical,
     r"not a TCGA Biotab file"),
    ("VASARI table without patient ids", "v.csv", "who,f5\nx,Minimal\n", rg.io.read_vasari, r"cannot find the patient id column.*patient_col="),
    ("expression with a text cell", "e.tsv", "gene\tS1\tS2\nG1\t1.0\thigh\nG2\t2.0\t3.0\n", rg.io.read_expression,
     r"column 'S2' holds non-numeric values such as \['high'\]"),
    ("expression with a missing value", "e.tsv", "gene\tS1\tS2\nG1\t1.0\t\nG2\t2.0\t3.0\n", rg.io.read_expression,
     r"1 missing or infinite values, the first for gene 'G1' in sample 'S2'"),
    ("expression with duplicated samples", "e.csv", "gene,S1,S1\nG1,1,2\nG2,3,4\nG3,5,6\n", rg.io.read_expression,
     r"duplicated column names in e.csv: \['S1'\]"),
    ("expression file with no values", "e.tsv", "gene\n", rg.io.read_expression, r"holds no expression values"),
    ("VASARI in an unknown format", "v.json", "{}", rg.io.read_vasari, r"reads .csv, .tsv, .txt or .xlsx files, got 'v.json'"),
]


@pytest.mark.parametrize("name,text,reader,match", [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_bad_files_are_refused_and_left_alone(tmp_path, name, text, reader, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        reader(path)
    assert path.read_text() == text


def test_duplicate_genes_can_be_refused(tmp_path):
    (tmp_path / "d.tsv").write_text("gene\tS1\tS2\nTP53\t1\t2\nTP53\t3\t4\nEGFR\t5\t6\n")
    with pytest.raises(ValueError, match=r"duplicated gene symbols \['TP53'\].*duplicates='max_mean'"):
        rg.io.read_expression(tmp_path / "d.tsv", duplicates="error")


def test_write_gmt_refuses_empty_sets_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="gene set 'B' is empty"):
        rg.io.write_gmt({"A": ["X"], "B": []}, tmp_path / "o.gmt")
    assert not (tmp_path / "o.gmt").exists()


@pytest.mark.parametrize(
    "attr,value,match",
    [("verbosity", 7, "verbosity must be an integer 0-3"), ("n_jobs", 0, "n_jobs must be a positive integer or -1"),
     ("device", "tpu", "device must be 'auto', 'cpu', 'cuda'"), ("seed", -1, "seed must be a non-negative integer")],
)
def test_bad_settings_are_refused(attr, value, match):
    before = getattr(rg.settings, attr)
    with pytest.raises(ValueError, match=match):
        setattr(rg.settings, attr, value)
    assert getattr(rg.settings, attr) == before
