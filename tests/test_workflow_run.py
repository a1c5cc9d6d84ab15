"""`radiogx run` end to end: outputs, resume after a kill, recomputing only what a changed setting reaches, and
`radiogx report`."""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest

import radiogx as rg

EXE = Path(sys.executable).with_name("radiogx")

CONFIG = """
[run]
name = "small synthetic"
seed = 1
n_jobs = 2

[input]
dataset = "synthetic"
obs = "clinical.tsv"
[input.synthetic]
n_obs = 120
n_vars = 400
n_traits = 2
module_size = 15
n_decoys = 5
seed = 3

[steps.train]
hidden = [64, 32]
epochs = {epochs}
patience = 5
cv = 3

[steps.compare]
models = ["logit_l2"]

[steps.bootstrap]
n_boot = 3

[steps.masking]
collections = ["synthetic"]
n_null = {n_null}
min_size = 3

[steps.enrich]
collections = ["synthetic"]
n_perm = 1000
min_size = 3

[steps.associations]
min_patients = 3

[steps.survival]
enabled = true
covariates = ["age"]

[outputs]
rds = {rds}
"""


def _clinical(folder: Path) -> None:
    """Survival for the synthetic patients: shorter for trait_0-positive patients, so the survival step has signal."""
    adata = rg.datasets.synthetic(n_obs=120, n_vars=400, n_traits=2, module_size=15, n_decoys=5, seed=3)
    rng = np.random.default_rng(0)
    hazard = np.where(adata.obs["trait_0"] == "positive", 2.0, 1.0)
    days = np.round(rng.exponential(500 / hazard)) + 1
    pd.DataFrame({"os_days": days, "os_event": (rng.random(120) < 0.8).astype(int),
                  "age": rng.normal(60, 10, 120).round(1)}, index=adata.obs_names).to_csv(folder / "clinical.tsv", sep="\t")


def _config(folder: Path, *, epochs=30, n_null=50, rds=False) -> Path:
    _clinical(folder)
    path = folder / "run.toml"
    path.write_text(CONFIG.format(epochs=epochs, n_null=n_null, rds=str(rds).lower()))
    return path


def _cli(*args, **kwargs):
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "radiogx.cli"]
    env = {**os.environ, "RADIOGX_DATASETDIR": str(rg.settings.datasetdir)}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, timeout=600, **kwargs)


def _steps(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "tables" / "run_steps.tsv", sep="\t").set_index("step")


def assert_same_results(a, b, path="uns"):
    """Every result identical, bit for bit, except the run's own bookkeeping and the model files' locations."""
    if isinstance(a, dict):
        skip = {"radiogx_run", "model_id", "model_ids", "path"}
        assert set(a) == set(b), f"{path}: keys differ: {set(a) ^ set(b)}"
        for k in a:
            if k not in skip:
                assert_same_results(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=path)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=path)
    else:
        assert a == b or (a != a and b != b), f"{path}: {a!r} != {b!r}"


def _assert_same_h5ad(x: Path, y: Path) -> None:
    a, b = anndata.read_h5ad(x), anndata.read_h5ad(y)
    pd.testing.assert_frame_equal(a.obs, b.obs, check_exact=True)
    pd.testing.assert_frame_equal(a.var, b.var, check_exact=True)
    assert set(a.layers.keys()) == set(b.layers.keys())
    for k in a.layers.keys():
        np.testing.assert_array_equal(a.layers[k], b.layers[k], err_msg=k)
    assert_same_results(dict(a.uns), dict(b.uns))


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """An uninterrupted run of the small config, through the command line."""
    folder = tmp_path_factory.mktemp("reference")
    out = folder / "out"
    res = _cli("--quiet", "run", str(_config(folder, rds=True)), "--out", str(out))
    assert res.returncode == 0, res.stderr
    return out


def test_run_writes_every_output(reference_run):
    out = reference_run
    adata = rg.workflow.read_results(out / "results.h5ad")
    steps = _steps(out)
    assert list(steps.index) == ["input", "train:trait_0", "train:trait_1", "compare:trait_0", "compare:trait_1",
                                 "bootstrap:trait_0", "bootstrap:trait_1", "masking:synthetic", "saliency:saliency",
                                 "saliency:input_x_gradient", "importance:trait_0", "importance:trait_1", "enrich:cohort", "enrich:patients", "associations",
                                 "survival"]
    assert (steps["status"] == "computed").all()
    for name in ("cv", "compare", "bootstrap", "masking.masking_synthetic",
                 "enrichment.enrich_cohort_saliency_trait_0", "enrichment.enrich_patients_input_x_gradient_trait_1"):
        table = pd.read_csv(out / "tables" / f"{name}.tsv", sep="\t")
        assert len(table) > 0, name
        assert (out / "tables" / f"{name}.params.json").is_file()
    for fig in ("roc_trait_0", "compare_trait_1", "masking_synthetic", "saliency_trait_0_positive",
                "enrich_cohort_saliency_trait_0_running", "enrich_patients_input_x_gradient_trait_0"):
        for fmt in ("png", "svg"):
            assert (out / "figures" / f"{fig}.{fmt}").stat().st_size > 1000, (fig, fmt)
    for fig in ("cox_forest", "km_trait_0", "associations"):
        assert (out / "figures" / f"{fig}.png").is_file(), fig
    assert (out / "results.rds").stat().st_size > 0
    surv = rg.get.survival_df(adata).set_index("feature")
    assert surv.loc["trait_0", "hazard_ratio"] > 1.3, "the planted survival difference is found"
    assert "run: finished" in (out / "radiogx.log").read_text()
    # the planted module of the linear trait is the best masked set, and the network learnt the trait
    masking = rg.get.masking_df(adata, key="masking_synthetic", trait="trait_0")
    planted = adata.uns["synthetic"]["traits"]["trait_0"]["sets"]
    assert masking["gene_set"].iloc[0] in set(np.atleast_1d(planted))
    assert adata.uns["radiogx"]["trait_0"]["summary"]["roc_auc_pooled"] > 0.7
    html = (out / "report.html").read_text()
    assert html.count("<img ") == len(list((out / "figures").glob("*.png")))
    assert not list(out.rglob("*.part*")), "no temporary file is left behind"


@pytest.mark.slow
def test_rerun_reuses_every_step_and_a_changed_setting_recomputes_only_its_steps(reference_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference_run, out)  # a finished run, moved: its stored steps are found where they now are
    res = _cli("--quiet", "run", str(_config(tmp_path)), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert (_steps(out)["status"].drop("input") == "cached").all()
    res = _cli("--quiet", "run", str(_config(tmp_path, n_null=60)), "--out", str(out))
    assert res.returncode == 0, res.stderr
    status = _steps(out)["status"].drop("input")
    assert list(status[status == "computed"].index) == ["masking:synthetic"]
    assert len(list((out / ".radiogx" / "steps").glob("masking_synthetic--*"))) == 1, "the superseded result is removed"
    res = _cli("--quiet", "run", str(_config(tmp_path, epochs=20, n_null=60)), "--out", str(out))
    status = _steps(out)["status"].drop("input")
    # importance reads compare alone, whose results the network's epochs do not change (the same folds): kept
    importance = [s for s in status.index if s.startswith("importance:")]
    assert importance and (status[importance] == "cached").all()
    assert (status.drop(importance) == "computed").all(), "a network setting reaches every step that reads it"


@pytest.mark.slow
def test_killed_run_resumes_to_the_results_of_an_uninterrupted_run(reference_run, tmp_path):
    out = tmp_path / "out"
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "radiogx.cli"]
    env = {**os.environ, "RADIOGX_DATASETDIR": str(rg.settings.datasetdir)}
    proc = subprocess.Popen([*cmd, "--quiet", "run", str(_config(tmp_path, rds=True)), "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    steps = out / ".radiogx" / "steps"

    def stored():  # step results; a write in progress is a hidden ".<name>.part.h5ad"
        return sorted(p for p in steps.glob("*.h5ad") if not p.name.startswith("."))

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(stored()) < 3 and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # in the middle of the fourth step
    proc.wait()
    done = stored()
    assert 3 <= len(done) < 12, f"the kill should land mid-run, after {[p.name for p in done]}"
    assert not (out / "results.h5ad").exists()
    for p in done:
        anndata.read_h5ad(p)  # every stored result is whole
    res = _cli("--quiet", "run", str(_config(tmp_path, rds=True)), "--out", str(out))
    assert res.returncode == 0, res.stderr
    status = _steps(out)["status"]
    assert (status.iloc[1:len(done) + 1] == "cached").all() and (status.iloc[len(done) + 1:] == "computed").all()
    _assert_same_h5ad(out / "results.h5ad", reference_run / "results.h5ad")
    for name in ("compare", "masking.masking_synthetic", "enrichment.enrich_patients_input_x_gradient_trait_0"):
        a = pd.read_csv(out / "tables" / f"{name}.tsv", sep="\t")
        b = pd.read_csv(reference_run / "tables" / f"{name}.tsv", sep="\t")
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not list(out.rglob("*.part*"))


def test_report_rerenders_from_saved_results(reference_run, tmp_path):
    res = _cli("--quiet", "report", str(reference_run / "results.h5ad"), "--out", str(tmp_path), "--formats", "png")
    assert res.returncode == 0, res.stderr
    a = (reference_run / "report.html").read_text()
    b = (tmp_path / "report.html").read_text()
    def without_render_time(page: str) -> str:
        return page.split("rendered ")[0] + page.split("UTC</p>", 1)[1]

    assert without_render_time(a) == without_render_time(b)
    assert not list(tmp_path.glob("figures/*.svg"))
    res = _cli("report", str(tmp_path / "nothing.h5ad"))
    assert res.returncode == 2 and "no results file" in res.stderr



def browser_check(report: Path) -> tuple[list, list]:
    """Open ``report`` in Debian's headless chromium; return each image's (alt, complete, natural width, height) and
    the console errors and page errors."""
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed; `make test` installs it (BROWSER_DEBS in the Makefile)"
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(report.resolve().as_uri(), wait_until="load")
        images = page.eval_on_selector_all("img", "els => els.map(e => [e.alt, e.complete, e.naturalWidth, e.naturalHeight])")
        browser.close()
    return images, errors


def test_report_renders_in_headless_chromium(reference_run, tmp_path):
    report = reference_run / "report.html"
    images, errors = browser_check(report)
    figures = sorted(p.stem for p in (reference_run / "figures").glob("*.png"))
    assert sorted(name for name, *_ in images) == figures
    assert all(complete and w > 0 and h > 0 for _, complete, w, h in images), images
    assert errors == []
    # the check can fail: a report with a damaged figure shows a zero-size image and a console error
    broken = tmp_path / "broken.html"
    broken.write_text(report.read_text().replace("base64,iVBOR", "base64,AAAAA", 1))
    images, errors = browser_check(broken)
    assert sum(w == 0 for _, _, w, _ in images) == 1


def test_pretrained_networks_and_their_resume(tmp_path):
    """With [steps.pretrain], every network starts from the stored autoencoder, also in a resumed run."""
    cfg = {
        "run": {"seed": 0, "n_jobs": 1},
        "input": {"dataset": "synthetic", "synthetic": {"n_obs": 120, "n_vars": 150, "n_traits": 1, "module_size": 10,
                                                          "n_decoys": 2, "seed": 2, "unlabelled": 0.3}},
        "steps": {"pretrain": {"enabled": True, "epochs": 5, "freeze": 1},
                  "train": {"hidden": [16, 8], "epochs": 5, "cv": 3},
                  "compare": {"enabled": False}, "bootstrap": {"enabled": False}, "masking": {"enabled": False},
                  "saliency": {"enabled": False}, "enrich": {"enabled": False}, "associations": {"enabled": False}},
        "outputs": {"rds": False, "report": False, "figures": [], "tables": False},
    }
    out = tmp_path / "out"
    first = rg.workflow.run(cfg, out=out)
    steps = first.uns["radiogx_run"]["steps"].set_index("step")
    assert list(steps.index) == ["input", "pretrain", "train:trait_0"]
    params = first.uns["radiogx"]["trait_0"]["params"]
    assert params["pretrained"] and params["freeze"] == 1
    assert Path(first.uns["pretrain"]["path"]).is_file()
    # the autoencoder saw only the 36 patients without the trait, whom no fold holds out
    pretrained_on = set(first.uns["pretrain"]["patients"])
    assert len(pretrained_on) == 36 and not pretrained_on & set(first.uns["radiogx"]["trait_0"]["oof"].index)
    (out / "figures").mkdir()
    (out / "figures" / ".roc.png.part.png").write_bytes(b"half a figure")  # left by a run killed while writing
    again = rg.workflow.run(cfg, out=out)
    assert (again.uns["radiogx_run"]["steps"]["status"].iloc[1:] == "cached").all()
    assert not list(out.rglob("*.part*"))
    pd.testing.assert_frame_equal(first.uns["radiogx"]["trait_0"]["oof"], again.uns["radiogx"]["trait_0"]["oof"])
    cfg["steps"]["pretrain"]["epochs"] = 6  # the autoencoder changes: so do the networks built on it
    third = rg.workflow.run(cfg, out=out)
    assert (third.uns["radiogx_run"]["steps"]["status"].iloc[1:] == "computed").all()


def test_gene_set_networks_run_resume_and_report_their_set_nodes(tmp_path):
    """[steps.train] architecture = "gene_sets": the networks are built on the collection, a set_nodes step follows,
    the report shows it, and a resumed run restores the set-node attributions (obsm) from the step store."""
    cfg = {
        "run": {"seed": 0, "n_jobs": 1},
        "input": {"dataset": "synthetic", "synthetic": {"n_obs": 120, "n_vars": 300, "n_traits": 1, "module_size": 15,
                                                          "n_decoys": 4, "seed": 2}},
        "steps": {"train": {"architecture": "gene_sets", "gene_sets": "synthetic", "epochs": 5, "cv": 3},
                  "compare": {"enabled": False}, "bootstrap": {"enabled": False}, "masking": {"enabled": False},
                  "saliency": {"enabled": False}, "enrich": {"enabled": False}, "associations": {"enabled": False}},
        "outputs": {"rds": False, "report": True, "figures": ["png"], "tables": True},
    }
    out = tmp_path / "out"
    first = rg.workflow.run(cfg, out=out)
    steps = first.uns["radiogx_run"]["steps"].set_index("step")
    assert list(steps.index) == ["input", "train:trait_0", "set_nodes"]
    assert first.uns["radiogx"]["trait_0"]["params"]["architecture"] == "gene_sets"
    table = rg.get.set_nodes_df(first)
    assert len(table) == len(first.uns["synthetic"]["gene_sets"])
    assert "Gene-set network" in (out / "report.html").read_text()
    assert (out / "figures" / "set_nodes_trait_0_positive.png").is_file()
    again = rg.workflow.run(cfg, out=out)
    assert (again.uns["radiogx_run"]["steps"]["status"].iloc[1:] == "cached").all()
    pd.testing.assert_frame_equal(first.obsm["set_nodes_trait_0"], again.obsm["set_nodes_trait_0"])


#: A small run for the Dask tests: one trait, its folds, a baseline, the bootstrap and masking (the steps with tasks).
DASK_CONFIG = {
    "run": {"seed": 0},
    "input": {"dataset": "synthetic", "synthetic": {"n_obs": 120, "n_vars": 150, "n_traits": 1, "module_size": 10,
                                                    "n_decoys": 3, "seed": 4}},
    "steps": {"train": {"hidden": [16], "epochs": 15, "cv": 3}, "compare": {"models": ["logit_l2"]},
              "bootstrap": {"n_boot": 50}, "masking": {"collections": ["synthetic", "single"], "n_null": 50},
              "saliency": {"enabled": False}, "enrich": {"enabled": False}, "associations": {"enabled": False}},
    "outputs": {"rds": False, "report": False, "figures": [], "tables": False},
}


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    out = tmp_path_factory.mktemp("one_process")
    rg.workflow.run(DASK_CONFIG, out=out, n_jobs=1)
    return out


@pytest.mark.slow  # 35-57 s on 2 cores; the default suite stays within its 18 minutes
def test_a_run_on_a_dask_local_cluster_gives_the_results_of_one_process(one_process, tmp_path):
    """scheduler = "local": the folds, baselines, resamples and masking run as tasks on a 2-worker LocalCluster; every
    result is identical to the one-process run's."""
    out = tmp_path / "dask"
    rg.workflow.run(DASK_CONFIG, out=out, n_jobs=2, scheduler="local")
    assert "parallel work on Dask, 2 workers" in (out / "radiogx.log").read_text()
    _assert_same_h5ad(one_process / "results.h5ad", out / "results.h5ad")
    single = rg.get.masking_df(anndata.read_h5ad(out / "results.h5ad"), key="masking_single")
    assert len(single) == 150 and single["pval_random_sets"].isna().all()  # every gene alone, against permuted labels
    assert single["pval_method"].str.startswith("labels:").all()
    config = _config(tmp_path)
    res = _cli("run", str(config), "--out", str(tmp_path / "bad"), "--scheduler", "tcp://127.0.0.1:9")
    assert res.returncode == 2 and "[run] scheduler = 'tcp://127.0.0.1:9': no Dask scheduler answers there" in res.stderr
    res = _cli("run", str(config), "--out", str(tmp_path / "bad"), "--scheduler", "slurm")
    assert res.returncode == 2 and "[run] scheduler = 'slurm': must be 'local' or 'tcp://HOST:PORT'" in res.stderr


def test_a_worker_killed_mid_run_changes_nothing(one_process, tmp_path):
    """One of the two workers of a LocalCluster is killed while a step's tasks run on it: the step is computed again
    (joblib's scattered inputs die with their worker), and every result is identical to the one-process run's."""
    import signal
    import threading
    import time

    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        out = tmp_path / "killed"
        done: dict = {}

        def run():
            try:
                rg.workflow.run(DASK_CONFIG, out=out, n_jobs=2, scheduler=cluster.scheduler_address)
            except Exception as err:  # noqa: BLE001 - reported by the assertion below
                done["error"] = err

        thread = threading.Thread(target=run)
        thread.start()
        pids = client.run(os.getpid)
        victim = None
        deadline = time.time() + 300
        while victim is None and time.time() < deadline and thread.is_alive():
            busy = [w for w, tasks in client.processing().items() if tasks]
            if busy:
                victim = pids[busy[0]]
                os.kill(victim, signal.SIGKILL)
            time.sleep(0.05)
        thread.join(timeout=900)
        assert victim is not None, "no task ever ran on a worker"
        assert "error" not in done, done.get("error")
    log = (out / "radiogx.log").read_text()
    assert "parallel work on Dask, 2 workers" in log
    print("step computed again after the kill:", "a Dask worker was lost" in log)
    _assert_same_h5ad(one_process / "results.h5ad", out / "results.h5ad")


def test_another_device_recomputes_the_torch_steps_and_nothing_else(tmp_path, monkeypatch):
    """[run] device enters the fingerprints of the torch steps only, and a step's fingerprint reads the *result*
    fingerprints of the steps before it: a torch step computed again on another device recomputes the steps after it
    only when its numbers changed. This machine has one device, so the third run labels its torch steps' placement
    "cuda:0" (all that another device changes in a fingerprint) while computing on the CPU."""
    from radiogx.workflow import _runner
    from radiogx.workflow.steps._spec import takes_device

    cfg = copy.deepcopy(DASK_CONFIG)
    cfg["steps"].update({"bootstrap": {"n_boot": 20}, "masking": {"collections": ["synthetic"], "n_null": 20},
                         "saliency": {"enabled": True}, "enrich": {"collections": ["synthetic"], "n_perm": 200,
                                                                   "min_size": 3}})
    out = tmp_path / "out"
    rg.workflow.run(cfg, out=out)
    shutil.copy(out / "results.h5ad", tmp_path / "first.h5ad")
    cfg["run"]["device"] = "cpu"  # the device it already ran on: nothing to recompute
    again = rg.workflow.run(cfg, out=out)
    assert (again.uns["radiogx_run"]["steps"]["status"].iloc[1:] == "cached").all()
    real = _runner._placement
    monkeypatch.setattr(_runner, "_placement",
                        lambda step, ctx: [("device", "cuda:0")] if real(step, ctx) else [])
    third = rg.workflow.run(cfg, out=out)
    status = third.uns["radiogx_run"]["steps"].set_index("step")["status"].drop("input")
    torch_steps = {"train:trait_0", "bootstrap:trait_0", "masking:synthetic", "saliency:saliency",
                   "saliency:input_x_gradient"}
    assert all(takes_device(tool) for tool in ("train", "bootstrap", "gene_masking", "saliency"))
    assert not any(takes_device(tool) for tool in ("compare", "enrich"))
    assert set(status[status == "computed"].index) == torch_steps
    assert {"compare:trait_0", "enrich:cohort"} <= set(status[status == "cached"].index)
    _assert_same_h5ad(tmp_path / "first.h5ad", out / "results.h5ad")
