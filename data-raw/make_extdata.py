"""Rebuild the R package's example data in inst/extdata from the real data bundled with radiogx.

    RADIOGX_DATASETDIR=../shared/data .venv/bin/python data-raw/make_extdata.py

Writes verhaak_small.h5ad (the 173 Verhaak 2010 TCGA-GBM patients x 80 classifier genes, 20 per subtype signature,
with TCGA survival, age, gender and G-CIMP), verhaak_signatures.gmt (the four signatures, restricted to those 80
genes) and radiogx_small.rds (the R export of `radiogx run inst/extdata/demo_small.toml`). Deterministic: the same
data and radiogx version give the same files (the .rds up to its R serialisation header).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

import radiogx as rg

EXTDATA = Path(__file__).resolve().parent.parent / "inst" / "extdata"


def small_cohort():
    adata = rg.datasets.verhaak2010()
    keep = []
    for signature in sorted(adata.var["signature"].dropna().unique()):
        genes = adata.var_names[adata.var["signature"] == signature]
        variance = np.asarray(adata[:, genes].X).var(axis=0)
        keep += list(genes[np.argsort(-variance, kind="stable")[:20]])
    small = adata[:, sorted(keep)].copy()
    rg.pp.add_clinical(small, rg.datasets.tcga_gbm_clinical(), columns=["os_days", "os_event", "age", "gender"])
    rg.pp.add_clinical(small, rg.datasets.tcga_glioma_subtypes(), columns=["gcimp"])
    small.uns = {}
    return small


def main() -> None:
    EXTDATA.mkdir(parents=True, exist_ok=True)
    small = small_cohort()
    small.write_h5ad(EXTDATA / "verhaak_small.h5ad", compression="gzip")
    sets = rg.datasets.gene_sets("verhaak")
    with open(EXTDATA / "verhaak_signatures.gmt", "w") as fh:
        for name, genes in sets.items():
            kept = [g for g in genes if g in set(small.var_names)]
            fh.write("\t".join([name, "Verhaak et al. 2010 signature, genes of verhaak_small.h5ad", *kept]) + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        rg.workflow.run(EXTDATA / "demo_small.toml", out=tmp, n_jobs=1)
        shutil.copy(Path(tmp) / "results.rds", EXTDATA / "radiogx_small.rds")
    for f in sorted(EXTDATA.iterdir()):
        print(f"{f.name}: {f.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
