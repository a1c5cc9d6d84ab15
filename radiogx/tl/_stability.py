"""How far a trait's gene attributions can be trusted: repeated out-of-fold attributions with stability statistics,
and the sanity checks of Adebayo et al. (2018) beside them."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from anndata import AnnData
from joblib import Parallel, delayed
from scipy import stats
from tqdm.auto import tqdm

from .. import __version__
from .._docs import doc_params
from .._logging import log_added, logger
from .._registry import attribution_methods
from .._settings import settings
from .._traits import trait_data
from .._validation import check_adata
from ..nn import RadiogenomicModel, TranscriptomeAutoencoder
from ..nn.engine import seeded_init
from ._attribute import model_targets, patient_attributions, target_label
from ._baseline_stability import baseline_repeat
from ._folds import child_seed
from ._importance import compared_baseline
from ._models import held_out_folds, models_to_explain
from ._record import write_record
from ._saliency import attribution_key
from ._stability_stats import (as_shares, cohort_scores, nogueira_phi, overlap_pvalue, pairwise_agreement,
                               permuted_label_overlaps, top_selection)

__all__ = ["stability", "retrain_settings"]

STABLE_FRACTION = 0.8  # a gene is stable when it is in the top k of at least this fraction of repeats


def retrain_settings(m: RadiogenomicModel) -> dict:
    """The :func:`radiogx.tl.train` keyword arguments that trained ``m`` (its recorded settings), without ``seed``."""
    p = m.settings
    if not p or "preset" not in p:
        raise ValueError(f"the {m.trait!r} model records no training settings (a model of radiogx <= 0.2); retrain it")
    if p.get("protocol") != "nested":
        raise ValueError(f"the {m.trait!r} model was trained with protocol='paper', which keeps no fold networks; "
                         "stability needs out-of-fold attributions: train with protocol='nested'")

    def value(name):
        v = p.get(name, "")
        return None if isinstance(v, str) and v in ("", "None") else v

    out = {"preset": p["preset"], "architecture": p["architecture"], "cv": int(p["cv"]), "protocol": "nested",
           "task": p["task"], "transform": p["transform"], "input_transform": p.get("input_transform", "none"),
           "monitor": p["monitor"],
           "inner_fraction": float(p["inner_fraction"]), "class_weight": value("class_weight"),
           "inner_splits": int(p["inner_splits"]), "final": p["final"], "min_epochs": int(p["min_epochs"]),
           "config_rule": p.get("config_rule", "best"),  # models of radiogx <= 0.8 chose the best mean
           "param_grid": json.loads(p["param_grid"]) if p.get("param_grid") else {}}
    for name in ("hidden", "activation", "dropout", "input_dropout", "epochs", "batch_size", "optimizer",
                 "learning_rate", "weight_decay", "patience", "interaction_rank"):
        out[name] = value(name)
    out["hidden"] = tuple(int(h) for h in out["hidden"])
    if m.set_nodes is not None:  # the gene sets of the set layer, as the model holds them
        mask = m.set_mask.numpy().astype(bool)
        out["gene_sets"] = {name: list(m.genes[mask[i]]) for i, name in enumerate(m.set_nodes)}
        out["nodes_per_set"] = int(p["nodes_per_set"])
    else:
        out["select_genes"] = "all" if value("select_genes") is None else int(value("select_genes"))
    return out


def _cohort(adata: AnnData, m: RadiogenomicModel) -> AnnData:
    """The model's genes and trait of ``adata``, and nothing else (what a repeat retrains on)."""
    missing = m.genes.difference(adata.var_names)
    if len(missing):
        raise ValueError(f"adata lacks {len(missing)} of the {m.trait!r} model's genes; stability retrains on the "
                         "cohort the model was trained on")
    sub = adata[:, m.genes]
    x = sub.X.toarray() if hasattr(sub.X, "toarray") else np.asarray(sub.X)
    return AnnData(X=np.asarray(x, dtype=np.float32), obs=adata.obs[[m.trait]].copy(),
                   var=pd.DataFrame(index=m.genes.copy()))


def _labels(cohort: AnnData, m: RadiogenomicModel, task: str, transform: str):
    """The labelled patients' rows of ``cohort`` and their labels (integer codes, or a continuous trait's values)."""
    data = trait_data(cohort, m.trait, cv=2, task=task, transform=transform)
    return np.flatnonzero(data.mask), data.y


def _method_scores(m: RadiogenomicModel, cohort: AnnData, methods: Sequence[str], device, rows: np.ndarray,
                   y: np.ndarray, network=None) -> dict[str, np.ndarray]:
    """Per method: targets x genes cohort scores of ``m``'s out-of-fold attributions of the labelled ``rows``."""
    sub = cohort[rows]
    folds = held_out_folds(m, sub.obs_names, instead="train with protocol='nested'")
    targets = model_targets(m)
    out = {}
    for name in methods:
        spec = attribution_methods()[name]
        arrays = patient_attributions(m, sub, spec, folds, targets, device=device, network=network)
        out[name] = as_shares(np.stack([cohort_scores(a, y, score=spec.score, target_code=_code(m, t))
                                        for a, t in zip(arrays, targets)]))
    return out


def _code(m: RadiogenomicModel, target: tuple[int, str | None]) -> int | None:
    """The integer label of a target for the class contrast (``None``: a continuous trait)."""
    if m.is_regression:
        return None
    return target[0] if target[1] is not None else m.n_classes - 1  # a binary model's logit is its positive class


def _repeat(cohort: AnnData, trait: str, kwargs: dict, seed: int, methods, device, pretrained) -> dict:
    """One repeat: the trait's network trained again (new outer split and seed), and its out-of-fold scores."""
    from ._train import train

    cohort = AnnData(X=cohort.X, obs=cohort.obs.copy(), var=cohort.var.copy())  # the record goes in a cohort of its own
    level, progress = logger.level, settings.progress
    logger.setLevel(max(level, logging.WARNING))  # a repeat's training is not news; its figures are in the result
    settings.progress = False  # the repeats' bar says how far they are
    try:
        m = train(cohort, trait, seed=seed, n_jobs=1, device=device, pretrained=pretrained, key_added="_stability",
                  **kwargs)
        rows, y = _labels(cohort, m, kwargs["task"], kwargs["transform"])
        scores = _method_scores(m, cohort, methods, device, rows, y)
    finally:
        logger.setLevel(level)
        settings.progress = progress
    summary = cohort.uns["_stability"][trait]["summary"]
    score = summary.get("roc_auc_pooled", summary.get("r2_pooled"))
    return {"seed": seed, "score": float(score), "classes": list(m.classes), "scores": scores}


def _randomise(layers: list[str], seed: int):
    """A network transform re-initialising ``layers`` (found by name in each network) with seeded weights, keeping
    each layer's pattern of zeros (a fold average's block-diagonal layers, a gene-set layer's connections)."""
    def apply(net: torch.nn.Module) -> torch.nn.Module:
        modules = dict(net.named_modules())
        with seeded_init(seed), torch.no_grad():
            for name in layers:
                module = modules[name]
                if isinstance(module, torch.nn.BatchNorm1d):
                    module.reset_running_stats()
                    module.reset_parameters()
                elif isinstance(module, torch.nn.Linear):
                    zero = module.weight == 0
                    module.reset_parameters()
                    module.weight[zero] = 0.0
        return net
    return apply


def _cascade(m: RadiogenomicModel) -> list[tuple[str, list[str]]]:
    """The stages of cascading randomisation (Adebayo et al. 2018): the output layer first, then each block below
    it, down to the first layer; each stage re-initialises every layer of the ones before it too."""
    modules = dict(m.network(None).named_modules())
    head = [n for n in modules if n in ("head", "pairs", "pair_head")]
    blocks = sorted({n.split(".")[1] for n in modules if n.startswith("blocks.") and n.count(".") == 2}, key=int)
    stages, done = [("output layer", head)], list(head)
    for b in reversed(blocks):
        done = done + [n for n, module in modules.items() if n.startswith(f"blocks.{b}.") and n.count(".") == 2
                       and isinstance(module, torch.nn.Linear | torch.nn.BatchNorm1d)]
        stages.append((f"hidden layer {int(b) + 1}", list(done)))
    return stages


def _gene_rows(genes: pd.Index, method: str, target: str, scores: np.ndarray, selections: np.ndarray,
               top_k: int) -> pd.DataFrame:
    """The per-gene table of one method and target from the repeats' scores (repeats x genes)."""
    mean = scores.mean(axis=0)
    sd = scores.std(axis=0, ddof=1)
    ranks = stats.rankdata(-scores, axis=1, method="average")  # 1: the highest score of a repeat
    consensus = stats.rankdata(-mean, method="min").astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_sd = np.where(mean != 0, sd / np.abs(mean), np.nan)
    freq = selections.mean(axis=0)
    return pd.DataFrame({
        "method": method, "target": target, "gene": genes.astype(str), "mean": mean, "sd": sd, "rel_sd": rel_sd,
        "rank": consensus, "mean_rank": ranks.mean(axis=0),
        "rank_lower": np.quantile(ranks, 0.025, axis=0), "rank_upper": np.quantile(ranks, 0.975, axis=0),
        "top_fraction": freq, "sign_agreement": (np.sign(scores) == np.sign(mean)).mean(axis=0),
        "stable": freq >= STABLE_FRACTION, "in_consensus_top": top_selection(mean, top_k)})


@doc_params
def stability(
    adata: AnnData,
    trait: str | None = None,
    *,
    methods: Sequence[str] = ("input_x_gradient",),
    n_repeats: int = 5,
    top_k: int = 100,
    sanity: bool = True,
    n_permutations: int = 1,
    seed: int | None = None,
    pretrained: TranscriptomeAutoencoder | None = None,
    model: str = "network",
    compare_key: str | None = None,
    n_jobs: int | None = None,
    device: str | None = None,
    key: str | None = None,
    key_added: str = "stability",
    copy: bool = False,
) -> AnnData | None:
    """Stability of a trait's gene attributions over retrainings, with the sanity checks beside it.

    The trait's network is trained again ``n_repeats`` times with its recorded settings, each time with a new outer
    split and seed; in each repeat every labelled patient is explained out of fold (by the fold network that never saw
    it, as :func:`radiogx.tl.saliency` does by default) and each gene gets one score per target: for contributions
    (input x gradient, integrated gradients, DeepLift) the class contrast of its mean signed attribution (among the
    target's patients minus among the others; a continuous trait: its slope on the standardised trait), for plain
    saliency the mean absolute gradient; each repeat's scores are then shares (divided by the sum of its positive
    scores: a logit's scale is no property of a gene). A repeat's top ``top_k`` are its ``top_k`` highest positive
    scores. Over the repeats: Nogueira's stability Phi of the top-k selections with its 95% interval (Nogueira,
    Sechidis & Brown, JMLR 2018), the mean pairwise Jaccard index and Kendall tau, the relative SD of each gene's score, its rank with the
    2.5-97.5% quantiles of its ranks over repeats, and the fraction of repeats that put it in the top k; a gene in the
    top k of at least 80% of the repeats is *stable*, the list to publish (Reynolds & Pan, PLoS Comput Biol 2025, on
    why one training's list is not).

    Sanity checks (Adebayo et al., NeurIPS 2018), on by default: *model randomisation*, the trait's trained networks
    re-initialised layer by layer from the output down (cascading), with the Spearman correlation of each stage's
    gene scores with the trained ones, averaged over 10 independent re-initialisations of the stage (one draw's
    correlation varies widely around its mean); a method whose scores survive random weights, a mean above 0.5 at
    some stage, is flagged; *label
    randomisation*, the network trained on permuted labels (``n_permutations`` times, with the configuration the
    trait's model selected), the overlap of its top k with the repeats' consensus top k and its p under permuted
    labels: the share of 999 label permutations in which the genes' own class contrast (or slope) puts at least as
    many consensus genes in its top k. Permuting labels keeps the genes' correlation, which a hypergeometric p ignores
    (co-expressed genes enter a top list together, whatever the labels). Flagged when the median p is below 0.01.

    Parameters
    ----------
    adata
        The cohort the trait's model was trained on (:func:`radiogx.tl.train`).
    trait
        The trait; ``None``: every trained trait.
    methods
        Attribution methods (names of ``rg.tl.methods()``). The default, input x gradient, ranked by the class
        contrast, gave top-100 lists with Phi 0.77-0.88 over 5 retrainings of the Verhaak subtype network (median
        relative SD 0.10-0.17), plain saliency (mean absolute gradient) 0.69-0.83, and only the latter failed model
        randomisation, on a synthetic cohort (``benchmarks/attribution_quality.py``).
    n_repeats
        Retrainings (at least 2).
    top_k
        Size of each repeat's selection.
    sanity
        Run the two sanity checks.
    n_permutations
        Networks trained on permuted labels.
    seed
        Seeds the repeats (``None``: ``rg.settings.seed``); each repeat's seed differs from the trait model's.
    pretrained
        The autoencoder the trait's network was trained from, when it was (``rg.tl.train(..., pretrained=)``).
    model
        ``"network"``: the trait's network (above). A baseline compared by :func:`radiogx.tl.compare` with per-patient
        attributions (``"logit_l1"``, ``"logit_l2"``, ``"gbt"``, ...; ``"best"``: the best of them in
        :func:`radiogx.get.compare_df`): its genes as :func:`radiogx.tl.importance`
        gives them, each repeat running its nested grid search (compare's grid and inner folds) on a new outer split
        and explaining every labelled patient by the fold model that never saw it (method ``"<model> importance"``,
        ranked by the class contrast; ``methods`` is not used). Its sanity check is label randomisation: the search
        and refit on permuted labels (a baseline has no layers to re-initialise).
    compare_key
        With a baseline ``model``: the ``key_added`` of the compare call (``None``: the only compare record).
    n_jobs
        Repeats trained at once (joblib; under ``joblib.parallel_backend("dask")`` on a Dask cluster); results do
        not depend on it.
    {device}
    {models_key}
    key_added
        Where to store the result: ``adata.uns[key_added][trait]``; a baseline's, at the default, in
        ``"stability_<model>"``, so that it does not replace the network's.
    {copy}

    Returns
    -------
    ``None``, or the modified copy with ``copy=True``. ``adata.uns[key_added][trait]``: ``genes`` (per method,
    target and gene; :func:`radiogx.get.stability_df`), ``summary`` (per method and target;
    :func:`radiogx.get.stability_summary_df`), ``sanity`` (each check's figures), ``repeats`` (seed and pooled
    out-of-fold score of each repeat), ``columns`` and ``params``; ``adata.var[column]`` per method and target
    (``<key_added>_<method>_<trait>[_<target>]``; a baseline's: ``<key_added>_<trait>[_<target>]``): each gene's
    mean share over the repeats, a ranking that
    :func:`radiogx.tl.enrich` takes as ``key=column``.
    """
    adata = adata.copy() if copy else adata
    check_adata(adata)
    known = attribution_methods()
    methods = [methods] if isinstance(methods, str) else list(methods)
    if not methods or any(m not in known for m in methods):
        raise ValueError(f"methods must name attribution methods of {sorted(known)} (rg.tl.methods()), got {methods!r}")
    for name, value, low in (("n_repeats", n_repeats, 2), ("top_k", top_k, 1), ("n_permutations", n_permutations, 1)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    seed = settings.seed if seed is None else int(seed)
    n_jobs = settings.n_jobs if n_jobs is None else int(n_jobs)
    device = settings.torch_device(device)
    if model != "network" and key_added == "stability":  # a baseline's result never replaces the network's
        key_added = f"stability_{model}"
    if model != "network":
        if trait is None:
            raise ValueError("stability of a baseline needs its trait")
        _baseline_stability(adata, trait, model, compare_key, n_repeats=n_repeats, top_k=top_k, sanity=sanity,
                            n_permutations=n_permutations, seed=seed, n_jobs=n_jobs, key_added=key_added)
        return adata if copy else None
    for m in models_to_explain(adata, None, trait, key):
        kwargs = retrain_settings(m)
        if m.settings.get("pretrained") and pretrained is None:
            raise ValueError(f"the {m.trait!r} model was trained from an autoencoder: pass it as pretrained=")
        cohort = _cohort(adata, m)
        seeds = [child_seed(seed, 27_001, r) for r in range(n_repeats)]
        seeds = [s if s != int(m.settings.get("seed", -1)) else child_seed(s, 1) for s in seeds]
        jobs = (delayed(_repeat)(cohort, m.trait, kwargs, s, methods, device, pretrained) for s in seeds)
        runs = list(tqdm(Parallel(n_jobs=n_jobs, return_as="generator")(jobs), total=n_repeats,
                         desc=f"stability {m.trait} ({n_repeats} repeats)", disable=not settings.show_progress))
        outputs = [t for _, t in model_targets(m)]
        targets = [target_label(t, m.trait, m.classes, m.is_regression) for t in outputs]
        tables = _summarise(adata, m.trait, m.genes, runs, {n: known[n].score for n in methods}, outputs, targets,
                            top_k, {n: f"{key_added}_{n}" for n in methods})
        sanity_rows = _sanity(m, cohort, kwargs, methods, targets, tables["consensus"], top_k, seed, n_permutations,
                              device, pretrained, n_jobs) if sanity else []
        _write(adata, m.trait, tables, sanity_rows, runs, key_added, {
            "methods": list(methods), "n_repeats": int(n_repeats), "top_k": int(top_k), "seed": int(seed),
            "sanity": bool(sanity), "n_permutations": int(n_permutations) if sanity else 0, "model": "network",
            "model_id": m.model_id, "device": str(device)})
    return adata if copy else None


def _summarise(adata: AnnData, trait: str, genes: pd.Index, runs: list[dict], score_of: dict[str, str],
               outputs: list[str | None], targets: list[str], top_k: int, prefixes: dict[str, str]) -> dict:
    """The repeats' statistics per method and target: the per-gene tables, the summary rows, the ``.var`` columns
    (``<prefix of the method>_<trait>[_<class>]``) and each consensus top k."""
    genes_tables, summary, columns, consensus = [], [], {}, {}
    n_repeats = len(runs)
    for name, score in score_of.items():
        for j, target in enumerate(targets):
            scores = np.stack([r["scores"][name][j] for r in runs])
            sel = np.stack([top_selection(s, top_k) for s in scores])
            table = _gene_rows(genes, name, target, scores, sel, top_k)
            genes_tables.append(table)
            consensus[name, j] = table["in_consensus_top"].to_numpy()
            column = np.full(adata.n_vars, np.nan)
            column[adata.var_names.get_indexer(genes)] = table["mean"].to_numpy()
            columns[attribution_key(prefixes[name], trait, outputs[j])] = column
            phi, lo, hi = nogueira_phi(sel)
            jac, tau = pairwise_agreement(sel, scores)
            top = table.loc[consensus[name, j]]
            summary.append({"method": name, "target": target, "score": score,
                            "n_repeats": n_repeats, "top_k": top_k, "phi": phi, "phi_lower": lo, "phi_upper": hi,
                            "jaccard": jac, "kendall_tau": tau,
                            "median_rel_sd": float(np.nanmedian(top["rel_sd"])) if len(top) else float("nan"),
                            "n_stable": int(table["stable"].sum())})
    return {"genes": pd.concat(genes_tables, ignore_index=True), "summary": summary, "columns": columns,
            "consensus": consensus, "methods": list(score_of), "targets": targets}


def _write(adata: AnnData, trait: str, tables: dict, sanity_rows: list[dict], runs: list[dict], key_added: str,
           params: dict) -> None:
    """The stability record of one trait, its ``.var`` columns and its log lines."""
    summary = _flag(pd.DataFrame(tables["summary"]), pd.DataFrame(sanity_rows, columns=_SANITY_COLUMNS))
    columns = tables["columns"]
    record = {
        "params": {"kind": "stability", "trait": trait, **params, "stable_fraction": STABLE_FRACTION,
                   "label_null_permutations": LABEL_NULL_PERMUTATIONS if params["sanity"] else 0,
                   "patients": "out_of_fold", "radiogx_version": __version__},
        "genes": tables["genes"],
        "summary": summary,
        "sanity": pd.DataFrame(sanity_rows, columns=_SANITY_COLUMNS),
        "repeats": pd.DataFrame({"repeat": np.arange(len(runs)), "seed": [r["seed"] for r in runs],
                                 "score": [r["score"] for r in runs]}),
    }
    record["columns"] = pd.DataFrame([{"method": n, "target": t} for n in tables["methods"]
                                      for t in tables["targets"]]).assign(column=list(columns))
    record["added"] = log_added("stability", var=list(columns), uns=key_added)
    write_record(adata, key_added, record, tool="stability", trait=trait)
    for column, values in columns.items():
        adata.var[column] = values
    for row in summary.itertuples():
        target = "" if row.target == trait else f" {row.target}"
        flagged = f"; flagged: {row.flags}" if row.flags else ""
        logger.info(f"stability: {trait}{target} ({row.method}): Phi {row.phi:.2f} [{row.phi_lower:.2f}, "
                    f"{row.phi_upper:.2f}], {row.n_stable} stable genes{flagged}")


def _baseline_stability(adata: AnnData, trait: str, name: str, compare_key: str | None, *, n_repeats: int,
                        top_k: int, sanity: bool, n_permutations: int, seed: int, n_jobs: int,
                        key_added: str) -> None:
    """:func:`stability` of a compared baseline's contributions (:func:`radiogx.tl.importance`): its nested search
    and refit on new outer splits per repeat; the label check refits it on permuted labels (model randomisation, a
    network's check, has no counterpart)."""
    s = compared_baseline(adata, trait, name, compare_key, func="stability")
    name = s.name  # "best" resolved
    method = f"{name} importance"
    seeds = [child_seed(seed, 27_006, r) for r in range(n_repeats)]
    jobs = (delayed(baseline_repeat)(s, s.data.y, r_seed, method) for r_seed in seeds)
    runs = list(tqdm(Parallel(n_jobs=n_jobs, return_as="generator")(jobs), total=n_repeats,
                     desc=f"stability {trait} {name} ({n_repeats} repeats)", disable=not settings.show_progress))
    targets = [target_label(t, trait, s.data.classes, s.regression) for t in s.outputs]
    tables = _summarise(adata, trait, s.data.genes, runs, {method: "contrast"}, s.outputs, targets, top_k,
                        {method: key_added})
    rows = []
    if sanity:
        permuted = [s.data.y[np.random.default_rng(child_seed(seed, 27_003, p)).permutation(len(s.data.y))]
                    for p in range(n_permutations)]
        jobs = (delayed(baseline_repeat)(s, y, child_seed(seed, 27_004, p), method) for p, y in enumerate(permuted))
        rows = _label_rows(Parallel(n_jobs=n_jobs)(jobs), s.data.x, s.data.y, tables["consensus"],
                           {method: "contrast"}, s.codes, targets, top_k, seed)
    _write(adata, trait, tables, rows, runs, key_added, {
        "methods": [method], "n_repeats": int(n_repeats), "top_k": int(top_k), "seed": int(seed),
        "sanity": bool(sanity), "n_permutations": int(n_permutations) if sanity else 0, "model": name,
        "model_id": "", "compare_key": compare_key or "", "device": "cpu"})


_SANITY_COLUMNS = ["check", "method", "target", "stage", "draw", "statistic", "value", "pval"]
#: Independent re-initialisations per stage of the model-randomisation check; its figure is their mean correlation.
#: One draw's is a random variable: re-initialising the output layer of the Verhaak subtype network over the same
#: hidden layer gave correlations from -0.39 to 0.68 over 10 draws (mean 0.04-0.12 by subtype).
MODEL_RANDOMISATIONS = 10
#: Label permutations of the label-randomisation check's null (:func:`permuted_label_overlaps`): its smallest p is
#: 1 / 1000.
LABEL_NULL_PERMUTATIONS = 999


def _sanity(m, cohort, kwargs, methods, targets, consensus, top_k, seed, n_permutations, device, pretrained, n_jobs):
    """The two sanity checks' rows: ``check`` (``"model_randomisation"`` or ``"label_randomisation"``), ``method``,
    ``target``, ``stage`` (the cascade's stage, or the permutation), ``draw`` (the re-initialisation, or the
    permutation), ``statistic``, ``value`` and ``pval``."""
    rows = []
    labelled, y = _labels(cohort, m, kwargs["task"], kwargs["transform"])
    trained = _method_scores(m, cohort, methods, device, labelled, y)
    for s, (stage, layers) in enumerate(_cascade(m)):
        for d in range(MODEL_RANDOMISATIONS):
            random = _method_scores(m, cohort, methods, device, labelled, y, network=_randomise(
                layers, child_seed(seed, 27_002, s) if d == 0 else child_seed(seed, 27_002, s, d)))
            for name in methods:
                for j, target in enumerate(targets):
                    rho = stats.spearmanr(trained[name][j], random[name][j]).statistic
                    rows.append({"check": "model_randomisation", "method": name, "target": target, "stage": stage,
                                 "draw": d + 1, "statistic": "spearman", "value": float(rho), "pval": float("nan")})
    # label randomisation: the selected configuration, without a search (the search's winner on noise means nothing)
    pinned = dict(kwargs, param_grid={})
    if "select_genes" in pinned:
        pinned["select_genes"] = "all" if m.config.select_genes is None else int(m.config.select_genes)
    jobs = []
    for p in range(n_permutations):
        rng = np.random.default_rng(child_seed(seed, 27_003, p))
        permuted = cohort.copy()
        column = permuted.obs[m.trait].to_numpy(copy=True)
        column[labelled] = column[labelled][rng.permutation(len(labelled))]
        permuted.obs[m.trait] = pd.Series(column, index=permuted.obs_names).astype(cohort.obs[m.trait].dtype)
        jobs.append(delayed(_repeat)(permuted, m.trait, pinned, child_seed(seed, 27_004, p), methods, device,
                                     pretrained))
    return rows + _label_rows(Parallel(n_jobs=n_jobs)(jobs), m.scaled(cohort[labelled]), y, consensus,
                              {n: attribution_methods()[n].score for n in methods},
                              [_code(m, t) for t in model_targets(m)], targets, top_k, seed)


def _label_rows(runs, x: np.ndarray, y: np.ndarray, consensus: dict, score_of: dict[str, str],
                codes: list[int | None], targets: list[str], top_k: int, seed: int) -> list[dict]:
    """The label-randomisation rows of permuted-label ``runs``: per method and target, the overlap of each run's top
    k with the consensus top k and its p under :data:`LABEL_NULL_PERMUTATIONS` permutations of the labels ``y``
    ranked by the genes' own score on ``x`` (:func:`permuted_label_overlaps`)."""
    null = {(name, j): permuted_label_overlaps(x, y, consensus[name, j], score=score, target_code=code, k=top_k,
                                               n_permutations=LABEL_NULL_PERMUTATIONS, seed=child_seed(seed, 27_005, j))
            for name, score in score_of.items() for j, code in enumerate(codes)}
    rows = []
    for p, run in enumerate(runs):
        for name in score_of:
            for j, target in enumerate(targets):
                overlap, pval = overlap_pvalue(consensus[name, j], top_selection(run["scores"][name][j], top_k),
                                               null[name, j])
                rows.append({"check": "label_randomisation", "method": name, "target": target,
                             "stage": f"permutation {p + 1}", "draw": p + 1, "statistic": "top_k_overlap",
                             "value": float(overlap),
                             "pval": pval})
    return rows


def _flag(summary: pd.DataFrame, sanity: pd.DataFrame) -> pd.DataFrame:
    """The summary with each method's sanity figures and flags: ``model_randomisation_rho`` (over the cascade, the
    highest of the stages' mean Spearman correlations over their draws), ``label_randomisation_pval`` (the median
    over permutations) and ``flags``."""
    summary = summary.copy()
    rho, lab, flags = [], [], []
    for row in summary.itertuples():
        mine = sanity[(sanity["method"] == row.method) & (sanity["target"] == row.target)]
        model = mine[mine["check"] == "model_randomisation"]
        mr = model.groupby("stage", sort=False)["value"].mean()
        lr = mine.loc[mine["check"] == "label_randomisation", "pval"]
        rho.append(float(mr.max()) if len(mr) else float("nan"))
        lab.append(float(lr.median()) if len(lr) else float("nan"))
        flags.append(";".join(f for f, bad in (("model_randomisation", len(mr) and mr.max() > 0.5),
                                               ("label_randomisation", len(lr) and lr.median() < 0.01)) if bad))
    summary["model_randomisation_rho"] = rho
    summary["label_randomisation_pval"] = lab
    summary["flags"] = flags
    return summary
