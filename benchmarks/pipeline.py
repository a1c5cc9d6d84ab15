"""The paper's whole protocol as one ``radiogx run`` on a synthetic cohort of the paper's size: time and peak memory
per step, and the share of the work a cluster could run in parallel.

The cohort is ``rg.datasets.synthetic`` (528 patients x 12,042 genes, 6 traits: 3 linear, 3 interaction) with random
survival times, age and gender beside it. The gene names are synthetic, so the hallmark and Reactome collections are
stood in for by collections of the same set sizes (every set of MSigDB 7.1's hallmark and Reactome/PID/NABA files,
genes drawn at random from the cohort's, seed 0), besides the planted sets; ``single`` masks every gene alone.

The recipe is Smedley et al. (2020)'s: the 4000-2000-1000 tanh network trained with Adadelta (``preset = "paper"``),
10 folds, all five baselines, the refit bootstrap, masking of both collections and of single genes, four saliency
methods, per-patient enrichment, survival. Every part of it can be made smaller from the command line, and the
table says what ran.

``radiogx run`` runs as a user would run it, in a subprocess; the resident memory of its process tree (workers
included) is sampled every 0.25 s. Printed per step (from the run's own step table and log): seconds, peak memory,
its independent tasks (folds x settings, models, resamples, fold models...) and the seconds it would take with one
worker per task if its tasks were equal; then the total, the critical path through the steps' dependencies, and the
parallel fraction those imply (Amdahl: the speed-up available to N workers is 1 / (1 - f + f / N)).

    python benchmarks/pipeline.py [--out DIR] [--traits 6] [--folds 10] [--preset paper] [--n-boot 100]
        [--readme]   (write the table into benchmarks/README.md)
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

import radiogx as rg
from radiogx.workflow._schema import literal_values

HERE = Path(__file__).resolve().parent
SAMPLE_S = 0.25


def _stand_in_collection(name: str, genes: np.ndarray, rng: np.random.Generator) -> dict[str, list[str]]:
    return {f"{name.upper()}_SIZED_{i:04d}": list(rng.choice(genes, size=min(len(v), len(genes)), replace=False))
            for i, v in enumerate(rg.datasets.gene_sets(name).values())}


def _write_inputs(out: Path, args) -> Path:
    """The config, the survival table and the stand-in collections; returns the config's path."""
    out.mkdir(parents=True, exist_ok=True)
    adata = rg.datasets.synthetic(n_obs=args.n_obs, n_vars=args.n_vars, n_traits=args.traits, seed=0)
    rng = np.random.default_rng(0)
    genes = np.asarray(adata.var_names)
    for name in ("hallmark", "reactome"):  # both drawn always, so that a smaller run draws the same sets
        rg.io.write_gmt(_stand_in_collection(name, genes, rng), out / f"{name}_sized.gmt", overwrite=True)
    obs = pd.DataFrame({"os_days": rng.exponential(400, adata.n_obs).round() + 1,
                        "os_event": rng.binomial(1, 0.8, adata.n_obs),
                        "age": rng.normal(58, 12, adata.n_obs).round(),
                        "gender": rng.choice(["male", "female"], adata.n_obs)}, index=adata.obs_names)
    obs.index.name = "patient"
    obs.to_csv(out / "clinical.tsv", sep="\t")
    collections = "[" + ", ".join(f'"{c}"' if c == "synthetic" else f'"{c}_sized.gmt"' for c in args.collections) + "]"
    masking = collections[:-1] + (', "single"]' if args.single_genes else "]")
    config = f"""[run]
name = "paper protocol on the paper-size synthetic cohort"
seed = 0
n_jobs = {args.n_jobs}

[input]
dataset = "synthetic"
obs = "clinical.tsv"
[input.synthetic]
n_obs = {args.n_obs}
n_vars = {args.n_vars}
n_traits = {args.traits}
seed = 0

[steps.train]
preset = "{args.preset}"
cv = {args.folds}

[steps.compare]
models = {list(args.models)!r}

[steps.bootstrap]
method = "{args.bootstrap}"
n_boot = {args.n_boot}

[steps.masking]
collections = {masking}
n_null = {args.n_null}
null = "{args.masking_null}"
precision = "bf16"

[steps.saliency]
methods = {list(args.saliency)!r}

[steps.enrich]
collections = {collections}
n_perm = {args.n_perm}

[steps.survival]
enabled = true
covariates = ["age", "gender"]
"""
    path = out / "pipeline.toml"
    path.write_text(config.replace("'", '"'))
    return path


def _sample(proc: subprocess.Popen, samples: list[tuple[float, int]], stop: threading.Event) -> None:
    root = psutil.Process(proc.pid)
    while not stop.is_set():
        try:
            tree = [root, *root.children(recursive=True)]
            rss = 0
            for p in tree:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            samples.append((time.time(), rss))
        except psutil.Error:
            break
        stop.wait(SAMPLE_S)


def _log_times(log: Path) -> list[float]:
    out = []
    for line in log.read_text().splitlines():
        m = re.match(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ", line)
        if m:
            out.append(datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp())
    return out


def _step_seconds(log: Path) -> dict[str, float]:
    """Seconds of each step the run computed, in order, from its log (a stopped run's too)."""
    out = {}
    for line in log.read_text().splitlines():
        m = re.search(r"run: cohort .* steps \(([\d.]+) s\)", line)
        if m:
            out["input"] = float(m.group(1))
        m = re.search(r"run: \[\d+/\d+\] (\S+): done in ([\d.]+) s", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def _step_windows(log: Path) -> dict[str, tuple[float, float]]:
    """Start and end time (epoch seconds) of each computed step and output, from the run's log."""
    stamp = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \w+ run: "
    starts, windows, last = {}, {}, None
    for line in log.read_text().splitlines():
        m = re.match(stamp + r"\[\d+/\d+\] (\S+): computing", line)
        t = None
        if m:
            t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp()
            starts[m.group(2)] = t
            continue
        m = re.match(stamp + r"\[\d+/\d+\] (\S+): done in ([\d.]+) s", line)
        if m:
            end = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + 1
            windows[m.group(2)] = (starts[m.group(2)], end)
            last = end
            continue
        m = re.match(stamp + r"(results|R export) -> ", line)
        if m and last is not None:
            end = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + 1
            windows[f"output: {m.group(2)}"] = (last, end)
            last = end
    return windows


def _tasks(step: str, cfg: dict, n_traits: int, n_obs: int) -> int:
    """Independent units a step splits into (the parallel work of ``radiogx run``)."""
    from radiogx.nn._recipes import PRESETS

    preset = PRESETS[cfg["steps.train"]["preset"]]
    kind = step.split(":")[0]
    folds = cfg["steps.train"]["cv"]
    if step == "enrich:patients":
        return n_obs
    if kind == "saliency":
        return n_traits
    if kind == "train":
        grid = preset["param_grid"] or {}
        settings = int(np.prod([len(v) for v in grid.values()])) if grid else 1
        return folds * settings * preset["inner_splits"]
    if kind == "compare":
        return folds * len(cfg["steps.compare"]["models"])
    if kind == "bootstrap":
        return cfg["steps.bootstrap"]["n_boot"] if cfg["steps.bootstrap"]["method"] == "refit" else 1
    if kind == "masking":
        return n_traits * folds  # one chunk per fold model
    return 1


def _label(path: str) -> str:
    return Path(path).name.split(".")[0]


def _gib(value: float) -> str:
    return "-" if np.isnan(value) else f"{value:.2f}"


def _critical_path(steps, seconds: dict[str, float]) -> tuple[float, list[str]]:
    best: dict[str, tuple[float, list[str]]] = {}
    for s in steps:  # planned in dependency order
        before = max((best[d] for d in s.deps if d in best), default=(0.0, []), key=lambda b: b[0])
        best[s.name] = (before[0] + seconds.get(s.name, 0.0), [*before[1], s.name])
    return max(best.values(), key=lambda b: b[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("pipeline_benchmark"))
    parser.add_argument("--n-obs", type=int, default=528)
    parser.add_argument("--n-vars", type=int, default=12042)
    parser.add_argument("--traits", type=int, default=6)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--preset", default="paper", choices=["paper", "default"])
    parser.add_argument("--models", nargs="+", default=["logit_l1", "logit_l2", "svm", "random_forest", "gbt"])
    parser.add_argument("--bootstrap", default="refit", choices=["refit", "oof"])
    parser.add_argument("--n-boot", type=int, default=100)
    parser.add_argument("--n-null", type=int, default=1000)
    parser.add_argument("--masking-null", default="auto",
                        choices=["auto", *literal_values("gene_masking", "null")],
                        help="[steps.masking] null ('labels' needs no forward pass of random sets: the paper's dense "
                             "network on a CPU)")
    parser.add_argument("--n-perm", type=int, default=1000)
    parser.add_argument("--collections", nargs="+", default=["synthetic", "hallmark", "reactome"],
                        choices=["synthetic", "hallmark", "reactome"], help="masked and enriched (besides single genes)")
    parser.add_argument("--no-single-genes", dest="single_genes", action="store_false")
    parser.add_argument("--saliency", nargs="+",
                        default=["saliency", "input_x_gradient", "integrated_gradients", "deeplift"])
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--readme", action="store_true", help="write the table into benchmarks/README.md")
    parser.add_argument("--table-only", action="store_true",
                        help="no run: the table of the run already in --out (finished or stopped)")
    args = parser.parse_args()
    rg.settings.progress = False
    config, memory = args.out / "pipeline.toml", args.out / "memory_samples.tsv"
    stopped = ""
    if not args.table_only:
        _write_inputs(args.out, args)
        samples: list[tuple[float, int]] = []
        stop = threading.Event()
        cli = shutil.which("radiogx", path=str(Path(sys.executable).parent)) or "radiogx"
        proc = subprocess.Popen([cli, "run", str(config), "--out", str(args.out / "results")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        sampler = threading.Thread(target=_sample, args=(proc, samples, stop), daemon=True)
        sampler.start()
        _, err = proc.communicate()
        stop.set()
        sampler.join()
        pd.DataFrame(samples, columns=["time", "rss"]).to_csv(memory, sep="\t", index=False)
        if proc.returncode:
            print(err[-3000:], file=sys.stderr)
            stopped = f" The run stopped (exit status {proc.returncode}); the table covers the steps it finished."
    samples_df = pd.read_csv(memory, sep="\t") if memory.exists() else pd.DataFrame({"time": [], "rss": []})

    from radiogx.workflow._config import load_config
    from radiogx.workflow.steps import plan

    cfg = load_config(config)
    log = args.out / "results" / "radiogx.log"
    seconds = _step_seconds(log)
    stamps = _log_times(log)
    wall = stamps[-1] - stamps[0] if stamps else float("nan")
    n_traits = cfg["input"]["synthetic"]["n_traits"]
    steps = plan(cfg, {f"trait_{i}": "classification" for i in range(n_traits)})
    windows = _step_windows(log)
    t = samples_df["time"].to_numpy()
    rss = samples_df["rss"].to_numpy() / 2**30

    def peak(name: str) -> float:
        lo, hi = windows.get(name, (np.nan, np.nan))
        inside = (t >= lo - SAMPLE_S) & (t <= hi)
        return float(rss[inside].max()) if inside.any() else float("nan")

    workers = psutil.cpu_count() if cfg["run"]["n_jobs"] == -1 else cfg["run"]["n_jobs"]
    rows = []
    for name, secs in seconds.items():
        tasks = _tasks(name, cfg, n_traits, cfg["input"]["synthetic"]["n_obs"])
        rows.append({"step": name, "seconds": secs, "peak GiB": peak(name), "tasks": tasks,
                     "one worker per task, s": secs * min(workers, tasks) / tasks})
    for name in ("output: results", "output: R export"):
        if name in windows:
            lo, hi = windows[name]
            rows.append({"step": name, "seconds": hi - lo, "peak GiB": peak(name), "tasks": 1,
                         "one worker per task, s": hi - lo})
    df = pd.DataFrame(rows)
    total = float(df["seconds"].sum())
    ideal = dict(zip(df["step"], df["one worker per task, s"]))
    crit, chain = _critical_path(steps, ideal)
    crit += ideal.get("input", 0) + sum(v for k, v in ideal.items() if k.startswith("output"))
    f = 1 - crit / total
    syn, tr, bs, mk = cfg["input"]["synthetic"], cfg["steps.train"], cfg["steps.bootstrap"], cfg["steps.masking"]
    lines = [
        f"`python benchmarks/pipeline.py {' '.join(sys.argv[1:])}` on {psutil.cpu_count()} cores "
        f"({psutil.virtual_memory().total / 2**30:.0f} GiB), radiogx {rg.__version__}, {time.strftime('%Y-%m-%d')}:",
        f"{syn['n_obs']} x {syn['n_vars']} synthetic, {n_traits} traits, preset {tr['preset']!r}, {tr['cv']} folds, "
        f"baselines {', '.join(cfg['steps.compare']['models'])}, bootstrap {bs['method']} x {bs['n_boot']}, "
        f"masking of {', '.join(map(_label, cfg['steps.masking']['collections']))} "
        f"(null {mk['null']}, {mk['n_null']} draws), "
        f"saliency {', '.join(cfg['steps.saliency']['methods'])}, enrichment of "
        f"{', '.join(map(_label, cfg['steps.enrich']['collections']))} per patient ({cfg['steps.enrich']['n_perm']} "
        "permutations), survival.",
        "",
        "| step | seconds | peak memory (GiB) | tasks | seconds with one worker per task |",
        "|---|---:|---:|---:|---:|",
        *[f"| {r['step']} | {r['seconds']:.1f} | {_gib(r['peak GiB'])} | {r['tasks']} | "
          f"{r['one worker per task, s']:.1f} |" for r in rows],
        "",
        f"Wall time {wall:.0f} s; peak memory {_gib(rss.max() if len(rss) else np.nan)} GiB. Steps and outputs {total:.0f} s of work on "
        f"{workers} workers; critical path with one worker per task {crit:.0f} s ({' -> '.join(chain)}), so a "
        f"parallel fraction f = {f:.2f} (at most {total / crit:.1f}x faster on a cluster; "
        f"{1 / (1 - f + f / 16):.1f}x on 16 workers). Task times assume the tasks of a step are equal.{stopped}",
    ]
    print("\n".join(lines))
    if args.readme:
        readme = HERE / "README.md"
        text = readme.read_text() if readme.exists() else "# Benchmarks\n"
        marker = "<!-- pipeline.py -->"
        block = f"{marker}\n" + "\n".join(lines) + f"\n{marker}"
        text = re.sub(f"{marker}.*{marker}", lambda _: block, text, flags=re.S) if marker in text else (
            text.rstrip() + "\n\n## Whole pipeline (`pipeline.py`)\n\n" + block + "\n")
        readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
