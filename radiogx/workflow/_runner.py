"""``radiogx run``: validate the config, load the cohort, run (or resume) each step, write every output atomically."""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from anndata import AnnData
from tqdm.auto import tqdm

from .. import __version__
from .._logging import logger
from .._settings import settings
from ._config import SCHEMA, ConfigError, _check_value, load_config, validate_config
from ._inputs import load_cohort, load_collections, resolve_traits
from ._lock import RunLock
from ._outputs import write_outputs
from ._run_info import RUN_KEY
from ._store import Snapshot, StepStore, apply_delta, data_fingerprint, fingerprint, result_fingerprint
from .steps import Context, plan
from .steps._spec import takes_device
from .steps.pretrain import labelled_patients

__all__ = ["run", "versions"]



def versions() -> dict[str, str]:
    """Versions of Python, radiogx and the libraries whose numbers enter the results."""
    import importlib.metadata as md

    out = {"python": platform.python_version(), "radiogx": __version__}
    for pkg in ("torch", "numpy", "scipy", "pandas", "anndata", "scanpy", "scikit-learn", "xgboost", "captum", "gseapy",
                "lifelines", "rpy2", "anndata2ri", "matplotlib"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            continue
    return out


class _LogFile:
    """The run's log beside its outputs: every radiogx message at info level, whatever the console shows."""

    def __init__(self, path: Path) -> None:
        self.handler = logging.FileHandler(path, mode="a", encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        self.handler.setLevel(logging.INFO)

    def __enter__(self):
        self.level = logger.level
        console = settings._handler
        self.console_level = console.level if console is not None else None
        if console is not None:
            console.setLevel(logger.level)  # the console keeps showing what rg.settings.verbosity says
        logger.setLevel(min(logger.level, logging.INFO))
        logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        logger.removeHandler(self.handler)
        self.handler.close()
        logger.setLevel(self.level)
        if settings._handler is not None:
            settings._handler.setLevel(self.console_level)


def run(config: str | Path | dict, *, out: str | Path | None = None, n_jobs: int | None = None,
        scheduler: str | None = None) -> AnnData:
    """Run the whole radiogenomic pipeline of a config file (see ``radiogx run --help-config``).

    Steps whose stored result has the same fingerprint (its settings, the results of the steps it reads, the
    cohort's content, radiogx's version and, for a torch step, the device) are loaded instead of recomputed, so a
    run resumes after a crash and a changed setting recomputes only the steps whose inputs it changes. Every output is written atomically. One run at a time per
    output folder: a second is refused with a message that names the run holding it, and the lock of a run whose
    process died is taken over.

    Parameters
    ----------
    config
        A TOML file, or its parsed content (paths then relative to the current folder).
    out
        Output folder (default: the config's ``[run] out``).
    n_jobs
        Parallel jobs (default: the config's ``[run] n_jobs``); results do not depend on it.
    scheduler
        Dask scheduler of the parallel work, ``"local"`` or ``"tcp://HOST:PORT"`` (default: the config's
        ``[run] scheduler``, else joblib on this machine); results do not depend on it.

    Returns
    -------
    The cohort with every result, as written to ``<out>/results.h5ad``.
    """
    cfg = load_config(config) if not isinstance(config, dict) else validate_config(config)
    if scheduler is not None:
        cfg["run"]["scheduler"] = _check_value("run", "scheduler", SCHEMA["run"]["scheduler"], scheduler)
    out = Path(out if out is not None else cfg["run"]["out"]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with RunLock(out, str(Path(config).resolve()) if not isinstance(config, dict) else "(dict)"):
        return _run(cfg, config, out, n_jobs)


def _run(cfg: dict, config, out: Path, n_jobs: int | None) -> AnnData:
    """The run itself, with the output folder locked."""
    for folder in (out, out / "figures", out / "tables"):  # the step store cleans its own folders
        for part in folder.glob(".*.part*"):  # temporary files of a run killed while writing
            part.unlink()
    n_jobs = cfg["run"]["n_jobs"] if n_jobs is None else int(n_jobs)
    seed = cfg["run"]["seed"]
    t_start = time.perf_counter()
    with _LogFile(out / "radiogx.log"):
        logger.info(f"run: radiogx {__version__}, config {config if not isinstance(config, dict) else '(dict)'}, "
                    f"output {out}, seed {seed}, n_jobs {n_jobs}")
        t0 = time.perf_counter()
        adata, traits, skipped, collections = _prepare(cfg)
        steps = plan(cfg, traits)
        ctx = Context(cfg=cfg, seed=seed, n_jobs=n_jobs, traits=traits, collections=collections, store=StepStore(out),
                      device=str(settings.torch_device(cfg["run"]["device"])))
        ctx.fingerprints["input"] = fingerprint("input", data_fingerprint(adata))
        for kind, colls in collections.items():
            for label, sets in colls.items():
                ctx.fingerprints[f"sets:{kind}:{label}"] = fingerprint(sorted(sets.items()))
            ctx.fingerprints[f"sets:{kind}"] = fingerprint([ctx.fingerprints[f"sets:{kind}:{lb}"] for lb in colls])
        load_seconds = time.perf_counter() - t0
        logger.info(f"run: cohort {adata.n_obs} patients x {adata.n_vars} genes, traits {list(traits)}, "
                    f"{len(steps)} steps ({load_seconds:.1f} s)")
        rows = [{"step": "input", "status": "computed", "seconds": round(load_seconds, 2),
                 "fingerprint": ctx.fingerprints["input"][:16]}]
        with _scheduler(cfg["run"]["scheduler"], n_jobs) as client:
            ctx.lost_work = _lost_work_errors() if client is not None else ()
            bar = tqdm(steps, desc="radiogx run", unit="step", disable=not settings.show_progress)
            for i, step in enumerate(bar):
                bar.set_postfix_str(step.name)
                rows.append(_run_step(step, adata, ctx, f"[{i + 1}/{len(steps)}]"))
            bar.close()

        adata.uns[RUN_KEY] = {
            "name": cfg["run"]["name"],
            "config": json.dumps(cfg, indent=1, default=str),
            "seed": int(seed),
            "n_jobs": int(n_jobs),
            "traits": list(traits),
            "skipped_traits": pd.DataFrame({"trait": list(skipped), "reason": list(skipped.values())}),
            "steps": pd.DataFrame(rows),
            "versions": versions(),
            "radiogx_version": __version__,
        }

        write_outputs(adata, out, cfg["outputs"])
        logger.info(f"run: finished in {time.perf_counter() - t_start:.1f} s; results in {out}")
    return adata


#: How often a step is computed when Dask workers die under it.
_ATTEMPTS = 3


def _lost_work_errors() -> tuple[type[BaseException], ...]:
    """What a step raises when a Dask worker that held its tasks (or joblib's scattered inputs) died."""
    import asyncio
    import concurrent.futures

    from distributed import KilledWorker

    errors: list[type[BaseException]] = [KilledWorker, concurrent.futures.CancelledError, asyncio.CancelledError]
    try:
        from distributed.client import FutureCancelledError

        errors.append(FutureCancelledError)
    except ImportError:  # distributed < 2024.12
        pass
    return tuple(errors)


@contextmanager
def _scheduler(address: str | None, n_jobs: int):
    """Inside: joblib's parallel work (each tool's folds, baselines, resamples) goes to a Dask cluster when a scheduler
    is given (``"local"``: a LocalCluster of ``n_jobs`` worker processes). Every task is seeded by what it computes, so
    the results are those of one process (tested)."""
    if not address:
        yield None
        return
    from dask.distributed import Client, LocalCluster
    from joblib import parallel_config

    cluster = None
    if address == "local":
        workers = n_jobs if n_jobs > 0 else (os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as err:
            raise ConfigError(f"[run] scheduler = {address!r}: no Dask scheduler answers there ({err})") from None
    logger.info(f"run: parallel work on Dask, {len(client.scheduler_info().get('workers', {}))} workers at "
                f"{client.scheduler.address}")
    try:
        with parallel_config(backend="dask"):
            yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _prepare(cfg: dict):
    """The cohort, the traits to model (and those skipped, with why) and the gene-set collections; every reference of
    the config to the cohort is checked here, before the first step."""
    adata = load_cohort(cfg["input"])
    traits, skipped = resolve_traits(adata, cfg["traits"], cfg["steps.train"]["cv"])
    _check_references(adata, cfg)
    if cfg["steps.pretrain"]["enabled"]:
        n_free = int((~labelled_patients(adata, traits)).sum())
        if n_free < 10:
            raise ConfigError(f"[steps.pretrain] enabled = true: the autoencoder trains only on patients without any "
                              f"modelled trait {traits} (the paper's choice: pre-training on patients that folds hold out "
                              f"would leak their expression into the estimate), and the cohort has {n_free}; give a "
                              "cohort with unannotated patients, or disable pre-training")
    collections = {kind: load_collections(cfg[f"steps.{kind}"]["collections"], adata)
                   for kind in ("masking", "enrich") if cfg[f"steps.{kind}"]["enabled"]}
    if cfg["steps.train"]["architecture"] == "gene_sets":
        collections["train"] = load_collections([cfg["steps.train"]["gene_sets"]], adata)
    for kind, colls in collections.items():
        for label, sets in colls.items():
            if not adata.var_names.isin([g for genes in sets.values() for g in genes]).any():
                raise ConfigError(f"[steps.{kind}] collections: {label!r} shares no gene with the cohort's "
                                  f"{adata.n_vars} genes (e.g. {list(adata.var_names[:3])})")
    return adata, traits, skipped, collections


def _run_step(step, adata: AnnData, ctx: Context, position: str) -> dict:
    """Reuse the step's stored result when its fingerprint matches, else compute and store it; add it to ``adata``
    from the stored file either way. Returns the step's row of the run table.

    A step's fingerprint hashes its settings, the *result* fingerprints of the steps it reads, radiogx's version and,
    for a torch step, the device: a torch step computed again elsewhere is recomputed, and the steps after it only
    when its results changed."""
    fp = fingerprint(step.name, step.tool, step.kwargs, step.derived, [ctx.fingerprints[d] for d in step.deps],
                     __version__, *_placement(step, ctx))
    store = ctx.store
    if store.has(step.name, fp):
        delta = store.load(step.name, fp)
        status, seconds = "cached", float(delta.uns.get("seconds", float("nan")))
        logger.info(f"run: {position} {step.name}: stored result {fp[:16]} reused")
    else:
        logger.info(f"run: {position} {step.name}: computing")
        t0 = time.perf_counter()
        snap = Snapshot(adata)
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                step.run(adata, ctx, fp)
                break
            except ctx.lost_work as err:  # a Dask worker died: its tasks' scattered inputs went with it
                snap.revert(adata)
                if attempt == _ATTEMPTS:
                    logger.error(f"run: {step.name} failed {attempt} times on lost Dask workers ({err}); the steps "
                                 "before it are stored, and a new run resumes from them")
                    raise
                logger.warning(f"run: {position} {step.name}: a Dask worker was lost ({type(err).__name__}: {err}); "
                               f"computing the step again (attempt {attempt + 1} of {_ATTEMPTS}; its results do not "
                               "depend on where its tasks ran)")
            except Exception as err:
                logger.error(f"run: {step.name} failed: {err}; the steps before it are stored, and a new run resumes "
                             "from them")
                raise
        seconds = time.perf_counter() - t0
        delta = snap.delta(adata)
        snap.revert(adata)
        delta.uns["seconds"] = seconds
        store.save(step.name, fp, delta)
        delta = store.load(step.name, fp)  # computed or resumed, the AnnData gets the stored result
        status = "computed"
        logger.info(f"run: {position} {step.name}: done in {seconds:.1f} s")
    ctx.fingerprints[step.name] = result_fingerprint(delta)
    apply_delta(adata, delta)
    if step.on_load is not None:
        step.on_load(adata)
    return {"step": step.name, "status": status, "seconds": round(seconds, 2), "fingerprint": fp[:16]}


def _placement(step, ctx: Context) -> list[tuple[str, str]]:
    """Where a step computes, as it enters its fingerprint: the device of a torch step, nothing for the others."""
    return [("device", ctx.device)] if takes_device(step.tool) else []


def _check_references(adata: AnnData, cfg: dict) -> None:
    """Obs columns the config names must exist in the cohort (checked before any step runs)."""
    s = cfg["steps.survival"]
    if not s["enabled"]:
        return
    for key in ("duration", "event"):
        if s[key] not in adata.obs.columns:
            raise ConfigError(f"[steps.survival] {key} = {s[key]!r}: not an obs column of the cohort; add it with "
                              f"[[input.clinical]] (obs columns: {list(adata.obs.columns)[:30]})")
    for key in ("covariates", "features"):
        missing = [c for c in s[key] if c not in adata.obs.columns]
        if missing:
            raise ConfigError(f"[steps.survival] {key}: {missing} are not obs columns of the cohort "
                              f"(obs columns: {list(adata.obs.columns)[:30]})")
