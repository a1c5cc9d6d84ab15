"""``[steps.compare]``: the classical baselines on each network's outer folds (:func:`radiogx.tl.compare`)."""

from __future__ import annotations

from .._schema import Key, tool_key
from ._spec import Step, StepSpec

BASELINES = ("logit_l1", "logit_l2", "svm", "random_forest", "gbt")


def plan(cfg: dict, traits: list[str]) -> list[Step]:
    s = cfg["steps.compare"]
    if not s["enabled"]:
        return []
    return [Step(f"compare:{t}", "compare", {"trait": t, "models": tuple(s["models"]), "seed": cfg["run"]["seed"]},
                 [f"train:{t}"]) for t in traits]


SPEC = StepSpec("compare", "compare", 30, {
    "enabled": Key("bool", True, "classical baselines on the network's folds"),
    "models": tool_key("str_list", "baselines", choices=None, item_choices=BASELINES),
}, plan)
