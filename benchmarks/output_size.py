"""Outputs at scale: the results ``.h5ad`` and the R export of radiogx 0.5 against today's, in one run.

On the ``results.h5ad`` of a run (``benchmarks/pipeline.py`` writes one of the paper's size) or, without one, a
synthetic cohort of the paper's size with 12 float32 attribution layers: the time and size of

- the ``.h5ad``: uncompressed (radiogx 0.5) against gzip-compressed (``radiogx run`` today);
- the R export: radiogx 0.5's (the AnnData converted to a SingleCellExperiment by anndata2ri, coerced to a
  SummarizedExperiment, ``saveRDS``) against ``rg.io.write_r``'s two forms, assays in memory (one ``.rds``) and in
  HDF5 beside it (the default at this size), and the time R takes to read each back (``readRadiogx`` and one
  attribution layer's column means, which an HDF5 export computes block by block from disk).

    python benchmarks/output_size.py [RESULTS.h5ad] [--out DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

import radiogx as rg
from radiogx.io._r_export import result_tables
from radiogx.io._rpy2 import import_rpy2

ROOT = Path(__file__).resolve().parents[1]


def _export_0_5(adata, path: Path) -> None:
    """radiogx 0.5's ``write_r``: anndata2ri's SingleCellExperiment, coerced, then ``saveRDS``."""
    ro = import_rpy2()
    import anndata2ri
    from rpy2.robjects.conversion import localconverter

    bare = ad.AnnData(X=adata.X, obs=pd.DataFrame(index=adata.obs_names), var=pd.DataFrame(index=adata.var_names),
                      layers=dict(adata.layers))
    tables = result_tables(adata)
    with localconverter(anndata2ri.converter):
        sce = ro.conversion.get_conversion().py2rpy(bare)
        r_tables = {n: ro.conversion.get_conversion().py2rpy(df.reset_index(drop=True)) for n, (df, _) in tables.items()}
        r_obs = ro.conversion.get_conversion().py2rpy(adata.obs)
        r_var = ro.conversion.get_conversion().py2rpy(adata.var)
    build = ro.r('''function(sce, tables, obs, var) {
        se <- methods::as(sce, "SummarizedExperiment")
        # a table without columns arrives without rows: nothing to set (the synthetic cohort's var)
        if (ncol(obs)) SummarizedExperiment::colData(se) <- S4Vectors::DataFrame(obs, check.names = FALSE)
        if (ncol(var)) SummarizedExperiment::rowData(se) <- S4Vectors::DataFrame(var, check.names = FALSE)
        S4Vectors::metadata(se) <- list(radiogx_version = "0.5.0", tables = tables)
        se }''')
    se = build(sce, ro.ListVector(r_tables) if r_tables else ro.r("list()"), r_obs, r_var)
    ro.r["saveRDS"](se, str(path))


def _read_in_r(path: Path, layer: str) -> float:
    """Seconds R takes (a fresh Rscript) to read the export and take one layer's column means."""
    code = (f"suppressMessages({{source('{ROOT / 'R' / 'readRadiogx.R'}'); library(SummarizedExperiment)}}); "
            f"t <- proc.time(); se <- readRadiogx('{path}'); m <- colMeans(assay(se, '{layer}'), na.rm = TRUE); "
            "cat((proc.time() - t)[['elapsed']])")
    res = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=True)
    return float(res.stdout.strip().splitlines()[-1])


def _size(*paths: Path) -> float:
    return sum(p.stat().st_size for p in paths if p.exists()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rg.settings.progress = False
    if args.results:
        adata = ad.read_h5ad(args.results)
    else:
        adata = rg.datasets.synthetic(n_obs=528, n_vars=12042, n_traits=1, seed=0)
        rng = np.random.default_rng(0)
        for i in range(12):
            layer = rng.normal(size=adata.shape).astype(np.float32)
            layer[:, rng.random(adata.n_vars) < 0.3] = np.nan
            adata.layers[f"attribution_{i}"] = layer
    out = Path(args.out or tempfile.mkdtemp(prefix="radiogx_outputs_"))
    out.mkdir(parents=True, exist_ok=True)
    layers = list(adata.layers)
    values = sum(int(np.prod(v.shape)) for v in [adata.X, *adata.layers.values()])
    print(f"{adata.n_obs} x {adata.n_vars}, {len(layers)} layers ({values / 1e6:.0f} M values in the assays)")
    rows = []

    def timed(label, func, *paths):
        start = time.perf_counter()
        func()
        rows.append((label, time.perf_counter() - start, _size(*paths)))

    timed(".h5ad uncompressed (radiogx 0.5)", lambda: adata.write_h5ad(out / "plain.h5ad"), out / "plain.h5ad")
    timed(".h5ad gzip (today)", lambda: adata.write_h5ad(out / "gzip.h5ad", compression="gzip"), out / "gzip.h5ad")
    timed("R export, SingleCellExperiment detour (radiogx 0.5)", lambda: _export_0_5(adata, out / "old.rds"),
          out / "old.rds")
    timed("R export, assays in memory (today)",
          lambda: rg.io.write_r(adata, out / "memory.rds", assays="memory", overwrite=True), out / "memory.rds")
    timed("R export, assays in HDF5 (today)",
          lambda: rg.io.write_r(adata, out / "hdf5.rds", assays="hdf5", overwrite=True),
          out / "hdf5.rds", out / "hdf5_assays.h5")
    print(f"\n{'output':<52} {'seconds':>8} {'MiB':>8}")
    for label, secs, mib in rows:
        print(f"{label:<52} {secs:>8.1f} {mib:>8.0f}")
    (h_old, h_new), (r_old, r_mem, r_h5) = rows[:2], rows[2:]
    print(f"\n.h5ad: gzip {h_old[2] / h_new[2]:.1f}x smaller, {h_new[1] / h_old[1]:.1f}x the time")
    print(f"R export: HDF5 {r_old[1] / r_h5[1]:.1f}x faster and {r_old[2] / r_h5[2]:.1f}x smaller than radiogx 0.5; "
          f"in memory {r_old[1] / r_mem[1]:.1f}x faster and {r_old[2] / r_mem[2]:.1f}x smaller")
    if layers:
        reads = {name: _read_in_r(out / f"{name}.rds", layers[0]) for name in ("memory", "hdf5")}
        print(f"R reads the export and one layer's column means: in memory {reads['memory']:.1f} s, "
              f"HDF5 {reads['hdf5']:.1f} s")


if __name__ == "__main__":
    main()
