"""``[steps.associations]``: binary radiogenomic features from per-patient enrichment (:func:`radiogx.tl.associations`)."""

from __future__ import annotations

from anndata import AnnData

from ... import get
from .._schema import ConfigError, Key, in_range, tool_key
from ._spec import Context, Step, StepSpec, call
from .enrich import attributions, result_key


def _compute(adata: AnnData, ctx: Context, step: Step, fp: str) -> None:
    enriched = set(get.records(adata, "enrichment")["key"])
    for _, _, layer in attributions(adata, ctx.cfg["steps.enrich"]["patient_method"], ctx.traits):
        if result_key(True, layer) in enriched:  # absent: enrichment skipped it (no testable set; the log says why)
            call(adata, ctx, step, key=result_key(True, layer), label=layer)


def plan(cfg: dict, traits: dict[str, str]) -> list[Step]:
    s = cfg["steps.associations"]
    if not s["enabled"]:
        return []
    return [Step("associations", "associations", {"padj": s["padj"], "min_patients": s["min_patients"]},
                 ["enrich:patients"], derived={"key, label": "every per-patient enrichment of step 'enrich:patients'"},
                 compute=_compute)]


def check(cfg: dict) -> None:
    enrich = cfg["steps.enrich"]
    if cfg["steps.associations"]["enabled"] and not (enrich["enabled"] and enrich["per_patient"]):
        raise ConfigError("[steps.associations] enabled = true: needs [steps.enrich] per_patient = true "
                          "(or set [steps.associations] enabled = false)")


SPEC = StepSpec("associations", "associations", 80, {
    "enabled": Key("bool", True, "binary radiogenomic features from per-patient enrichment"),
    "padj": tool_key("float", "enrichment threshold", check=in_range(0, 1, lo_open=True)),
    "min_patients": tool_key("int", "fewest patients a feature needs", check=in_range(1)),
}, plan, check)
