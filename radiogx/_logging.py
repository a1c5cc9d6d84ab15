"""The package logger; its level follows ``rg.settings.verbosity``."""

import logging

logger = logging.getLogger("radiogx")


def log_added(tool: str, **where) -> dict[str, list[str]]:
    """Log what a tool wrote, as scanpy's "added ..." lines (``where``: ``uns=``, ``obs=``, ``var=``, ``layers=``,
    ``obsm=``, each a name or a list of names), so that the next step can take the names without re-typing them.
    Returns ``{slot: [names]}`` (empty slots left out), which the tool keeps in its record as ``"added"``."""
    added = {slot: [names] if isinstance(names, str) else [str(n) for n in names] for slot, names in where.items()}
    added = {slot: names for slot, names in added.items() if names}
    logger.info(f"{tool}: added " + ", ".join(f".{slot}[{', '.join(repr(n) for n in names)}]"
                                              for slot, names in added.items()))
    return added
