"""``[steps.predict]``: the run's trait models applied to further cohorts (:func:`radiogx.tl.predict`), one result
per cohort (``adata.uns["predict_<cohort>"]``, per trait), with its tables, figures and report section."""

from __future__ import annotations

import hashlib
from pathlib import Path

from anndata import AnnData

from ... import get
from .._schema import BUNDLED_DATASETS, ConfigError, Key, in_range, tool_key
from ._spec import Context, Step, StepSpec

SUFFIXES = (".h5ad", ".tsv", ".txt", ".csv", ".gct", ".tsv.gz", ".txt.gz", ".csv.gz", ".gct.gz")


def cohort_label(name: str) -> str:
    """A cohort's label: its bundled name, or its file's name without extensions."""
    return name if name in BUNDLED_DATASETS else Path(name).name.split(".")[0]


def _content(name: str) -> str:
    if name in BUNDLED_DATASETS:
        return f"bundled {name}"
    h = hashlib.sha256()
    with open(name, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return f"file sha256 {h.hexdigest()}"


def _load(name: str) -> AnnData:
    from ... import datasets
    from .._predict import read_cohort

    return getattr(datasets, name)() if name in BUNDLED_DATASETS else read_cohort(name)


def _compute(name: str, traits: list[str], reference: str | None):
    def compute(adata: AnnData, ctx: Context, step: Step, fp: str) -> None:
        from ... import tl

        cohort = _load(name)
        extra = {"reference": _load(reference)} if reference else {}
        for trait in traits:
            tl.predict(cohort, model=get.model(adata, trait), device=ctx.device, **extra, **step.kwargs)
        found = get.record(cohort, "prediction", step.kwargs["key_added"])
        adata.uns[found.key] = dict(found.data)  # the cohort's predictions, kept with the training results
    return compute


def plan(cfg: dict, traits: dict[str, str]) -> list[Step]:
    s = cfg["steps.predict"]
    if not s["enabled"]:
        return []
    unknown = [t for t in s["traits"] if t not in traits]
    if unknown:
        raise ConfigError(f"[steps.predict] traits = {s['traits']}: {unknown} are not modelled in this run "
                          f"(modelled: {list(traits)})")
    wanted = [t for t in traits if t in s["traits"]] if s["traits"] else list(traits)
    kwargs = {k: s[k] for k in ("missing_genes", "scale", "min_coverage", "abstain_below", "truth")}
    return [Step(f"predict:{cohort_label(name)}", "predict", {**kwargs, "key_added": f"predict_{cohort_label(name)}"},
                 [f"train:{t}" for t in wanted],
                 derived={"adata": f"cohort {cohort_label(name)} ({_content(name)})",
                          "model": f"the model of each of the traits {wanted} (steps 'train:<trait>')",
                          **({"reference": f"cohort {cohort_label(s['reference'])} ({_content(s['reference'])})"}
                             if s["reference"] else {})},
                 compute=_compute(name, wanted, s["reference"])) for name in s["cohorts"]]


def check(cfg: dict) -> None:
    s = cfg["steps.predict"]
    if not s["enabled"]:
        return
    if not s["cohorts"]:
        raise ConfigError("[steps.predict] cohorts = []: give at least one cohort (or enabled = false)")
    if (s["scale"] == "reference") != bool(s["reference"]):
        raise ConfigError("[steps.predict] scale = 'reference' standardises each gene with a reference cohort of the "
                          "cohorts' platform: set reference = (a bundled cohort or a file), and only with that scale")
    labels = [cohort_label(c) for c in s["cohorts"]]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"[steps.predict] cohorts = {s['cohorts']}: two cohorts share the label {labels}")
    for name in [*s["cohorts"], *([s["reference"]] if s["reference"] else [])]:
        if name in BUNDLED_DATASETS:
            continue
        if not name.lower().endswith(SUFFIXES):
            raise ConfigError(f"[steps.predict] cohorts: {name!r} is neither a bundled cohort {list(BUNDLED_DATASETS)} "
                              f"nor a file ending in {list(SUFFIXES)}")
        if not Path(name).is_file():
            raise ConfigError(f"[steps.predict] cohorts: {name!r}: no such file")


SPEC = StepSpec("predict", "predict", 100, {
    "enabled": Key("bool", False, "apply the run's trait models to the cohorts below"),
    "cohorts": Key("path_list", [], "cohorts to predict: bundled names (e.g. 'phillips2006') or .h5ad/.tsv/.csv/.gct "
                   "files (relative to the config file)"),
    "traits": Key("str_list", [], "the modelled traits whose models predict (default: every modelled trait)"),
    "missing_genes": tool_key("str", "model genes a cohort lacks: 'error', 'impute' (the training mean) or 'infer' "
                              "(from the measured genes)"),
    "scale": tool_key("str", "'training' (the training cohort's gene scales), 'cohort' (each gene standardised "
                      "within the cohort: another platform) or 'reference' (with the reference cohort's scales)"),
    "min_coverage": tool_key("float", "smallest share of the first-layer weight on measured genes",
                             check=in_range(0, 1, lo_open=True)),
    "reference": Key("path", None, "with scale = 'reference': a cohort of the cohorts' platform (a bundled name or a "
                     "file) whose gene means and sds scale each patient alone", nullable=True),
    "abstain_below": tool_key("float", "a call whose class probability is below this is marked abstain",
                              check=in_range(0, 1)),
    "truth": tool_key("str", "obs column of a cohort's known classes to score against (default: the trait's own "
                      "column, where the cohort has it)"),
}, plan, check)
