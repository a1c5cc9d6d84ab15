"""The radiogx command, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import radiogx as rg

EXE = Path(sys.executable).with_name("radiogx")


def _run(*args, env=None):
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "radiogx.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, timeout=300)


def test_version():
    out = _run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"radiogx {rg.__version__}"


@pytest.mark.data
def test_demo_summarises_the_real_cohorts():
    env = {**os.environ, "RADIOGX_DATASETDIR": str(rg.settings.datasetdir)}
    out = _run("demo", "--skip-models", env=env)
    assert out.returncode == 0, out.stderr
    assert "verhaak2010        173 x 840 Classical 38, Mesenchymal 56, Neural 26, Proneural 53" in out.stdout
    assert "tcga_gbm_clinical     548 patients" in out.stdout
    assert "gene_sets('ivygap')          21 sets" in out.stdout
    assert "survival joined for 156 of 173 patients" in out.stdout


def test_demo_without_data_says_what_to_set(tmp_path):
    env = {**os.environ, "RADIOGX_DATASETDIR": str(tmp_path)}
    out = _run("--quiet", "demo", env=env)
    assert out.returncode == 2
    assert "RADIOGX_DATASETDIR" in out.stderr and str(tmp_path) in out.stderr
