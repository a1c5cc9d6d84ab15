"""The record a run keeps of itself (``adata.uns["radiogx_run"]``: name, seed, traits, steps, versions, config), read
in one place."""

from __future__ import annotations

import json

from anndata import AnnData

__all__ = ["RUN_KEY", "run_info"]

#: Where ``radiogx run`` records itself in the results.
RUN_KEY = "radiogx_run"


def run_info(adata: AnnData) -> dict:
    """The run's record with its config parsed (``{}`` for results not made by ``radiogx run``)."""
    run = adata.uns.get(RUN_KEY)
    if not isinstance(run, dict):
        return {}
    out = dict(run)
    config = out.get("config", "{}")
    out["config"] = json.loads(config) if isinstance(config, str) else dict(config)
    return out
