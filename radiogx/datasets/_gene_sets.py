"""Gene-set collections: MSigDB (hallmark, Reactome/PID/NABA, GO BP), Verhaak 2010 signatures, Ivy GAP (Puchalski 2018)."""

from __future__ import annotations

import pandas as pd

from ..io import read_gmt
from ._fetch import fetch

__all__ = ["gene_sets", "GENE_SET_COLLECTIONS"]

_GMT = {
    "hallmark": "msigdb_v7.1/h.all.v7.1.symbols.gmt",
    "hallmark_v6.2": "msigdb_v6.2/h.all.v6.2.symbols.gmt",
    "reactome": "msigdb_v7.1/c2.cp.v7.1.symbols.reactome_pid_naba.gmt",
    "go_bp": "msigdb_v7.1/c5.bp.v7.1.symbols.gmt.gz",
}

#: Names accepted by :func:`gene_sets`.
GENE_SET_COLLECTIONS = (*_GMT, "verhaak", "ivygap")


def _ivygap() -> dict[str, list[str]]:
    table = pd.read_csv(fetch("ivygap_puchalski2018/aaf2666_Table-S15.csv"), dtype=str, keep_default_na=False)
    if not table.iloc[0].eq("na").all():
        raise ValueError("the Ivy GAP table's second row should be the placeholder 'na' in every column")
    table = table.iloc[1:]
    return {name: list(dict.fromkeys(g.strip() for g in table[name] if g.strip())) for name in table.columns}


def _verhaak() -> dict[str, list[str]]:
    from ._tcga import VERHAAK_SIGNATURES, verhaak2010

    var = verhaak2010().var
    return {code: var.index[var["signature"] == code].tolist() for code in VERHAAK_SIGNATURES.values()}


def gene_sets(name: str) -> dict[str, list[str]]:
    """A bundled gene-set collection as a dict of set name to genes.

    Parameters
    ----------
    name
        ``"hallmark"`` (MSigDB v7.1, 50 sets), ``"hallmark_v6.2"`` (the version the paper used), ``"reactome"``
        (MSigDB v7.1 C2 CP Reactome + PID + NABA, 1,738 sets; KEGG and BioCarta left out for their licences),
        ``"go_bp"`` (MSigDB v7.1 GO biological process, 7,530 sets), ``"verhaak"`` (the four Verhaak 2010 signatures
        PN, NL, CL, MES) or ``"ivygap"`` (Puchalski et al. 2018 Table S15, 21 cell-type and phenotype sets).

    Returns
    -------
    Dict of set name to its genes (HGNC symbols).
    """
    if name in _GMT:
        return read_gmt(fetch(_GMT[name]))
    if name == "verhaak":
        return _verhaak()
    if name == "ivygap":
        return _ivygap()
    raise ValueError(f"unknown gene-set collection {name!r}; choose one of {', '.join(GENE_SET_COLLECTIONS)}")
