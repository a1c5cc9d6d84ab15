"""The steps of ``radiogx run``, one module each: a module that defines ``SPEC`` (a :class:`StepSpec`) is a step, with
its ``[steps.<section>]`` keys, checks and calls; nothing else needs to know about it."""

from __future__ import annotations

import importlib
import pkgutil

from ._spec import Context, Step, StepSpec, call

__all__ = ["SPECS", "Context", "Step", "StepSpec", "call", "plan"]


def _discover() -> list[StepSpec]:
    specs = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            if isinstance(getattr(module, "SPEC", None), StepSpec):
                specs.append(module.SPEC)
    return sorted(specs, key=lambda s: s.order)


#: Every step kind, in the order a run plans them (a step's dependencies come first).
SPECS: list[StepSpec] = _discover()


def plan(cfg: dict, traits: dict[str, str]) -> list[Step]:
    """The steps the config asks for, in an order where each step's dependencies come first."""
    steps = [step for spec in SPECS for step in spec.plan(cfg, traits)]
    planned = {"input"} | {d for s in steps for d in s.deps if d.startswith("sets:")}
    for step in steps:
        missing = [d for d in step.deps if d not in planned]
        if missing:
            raise AssertionError(f"step {step.name} reads {missing}, which no earlier step plans")
        planned.add(step.name)
    return steps
