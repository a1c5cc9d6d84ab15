"""``[steps.enrich]``: pre-ranked GSEA of the attributions of every trait and class, at cohort level and per patient
(:func:`radiogx.tl.enrich`)."""

from __future__ import annotations

from anndata import AnnData

from ..._logging import logger
from ... import get
from .._schema import ConfigError, Key, in_range, tool_key
from ._spec import Context, Step, StepSpec, call
from .masking import COLLECTION_DOC
from .saliency import method_names


def attributions(adata: AnnData, method: str, traits: list[str]) -> list[tuple[str, str, str]]:
    """``(trait, class, layer)`` of every attribution the saliency step ``method`` wrote."""
    found = get.attributions_df(adata, key=method)
    found = found[found["trait"].isin(traits)]
    return [(t, target, layer) for t in traits for _, target, layer in
            found.loc[found["trait"] == t, ["trait", "target", "layer"]].itertuples(index=False)]


def _combined(adata: AnnData, ctx: Context) -> dict:
    sets = ctx.collections["enrich"]
    if len(sets) == 1:
        return {"gene_sets": next(iter(sets.values()))}
    return {"gene_sets": {f"{label}.{name}": genes for label, coll in sets.items() for name, genes in coll.items()}}


def result_key(per_patient: bool, layer: str) -> str:
    """The ``adata.uns`` key of the enrichment of one attribution layer."""
    return f"enrich_{'patients' if per_patient else 'cohort'}_{layer}"


def _compute(adata: AnnData, ctx: Context, step: Step, fp: str) -> None:
    from ...tl import NoTestableSets

    for trait, target, layer in attributions(adata, step.kwargs["key"], ctx.traits):
        try:
            call(adata, ctx, step, trait=trait, target=target, key_added=result_key(step.kwargs["per_patient"], layer))
        except NoTestableSets as err:  # one trait's network sees too few genes: the others' enrichment goes on
            logger.warning(f"run: {step.name}: {layer} skipped: {err}")


def plan(cfg: dict, traits: dict[str, str]) -> list[Step]:
    s = cfg["steps.enrich"]
    if not s["enabled"]:
        return []
    common = {k: s[k] for k in ("n_perm", "min_size", "max_size")}
    steps = []
    for name, wanted, per_patient, method in (("cohort", s["cohort"], False, s["cohort_method"]),
                                              ("patients", s["per_patient"], True, s["patient_method"])):
        if wanted:
            steps.append(Step(f"enrich:{name}", "enrich",
                              {"key": method, "per_patient": per_patient, **common, "seed": cfg["run"]["seed"]},
                              [f"saliency:{method}", "sets:enrich"],
                              derived={"gene_sets": "the [steps.enrich] collections",
                                       "trait, target, key_added": f"every trait and class of saliency record "
                                                                   f"{method!r}, and its enrichment key"},
                              objects=_combined, compute=_compute))
    return steps


def check(cfg: dict) -> None:
    s, sal = cfg["steps.enrich"], cfg["steps.saliency"]
    if s["enabled"] and not s["collections"]:
        raise ConfigError("[steps.enrich] collections = []: give at least one collection (or enabled = false)")
    if s["max_size"] < s["min_size"]:
        raise ConfigError(f"[steps.enrich] max_size = {s['max_size']}: must be >= min_size ({s['min_size']})")
    if s["enabled"]:
        if not (s["cohort"] or s["per_patient"]):
            raise ConfigError("[steps.enrich]: cohort and per_patient are both false; enable one (or enabled = false)")
        for key, wanted in (("cohort_method", s["cohort"]), ("patient_method", s["per_patient"])):
            if wanted and (not sal["enabled"] or s[key] not in sal["methods"]):
                raise ConfigError(f"[steps.enrich] {key} = {s[key]!r}: not among [steps.saliency] methods "
                                  f"{sal['methods'] if sal['enabled'] else '(saliency disabled)'}")


SPEC = StepSpec("enrich", "enrich", 70, {
    "enabled": Key("bool", True, "pre-ranked GSEA of the attributions"),
    "collections": Key("str_list", ["hallmark"], COLLECTION_DOC),
    "cohort": Key("bool", True, "rank the cohort-mean attribution of each trait and class"),
    "cohort_method": Key("str", "saliency", "saliency method ranked at cohort level", choices=method_names),
    "per_patient": Key("bool", True, "rank each patient's attributions (the paper's fgsea per patient)",
                       why="a run ranks both: the cohort (key 'cohort') and each patient ('per_patient')"),
    "patient_method": Key("str", "input_x_gradient", "saliency method ranked per patient", choices=method_names),
    "n_perm": tool_key("int", "permutations", check=in_range(10)),
    "min_size": Key("int", 10, "smallest set", check=in_range(1),
                    why="10, not 15: hallmark sets keep 10-14 of their genes on the demo's 840-gene cohort"),
    "max_size": tool_key("int", "largest set", check=in_range(1)),
}, plan, check)
