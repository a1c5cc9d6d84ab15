"""How every tool stores its result: one writer, one re-run rule (radiogx.get.records reads what it writes)."""

from __future__ import annotations

from anndata import AnnData

from .._logging import logger
from ..get import kind_of

__all__ = ["write_record"]


def write_record(adata: AnnData, key_added: str, record: dict, *, tool: str, trait: str | None = None) -> None:
    """Store ``record`` at ``adata.uns[key_added]`` (or ``[key_added][trait]`` for the kinds kept per trait).

    The re-run rule, the same for every tool: a result of the same kind under the same key (and trait) is replaced,
    with a warning that names it; the other traits of the key are kept. A key that holds something else (another
    tool's result, or data that is not a radiogx result) is refused, so nothing is overwritten silently.
    """
    kind = record["params"]["kind"]
    if isinstance(adata.uns.get(key_added), dict) and not adata.uns[key_added]:
        del adata.uns[key_added]  # an empty mapping holds nothing to lose
    if key_added in adata.uns:
        held, _ = kind_of(adata.uns[key_added])
        if held != kind:
            what = f"{held} results" if held else "something that is not a radiogx result"
            raise ValueError(f"{tool}: adata.uns[{key_added!r}] holds {what}; pass another key_added (or delete it)")
    if trait is None:
        if key_added in adata.uns:
            logger.warning(f"{tool}: replacing adata.uns[{key_added!r}]")
        adata.uns[key_added] = record
        return
    store = adata.uns.get(key_added, {})
    if trait in store:
        logger.warning(f"{tool}: replacing adata.uns[{key_added!r}][{trait!r}]")
    store[str(trait)] = record
    adata.uns[key_added] = store
