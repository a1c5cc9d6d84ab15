"""`radiogx run` configs: malformed ones are refused before any work, with an error naming the key."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import radiogx as rg
from radiogx.workflow import ConfigError

CONFIGS = Path(rg.__file__).parent / "workflow" / "configs"


def _base(out: Path) -> dict:
    return {
        "run": {"out": str(out), "seed": 0},
        "input": {"dataset": "synthetic", "synthetic": {"n_obs": 60, "n_vars": 120, "n_traits": 1, "module_size": 10,
                                                          "n_decoys": 2}},
        "steps": {"train": {"hidden": [16], "epochs": 3, "cv": 3}, "masking": {"collections": ["synthetic"]},
                  "enrich": {"collections": ["synthetic"]}},
    }


def _with(cfg: dict, path: str, value) -> dict:
    cfg = copy.deepcopy(cfg)
    keys = path.split(".")
    node = cfg
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return cfg


_DELETE = object()

# (what is wrong, the edit, what the error must name)
MALFORMED = [
    ("unknown section", ("outptus", {"h5ad": True}), r"unknown key 'outptus' \(did you mean 'outputs'\?\)"),
    ("unknown step", ("steps.trian", {"epochs": 3}), r"\[steps\]: unknown key 'trian' \(did you mean 'train'\?\)"),
    ("unknown key in a step", ("steps.train.epoch", 3), r"\[steps.train\]: unknown key 'epoch' \(did you mean 'epochs'\?\)"),
    ("wrong type", ("steps.train.epochs", "many"), r"\[steps.train\] epochs = 'many': must be an integer"),
    ("out of range", ("steps.train.dropout", 1.5), r"\[steps.train\] dropout = 1.5: must be in \[0, 1\)"),
    ("bool as an integer", ("steps.train.cv", True), r"\[steps.train\] cv = True: must be an integer"),
    ("too few folds", ("steps.train.cv", 1), r"\[steps.train\] cv = 1: must be >= 2"),
    ("unknown choice", ("steps.train.protocol", "leaky"), r"\[steps.train\] protocol = 'leaky': allowed values are \['nested', 'paper'\]"),
    ("unknown list item", ("steps.compare.models", ["svm", "lasso"]), r"\[steps.compare\] models = .*'lasso' is not allowed; allowed values are"),
    ("empty hidden", ("steps.train.hidden", []), r"\[steps.train\] hidden = \[\]: must be a non-empty list of positive integers"),
    ("negative seed", ("run.seed", -1), r"\[run\] seed = -1: must be >= 0"),
    ("zero jobs", ("run.n_jobs", 0), r"\[run\] n_jobs = 0: must be a positive integer or -1"),
    ("two inputs", ("input.h5ad", "cohort.h5ad"), r"\[input\]: give exactly one of dataset, h5ad or expression"),
    ("no input", ("input.dataset", _DELETE), r"\[input\]: give exactly one of dataset, h5ad or expression"),
    ("missing file", ("input.vasari", "nowhere.csv"), r"\[input\] vasari = 'nowhere.csv': no such file"),
    ("unknown dataset", ("input.dataset", "tcga_lgg"), r"\[input\] dataset = 'tcga_lgg': allowed values are"),
    ("unknown collection", ("steps.masking.collections", ["halmark"]), r"\[steps.masking\] collections: 'halmark' is neither"),
    ("bootstrap without compare", ("steps.compare.enabled", False), r"\[steps.bootstrap\] enabled = true: needs \[steps.compare\]"),
    ("enrich method not computed", ("steps.saliency.methods", ["saliency"]),
     r"\[steps.enrich\] patient_method = 'input_x_gradient': not among \[steps.saliency\] methods"),
    ("max below min", ("steps.masking.max_size", 2), r"\[steps.masking\] max_size = 2: must be >= min_size"),
    ("single genes against random genes", ("steps.masking", {"collections": ["single"], "null": "both"}),
     r"\[steps.masking\] null = 'both' with collection 'single': random single genes would be the genes under test"),
    ("in-sample masking with a null", ("steps.masking", {"collections": ["synthetic"], "patients": "all"}),
     r"\[steps.masking\] patients = 'all' with n_null = 1000: in-sample masking .* no null can test it"),
    ("a handful of null draws", ("steps.masking.n_null", 5), r"\[steps.masking\] n_null = 5: must be 0 .* or >= 10"),
    ("single genes in enrichment", ("steps.enrich.collections", ["single"]),
     r"\[steps.enrich\] collections: 'single' \(every gene alone\) is a collection of gene masking only"),
    ("clinical table without source", ("input.clinical", [{"columns": ["age"]}]), r"\[\[input.clinical\]\] #1 source = None"),
    ("unknown synthetic argument", ("input.synthetic.n_patients", 10), r"\[input.synthetic\]: unknown key 'n_patients'"),
    ("section not a table", ("traits", ["subtype"]), r"\[traits\] must be a table"),
    ("reference scaling without a reference", ("steps.predict", {"enabled": True, "cohorts": ["phillips2006"],
                                                                 "scale": "reference"}),
     r"\[steps.predict\] scale = 'reference' standardises each gene with a reference cohort .* set reference ="),
    ("a reference without reference scaling", ("steps.predict", {"enabled": True, "cohorts": ["phillips2006"],
                                                                "reference": "freije2004"}),
     r"\[steps.predict\] scale = 'reference' .* and only with that scale"),
    ("unknown input transform", ("steps.train.input_transform", "ranks"),
     r"\[steps.train\] input_transform = 'ranks': allowed values are \['none', 'rank_normal'\]"),
]


@pytest.mark.parametrize("what,edit,message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_config_is_refused_before_any_work(tmp_path, what, edit, message):
    out = tmp_path / "out"
    cfg = _with(_base(out), *edit)
    with pytest.raises(ConfigError, match=message):
        rg.workflow.run(cfg)
    assert not out.exists(), "nothing may be written before the config is valid"


@pytest.mark.data
def test_references_to_the_cohort_are_checked_before_any_step(tmp_path):
    """Keys that name obs columns are checked on the loaded cohort, before the first step runs."""
    out = tmp_path / "out"
    base = _base(out)
    cases = [
        (_with(base, "traits", {"names": ["trait_0", "grade"]}), r"\[traits\] names: \['grade'\] are not obs columns"),
        (_with(base, "steps.survival", {"enabled": True}), r"\[steps.survival\] duration = 'os_days': not an obs column"),
        (_with(base, "steps.masking.collections", ["hallmark"]), r"\[steps.masking\] collections: 'hallmark' shares no gene"),
    ]
    for cfg, message in cases:
        with pytest.raises(ConfigError, match=message):
            rg.workflow.run(cfg)
        assert not list((out / ".radiogx" / "steps").glob("*")) if (out / ".radiogx").exists() else True
        assert not (out / "results.h5ad").exists()


def test_bundled_demo_config_is_valid_and_documented():
    cfg = rg.workflow.load_config(CONFIGS / "demo.toml")
    assert cfg["input"]["dataset"] == "verhaak2010" and cfg["steps.survival"]["enabled"]
    assert set(cfg["steps.masking"]["collections"]) == {"verhaak", "hallmark", "ivygap"}
    doc = rg.workflow.describe_schema()
    for section, keys in rg.workflow.SCHEMA.items():
        assert f"[{section}]" in doc
        for key in keys:
            assert re.search(rf"^# {key} = ", doc, flags=re.MULTILINE), key


def test_invalid_toml_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[run]\nseed = = 1\n")
    with pytest.raises(ConfigError, match="bad.toml is not valid TOML"):
        rg.workflow.load_config(path)


def test_cli_refuses_a_malformed_config_naming_the_key(tmp_path):
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("radiogx")
    path = tmp_path / "bad.toml"
    path.write_text('[input]\ndataset = "synthetic"\n[steps.masking]\nn_null = 5\n')
    res = subprocess.run([str(exe), "run", str(path)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "radiogx: error: [steps.masking] n_null = 5: must be 0 (scores and ranks only) or >= 10" in res.stderr
    assert not (tmp_path / "radiogx_results").exists()
    res = subprocess.run([str(exe), "run", "--help-config"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "[steps.survival]" in res.stdout and "# covariates = ['age', 'gender']" in res.stdout


def test_inputs_from_files_build_the_cohort(tmp_path, data_dir):
    """[input] from files: an expression table (genes x samples), a VASARI table, volumes, an obs table and a clinical
    table join into one AnnData, as the bundled loaders give them."""
    from radiogx.workflow._inputs import load_cohort

    verhaak = rg.datasets.verhaak2010()
    verhaak.to_df().T.to_csv(tmp_path / "expression.tsv", sep="\t")
    rg.datasets.tcga_gbm_volumetrics().to_csv(tmp_path / "volumes.tsv", sep="\t")
    verhaak.obs[["subtype"]].rename(columns={"subtype": "my_subtype"}).to_csv(tmp_path / "traits.csv")
    rg.datasets.tcga_gbm_clinical().to_csv(tmp_path / "clinical.tsv", sep="\t")
    cfg = rg.workflow.validate_config({
        "input": {"expression": "expression.tsv", "vasari": str(data_dir / "vasari_demo" / "vasari_annotations.csv"),
                  "volumetrics": "volumes.tsv", "obs": "traits.csv",
                  "clinical": [{"source": "clinical.tsv", "columns": ["os_days", "os_event", "age"]}]},
        "traits": {"names": ["my_subtype", "ncet_necrosis", "f6"]},
    }, base=tmp_path)
    adata = load_cohort(cfg["input"])
    reference = verhaak.copy()
    rg.pp.volumetric_traits(reference, rg.datasets.tcga_gbm_volumetrics())
    rg.pp.encode_vasari(reference, rg.datasets.vasari_demo())
    rg.pp.add_clinical(reference, rg.datasets.tcga_gbm_clinical(), columns=["os_days", "os_event", "age"])
    assert adata.shape == (173, 840)
    np.testing.assert_allclose(adata[reference.obs_names, reference.var_names].X, reference.X, rtol=1e-6)
    for col in ("ncet_necrosis", "f6", "os_days", "os_event", "age"):
        pd.testing.assert_series_equal(adata.obs.loc[reference.obs_names, col], reference.obs[col], check_dtype=False,
                                       check_categorical=False)
    assert (adata.obs.loc[reference.obs_names, "my_subtype"].astype(str) == reference.obs["subtype"].astype(str)).all()
    with pytest.raises(ConfigError, match=r"\[\[input.clinical\]\] #1 columns: \['survival'\] are not in"):
        load_cohort({**cfg["input"], "clinical": [{"source": str(tmp_path / "clinical.tsv"), "columns": ["survival"]}]})


def _literals(hint) -> set:
    import typing

    if typing.get_origin(hint) is typing.Literal:
        return set(typing.get_args(hint))
    return {a for member in typing.get_args(hint) for a in _literals(member)}


def test_every_workflow_default_is_the_tool_s_default_or_a_written_override():
    import inspect
    import typing

    from radiogx.workflow._config import SCHEMA, STEP_TOOLS, WORKFLOW_OVERRIDES

    def norm(v):
        return list(v) if isinstance(v, tuple) else v

    differ, literal_mismatch = set(), set()
    for section, tool in STEP_TOOLS.items():
        func = getattr(rg.tl, tool)
        params, hints = inspect.signature(func).parameters, typing.get_type_hints(func)
        for name, key in SCHEMA[section].items():
            arg = key.arg or name
            if arg not in params:
                continue
            if norm(params[arg].default) != norm(key.default):
                differ.add((section, name))
            literal = _literals(hints[arg])
            if literal and key.choices is not None and not set(literal) - {None} <= set(key.choices):
                literal_mismatch.add((section, name))
    assert differ - set(WORKFLOW_OVERRIDES) == set(), "workflow defaults that differ from the tool's, with no reason"
    assert set(WORKFLOW_OVERRIDES) - differ == set(), "overrides listed that are no longer differences"
    assert all(len(why) > 20 for why in WORKFLOW_OVERRIDES.values())
    assert literal_mismatch == set(), "config choices that do not allow every value of the tool's Literal"


def test_a_step_s_fingerprint_hashes_exactly_the_arguments_its_calls_receive(tmp_path, monkeypatch):
    """Every planned call passes the step's hashed kwargs to the tool unchanged; what else it passes is n_jobs (no
    result depends on it) or an argument listed in the step's hashed ``derived`` description."""
    import inspect

    from radiogx.workflow._config import validate_config
    from radiogx.workflow.steps import SPECS, plan

    other = rg.datasets.synthetic(n_obs=40, n_vars=120, n_traits=1, module_size=10, n_decoys=2, seed=5)[:, 4:]
    other.write_h5ad(tmp_path / "other.h5ad")
    raw = _with(_with(_with(_base(tmp_path), "steps.pretrain", {"enabled": True}), "steps.train.hidden", [8]),
                "input.synthetic.unlabelled", 0.3)
    raw = _with(raw, "steps.predict", {"enabled": True, "cohorts": [str(tmp_path / "other.h5ad")],
                                       "missing_genes": "impute", "scale": "cohort"})
    raw = _with(raw, "steps.stability", {"enabled": True})
    steps = plan(validate_config(raw), {"trait_0": "classification"})
    assert {s.section for s in SPECS} - {s.name.split(":")[0] for s in steps} == {"survival"}  # no endpoint here
    for step in steps:
        params = inspect.signature(getattr(rg.tl, step.tool)).parameters
        assert set(step.kwargs) <= set(params), (step.name, set(step.kwargs) - set(params))
        assert "n_jobs" not in step.kwargs
    calls = []
    real = {s.tool: getattr(rg.tl, s.tool) for s in steps}

    def spy(tool):
        import functools

        @functools.wraps(real[tool])  # the runner reads the tool's signature (n_jobs, device)
        def wrapped(adata, **kwargs):
            calls.append((tool, kwargs))
            return real[tool](adata, **kwargs)
        return wrapped

    for tool in real:
        monkeypatch.setattr(rg.tl, tool, spy(tool))
    adata = rg.workflow.run(raw)
    table = rg.get.predictions_df(adata, key="predict_other")
    assert list(table["patient"]) == list(other.obs_names) and set(table["trait"]) == {"trait_0"}
    seen = set()
    for tool, kwargs in calls:
        matching = [s for s in steps if s.tool == tool and all(k in kwargs and kwargs[k] == v for k, v in s.kwargs.items())]
        assert len(matching) == 1, (tool, kwargs)  # the call received one planned step's hashed kwargs, unchanged
        step = matching[0]
        extra = set(kwargs) - set(step.kwargs) - {"n_jobs", "device"}  # the device enters the fingerprint itself
        assert ("device" in kwargs) == ("device" in inspect.signature(real[tool]).parameters), tool
        assert all(any(e in d for d in step.derived) for e in extra), (tool, extra, step.derived)
        seen.add(step.name)
    assert seen == {s.name for s in steps}


def test_one_run_per_output_folder_and_a_dead_run_s_lock_is_taken_over(tmp_path, caplog):
    """A second run on a folder in use is refused, naming the holder (before, it died on the first run's temporary
    files); the lock of a run killed without releasing it is taken over."""
    import json
    import logging
    import socket
    import subprocess
    import sys

    from radiogx.workflow._lock import FolderInUse, RunLock

    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from radiogx.workflow._lock import RunLock; "
        f"lock = RunLock(Path({str(out)!r}), 'first.toml'); lock.acquire(); print('held', flush=True); time.sleep(120)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        config = tmp_path / "c.toml"
        config.write_text('[input]\ndataset = "synthetic"\n')
        res = subprocess.run([sys.executable, "-m", "radiogx.cli", "run", str(config), "--out", str(out)],
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 2, res.stderr
        assert (f"is in use by another radiogx run (pid {holder.pid} on this host, started " in res.stderr
                and "config first.toml); wait for it to end or pass another --out" in res.stderr), res.stderr
        with pytest.raises(FolderInUse, match=rf"pid {holder.pid} on this host"):
            rg.workflow.run(_base(out), out=out)
    finally:
        holder.kill()  # killed: the lock stays behind
        holder.wait()
        holder.stdout.close()
    assert json.loads((out / ".radiogx" / "run.lock").read_text())["pid"] == holder.pid
    with caplog.at_level(logging.WARNING, logger="radiogx"):
        with RunLock(out, "second.toml"):
            assert json.loads((out / ".radiogx" / "run.lock").read_text())["config"] == "second.toml"
    assert f"left by run {holder.pid} (started " in caplog.text and "no longer running" in caplog.text
    assert not (out / ".radiogx" / "run.lock").exists()  # released at the end
    # a lock from another host cannot be checked: refused, with the file to delete
    (out / ".radiogx" / "run.lock").write_text(json.dumps({"pid": 1, "host": "elsewhere", "started": "t",
                                                           "config": "c"}))
    assert socket.gethostname() != "elsewhere"
    with pytest.raises(FolderInUse, match=r"on host elsewhere.*If that run is gone, delete .*run.lock"):
        RunLock(out, "third.toml").acquire()
