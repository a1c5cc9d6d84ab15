"""``[steps.compare]``: the classical baselines on each network's outer folds (:func:`radiogx.tl.compare`)."""

from __future__ import annotations

from ..._registry import baselines
from .._schema import Key, tool_key
from ._spec import Step, StepSpec


def _names(task: str):
    """The registered baselines of ``task`` (``rg.tl.methods()``), read when a config is checked."""
    return lambda: tuple(baselines(task))


def plan(cfg: dict, traits: dict[str, str]) -> list[Step]:
    s = cfg["steps.compare"]
    if not s["enabled"]:
        return []
    steps = []
    for t, task in traits.items():
        models = s["regression_models" if task == "regression" else "models"]
        steps.append(Step(f"compare:{t}", "compare", {"trait": t, "models": None if models is None else tuple(models),
                                                      "seed": cfg["run"]["seed"]}, [f"train:{t}"]))
    return steps


SPEC = StepSpec("compare", "compare", 30, {
    "enabled": Key("bool", True, "classical baselines on the network's folds"),
    "models": tool_key("str_list", "baselines of categorical traits (default: every registered one; built in: five)",
                       choices=None, item_choices=_names("classification")),
    "regression_models": tool_key("str_list", "baselines of continuous traits (default: all seven, the training mean among them)", arg="models",
                                  choices=None, item_choices=_names("regression")),
}, plan)
