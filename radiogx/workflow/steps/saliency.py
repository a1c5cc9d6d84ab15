"""``[steps.saliency]``: per-patient gene attributions of every trait model, one result per method
(:func:`radiogx.tl.saliency`)."""

from __future__ import annotations

from ..._registry import attribution_methods
from .._schema import Key, tool_key
from ._spec import Step, StepSpec


def method_names() -> tuple[str, ...]:
    """The registered attribution methods (``rg.tl.methods()``), read when a config is checked."""
    return tuple(attribution_methods())


def plan(cfg: dict, traits: dict[str, str]) -> list[Step]:
    s = cfg["steps.saliency"]
    if not s["enabled"]:
        return []
    return [Step(f"saliency:{method}", "saliency", {"method": method, "patients": s["patients"], "abs": s["abs"],
                                                    "key_added": method},
                 [f"train:{t}" for t in traits]) for method in s["methods"]]


SPEC = StepSpec("saliency", "saliency", 60, {
    "enabled": Key("bool", True, "per-patient gene attributions"),
    "methods": Key("str_list", ["saliency", "input_x_gradient"], "attribution methods (rg.tl.saliency's method)",
                   item_choices=method_names),
    "patients": tool_key("str", "'out_of_fold' (each labelled patient by the fold network that never saw it) or "
                                "'all' (the final model, in sample: the paper's)"),
    "abs": Key("bool", False, "absolute values (the paper) instead of signed attributions",
               why="signed attributions: per-patient GSEA of signed input x gradient, out of fold, calls each Verhaak "
                   "patient's own signature in 168 of 173 patients, absolute saliency (the paper's, the tool's "
                   "default) in 107"),
}, plan)
