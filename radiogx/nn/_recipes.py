"""Named training recipes of the radiogenomic network: radiogx's measured default and the paper's.

A recipe fills every setting of :func:`radiogx.tl.train` the user leaves at ``None``. The ``"default"`` recipe was
chosen by nested AUCs on the same folds as the baselines (``benchmarks/model_quality.py``). On a synthetic cohort of
the paper's shape (528 patients x 12,042 genes, a trait driven by one 40-gene module) a dense network on every gene
reached 0.83 (256 wide; 0.84 for radiogx 0.2's 1000-500-250) where random forest reached 0.96; a narrow network whose
first layer sees only the training patients' top genes by ANOVA F reached 0.93-0.95, and with three inner splits
averaged and the screen size chosen inside each fold, 0.96, level with random forest. The ``"attribution"`` recipe
(six inner splits, the widest screen within one standard error of the best: 50 genes there, in every fold) kept 0.96
and made the genes the networks weigh reproducible across retrainings (``benchmarks/attribution_quality.py``).
"""

from __future__ import annotations

import numpy as np

from ._fit import DEFAULT_CONFIG

__all__ = ["PRESETS", "CONFIG_RULES", "GENE_SET_DEFAULTS", "auto_width", "gene_set_mask", "choose_config"]

# The network settings that rg.tl.train takes as arguments, at NetworkConfig's defaults (the one source of them).
_NETWORK = {k: v for k, v in DEFAULT_CONFIG.items() if k != "min_delta"}

#: What ``architecture="gene_sets"`` changes in the default recipe: the set layer feeds the head directly, with a
#: factorisation-machine term of rank 8 on the set nodes (pairwise products of set activities).
GENE_SET_DEFAULTS: dict = {"hidden": (), "interaction_rank": 8}

#: Settings of each preset: what it changes from :class:`~radiogx.nn.NetworkConfig`'s defaults, and its training loop
#: (search grid, inner splits, final model); ``hidden="auto"`` scales one hidden layer to the cohort (:func:`auto_width`).
#: ``gene_set_layer``: what the preset changes when ``architecture="gene_sets"``.
#: ``config_rule``: how each fold chooses among the grid's configurations (:data:`CONFIG_RULES`).
PRESETS: dict[str, dict] = {
    "default": {**_NETWORK, "hidden": "auto", "dropout": 0.2, "param_grid": {"select_genes": [30, 100, 1000]},
                "inner_splits": 3, "final": "ensemble", "min_epochs": 10, "input_transform": "none",
                "config_rule": "best", "gene_set_layer": GENE_SET_DEFAULTS},
    # Smedley et al. 2020: 4000-2000-1000 tanh, Adadelta, batch 10, one network refit
    "paper": {**_NETWORK, "hidden": (4000, 2000, 1000), "activation": "tanh", "batch_size": 10, "optimizer": "adadelta",
              "param_grid": None, "inner_splits": 1, "final": "refit", "min_epochs": 10, "input_transform": "none",
              "config_rule": "best", "gene_set_layer": {}},
}
# Genes to publish: six inner splits averaged per fold, screens of 50, 100 or every gene, and each fold keeping the
# widest screen within one standard error of the best. On the Verhaak subtypes the top-100 genes of input x gradient
# then vary over retrainings by a median relative SD of 0.10-0.17 (the default: 0.24-0.35) at the same nested AUC, and
# on a synthetic cohort the stable genes recall 0.90 of a planted 40-gene module (the default: 0.82;
# benchmarks/attribution_quality.py). Not the default: at the paper's size its wider fold networks, weighing more
# genes, made gene masking 15x slower (benchmarks/README.md).
PRESETS["attribution"] = {**PRESETS["default"], "param_grid": {"select_genes": [50, 100, 1000]}, "inner_splits": 6,
                          "config_rule": "widest_within_se"}
# A model meant to travel: the attribution recipe on each patient's within-patient normal scores (Mao et al., BMC
# Cancer 2022). On Phillips' GBMs with a reference series (benchmarks/travel.py) it transferred at 0.823-0.824
# balanced accuracy over three training seeds, where the default recipe read 0.718-0.795 and the attribution recipe
# without the transform 0.663-0.731, at the same nested AUC.
PRESETS["travel"] = {**PRESETS["attribution"], "input_transform": "rank_normal"}


#: How a fold chooses its configuration from the inner scores (higher is better; configurations x inner splits):
#: ``"best"``, the best mean; ``"widest_within_se"``, among the configurations whose mean is within one standard error
#: of the best one's (its inner scores' SD over the square root of their number; Hastie, Tibshirani & Friedman's
#: one-standard-error rule), the one whose first layer sees the most genes, then the best mean. Where inner scores
#: tie near their ceiling, the best mean picks a screen at random fold by fold; the rule picks the same one.
CONFIG_RULES = ("best", "widest_within_se")


def choose_config(scores: np.ndarray, widths: list[float], rule: str) -> int:
    """The index of the configuration a fold keeps: ``scores`` (configurations x inner splits), ``widths`` (genes each
    configuration's first layer sees), ``rule`` (:data:`CONFIG_RULES`)."""
    if rule not in CONFIG_RULES:
        raise ValueError(f"config_rule must be one of {list(CONFIG_RULES)}, got {rule!r}")
    means = np.mean(scores, axis=1)  # a configuration with a split that scored nothing is not chosen
    best = int(np.nanargmax(means))
    if rule == "best":
        return best
    own = scores[best]
    se = float(np.std(own, ddof=1) / np.sqrt(len(own))) if len(own) > 1 else 0.0
    within = [c for c in range(len(means)) if np.isfinite(means[c]) and means[c] >= means[best] - se]
    return max(within, key=lambda c: (widths[c], means[c], -c))


def auto_width(n_patients: int) -> int:
    """One hidden layer scaled to the cohort: the power of two nearest ``n_patients / 8``, between 16 and 128."""
    return int(np.clip(2 ** round(np.log2(max(n_patients, 1) / 8)), 16, 128))


def gene_set_mask(indices: list[np.ndarray], n_genes: int, nodes_per_set: int) -> np.ndarray:
    """Connectivity of the gene-set layer: ``nodes_per_set`` nodes per set, each connected to its set's genes only."""
    mask = np.zeros((len(indices) * nodes_per_set, n_genes), dtype=np.float32)
    for s, idx in enumerate(indices):
        mask[s * nodes_per_set:(s + 1) * nodes_per_set, idx] = 1.0
    return mask
