"""``[steps.survival]``: Cox models and log-rank tests of the traits, radiogenomic features and covariates
(:func:`radiogx.tl.survival`)."""

from __future__ import annotations

from anndata import AnnData

from ... import get
from .._schema import ConfigError, Key, in_range, literal_values, tool_key
from ._spec import Context, Step, StepSpec, call


def survival_features(adata: AnnData, ctx: Context) -> tuple[list[str], dict[str, str]]:
    """The features the survival step tests and, for each feature left out, why."""
    s = ctx.cfg["steps.survival"]
    features = list(s["features"]) + (list(ctx.traits) if s["traits"] else [])
    if s["associations"]:
        found = get.record(adata, "associations", missing_ok=True)
        for _, rec in found.items() if found is not None else ():
            features += list(rec["counts"]["feature"])
    endpoint = adata.obs[s["duration"]].notna() & adata.obs[s["event"]].notna()
    keep, dropped = [], {}
    for f in dict.fromkeys(features):
        levels = adata.obs.loc[endpoint, f].dropna().astype(str).nunique()
        if levels < 2:
            dropped[f] = "a single value among patients with the endpoint"
        else:
            keep.append(f)
    return keep, dropped


def _compute(adata: AnnData, ctx: Context, step: Step, fp: str) -> None:
    features, dropped = survival_features(adata, ctx)
    call(adata, ctx, step, features=features, not_tested=dropped)


def plan(cfg: dict, traits: dict[str, str]) -> list[Step]:
    s = cfg["steps.survival"]
    if not s["enabled"]:
        return []
    kwargs = {"duration": s["duration"], "event": s["event"], "covariates": tuple(s["covariates"]),
              "selection": None if s["selection"] == "none" else s["selection"], "penalizer": s["penalizer"]}
    features = {"features": list(s["features"]), "traits": list(traits) if s["traits"] else [],
                "associations": "the features of step 'associations'" if s["associations"] else "none",
                "not_tested": "features with a single value among patients with the endpoint, left out"}
    deps = ["input"] + [f"train:{t}" for t in traits] + (["associations"] if s["associations"] else [])
    return [Step("survival", "survival", kwargs, deps, derived={"features": features}, compute=_compute)]


def check(cfg: dict) -> None:
    s = cfg["steps.survival"]
    if s["enabled"] and not (s["features"] or s["traits"] or s["associations"]):
        raise ConfigError("[steps.survival]: features is empty and traits and associations are false: nothing to test")
    if s["enabled"] and s["associations"] and not cfg["steps.associations"]["enabled"]:
        raise ConfigError("[steps.survival] associations = true: needs [steps.associations] enabled = true")


SPEC = StepSpec("survival", "survival", 90, {
    "enabled": Key("bool", False, "Cox models and log-rank tests"),
    "duration": tool_key("str", "obs column of time to event"),
    "event": tool_key("str", "obs column of the event indicator"),
    "covariates": tool_key("str_list", "adjustment covariates (obs columns)"),
    "features": Key("str_list", [], "obs columns to test besides the traits",
                    why="a run adds the modelled traits and the association features (keys 'traits', 'associations') "
                        "to these"),
    "traits": Key("bool", True, "test the modelled traits"),
    "associations": Key("bool", True, "test the radiogenomic features of the associations step"),
    "selection": Key("str", "none", "multivariable model",
                     choices=("none", *literal_values("survival", "selection")),
                     why="'none' is the tool's None (TOML has no null)"),
    "penalizer": tool_key("float", "penalty of the penalized model", check=in_range(0)),
}, plan, check)
