"""GMT gene-set files (Broad/MSigDB format: ``name<TAB>description<TAB>gene<TAB>gene...``)."""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping
from pathlib import Path

from .._logging import logger

__all__ = ["read_gmt", "write_gmt"]


def _open_text(path: Path, mode: str = "rt"):
    return gzip.open(path, mode, encoding="utf-8") if path.suffix == ".gz" else open(path, mode, encoding="utf-8")


def read_gmt(path: str | os.PathLike) -> dict[str, list[str]]:
    """Read a GMT file (optionally gzipped) into a dict of set name to gene list.

    Genes keep their file order; a gene repeated within a set is kept once (reported). Blank lines are skipped.

    Parameters
    ----------
    path
        A ``.gmt`` or ``.gmt.gz`` file.

    Returns
    -------
    dict mapping each set name to its list of gene symbols.

    Raises
    ------
    ValueError
        A line with no gene, a set name used twice, or an empty file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no GMT file at {path}")
    sets: dict[str, list[str]] = {}
    n_repeats = 0
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            name = fields[0].strip()
            genes = [g.strip() for g in fields[2:] if g.strip()]
            if not name:
                raise ValueError(f"{path}, line {lineno}: the gene set has no name (a GMT line is name<TAB>description<TAB>genes...)")
            if not genes:
                raise ValueError(f"{path}, line {lineno}: gene set {name!r} lists no genes (is the file tab-separated?)")
            if name in sets:
                raise ValueError(f"{path}, line {lineno}: gene set {name!r} appears twice; set names must be unique")
            unique = list(dict.fromkeys(genes))
            n_repeats += len(genes) - len(unique)
            sets[name] = unique
    if not sets:
        raise ValueError(f"{path} holds no gene set")
    if n_repeats:
        logger.info(f"read_gmt: dropped {n_repeats} repeated gene entries within sets of {path.name}")
    return sets


def write_gmt(
    gene_sets: Mapping[str, list[str]],
    path: str | os.PathLike,
    *,
    descriptions: Mapping[str, str] | None = None,
    overwrite: bool = False,
) -> None:
    """Write gene sets as a GMT file (gzipped when ``path`` ends in ``.gz``).

    Parameters
    ----------
    gene_sets
        Set name to genes.
    path
        Output file.
    descriptions
        Optional set name to the description column; ``"na"`` otherwise.
    overwrite
        Replace an existing file.

    Returns
    -------
    ``None``; the file is written atomically.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    if not isinstance(gene_sets, Mapping) or not gene_sets:
        raise ValueError("gene_sets must be a non-empty mapping of set name to genes")
    descriptions = descriptions or {}
    lines = []
    for name, genes in gene_sets.items():
        if isinstance(genes, str):
            raise TypeError(f"gene set {name!r} must be a list of genes, got the string {genes!r}")
        genes = [str(g) for g in genes]
        bad = [x for x in [name, *genes] if "\t" in str(x) or "\n" in str(x)]
        if bad or not str(name):
            raise ValueError(f"gene set {name!r}: names and genes must be non-empty and hold no tab or newline ({bad[:3]})")
        if not genes:
            raise ValueError(f"gene set {name!r} is empty; GMT cannot hold an empty set")
        lines.append("\t".join([str(name), str(descriptions.get(name, "na")), *genes]))
    with _open_text(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
