"""The torch engine that radiogx's tools drive: training loops, network construction, the masking engine, the
trained-model registry and the training recipes.

For radiogx's own tools (``rg.tl``), the workflow and extensions that build on them; a user trains with
:func:`radiogx.tl.train` rather than these. The model objects themselves are :mod:`radiogx.nn`'s public classes.
"""

from ._fit import (_OPTIMIZERS as OPTIMIZERS, REGRESSION, NetworkConfig, fit_autoencoder, fit_network, logit_scores,
                   predict_logits, probabilities, reconstruction_r2)
from ._masking_engine import FoldStack, FoldedNetwork, PackedSets, distinct_rows, gene_positions, masked_logits, pack_sets
from ._modules import ACTIVATIONS, merge_networks, network_from_state, seeded_init
from ._persist import lookup, register
from ._recipes import CONFIG_RULES, GENE_SET_DEFAULTS, PRESETS, auto_width, choose_config, gene_set_mask

__all__ = ["OPTIMIZERS", "REGRESSION", "NetworkConfig", "fit_autoencoder", "fit_network", "logit_scores",
           "predict_logits", "probabilities", "reconstruction_r2", "FoldStack", "FoldedNetwork", "PackedSets", "distinct_rows",
           "gene_positions", "masked_logits", "pack_sets", "ACTIVATIONS", "merge_networks", "network_from_state",
           "seeded_init", "lookup", "register", "CONFIG_RULES", "GENE_SET_DEFAULTS", "PRESETS", "auto_width",
           "choose_config", "gene_set_mask"]
