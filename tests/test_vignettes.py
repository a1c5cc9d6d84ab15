"""The Python walkthrough (vignettes/walkthrough.py) runs from start to end, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anndata
import pytest

import radiogx as rg

WALKTHROUGH = Path(__file__).parents[1] / "vignettes" / "walkthrough.py"


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.r
def test_python_walkthrough_runs_to_the_r_export(tmp_path):
    env = {**os.environ, "RADIOGX_DATASETDIR": str(rg.settings.datasetdir), "RADIOGX_VIGNETTE_OUT": str(tmp_path),
           "MPLBACKEND": "Agg"}
    res = subprocess.run([sys.executable, str(WALKTHROUGH)], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "in R: 840 genes x 173 patients" in res.stdout
    for name in ("roc_subtype", "compare_subtype", "masking", "saliency_proneural", "running_score", "associations",
                 "km_gcimp", "cox_forest"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000, name
    result = anndata.read_h5ad(tmp_path / "walkthrough.h5ad")
    best = rg.get.masking_df(result, key="masking_verhaak").groupby("target", sort=False).head(1)
    own = {"Proneural": "PN", "Neural": "NL", "Classical": "CL", "Mesenchymal": "MES"}
    assert dict(zip(best["target"], best["gene_set"])) == own, "each subtype's own signature is its best masked set"
