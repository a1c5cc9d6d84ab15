"""A run's outputs: ``results.h5ad``, ``results.rds``, tidy TSV tables, figures and ``report.html``, each atomic."""

from __future__ import annotations

import json
from pathlib import Path

import anndata
from anndata import AnnData

from .._logging import logger
from ._report import render_report, save_figures
from ._run_info import run_info
from .._atomic import atomic_path

__all__ = ["RESULTS", "read_results", "write_outputs"]

#: The results file of a run, in its output folder.
RESULTS = "results.h5ad"


def write_outputs(adata: AnnData, out: Path, outputs: dict) -> None:
    """Write what ``[outputs]`` asks for into ``out``; the report is rendered from the written results."""
    from .. import io
    from ..get import result_tables

    if outputs["h5ad"] or outputs["report"]:
        with atomic_path(out / RESULTS) as tmp:  # gzip: per-patient attribution layers compress (zeros, NaN)
            adata.write_h5ad(tmp, compression="gzip")
        logger.info(f"run: results -> {out / RESULTS}")
    if outputs["tables"]:
        tables = result_tables(adata)
        for old in (out / "tables").glob("*"):  # tables of an earlier run's traits or settings
            if old.name.removesuffix(".tsv").removesuffix(".params.json") not in {*tables, "run_steps"}:
                old.unlink()
        for name, (table, params) in tables.items():
            with atomic_path(out / "tables" / f"{name}.tsv") as tmp:
                table.to_csv(tmp, sep="\t", index=False)
            with atomic_path(out / "tables" / f"{name}.params.json") as tmp:
                tmp.write_text(json.dumps(params, indent=1, default=str))
        steps = run_info(adata)["steps"]
        with atomic_path(out / "tables" / "run_steps.tsv") as tmp:
            steps.to_csv(tmp, sep="\t", index=False)
    if outputs["rds"]:
        io.write_r(adata, out / "results.rds", overwrite=True)  # atomic itself
        logger.info(f"run: R export -> {out / 'results.rds'} (radiogx::readRadiogx)")
    if outputs["report"]:
        render_report(read_results(out / RESULTS), out, formats=outputs["figures"])
    elif outputs["figures"]:
        save_figures(adata, out, formats=outputs["figures"])
    if not outputs["h5ad"] and (out / RESULTS).exists():
        (out / RESULTS).unlink()


def read_results(path: str | Path) -> AnnData:
    """Read a run's ``results.h5ad``, checking it is one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results file at {path}")
    adata = anndata.read_h5ad(path)
    if not run_info(adata):
        raise ValueError(f"{path} holds no radiogx run (no adata.uns['radiogx_run']); make it with `radiogx run`")
    return adata

