"""Python and R read and write the same gene-set files (R through rpy2, the direction radiogx supports)."""

from __future__ import annotations

from pathlib import Path

import pytest

import radiogx as rg

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def r():
    from rpy2 import robjects

    robjects.r["source"](str(ROOT / "R" / "readGmt.R"))
    return robjects


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
