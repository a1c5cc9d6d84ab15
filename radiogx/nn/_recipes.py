"""Named training recipes of the radiogenomic network: radiogx's measured default and the paper's.

A recipe fills every setting of :func:`radiogx.tl.train` the user leaves at ``None``. The ``"default"`` recipe was
chosen by nested AUCs on the same folds as the baselines (``benchmarks/model_quality.py``). On a synthetic cohort of
the paper's shape (528 patients x 12,042 genes, a trait driven by one 40-gene module) a dense network on every gene
reached 0.83 (256 wide; 0.84 for radiogx 0.2's 1000-500-250) where random forest reached 0.96; a narrow network whose
first layer sees only the training patients' top genes by ANOVA F reached 0.93-0.95, and with three inner splits
averaged and the screen size chosen inside each fold, 0.96, level with random forest.
"""

from __future__ import annotations

import numpy as np

from ._fit import DEFAULT_CONFIG

__all__ = ["PRESETS", "GENE_SET_DEFAULTS", "auto_width", "gene_set_mask"]

# The network settings that rg.tl.train takes as arguments, at NetworkConfig's defaults (the one source of them).
_NETWORK = {k: v for k, v in DEFAULT_CONFIG.items() if k != "min_delta"}

#: What ``architecture="gene_sets"`` changes in the default recipe: the set layer feeds the head directly, with a
#: factorisation-machine term of rank 8 on the set nodes (pairwise products of set activities).
GENE_SET_DEFAULTS: dict = {"hidden": (), "interaction_rank": 8}

#: Settings of each preset: what it changes from :class:`~radiogx.nn.NetworkConfig`'s defaults, and its training loop
#: (search grid, inner splits, final model); ``hidden="auto"`` scales one hidden layer to the cohort (:func:`auto_width`).
#: ``gene_set_layer``: what the preset changes when ``architecture="gene_sets"``.
PRESETS: dict[str, dict] = {
    "default": {**_NETWORK, "hidden": "auto", "dropout": 0.2, "param_grid": {"select_genes": [30, 100, 1000]},
                "inner_splits": 3, "final": "ensemble", "min_epochs": 10, "input_transform": "none",
                "gene_set_layer": GENE_SET_DEFAULTS},
    # Smedley et al. 2020: 4000-2000-1000 tanh, Adadelta, batch 10, one network refit
    "paper": {**_NETWORK, "hidden": (4000, 2000, 1000), "activation": "tanh", "batch_size": 10, "optimizer": "adadelta",
              "param_grid": None, "inner_splits": 1, "final": "refit", "min_epochs": 10, "input_transform": "none",
              "gene_set_layer": {}},
}
# A model meant to travel: the default recipe on each patient's within-patient normal scores (Mao et al., BMC Cancer
# 2022). On Phillips' GBMs with a reference series (benchmarks/travel.py) it transferred at 0.810-0.811 balanced
# accuracy over three training seeds where the default read 0.718-0.795, at the same nested AUC.
PRESETS["travel"] = {**PRESETS["default"], "input_transform": "rank_normal"}


def auto_width(n_patients: int) -> int:
    """One hidden layer scaled to the cohort: the power of two nearest ``n_patients / 8``, between 16 and 128."""
    return int(np.clip(2 ** round(np.log2(max(n_patients, 1) / 8)), 16, 128))


def gene_set_mask(indices: list[np.ndarray], n_genes: int, nodes_per_set: int) -> np.ndarray:
    """Connectivity of the gene-set layer: ``nodes_per_set`` nodes per set, each connected to its set's genes only."""
    mask = np.zeros((len(indices) * nodes_per_set, n_genes), dtype=np.float32)
    for s, idx in enumerate(indices):
        mask[s * nodes_per_set:(s + 1) * nodes_per_set, idx] = 1.0
    return mask
