"""``[steps.masking]``: gene masking of every trait model, one result per collection (:func:`radiogx.tl.gene_masking`)."""

from __future__ import annotations

from .._inputs import collection_label
from .._schema import ConfigError, Key, in_range, literal_values, tool_key
from ._spec import Step, StepSpec

COLLECTION_DOC = ("gene-set collections: bundled names (hallmark, verhaak, ivygap, reactome, go_bp...), .gmt paths, or "
                  "'synthetic' (a synthetic cohort's planted sets among decoys)")


def _sets(label: str):
    if label == "single":  # the tool's own single-gene mode (its label null; no random single genes)
        return lambda adata, ctx: {"gene_sets": "single"}
    return lambda adata, ctx: {"gene_sets": ctx.collections["masking"][label]}


def plan(cfg: dict, traits: dict[str, str]) -> list[Step]:
    s = cfg["steps.masking"]
    if not s["enabled"]:
        return []
    kwargs = {k: s[k] for k in ("patients", "n_null", "max_null", "method", "eps", "score", "min_size", "max_size",
                                "precision")}
    kwargs.update(null=None if s["null"] == "auto" else s["null"], seed=cfg["run"]["seed"])
    steps = []
    for label in map(collection_label, s["collections"]):
        sized = {**kwargs, "min_size": 1} if label == "single" else kwargs
        steps.append(Step(f"masking:{label}", "gene_masking", {**sized, "key_added": f"masking_{label}"},
                          [f"train:{t}" for t in traits] + [f"sets:masking:{label}"],
                          derived={"gene_sets": f"collection {label!r}"}, objects=_sets(label)))
    return steps


def check(cfg: dict) -> None:
    s = cfg["steps.masking"]
    if s["enabled"] and not s["collections"]:
        raise ConfigError("[steps.masking] collections = []: give at least one collection (or enabled = false)")
    if s["enabled"] and "single" in s["collections"] and s["null"] in ("random_sets", "both"):
        raise ConfigError(f"[steps.masking] null = {s['null']!r} with collection 'single': random single genes would be "
                          "the genes under test themselves; use null = 'auto' or 'labels'")
    if s["enabled"] and s["patients"] == "all" and s["n_null"] > 0:
        raise ConfigError(f"[steps.masking] patients = 'all' with n_null = {s['n_null']}: in-sample masking scores the "
                          "final network on the very labels it was fitted to, so no null can test it (on permuted "
                          "labels it called 1-32 of 196 hallmark sets per run); use patients = 'out_of_fold', or "
                          "n_null = 0 for scores and ranks only")
    if 0 < s["n_null"] < 10:
        raise ConfigError(f"[steps.masking] n_null = {s['n_null']}: must be 0 (scores and ranks only) or >= 10")
    if s["max_size"] < s["min_size"]:
        raise ConfigError(f"[steps.masking] max_size = {s['max_size']}: must be >= min_size ({s['min_size']})")


SPEC = StepSpec("masking", "gene_masking", 50, {
    "enabled": Key("bool", True, "gene masking, one result per collection"),
    "collections": Key("str_list", ["hallmark"], COLLECTION_DOC + ", or 'single' (every gene of the model alone, "
                       "against permuted labels, the paper's single-gene masking)"),
    "null": Key("str", "auto", "'random_sets' (competitive: random sets of the same size), 'labels' (permuted labels "
                "against the set's masked predictions), 'both' (a set must pass both), 'auto' (labels for single genes, "
                "else both)", choices=("auto", *literal_values("gene_masking", "null")),
                why="'auto' is the tool's None (TOML has no null)"),
    "n_null": tool_key("int", "null draws for every set (then multilevel splitting or more draws where a p-value "
                       "needs them; with method = 'multilevel', random sets of a size stop once its tests are "
                       "resolved); 0: scores and ranks only (required with patients = 'all')", check=in_range(0)),
    "max_null": tool_key("int", "most null draws for one set with method = 'sequential' (default: enough for BH over "
                         "the sets)", check=in_range(10)),
    "method": tool_key("str", "p-values beyond the first draws: 'multilevel' (multilevel splitting, fgsea's) or "
                       "'sequential' (more draws, up to max_null)"),
    "eps": tool_key("float", "smallest p-value multilevel splitting estimates (below it, a bound)",
                    check=in_range(0, 1, lo_open=True, hi_open=True)),
    "score": tool_key("str", "score of the masked prediction"),
    "patients": tool_key("str", "'out_of_fold' (honest) or 'all' (the paper's in-sample scoring)"),
    "min_size": Key("int", 5, "smallest set (genes in the model)", check=in_range(1),
                    why="a run masks whole collections: sets with fewer than 5 of the model's genes are fragments of "
                        "sets the platform does not measure (the tool's 1 allows single genes)"),
    "max_size": Key("int", 500, "largest set", check=in_range(1),
                    why="500, the GSEA convention: a run's collections may hold GO sets of thousands of genes"),
    "precision": tool_key("str", "arithmetic of the masked passes"),
}, plan, check)
