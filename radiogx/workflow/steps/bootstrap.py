"""``[steps.bootstrap]``: paired bootstrap intervals of the networks' and baselines' AUCs (:func:`radiogx.tl.bootstrap`)."""

from __future__ import annotations

from anndata import AnnData

from ... import get
from .._schema import ConfigError, Key, in_range, tool_key
from ._spec import Context, Step, StepSpec


def _objects(adata: AnnData, ctx: Context) -> dict:
    return {"pretrained": get.autoencoder(adata)}


def plan(cfg: dict, traits: dict[str, str]) -> list[Step]:
    s = cfg["steps.bootstrap"]
    if not s["enabled"]:
        return []
    kwargs = {k: s[k] for k in ("method", "n_boot", "interval", "statistic", "ci")}
    refit_pretrained = s["method"] == "refit" and cfg["steps.pretrain"]["enabled"]
    return [Step(f"bootstrap:{t}", "bootstrap", {"trait": t, **kwargs, "seed": cfg["run"]["seed"]},
                 [f"train:{t}", f"compare:{t}"] + (["pretrain"] if refit_pretrained else []),
                 derived={"pretrained": "the autoencoder of step 'pretrain'"} if refit_pretrained else {},
                 objects=_objects if refit_pretrained else None) for t in traits]


def check(cfg: dict) -> None:
    if cfg["steps.bootstrap"]["enabled"] and not cfg["steps.compare"]["enabled"]:
        raise ConfigError("[steps.bootstrap] enabled = true: needs [steps.compare] enabled = true (the baselines' "
                          "chosen settings); disable bootstrap or enable compare")


SPEC = StepSpec("bootstrap", "bootstrap", 40, {
    "enabled": Key("bool", True, "paired bootstrap intervals of the AUCs (needs compare)"),
    "method": tool_key("str", "'oof' (resample patients, keep the out-of-fold predictions; seconds) or 'refit' (the "
                       "paper's: refit every model on resampled patients)"),
    "n_boot": tool_key("int", "bootstrap resamples (default: 2000 for 'oof', 100 for 'refit' as the paper)",
                       check=in_range(2)),
    "interval": tool_key("str", "interval of the oof bootstrap"),
    "statistic": tool_key("str", "AUC of the oof bootstrap: 'pooled' out-of-fold predictions or the 'fold_mean' of "
                          "the fold AUCs"),
    "ci": tool_key("float", "interval level", check=in_range(0, 1, lo_open=True, hi_open=True)),
}, plan, check)
