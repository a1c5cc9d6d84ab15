"""Tools: radiogenomic models and their honest evaluation (attributions, enrichment and survival follow)."""

from .._registry import (AttributionMethod, Baseline, ResultKind, methods, register_attribution_method,
                         register_baseline, register_kind)
from ._associations import associations
from . import _baselines  # noqa: F401 (registers the built-in baselines)
from ._bootstrap import bootstrap
from ._compare import compare
from ._enrich import NoTestableSets, enrich
from ._gene_masking import gene_masking
from ._importance import importance
from ._predict import predict
from ._pretrain import pretrain
from ._saliency import saliency
from ._stability import stability
from ._set_control import set_control
from ._set_nodes import set_nodes
from ._survival import survival
from ._train import train

__all__ = ["pretrain", "train", "compare", "bootstrap", "gene_masking", "saliency", "importance", "stability", "set_nodes", "set_control", "enrich", "associations", "survival",
           "predict"]
# the extension points (README, "Extending radiogx"): rg.tl.methods(), rg.tl.register_baseline(rg.tl.Baseline(...)),
# rg.tl.register_attribution_method, rg.tl.register_kind; they take no AnnData, so they are not tools. NoTestableSets:
# the error enrich raises when no gene set can be tested (the workflow goes on with the other traits)
