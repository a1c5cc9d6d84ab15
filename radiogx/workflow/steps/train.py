"""``[steps.train]``: one radiogenomic network per trait (:func:`radiogx.tl.train`), and the gene-set nodes of a
gene-set network (:func:`radiogx.tl.set_nodes`)."""

from __future__ import annotations

from anndata import AnnData

from ...nn.engine import ACTIVATIONS, OPTIMIZERS
from ... import get
from .._schema import ConfigError, Key, in_range, positive_list, tool_key
from ._spec import Context, Step, StepSpec, call

#: keys passed to rg.tl.train as they are (None: the preset's value)
RECIPE_KEYS = ("preset", "architecture", "nodes_per_set", "hidden", "activation", "dropout", "input_dropout",
               "select_genes", "interaction_rank", "epochs", "batch_size", "optimizer", "learning_rate", "weight_decay",
               "patience", "inner_splits", "config_rule", "final", "min_epochs", "cv", "protocol", "monitor",
               "input_transform")


def _objects(adata: AnnData, ctx: Context) -> dict:
    out = {}
    if ctx.cfg["steps.pretrain"]["enabled"]:
        out["pretrained"] = get.autoencoder(adata)
    if ctx.cfg["steps.train"]["architecture"] == "gene_sets":
        out["gene_sets"] = next(iter(ctx.collections["train"].values()))
    return out


def _compute(adata: AnnData, ctx: Context, step: Step, fp: str) -> None:
    call(adata, ctx, step, save_to=ctx.store.file_path(step.name, fp, ".pt"))


def _register(trait: str):
    def on_load(adata: AnnData) -> None:
        """Make a stored model known to this session (a resumed run reads it from the step's file)."""
        get.model(adata, trait, get.record(adata, "model").key)
    return on_load


def plan(cfg: dict, traits: dict[str, str]) -> list[Step]:
    s, pre = cfg["steps.train"], cfg["steps.pretrain"]
    recipe = {k: (tuple(s[k]) if isinstance(s[k], list) else s[k]) for k in RECIPE_KEYS}
    base, derived = ["input"], {"save_to": "the step's stored file"}
    if pre["enabled"]:
        base.append("pretrain")
        derived["pretrained"] = "the autoencoder of step 'pretrain'"
    if s["architecture"] == "gene_sets":
        base.append("sets:train")
        derived["gene_sets"] = "the collection of [steps.train] gene_sets"
    steps = [Step(f"train:{t}", "train", {"trait": t, **recipe, "freeze": pre["freeze"] if pre["enabled"] else 0,
                                          "seed": cfg["run"]["seed"]}, base, derived=derived, objects=_objects,
                  compute=_compute, on_load=_register(t)) for t in traits]
    if s["architecture"] == "gene_sets" and traits:
        steps.append(Step("set_nodes", "set_nodes", {}, [f"train:{t}" for t in traits]))
    return steps


def check(cfg: dict) -> None:
    train = cfg["steps.train"]
    if train["architecture"] == "gene_sets" and not train["gene_sets"]:
        raise ConfigError("[steps.train] architecture = 'gene_sets': needs [steps.train] gene_sets, the collection of "
                          "the gene-set layer (e.g. 'hallmark')")


def _preset(what: str) -> str:
    return f"{what} (default: the preset's)"


SPEC = StepSpec("train", "train", 20, {
    "preset": tool_key("str", "the recipe that fills every setting left out: 'default' (measured: one layer scaled to "
                       "the cohort, a fold gene screen, averaged inner splits and fold networks), 'attribution' "
                       "(six inner splits, the widest screen within one standard error: genes that reproduce over "
                       "retrainings), 'travel' (the attribution recipe on within-patient normal scores, for models "
                       "applied to other platforms) or 'paper' "
                       "(4000-2000-1000, Adadelta, refit)"),
    "architecture": tool_key("str", "'dense' or 'gene_sets' (a first layer of gene-set nodes)"),
    "gene_sets": Key("str", None, "collection of the gene-set layer: a bundled name, 'synthetic' or a .gmt path",
                     nullable=True),
    "nodes_per_set": tool_key("int", "nodes per gene set of the gene-set layer", check=in_range(1)),
    "hidden": tool_key("int_list", _preset("widths of the hidden layers"), choices=None, check=positive_list),
    "activation": tool_key("str", _preset("activation"), choices=tuple(sorted(ACTIVATIONS))),
    "dropout": tool_key("float", _preset("dropout rate"), check=in_range(0, 1, hi_open=True)),
    "input_dropout": tool_key("float", "dropout of the input genes (default: the same as dropout)",
                              check=in_range(0, 1, hi_open=True)),
    "select_genes": tool_key("int", "the first layer sees the training fold's top genes by ANOVA F (default: the "
                             "preset's search: 30, 100 or 1000; 50, 100 or 1000 for 'attribution' and 'travel')",
                             choices=None, check=in_range(1)),
    "interaction_rank": tool_key("int", "rank of the pairwise (factorisation-machine) term (default: 8 for gene_sets, "
                                 "else 0)", check=in_range(0)),
    "epochs": tool_key("int", _preset("maximum epochs"), check=in_range(1)),
    "batch_size": tool_key("int", _preset("batch size"), check=in_range(1)),
    "optimizer": tool_key("str", _preset("optimizer"), choices=tuple(sorted(OPTIMIZERS))),
    "learning_rate": tool_key("float", "learning rate (default: the optimizer's)", check=in_range(0, lo_open=True)),
    "weight_decay": tool_key("float", _preset("weight decay"), check=in_range(0)),
    "patience": tool_key("int", _preset("early-stopping patience"), check=in_range(1)),
    "inner_splits": tool_key("int", _preset("inner splits per outer fold, their networks averaged"), check=in_range(1)),
    "config_rule": tool_key("str", _preset("how each fold chooses its configuration: 'best' (mean inner score) or "
                                           "'widest_within_se' (the widest gene screen within one standard error)")),
    "final": tool_key("str", _preset("final predictor: 'ensemble' (the fold networks averaged) or 'refit'")),
    "min_epochs": tool_key("int", "floor on the epochs of a refit final model (default: the preset's, 10)",
                           check=in_range(1)),
    "cv": Key("int", 5, "outer cross-validation folds", check=in_range(2),
              why="5 folds, not the paper's 10: cohorts of a few dozen imaged patients (the demo's traits have classes "
                  "of 5-16) would leave test folds with no patient of a class"),
    "protocol": tool_key("str", "'nested' (honest) or 'paper' (epoch chosen on the held-out fold)"),
    "monitor": tool_key("str", "what the inner split scores"),
    "input_transform": tool_key("str", _preset("within-patient transform of the expression, stored with the model: "
                                "'none' or 'rank_normal' (each patient's values to normal scores of their ranks; a "
                                "model then predicts a patient of another platform alone)")),
}, plan, check)
