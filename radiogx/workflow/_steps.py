"""The steps of ``radiogx run``: what each computes, with which settings, and which steps it depends on.

Each step calls the public ``rg.tl`` function; its settings (and nothing else, e.g. not ``n_jobs``, on which no result
depends) enter its fingerprint, together with the fingerprints of the steps it reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from anndata import AnnData

from .. import tl
from ..nn._model import RadiogenomicModel
from ..nn._modules import TranscriptomeAutoencoder
from ._inputs import collection_label
from ._store import StepStore

__all__ = ["Context", "Step", "plan"]


@dataclass
class Context:
    """What every step may read: the validated config, seed, jobs, gene sets and the run's step store."""

    cfg: dict
    seed: int
    n_jobs: int
    traits: list[str]
    collections: dict[str, dict[str, dict[str, list[str]]]]  # "masking"/"enrich" -> label -> sets
    store: StepStore
    fingerprints: dict[str, str] = field(default_factory=dict)


@dataclass
class Step:
    name: str
    params: dict
    deps: list[str]
    compute: Callable[[AnnData, Context, str], None]  # (adata, ctx, fingerprint)


def _pretrain(adata: AnnData, ctx: Context, fp: str) -> None:
    s = ctx.cfg["steps.pretrain"]
    hidden = ctx.cfg["steps.train"]["hidden"]
    # Only patients without any modelled trait (the paper's choice): no fold ever holds them out, so the expression of
    # the patients a network is evaluated on never reaches its initialisation.
    labelled = list(adata.obs_names[labelled_patients(adata, ctx.traits)])
    ae = tl.pretrain(adata, exclude=labelled, hidden=hidden, activation=ctx.cfg["steps.train"]["activation"] or "tanh",
                     output=s["output"], loss=s["loss"], epochs=s["epochs"], batch_size=s["batch_size"],
                     patience=s["patience"], seed=ctx.seed)
    adata.uns["pretrain"]["params"]["patients_used"] = PRETRAIN_SCOPE
    path = ae.save(ctx.store.file_path("pretrain", fp, ".pt"), overwrite=True)
    adata.uns["pretrain"]["path"] = str(path)


PRETRAIN_SCOPE = "patients without any modelled trait (never held out by a fold)"


def labelled_patients(adata: AnnData, traits: list[str]):
    """Boolean mask of the patients with a value for at least one of ``traits``."""
    return adata.obs[list(traits)].notna().any(axis=1).to_numpy() if traits else adata.obs_names.isin([])


def _load_autoencoder(adata: AnnData) -> TranscriptomeAutoencoder:
    return TranscriptomeAutoencoder.load(adata.uns["pretrain"]["path"])


#: [steps.train] keys passed to rg.tl.train as they are (None: the preset's value)
TRAIN_RECIPE_KEYS = ("hidden", "activation", "dropout", "input_dropout", "select_genes", "interaction_rank", "epochs",
                     "batch_size", "optimizer", "learning_rate", "weight_decay", "patience", "inner_splits", "final",
                     "min_epochs")


def _train(trait: str) -> Callable:
    def compute(adata: AnnData, ctx: Context, fp: str) -> None:
        s = ctx.cfg["steps.train"]
        pre = ctx.cfg["steps.pretrain"]
        pretrained = _load_autoencoder(adata) if pre["enabled"] else None
        gene_sets = next(iter(ctx.collections["train"].values())) if s["architecture"] == "gene_sets" else None
        recipe = {k: s[k] for k in TRAIN_RECIPE_KEYS}
        if recipe["hidden"] is not None:
            recipe["hidden"] = tuple(recipe["hidden"])
        model = tl.train(adata, trait, preset=s["preset"], architecture=s["architecture"], gene_sets=gene_sets,
                         nodes_per_set=s["nodes_per_set"], **recipe, cv=s["cv"], protocol=s["protocol"],
                         monitor=s["monitor"], pretrained=pretrained, freeze=pre["freeze"] if pretrained else 0,
                         seed=ctx.seed, n_jobs=ctx.n_jobs)
        model.save(ctx.store.file_path(f"train:{trait}", fp, ".pt"), overwrite=True)
    return compute


def _set_nodes(adata: AnnData, ctx: Context, fp: str) -> None:
    tl.set_nodes(adata)


def _compare(trait: str) -> Callable:
    def compute(adata: AnnData, ctx: Context, fp: str) -> None:
        tl.compare(adata, trait, models=ctx.cfg["steps.compare"]["models"], seed=ctx.seed, n_jobs=ctx.n_jobs)
    return compute


def _bootstrap(trait: str) -> Callable:
    def compute(adata: AnnData, ctx: Context, fp: str) -> None:
        s = ctx.cfg["steps.bootstrap"]
        pretrained = (_load_autoencoder(adata) if s["method"] == "refit" and ctx.cfg["steps.pretrain"]["enabled"]
                      else None)
        tl.bootstrap(adata, trait, method=s["method"], n_boot=s["n_boot"], interval=s["interval"],
                     statistic=s["statistic"], ci=s["ci"],
                     pretrained=pretrained, seed=ctx.seed, n_jobs=ctx.n_jobs)
    return compute


def _masking(label: str) -> Callable:
    def compute(adata: AnnData, ctx: Context, fp: str) -> None:
        s = ctx.cfg["steps.masking"]
        tl.gene_masking(adata, ctx.collections["masking"][label], patients=s["patients"],
                        null=None if s["null"] == "auto" else s["null"], n_null=s["n_null"], max_null=s["max_null"],
                        score=s["score"], min_size=s["min_size"], max_size=s["max_size"], precision=s["precision"],
                        seed=ctx.seed, key_added=f"masking_{label}")
    return compute


def _saliency(method: str) -> Callable:
    def compute(adata: AnnData, ctx: Context, fp: str) -> None:
        tl.saliency(adata, method=method, abs=ctx.cfg["steps.saliency"]["abs"], key_added=method)
    return compute


def attribution_layers(adata: AnnData, method: str, traits: list[str]) -> list[str]:
    """The layers (and .var columns) a saliency step wrote, trait by trait and class by class."""
    return [k for t in traits for k in adata.uns[method][t]["keys"]]


def _combined(ctx: Context) -> dict[str, list[str]]:
    sets = ctx.collections["enrich"]
    if len(sets) == 1:
        return next(iter(sets.values()))
    return {f"{label}.{name}": genes for label, coll in sets.items() for name, genes in coll.items()}


def _enrich(per_patient: bool) -> Callable:
    def compute(adata: AnnData, ctx: Context, fp: str) -> None:
        s = ctx.cfg["steps.enrich"]
        method = s["patient_method"] if per_patient else s["cohort_method"]
        gene_sets = _combined(ctx)
        for layer in attribution_layers(adata, method, ctx.traits):
            tl.enrich(adata, key=layer, gene_sets=gene_sets, per_patient=per_patient, n_perm=s["n_perm"],
                      min_size=s["min_size"], max_size=s["max_size"], seed=ctx.seed, n_jobs=ctx.n_jobs,
                      key_added=f"enrich_{'patients' if per_patient else 'cohort'}_{layer}")
    return compute


def _associations(adata: AnnData, ctx: Context, fp: str) -> None:
    s = ctx.cfg["steps.associations"]
    for layer in attribution_layers(adata, ctx.cfg["steps.enrich"]["patient_method"], ctx.traits):
        tl.associations(adata, key=f"enrich_patients_{layer}", label=layer, padj=s["padj"],
                        min_patients=s["min_patients"])


def survival_features(adata: AnnData, ctx: Context) -> tuple[list[str], dict[str, str]]:
    """The features the survival step tests and, for each feature left out, why."""
    s = ctx.cfg["steps.survival"]
    features = list(s["features"]) + (list(ctx.traits) if s["traits"] else [])
    if s["associations"]:
        for rec in adata.uns.get("associations", {}).values():
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


def _survival(adata: AnnData, ctx: Context, fp: str) -> None:
    s = ctx.cfg["steps.survival"]
    features, dropped = survival_features(adata, ctx)
    tl.survival(adata, features=features, duration=s["duration"], event=s["event"], covariates=s["covariates"],
                selection=None if s["selection"] == "none" else s["selection"], penalizer=s["penalizer"])
    adata.uns["survival"]["params"]["not_tested"] = {k.replace("/", "-"): v for k, v in dropped.items()}


def plan(cfg: dict, traits: list[str]) -> list[Step]:
    """The steps the config asks for, in an order where each step's dependencies come first."""
    st = {s.split(".", 1)[1]: v for s, v in cfg.items() if s.startswith("steps.")}
    steps: list[Step] = []
    base = ["input"]
    if st["pretrain"]["enabled"]:
        steps.append(Step("pretrain", {**st["pretrain"], "hidden": st["train"]["hidden"],
                                       "activation": st["train"]["activation"], "excluded_traits": list(traits)},
                          base, _pretrain))
        base = ["input", "pretrain"]
    for t in traits:
        deps = base + (["sets:train"] if st["train"]["architecture"] == "gene_sets" else [])
        steps.append(Step(f"train:{t}", {**st["train"], "freeze": st["pretrain"]["freeze"]}, deps, _train(t)))
    if st["train"]["architecture"] == "gene_sets" and traits:
        steps.append(Step("set_nodes", {}, [f"train:{t}" for t in traits], _set_nodes))
    if st["compare"]["enabled"]:
        steps += [Step(f"compare:{t}", st["compare"], [f"train:{t}"], _compare(t)) for t in traits]
    if st["bootstrap"]["enabled"]:
        steps += [Step(f"bootstrap:{t}", st["bootstrap"], [f"train:{t}", f"compare:{t}"], _bootstrap(t)) for t in traits]
    trained = [f"train:{t}" for t in traits]
    if st["masking"]["enabled"]:
        for label in st["masking"]["collections"]:
            label = collection_label(label)
            params = {k: v for k, v in st["masking"].items() if k != "collections"}
            steps.append(Step(f"masking:{label}", {**params, "collection": label}, trained + [f"sets:masking:{label}"],
                              _masking(label)))
    if st["saliency"]["enabled"]:
        for method in st["saliency"]["methods"]:
            steps.append(Step(f"saliency:{method}", {"method": method, "abs": st["saliency"]["abs"]}, trained,
                              _saliency(method)))
    if st["enrich"]["enabled"]:
        e = st["enrich"]
        common = {k: e[k] for k in ("n_perm", "min_size", "max_size")}
        if e["cohort"]:
            steps.append(Step("enrich:cohort", {**common, "method": e["cohort_method"]},
                              [f"saliency:{e['cohort_method']}", "sets:enrich"], _enrich(False)))
        if e["per_patient"]:
            steps.append(Step("enrich:patients", {**common, "method": e["patient_method"]},
                              [f"saliency:{e['patient_method']}", "sets:enrich"], _enrich(True)))
    if st["associations"]["enabled"]:
        steps.append(Step("associations", st["associations"], ["enrich:patients"], _associations))
    if st["survival"]["enabled"]:
        deps = ["input"] + trained + (["associations"] if st["survival"]["associations"] else [])
        steps.append(Step("survival", st["survival"], deps, _survival))
    return steps


def register_model(adata: AnnData, trait: str) -> None:
    """Make a stored model known to this session (a resumed run reads it from the step's file)."""
    from ..nn._model import lookup, register

    record = adata.uns["radiogx"][trait]
    if lookup(str(record["model_id"]), adata) is None:
        register(RadiogenomicModel.load(record["path"]), adata)
