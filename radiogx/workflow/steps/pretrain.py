"""``[steps.pretrain]``: the transcriptomic autoencoder (:func:`radiogx.tl.pretrain`), on patients without any
modelled trait."""

from __future__ import annotations

from anndata import AnnData

from .._schema import ConfigError, Key, in_range, tool_key
from ._spec import Context, Step, StepSpec, call

PATIENTS_USED = "patients without any modelled trait (never held out by a fold)"


def labelled_patients(adata: AnnData, traits: list[str]):
    """Boolean mask of the patients with a value for at least one of ``traits``."""
    return adata.obs[list(traits)].notna().any(axis=1).to_numpy() if traits else adata.obs_names.isin([])


def _excluded(adata: AnnData, ctx: Context) -> dict:
    # Only patients without any modelled trait (the paper's choice): no fold ever holds them out, so the expression of
    # the patients a network is evaluated on never reaches its initialisation.
    return {"exclude": list(adata.obs_names[labelled_patients(adata, ctx.traits)])}


def _compute(adata: AnnData, ctx: Context, step: Step, fp: str) -> None:
    call(adata, ctx, step, save_to=ctx.store.file_path("pretrain", fp, ".pt"))


def plan(cfg: dict, traits: dict[str, str]) -> list[Step]:
    s, train = cfg["steps.pretrain"], cfg["steps.train"]
    if not s["enabled"]:
        return []
    kwargs = {k: s[k] for k in ("output", "loss", "epochs", "batch_size", "patience")}
    kwargs.update(hidden=list(train["hidden"]), activation=train["activation"] or "tanh", seed=cfg["run"]["seed"],
                  patients_used=PATIENTS_USED)
    return [Step("pretrain", "pretrain", kwargs, ["input"], derived={"exclude": f"patients with any of {traits}",
                                                                     "save_to": "the step's stored file"},
                 objects=_excluded, compute=_compute)]


def check(cfg: dict) -> None:
    pre, train = cfg["steps.pretrain"], cfg["steps.train"]
    if pre["enabled"] and train["architecture"] == "gene_sets":
        raise ConfigError("[steps.pretrain] enabled = true: the autoencoder initialises a dense first layer; it cannot "
                          "seed [steps.train] architecture = 'gene_sets'")
    if pre["enabled"] and not train["hidden"]:
        raise ConfigError("[steps.pretrain] enabled = true: needs [steps.train] hidden, the widths that the "
                          "autoencoder's encoder and the networks share (e.g. [64])")
    if pre["enabled"] and pre["freeze"] > len(train["hidden"]):
        raise ConfigError(f"[steps.pretrain] freeze = {pre['freeze']}: must be <= the number of hidden layers "
                          f"({len(train['hidden'])}, [steps.train] hidden)")


SPEC = StepSpec("pretrain", "pretrain", 10, {
    "enabled": Key("bool", False, "pre-train the transcriptomic autoencoder and initialise the networks with it"),
    "epochs": tool_key("int", "epochs", check=in_range(1)),
    "patience": tool_key("int", "early-stopping patience", check=in_range(1)),
    "batch_size": tool_key("int", "batch size", check=in_range(1)),
    "output": tool_key("str", "reconstruction layer"),
    "loss": tool_key("str", "reconstruction loss"),
    "freeze": Key("int", 0, "first Dense layers of the networks kept frozen (rg.tl.train's freeze)", check=in_range(0)),
}, plan, check)
