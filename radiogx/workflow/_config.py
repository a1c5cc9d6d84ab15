"""The ``radiogx run`` configuration: a TOML file, validated against a schema before any work starts.

Every key has a type, a default and what is allowed; an error names the key (``[steps.train] dropout``), the bad
value and what is allowed. :data:`SCHEMA` is the documentation of record (``radiogx run --help-config`` prints it).
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..nn._fit import _OPTIMIZERS as OPTIMIZERS
from ..nn._modules import ACTIVATIONS

__all__ = ["SCHEMA", "WORKFLOW_OVERRIDES", "STEP_TOOLS", "ConfigError", "Key", "describe_schema", "load_config",
           "validate_config"]

BUNDLED_DATASETS = ("verhaak2010", "phillips2006", "freije2004", "synthetic")
BUNDLED_CLINICAL = ("tcga_gbm_clinical", "tcga_glioma_subtypes")
BUNDLED_VASARI = ("vasari_demo",)
BUNDLED_VOLUMETRICS = ("tcga_gbm_volumetrics",)
BASELINES = ("logit_l1", "logit_l2", "svm", "random_forest", "gbt")
SALIENCY_METHODS = ("saliency", "integrated_gradients", "deeplift", "input_x_gradient")


class ConfigError(ValueError):
    """A configuration that cannot be run; the message names the key, the value and what is allowed."""


@dataclass(frozen=True)
class Key:
    """One key of the schema: its kind, default, allowed values and a one-line description."""

    kind: str  # "int", "float", "bool", "str", "path", "int_list", "str_list", "table_list"
    default: Any
    doc: str
    choices: tuple | None = None
    check: Callable[[Any], str | None] | None = None  # returns what is allowed when the value is refused
    nullable: bool = False
    item_choices: tuple | None = None


def _range(lo=None, hi=None, *, lo_open=False, hi_open=False) -> Callable[[Any], str | None]:
    def check(v):
        bad = (lo is not None and (v <= lo if lo_open else v < lo)) or (hi is not None and (v >= hi if hi_open else v > hi))
        if not bad:
            return None
        if hi is None:
            return f"{'>' if lo_open else '>='} {lo}"
        return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    return check


def _positive_list(v):
    return None if v and all(x >= 1 for x in v) else "a non-empty list of positive integers, e.g. [512, 256]"


def _n_jobs(v):
    return None if v == -1 or v >= 1 else "a positive integer or -1 (all cores)"


def _file_or(bundled: tuple) -> Callable[[Any], str | None]:
    def check(v):
        return None if v in bundled or "." in Path(v).name else f"a bundled name {list(bundled)} or a file path"
    return check


_COLLECTION_DOC = ("gene-set collections: bundled names (hallmark, verhaak, ivygap, reactome, go_bp...), .gmt paths, or "
                   "'synthetic' (a synthetic cohort's planted sets among decoys)")

SCHEMA: dict[str, dict[str, Key]] = {
    "run": {
        "name": Key("str", "radiogx", "name shown in the report"),
        "seed": Key("int", 0, "seed of every random choice (folds, initialisation, null sets, permutations)",
                    check=_range(0)),
        "n_jobs": Key("int", -1, "parallel jobs; results do not depend on it", check=_n_jobs),
        "out": Key("path", "radiogx_results", "output folder (relative to the config file); --out overrides"),
    },
    "input": {
        "dataset": Key("str", None, "a bundled cohort", choices=BUNDLED_DATASETS, nullable=True),
        "h5ad": Key("path", None, "an .h5ad of patients x genes (traits may already be in .obs)", nullable=True),
        "expression": Key("path", None, "an expression table (.tsv/.csv/.gct, optionally gzipped)", nullable=True),
        "orientation": Key("str", "auto", "axes of the expression table",
                           choices=("auto", "genes_x_samples", "samples_x_genes")),
        "obs": Key("path", None, "a table of per-patient columns (first column: patient id) to add to .obs",
                   nullable=True),
        "vasari": Key("str", None, "VASARI annotations: 'vasari_demo' or a .csv/.tsv/.xlsx path", nullable=True,
                      check=_file_or(BUNDLED_VASARI)),
        "vasari_scheme": Key("str", "paper", "binarisation of the VASARI answers", choices=("paper", "ordinal")),
        "volumetrics": Key("str", None, "tumour sub-region volumes: 'tcga_gbm_volumetrics' or a .csv/.tsv path",
                           nullable=True, check=_file_or(BUNDLED_VOLUMETRICS)),
        "volumetric_threshold": Key("float", 1 / 3, "volume fraction above which a patient is positive",
                                    check=_range(0, 1, lo_open=True, hi_open=True)),
        "clinical": Key("table_list", [], "clinical tables: [[input.clinical]] with source (a bundled name "
                        f"{list(BUNDLED_CLINICAL)} or a .tsv/.csv path, first column the patient) and columns"),
        "synthetic": Key("table", {}, "arguments of rg.datasets.synthetic when dataset = 'synthetic' "
                         "(n_obs, n_vars, n_traits, seed, module_size, n_decoys, unlabelled: the share without traits)"),
    },
    "traits": {
        "names": Key("str_list", None, "obs columns to model (categorical traits)", nullable=True),
        "min_class_size": Key("int", 5, "traits with a smaller class are skipped (and the report says why)",
                              check=_range(2)),
    },
    "steps.pretrain": {
        "enabled": Key("bool", False, "pre-train the transcriptomic autoencoder and initialise the networks with it"),
        "epochs": Key("int", 200, "epochs", check=_range(1)),
        "patience": Key("int", 20, "early-stopping patience", check=_range(1)),
        "batch_size": Key("int", 50, "batch size", check=_range(1)),
        "output": Key("str", "linear", "reconstruction layer", choices=("linear", "paper")),
        "loss": Key("str", "mse", "reconstruction loss", choices=("mse", "mae")),
        "freeze": Key("int", 0, "first Dense layers of the networks kept frozen", check=_range(0)),
    },
    "steps.train": {
        "preset": Key("str", "default", "the recipe that fills every setting left out: 'default' (measured: one layer "
                      "scaled to the cohort, a fold gene screen, averaged inner splits and fold networks) or 'paper' "
                      "(4000-2000-1000, Adadelta, refit)", choices=("default", "paper")),
        "architecture": Key("str", "dense", "'dense' or 'gene_sets' (a first layer of gene-set nodes)",
                            choices=("dense", "gene_sets")),
        "gene_sets": Key("str", None, "collection of the gene-set layer: a bundled name, 'synthetic' or a .gmt path",
                         nullable=True),
        "nodes_per_set": Key("int", 2, "nodes per gene set of the gene-set layer", check=_range(1)),
        "hidden": Key("int_list", None, "widths of the hidden layers (default: the preset's)", nullable=True,
                      check=_positive_list),
        "activation": Key("str", None, "activation (default: the preset's)", nullable=True,
                          choices=tuple(sorted(ACTIVATIONS))),
        "dropout": Key("float", None, "dropout rate (default: the preset's)", nullable=True,
                       check=_range(0, 1, hi_open=True)),
        "input_dropout": Key("float", None, "dropout of the input genes (default: the same as dropout)", nullable=True,
                             check=_range(0, 1, hi_open=True)),
        "select_genes": Key("int", None, "the first layer sees the training fold's top genes by ANOVA F (default: the "
                            "preset's search, 30, 100 or 1000)", nullable=True, check=_range(1)),
        "interaction_rank": Key("int", None, "rank of the pairwise (factorisation-machine) term (default: 8 for "
                                "gene_sets, else 0)", nullable=True, check=_range(0)),
        "epochs": Key("int", None, "maximum epochs (default: the preset's)", nullable=True, check=_range(1)),
        "batch_size": Key("int", None, "batch size (default: the preset's)", nullable=True, check=_range(1)),
        "optimizer": Key("str", None, "optimizer (default: the preset's)", nullable=True,
                         choices=tuple(sorted(OPTIMIZERS))),
        "learning_rate": Key("float", None, "learning rate (default: the optimizer's)", nullable=True,
                             check=_range(0, lo_open=True)),
        "weight_decay": Key("float", None, "weight decay (default: the preset's)", nullable=True, check=_range(0)),
        "patience": Key("int", None, "early-stopping patience (default: the preset's)", nullable=True, check=_range(1)),
        "inner_splits": Key("int", None, "inner splits per outer fold, their networks averaged (default: the preset's)",
                            nullable=True, check=_range(1)),
        "final": Key("str", None, "final predictor: 'ensemble' (the fold networks averaged) or 'refit' (default: the "
                     "preset's)", nullable=True, choices=("ensemble", "refit")),
        "min_epochs": Key("int", None, "floor on the epochs of a refit final model (default: the preset's, 10)",
                          nullable=True, check=_range(1)),
        "cv": Key("int", 5, "outer cross-validation folds", check=_range(2)),
        "protocol": Key("str", "nested", "'nested' (honest) or 'paper' (epoch chosen on the held-out fold)",
                        choices=("nested", "paper")),
        "monitor": Key("str", "loss", "what the inner split scores", choices=("loss", "auc")),
    },
    "steps.compare": {
        "enabled": Key("bool", True, "classical baselines on the network's folds"),
        "models": Key("str_list", list(BASELINES), "baselines", item_choices=BASELINES),
    },
    "steps.bootstrap": {
        "enabled": Key("bool", True, "paired bootstrap intervals of the AUCs (needs compare)"),
        "method": Key("str", "oof", "'oof' (resample patients, keep the out-of-fold predictions; seconds) or 'refit' "
                      "(the paper's: refit every model on resampled patients)", choices=("oof", "refit")),
        "n_boot": Key("int", None, "bootstrap resamples (default: 2000 for 'oof', 100 for 'refit' as the paper)",
                      nullable=True, check=_range(2)),
        "interval": Key("str", "percentile", "interval of the oof bootstrap", choices=("percentile", "bca")),
        "statistic": Key("str", "pooled", "AUC of the oof bootstrap: 'pooled' out-of-fold predictions or the "
                         "'fold_mean' of the fold AUCs", choices=("pooled", "fold_mean")),
        "ci": Key("float", 0.95, "interval level", check=_range(0, 1, lo_open=True, hi_open=True)),
    },
    "steps.masking": {
        "enabled": Key("bool", True, "gene masking, one result per collection"),
        "collections": Key("str_list", ["hallmark"], _COLLECTION_DOC),
        "null": Key("str", "auto", "'random_sets' (competitive: random sets of the same size), 'labels' (permuted "
                    "labels against the set's masked predictions), 'both' (a set must pass both), 'auto' (labels for "
                    "single genes, else both)", choices=("auto", "both", "random_sets", "labels")),
        "n_null": Key("int", 1000, "null draws for every set (more, sequentially, where a p-value needs them)",
                      check=_range(10)),
        "max_null": Key("int", None, "most null draws for one set (default: enough for BH over the sets)",
                        nullable=True, check=_range(10)),
        "score": Key("str", "loglik", "score of the masked prediction", choices=("loglik", "auc", "pr_auc")),
        "patients": Key("str", "out_of_fold", "'out_of_fold' (honest) or 'all' (the paper's in-sample scoring)",
                        choices=("out_of_fold", "all")),
        "min_size": Key("int", 5, "smallest set (genes in the model)", check=_range(1)),
        "max_size": Key("int", 500, "largest set", check=_range(1)),
        "precision": Key("str", "fp32", "arithmetic of the masked passes", choices=("fp32", "bf16")),
    },
    "steps.saliency": {
        "enabled": Key("bool", True, "per-patient gene attributions"),
        "methods": Key("str_list", ["saliency", "input_x_gradient"], "attribution methods",
                       item_choices=SALIENCY_METHODS),
        "abs": Key("bool", False, "absolute values (the paper) instead of signed attributions"),
    },
    "steps.enrich": {
        "enabled": Key("bool", True, "pre-ranked GSEA of the attributions"),
        "collections": Key("str_list", ["hallmark"], _COLLECTION_DOC),
        "cohort": Key("bool", True, "rank the cohort-mean attribution of each trait and class"),
        "cohort_method": Key("str", "saliency", "saliency method ranked at cohort level", choices=SALIENCY_METHODS),
        "per_patient": Key("bool", True, "rank each patient's attributions (the paper's fgsea per patient)"),
        "patient_method": Key("str", "input_x_gradient", "saliency method ranked per patient",
                              choices=SALIENCY_METHODS),
        "n_perm": Key("int", 1000, "permutations", check=_range(10)),
        "min_size": Key("int", 10, "smallest set", check=_range(1)),
        "max_size": Key("int", 500, "largest set", check=_range(1)),
    },
    "steps.associations": {
        "enabled": Key("bool", True, "binary radiogenomic features from per-patient enrichment"),
        "padj": Key("float", 0.05, "enrichment threshold", check=_range(0, 1, lo_open=True)),
        "min_patients": Key("int", 5, "fewest patients a feature needs", check=_range(1)),
    },
    "steps.survival": {
        "enabled": Key("bool", False, "Cox models and log-rank tests"),
        "duration": Key("str", "os_days", "obs column of time to event"),
        "event": Key("str", "os_event", "obs column of the event indicator"),
        "covariates": Key("str_list", ["age", "gender"], "adjustment covariates (obs columns)"),
        "features": Key("str_list", [], "obs columns to test besides the traits"),
        "traits": Key("bool", True, "test the modelled traits"),
        "associations": Key("bool", True, "test the radiogenomic features of the associations step"),
        "selection": Key("str", "none", "multivariable model", choices=("none", "stepwise_aic", "backward_aic", "penalized")),
        "penalizer": Key("float", 0.0, "penalty of the penalized model", check=_range(0)),
    },
    "outputs": {
        "h5ad": Key("bool", True, "results.h5ad holding every result"),
        "rds": Key("bool", True, "results.rds (SummarizedExperiment) for radiogx::readRadiogx"),
        "tables": Key("bool", True, "tidy tables as TSV"),
        "figures": Key("str_list", ["png", "svg"], "figure formats", item_choices=("png", "svg", "pdf")),
        "report": Key("bool", True, "report.html (self-contained)"),
    },
}


#: Where a workflow default differs from the default of the ``rg.tl`` argument of the same name, and why. A test checks
#: that every other shared key has the tool's default, and that each entry here is a real difference.
WORKFLOW_OVERRIDES: dict[tuple[str, str], str] = {
    ("steps.train", "cv"): "5 folds, not the paper's 10: cohorts of a few dozen imaged patients (the demo's traits have "
                           "classes of 5-16) would leave test folds with no patient of a class",
    ("steps.masking", "null"): "'auto' is the tool's None (TOML has no null)",
    ("steps.masking", "min_size"): "a run masks whole collections: sets with fewer than 5 of the model's genes are "
                                   "fragments of sets the platform does not measure (the tool's 1 allows single genes)",
    ("steps.masking", "max_size"): "500, the GSEA convention: a run's collections may hold GO sets of thousands of genes",
    ("steps.saliency", "abs"): "signed attributions: per-patient GSEA of signed input x gradient calls each Verhaak "
                               "patient's own signature in 150 of 173 patients, absolute saliency (the paper's, the "
                               "tool's default) in 34",
    ("steps.enrich", "per_patient"): "a run ranks both: the cohort (key 'cohort') and each patient ('per_patient')",
    ("steps.enrich", "min_size"): "10, not 15: hallmark sets keep 10-14 of their genes on the demo's 840-gene cohort",
    ("steps.survival", "features"): "a run adds the modelled traits and the association features (keys 'traits', "
                                    "'associations') to these",
    ("steps.survival", "selection"): "'none' is the tool's None (TOML has no null)",
}

#: The ``rg.tl`` function behind each step section (the keys it shares with its signature follow its defaults).
STEP_TOOLS = {"steps.pretrain": "pretrain", "steps.train": "train", "steps.compare": "compare",
              "steps.bootstrap": "bootstrap", "steps.masking": "gene_masking", "steps.saliency": "saliency",
              "steps.enrich": "enrich", "steps.associations": "associations", "steps.survival": "survival"}


def _resolve(base: Path, name: str) -> Path:
    """``name`` as an absolute path, relative names taken from ``base`` (the config file's folder)."""
    return (base / name).resolve()


def _where(section: str, key: str | None = None) -> str:
    return f"[{section}]" + (f" {key}" if key else "")


def _type_ok(kind: str, v) -> bool:
    if kind == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == "float":
        return isinstance(v, int | float) and not isinstance(v, bool)
    if kind == "bool":
        return isinstance(v, bool)
    if kind in ("str", "path"):
        return isinstance(v, str) and v != ""
    if kind == "int_list":
        return isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
    if kind == "str_list":
        return isinstance(v, list) and all(isinstance(x, str) and x for x in v)
    if kind == "table_list":
        return isinstance(v, list) and all(isinstance(x, dict) for x in v)
    if kind == "table":
        return isinstance(v, dict)
    raise AssertionError(kind)


_KIND_WORDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a non-empty string",
               "path": "a file path (string)", "int_list": "a list of integers", "str_list": "a list of strings",
               "table_list": "an array of tables ([[...]])", "table": "a table"}


def _unknown(where: str, key: str, allowed) -> ConfigError:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(f"{where}: unknown key {key!r}{hint}; allowed: {', '.join(allowed)}")


def _check_value(section: str, name: str, spec: Key, value):
    where = _where(section, name)
    if value is None and spec.nullable:
        return None
    if not _type_ok(spec.kind, value):
        raise ConfigError(f"{where} = {value!r}: must be {_KIND_WORDS[spec.kind]}")
    if spec.kind == "float":
        value = float(value)
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(f"{where} = {value!r}: allowed values are {list(spec.choices)}")
    if spec.item_choices is not None:
        bad = [x for x in value if x not in spec.item_choices]
        if bad:
            raise ConfigError(f"{where} = {value!r}: {bad[0]!r} is not allowed; allowed values are {list(spec.item_choices)}")
    if spec.kind.endswith("_list") and len(set(map(str, value))) != len(value):
        raise ConfigError(f"{where} = {value!r}: repeats an entry")
    if spec.check is not None:
        allowed = spec.check(value)
        if allowed:
            raise ConfigError(f"{where} = {value!r}: must be {allowed}")
    return value


def _flatten_sections(raw: dict) -> dict[str, dict]:
    """``{"steps": {"train": {...}}}`` -> ``{"steps.train": {...}}``, refusing unknown sections."""
    sections: dict[str, dict] = {}
    top = sorted({s.split(".")[0] for s in SCHEMA})
    for name, value in raw.items():
        if name == "steps":
            if not isinstance(value, dict):
                raise ConfigError(f"[steps] must be a table of steps, got {value!r}")
            steps = [s.split(".", 1)[1] for s in SCHEMA if s.startswith("steps.")]
            for step, body in value.items():
                if step not in steps:
                    raise _unknown("[steps]", step, steps)
                if not isinstance(body, dict):
                    raise ConfigError(f"[steps.{step}] must be a table, got {body!r}")
                sections[f"steps.{step}"] = body
        elif name in SCHEMA:
            if not isinstance(value, dict):
                raise ConfigError(f"[{name}] must be a table, got {value!r}")
            sections[name] = value
        else:
            raise _unknown("config", name, top)
    return sections


def validate_config(raw: dict, *, base: Path | None = None) -> dict[str, dict]:
    """Check ``raw`` (the parsed TOML) against :data:`SCHEMA`; return it complete with defaults, paths resolved.

    Raises
    ------
    ConfigError
        Naming the key, the bad value and what is allowed.
    """
    base = Path.cwd() if base is None else Path(base)
    sections = _flatten_sections(raw)
    cfg: dict[str, dict] = {}
    for section, keys in SCHEMA.items():
        given = sections.get(section, {})
        for name in given:
            if name not in keys:
                raise _unknown(_where(section), name, keys)
        out = {}
        for name, spec in keys.items():
            value = given.get(name, spec.default)
            value = _check_value(section, name, spec, value) if name in given else value
            if spec.kind == "path" and value is not None:
                value = str(_resolve(base, value))
            out[name] = list(value) if isinstance(value, list) else (dict(value) if isinstance(value, dict) else value)
        cfg[section] = out
    _check_input(cfg, base)
    _check_steps(cfg)
    _check_collections(cfg, base)
    return cfg


def _check_collections(cfg: dict, base: Path) -> None:
    from ..datasets import GENE_SET_COLLECTIONS

    train = cfg["steps.train"]
    sections = [("steps.masking", "collections"), ("steps.enrich", "collections")]
    if train["architecture"] == "gene_sets" and train["gene_sets"]:
        sections.append(("steps.train", "gene_sets"))
    for section, field in sections:
        resolved = []
        names = cfg[section][field]
        for name in [names] if isinstance(names, str) else names:
            if name == "synthetic" and cfg["input"]["dataset"] != "synthetic":
                raise ConfigError(f"[{section}] {field}: 'synthetic' (the planted sets of a synthetic cohort) "
                                  "needs [input] dataset = 'synthetic'")
            if name == "synthetic" or name in GENE_SET_COLLECTIONS:
                resolved.append(name)
                continue
            path = _resolve(base, name)
            if not name.lower().endswith((".gmt", ".gmt.gz")):
                raise ConfigError(f"[{section}] {field}: {name!r} is neither a bundled collection "
                                  f"{list(GENE_SET_COLLECTIONS)} nor a .gmt file")
            if not path.is_file():
                raise ConfigError(f"[{section}] {field}: {name!r}: no such .gmt file")
            resolved.append(str(path))
        cfg[section][field] = resolved[0] if isinstance(names, str) else resolved


_CLINICAL_KEYS = ("source", "columns")
_SYNTHETIC_KEYS = {"n_obs": 2, "n_vars": 10, "n_traits": 1, "seed": 0, "module_size": 2, "n_decoys": 0, "unlabelled": 0}


def _check_input(cfg: dict, base: Path) -> None:
    inp = cfg["input"]
    given = [k for k in ("dataset", "h5ad", "expression") if inp[k] is not None]
    if len(given) != 1:
        raise ConfigError(f"[input]: give exactly one of dataset, h5ad or expression (got {given or 'none'})")
    for name in ("h5ad", "expression", "obs"):
        if inp[name] is not None and not Path(inp[name]).is_file():
            raise ConfigError(f"[input] {name} = {inp[name]!r}: no such file")
    for name, bundled in (("vasari", BUNDLED_VASARI), ("volumetrics", BUNDLED_VOLUMETRICS)):
        if inp[name] is not None and inp[name] not in bundled:
            path = _resolve(base, inp[name])
            if not path.is_file():
                raise ConfigError(f"[input] {name} = {inp[name]!r}: no such file (or a bundled name: {list(bundled)})")
            inp[name] = str(path)
    tables = []
    for i, table in enumerate(inp["clinical"]):
        where = f"[[input.clinical]] #{i + 1}"
        for key in table:
            if key not in _CLINICAL_KEYS:
                raise _unknown(where, key, _CLINICAL_KEYS)
        source = table.get("source")
        if not isinstance(source, str) or not source:
            raise ConfigError(f"{where} source = {source!r}: must be a bundled name {list(BUNDLED_CLINICAL)} or a file path")
        if source not in BUNDLED_CLINICAL:
            path = _resolve(base, source)
            if not path.is_file():
                raise ConfigError(f"{where} source = {source!r}: no such file (or a bundled name: {list(BUNDLED_CLINICAL)})")
            source = str(path)
        columns = table.get("columns")
        if columns is not None and not _type_ok("str_list", columns):
            raise ConfigError(f"{where} columns = {columns!r}: must be a list of strings")
        tables.append({"source": source, "columns": columns})
    inp["clinical"] = tables
    for key, value in inp["synthetic"].items():
        if key not in _SYNTHETIC_KEYS:
            raise _unknown("[input.synthetic]", key, _SYNTHETIC_KEYS)
        if key == "unlabelled":  # a share of the patients, not a count
            if not _type_ok("float", value) or not 0 <= value < 1:
                raise ConfigError(f"[input.synthetic] unlabelled = {value!r}: must be a number in [0, 1)")
        elif not _type_ok("int", value) or value < _SYNTHETIC_KEYS[key]:
            raise ConfigError(f"[input.synthetic] {key} = {value!r}: must be an integer >= {_SYNTHETIC_KEYS[key]}")
    if inp["synthetic"] and inp["dataset"] != "synthetic":
        raise ConfigError("[input.synthetic]: only used with [input] dataset = 'synthetic'")


def _check_steps(cfg: dict) -> None:
    steps = {s.split(".", 1)[1]: v for s, v in cfg.items() if s.startswith("steps.")}
    if steps["bootstrap"]["enabled"] and not steps["compare"]["enabled"]:
        raise ConfigError("[steps.bootstrap] enabled = true: needs [steps.compare] enabled = true (the baselines' "
                          "chosen settings); disable bootstrap or enable compare")
    for name in ("masking", "enrich"):
        s = steps[name]
        if s["enabled"] and not s["collections"]:
            raise ConfigError(f"[steps.{name}] collections = []: give at least one collection (or enabled = false)")
        if s["max_size"] < s["min_size"]:
            raise ConfigError(f"[steps.{name}] max_size = {s['max_size']}: must be >= min_size ({s['min_size']})")
    enrich, sal = steps["enrich"], steps["saliency"]
    if enrich["enabled"]:
        if not (enrich["cohort"] or enrich["per_patient"]):
            raise ConfigError("[steps.enrich]: cohort and per_patient are both false; enable one (or enabled = false)")
        for key, wanted in (("cohort_method", enrich["cohort"]), ("patient_method", enrich["per_patient"])):
            if wanted and (not sal["enabled"] or enrich[key] not in sal["methods"]):
                raise ConfigError(f"[steps.enrich] {key} = {enrich[key]!r}: not among [steps.saliency] methods "
                                  f"{sal['methods'] if sal['enabled'] else '(saliency disabled)'}")
    if steps["associations"]["enabled"] and not (enrich["enabled"] and enrich["per_patient"]):
        raise ConfigError("[steps.associations] enabled = true: needs [steps.enrich] per_patient = true "
                          "(or set [steps.associations] enabled = false)")
    surv = steps["survival"]
    if surv["enabled"] and not (surv["features"] or surv["traits"] or surv["associations"]):
        raise ConfigError("[steps.survival]: features is empty and traits and associations are false: nothing to test")
    if surv["enabled"] and surv["associations"] and not steps["associations"]["enabled"]:
        raise ConfigError("[steps.survival] associations = true: needs [steps.associations] enabled = true")
    pre, train = steps["pretrain"], steps["train"]
    if train["architecture"] == "gene_sets" and not train["gene_sets"]:
        raise ConfigError("[steps.train] architecture = 'gene_sets': needs [steps.train] gene_sets, the collection of "
                          "the gene-set layer (e.g. 'hallmark')")
    if pre["enabled"] and train["architecture"] == "gene_sets":
        raise ConfigError("[steps.pretrain] enabled = true: the autoencoder initialises a dense first layer; it cannot "
                          "seed [steps.train] architecture = 'gene_sets'")
    if pre["enabled"] and not train["hidden"]:
        raise ConfigError("[steps.pretrain] enabled = true: needs [steps.train] hidden, the widths that the "
                          "autoencoder's encoder and the networks share (e.g. [64])")
    if pre["enabled"] and pre["freeze"] > len(train["hidden"]):
        raise ConfigError(f"[steps.pretrain] freeze = {pre['freeze']}: must be <= the number of hidden layers "
                          f"({len(train['hidden'])}, [steps.train] hidden)")


def load_config(path: str | Path) -> dict[str, dict]:
    """Read and validate a ``radiogx run`` TOML file (paths relative to the file's folder)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no config file at {path}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from None
    return validate_config(raw, base=path.resolve().parent)


def describe_schema() -> str:
    """Every section and key with its default, allowed values and meaning, as TOML comments."""
    lines = []
    for section, keys in SCHEMA.items():
        lines.append(f"\n[{section}]")
        for name, spec in keys.items():
            allowed = f"; one of {list(spec.choices)}" if spec.choices else (
                f"; items from {list(spec.item_choices)}" if spec.item_choices else "")
            default = "(none)" if spec.default is None else repr(spec.default)
            lines.append(f"# {name} = {default}   {spec.doc}{allowed}")
    return "\n".join(lines).lstrip()

