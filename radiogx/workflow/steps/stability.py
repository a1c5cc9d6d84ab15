"""``[steps.stability]``: how each trained trait's gene attributions hold over retrainings, with the sanity checks
(:func:`radiogx.tl.stability`)."""

from __future__ import annotations

from anndata import AnnData

from ... import get
from .._schema import Key, in_range, tool_key
from ._spec import Context, Step, StepSpec
from .saliency import method_names


def _objects(adata: AnnData, ctx: Context) -> dict:
    return {"pretrained": get.autoencoder(adata)} if ctx.cfg["steps.pretrain"]["enabled"] else {}


def plan(cfg: dict, traits: dict[str, str]) -> list[Step]:
    s = cfg["steps.stability"]
    if not s["enabled"]:
        return []
    methods = list(s["methods"]) or list(cfg["steps.saliency"]["methods"])
    deps = ["pretrain"] if cfg["steps.pretrain"]["enabled"] else []
    derived = {"pretrained": "the autoencoder of step 'pretrain'"} if deps else {}
    return [Step(f"stability:{t}", "stability",
                 {"trait": t, "methods": tuple(methods), "n_repeats": s["n_repeats"], "top_k": s["top_k"],
                  "sanity": s["sanity"], "n_permutations": s["n_permutations"], "seed": cfg["run"]["seed"]},
                 [f"train:{t}", *deps], derived=derived, objects=_objects) for t in traits]


SPEC = StepSpec("stability", "stability", 62, {
    "enabled": Key("bool", False, "retrain each trait's network n_repeats times to measure how stable its genes are "
                                  "(costs about n_repeats + 1 trainings per trait; on in the demo)"),
    "methods": Key("str_list", [], "attribution methods (empty: those of [steps.saliency])",
                   item_choices=method_names,
                   why="the run's own saliency methods, so that the stability table speaks of the attributions the "
                       "report shows"),
    "n_repeats": tool_key("int", "retrainings per trait", check=in_range(2)),
    "top_k": tool_key("int", "size of each repeat's top genes", check=in_range(1)),
    "sanity": tool_key("bool", "model- and label-randomisation sanity checks (Adebayo et al. 2018)"),
    "n_permutations": tool_key("int", "networks trained on permuted labels", check=in_range(1)),
}, plan)
