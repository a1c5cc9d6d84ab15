"""``[steps.importance]``: the genes of each trait's best baseline, out of fold (:func:`radiogx.tl.importance`), so
that where the network is not the best model the report reads the stronger model's genes beside its own."""

from __future__ import annotations

from anndata import AnnData

from ..._logging import logger
from .._schema import Key, tool_key
from ._spec import Context, Step, StepSpec, call


def _compute(adata: AnnData, ctx: Context, step: Step, fp: str) -> None:
    try:
        call(adata, ctx, step)
    except ValueError as err:  # no compared baseline of this trait has per-patient attributions
        if "per-patient attributions" not in str(err):
            raise
        logger.warning(f"importance: {step.kwargs['trait']}: {err}")


def plan(cfg: dict, traits: dict[str, str]) -> list[Step]:
    s = cfg["steps.importance"]
    if not (s["enabled"] and cfg["steps.compare"]["enabled"]):
        return []
    return [Step(f"importance:{t}", "importance", {"trait": t, "model": s["model"]}, [f"compare:{t}"],
                 compute=_compute) for t in traits]


SPEC = StepSpec("importance", "importance", 61, {
    "enabled": Key("bool", True, "per-patient, out-of-fold gene attributions of each trait's best baseline "
                                 "(needs [steps.compare])"),
    "model": tool_key("str", "'best' (the compared baseline of highest pooled score) or a baseline's name"),
}, plan)
