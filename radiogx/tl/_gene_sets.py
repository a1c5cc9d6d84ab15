"""Gene sets matched to a model's (or a data set's) genes, with the rules written down once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._logging import logger
from .._validation import preview

__all__ = ["GeneSets", "MatchedSets", "SymbolIndex", "match_gene_sets", "report_case_matches", "resolve_collection"]

#: What a ``gene_sets`` argument takes: a dict of set name to genes, or a bundled collection's name (or a .gmt path)
GeneSets = Mapping[str, Sequence[str]] | str


class MatchedSets:
    """Set names, their gene indices into ``genes``, and how many of each set's genes were found."""

    def __init__(self, names: list[str], indices: list[np.ndarray], n_listed: list[int]) -> None:
        self.names, self.indices, self.n_listed = names, indices, n_listed

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(i) for i in self.indices], dtype=np.int64)


class SymbolIndex:
    """The data's gene symbols, found by radiogx's one matching rule: the exact symbol, else the symbol equal when both
    sides are upper-cased (``Tp53`` for ``TP53``; the first such data gene)."""

    def __init__(self, genes: pd.Index) -> None:
        self.genes = genes
        self.exact = {g: i for i, g in enumerate(genes)}
        self.upper: dict[str, int] = {}
        for i, g in enumerate(genes):
            self.upper.setdefault(str(g).upper(), i)

    def find(self, symbol: str) -> tuple[int, bool]:
        """Position of ``symbol`` in the genes (-1: absent) and whether only case made it match."""
        i = self.exact.get(symbol)
        if i is not None:
            return i, False
        i = self.upper.get(symbol.upper(), -1)
        return i, i >= 0


def report_case_matches(func: str, pairs: list[tuple[str, str]], what: str) -> None:
    """One warning for every symbol matched only when ignoring case, with examples (``symbol->data gene``)."""
    if pairs:
        logger.warning(f"{func}: {len(pairs)} {what} matched only when ignoring case, e.g. "
                       f"{preview([f'{a}->{b}' for a, b in pairs], 3)}; they are used (the data's symbol)")


def resolve_collection(gene_sets, genes: pd.Index) -> dict[str, Sequence[str]]:
    """``gene_sets`` as a dict: a dict as given, ``"single"`` (every gene alone) or a bundled collection's name."""
    if isinstance(gene_sets, str):
        if gene_sets == "single":
            return {g: [g] for g in genes}
        from ..datasets import GENE_SET_COLLECTIONS, gene_sets as bundled

        if gene_sets not in GENE_SET_COLLECTIONS:
            raise ValueError(f"gene_sets={gene_sets!r}: pass a dict of set name to genes, 'single', or one of {GENE_SET_COLLECTIONS}")
        return bundled(gene_sets)
    if not isinstance(gene_sets, Mapping) or not gene_sets:
        raise TypeError(f"gene_sets must be a non-empty dict of set name to genes, 'single' or a collection name, got {type(gene_sets).__name__}")
    for name, members in gene_sets.items():
        if isinstance(members, str):
            raise TypeError(f"gene set {name!r} must be a list of genes, got the string {members!r}")
    return gene_sets


def match_gene_sets(gene_sets: Mapping[str, Sequence[str]], genes: pd.Index, *, min_size: int = 1,
                    max_size: int | None = None, func: str = "gene_masking") -> MatchedSets:
    """Match each set's genes to ``genes``.

    Rule for symbols: an exact match first; a gene found only when both sides are upper-cased (``Tp53`` for ``TP53``)
    is matched too, and every such case is reported in one warning. Genes absent from ``genes`` are ignored; sets left
    with fewer than ``min_size`` (or more than ``max_size``) found genes are skipped and counted. When no set keeps a
    gene, the error shows genes from both sides.
    """
    if isinstance(min_size, bool) or not isinstance(min_size, int | np.integer) or min_size < 0:
        raise ValueError(f"min_size must be a non-negative integer, got {min_size!r}")
    if max_size is not None and max_size < max(min_size, 1):
        raise ValueError(f"max_size must be at least min_size and 1, got {max_size!r}")
    index = SymbolIndex(genes)
    names, indices, listed, case_only, too_small, too_large = [], [], [], [], 0, 0
    for name, members in gene_sets.items():
        found = []
        for g in dict.fromkeys(map(str, members)):
            i, by_case = index.find(g)
            if i >= 0:
                found.append(i)
            if by_case:
                case_only.append((g, genes[i]))
        found = sorted(set(found))
        if len(found) < min_size:
            too_small += 1
            continue
        if max_size is not None and len(found) > max_size:
            too_large += 1
            continue
        names.append(str(name))
        indices.append(np.asarray(found, dtype=np.int64))
        listed.append(len(members))
    report_case_matches(func, case_only, "gene symbols")
    if not names:
        every = sorted({g for m in gene_sets.values() for g in map(str, m)})
        overlap_any = any(index.find(g)[0] >= 0 for g in every)
        if not overlap_any:
            raise ValueError(f"{func}: the gene sets share no gene with the data: sets list {preview(every)}, the data has "
                             f"{preview(list(genes))}. Are both gene symbols of the same species and naming?")
        raise ValueError(f"{func}: no gene set has between min_size={min_size} and max_size={max_size} genes in the data")
    if too_small or too_large:
        logger.info(f"{func}: skipped {too_small} sets with fewer than {min_size} and {too_large} with more than "
                    f"{max_size} genes in the data; {len(names)} sets kept")
    return MatchedSets(names, indices, listed)
