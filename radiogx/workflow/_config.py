"""The ``radiogx run`` configuration: a TOML file, validated against a schema before any work starts.

Every key has a type, a default and what is allowed; an error names the key (``[steps.train] dropout``), the bad
value and what is allowed. :data:`SCHEMA` is the documentation of record (``radiogx run --help-config`` prints it).
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path

from .._settings import check_device
from ._schema import (
    BUNDLED_CLINICAL,
    BUNDLED_DATASETS,
    BUNDLED_VASARI,
    BUNDLED_VOLUMETRICS,
    ConfigError,
    Key,
    file_or,
    in_range,
)
from .steps import SPECS

__all__ = ["SCHEMA", "WORKFLOW_OVERRIDES", "STEP_TOOLS", "ConfigError", "Key", "describe_schema", "load_config",
           "validate_config"]


def _scheduler(v):
    return None if v == "local" or v.startswith(("tcp://", "tls://", "ucx://")) else "'local' or 'tcp://HOST:PORT'"


def _device(v):
    try:
        check_device(v, "device")  # the rule of rg.settings.device and every tool's device=
    except ValueError:
        return "'auto', 'cpu', 'cuda' or 'cuda:N'"
    return None


def _n_jobs(v):
    return None if v == -1 or v >= 1 else "a positive integer or -1 (all cores)"


_BASE: dict[str, dict[str, Key]] = {
    "run": {
        "name": Key("str", "radiogx", "name shown in the report"),
        "seed": Key("int", 0, "seed of every random choice (folds, initialisation, null sets, permutations)",
                    check=in_range(0)),
        "n_jobs": Key("int", -1, "parallel jobs; results do not depend on it", check=_n_jobs),
        "scheduler": Key("str", None, "run the parallel work (folds, baselines, bootstrap resamples) on Dask: 'local' "
                         "(a LocalCluster of n_jobs worker processes on this machine) or the address of a running "
                         "scheduler ('tcp://HOST:PORT'); results do not depend on it. Default: joblib on this machine",
                         nullable=True, check=_scheduler),
        "out": Key("path", "radiogx_results", "output folder (relative to the config file); --out overrides"),
        "device": Key("str", None, "where torch computes ('auto', 'cpu', 'cuda', 'cuda:N'); default rg.settings.device. "
                      "The torch steps record it, and changing it recomputes them (and nothing else)", nullable=True,
                      check=_device),
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
                      check=file_or(BUNDLED_VASARI)),
        "vasari_scheme": Key("str", "paper", "binarisation of the VASARI answers", choices=("paper", "ordinal")),
        "volumetrics": Key("str", None, "tumour sub-region volumes: 'tcga_gbm_volumetrics' or a .csv/.tsv path",
                           nullable=True, check=file_or(BUNDLED_VOLUMETRICS)),
        "volumetric_threshold": Key("float", None, "volume fraction above which a patient is positive (default: the "
                                    "continuous fractions are the traits)", nullable=True,
                                    check=in_range(0, 1, lo_open=True, hi_open=True)),
        "clinical": Key("table_list", [], "clinical tables: [[input.clinical]] with source (a bundled name "
                        f"{list(BUNDLED_CLINICAL)} or a .tsv/.csv path, first column the patient) and columns"),
        "synthetic": Key("table", {}, "arguments of rg.datasets.synthetic when dataset = 'synthetic' "
                         "(n_obs, n_vars, n_traits, seed, module_size, n_decoys, unlabelled: the share without traits, continuous: float traits)"),
    },
    "traits": {
        "names": Key("str_list", None, "obs columns to model: categories, or continuous traits (float columns whose "
                     "values are not all whole numbers, e.g. volume ratios)", nullable=True),
        "min_class_size": Key("int", 5, "traits with a smaller class are skipped (and the report says why)",
                              check=in_range(2)),
    },
    "outputs": {
        "h5ad": Key("bool", True, "results.h5ad holding every result"),
        "rds": Key("bool", True, "results.rds (SummarizedExperiment) for radiogx::readRadiogx"),
        "tables": Key("bool", True, "tidy tables as TSV"),
        "figures": Key("str_list", ["png", "svg"], "figure formats", item_choices=("png", "svg", "pdf")),
        "report": Key("bool", True, "report.html (self-contained)"),
    },
}

#: Every section and key of a config; the ``[steps.*]`` sections come from the step modules (``radiogx/workflow/steps``),
#: their keys' defaults and allowed values from the tools' signatures.
SCHEMA: dict[str, dict[str, Key]] = {
    **{k: v for k, v in _BASE.items() if k != "outputs"},
    **{f"steps.{spec.section}": spec.schema() for spec in SPECS},
    "outputs": _BASE["outputs"],
}

#: Where a workflow default differs from the default of the ``rg.tl`` argument it feeds, and why (each step module
#: writes it beside the key). A test checks that every other shared key has the tool's default.
WORKFLOW_OVERRIDES: dict[tuple[str, str], str] = {
    (f"steps.{spec.section}", name): key.why for spec in SPECS for name, key in spec.keys.items() if key.why}

#: The ``rg.tl`` function behind each step section.
STEP_TOOLS = {f"steps.{spec.section}": spec.tool for spec in SPECS}


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
    if kind in ("str_list", "path_list"):
        return isinstance(v, list) and all(isinstance(x, str) and x for x in v)
    if kind == "table_list":
        return isinstance(v, list) and all(isinstance(x, dict) for x in v)
    if kind == "table":
        return isinstance(v, dict)
    raise AssertionError(kind)


_KIND_WORDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a non-empty string",
               "path": "a file path (string)", "int_list": "a list of integers", "str_list": "a list of strings",
               "path_list": "a list of names or file paths",
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
    if spec.choices is not None and value not in spec.allowed():
        raise ConfigError(f"{where} = {value!r}: allowed values are {list(spec.allowed())}")
    if spec.item_choices is not None:
        items = spec.allowed_items()
        bad = [x for x in value if x not in items]
        if bad:
            raise ConfigError(f"{where} = {value!r}: {bad[0]!r} is not allowed; allowed values are {list(items)}")
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
            if spec.kind == "path" and value is not None and value not in BUNDLED_DATASETS:
                value = str(_resolve(base, value))
            if spec.kind == "path_list":  # bundled names stay, file names are taken from the config's folder
                value = [v if v in BUNDLED_DATASETS or "." not in Path(v).name else str(_resolve(base, v))
                         for v in value]
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
            if name == "single" and section != "steps.masking":
                raise ConfigError(f"[{section}] {field}: 'single' (every gene alone) is a collection of gene masking "
                                  "only")
            if name in ("synthetic", "single") or name in GENE_SET_COLLECTIONS:
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
_SYNTHETIC_KEYS = {"n_obs": 2, "n_vars": 10, "n_traits": 1, "seed": 0, "module_size": 2, "n_decoys": 0, "unlabelled": 0,
                   "continuous": False}


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
        elif key == "continuous":
            if not isinstance(value, bool):
                raise ConfigError(f"[input.synthetic] continuous = {value!r}: must be true or false")
        elif not _type_ok("int", value) or value < _SYNTHETIC_KEYS[key]:
            raise ConfigError(f"[input.synthetic] {key} = {value!r}: must be an integer >= {_SYNTHETIC_KEYS[key]}")
    if inp["synthetic"] and inp["dataset"] != "synthetic":
        raise ConfigError("[input.synthetic]: only used with [input] dataset = 'synthetic'")


def _check_steps(cfg: dict) -> None:
    for spec in SPECS:
        if spec.check is not None:
            spec.check(cfg)


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
    """Every section and key with its default, allowed values and meaning, as TOML comments (with the reason where a
    step's default differs from its tool's)."""
    lines = []
    for section, keys in SCHEMA.items():
        lines.append(f"\n[{section}]")
        for name, spec in keys.items():
            allowed = f"; one of {list(spec.allowed())}" if spec.choices else (
                f"; items from {list(spec.allowed_items())}" if spec.item_choices else "")
            default = "(none)" if spec.default is None else repr(spec.default)
            lines.append(f"# {name} = {default}   {spec.doc}{allowed}")
            if spec.why:
                lines.append(f"#   (rg.tl.{STEP_TOOLS[section]} differs on purpose: {spec.why})")
    return "\n".join(lines).lstrip()

