"""A seeded synthetic radiogenomic cohort with planted gene modules that drive each trait (known truth)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from .. import __version__

__all__ = ["synthetic"]


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def synthetic(
    n_obs: int = 528,
    n_vars: int = 12042,
    n_traits: int = 6,
    *,
    seed: int = 0,
    kinds: Sequence[str] | None = None,
    module_size: int = 40,
    n_decoys: int = 20,
    balance: float | Sequence[float] = 0.5,
    noise: float = 0.3,
    module_strength: float = 1.0,
    n_factors: int = 20,
    background_correlation: float = 0.3,
    unlabelled: float = 0.0,
    continuous: bool = False,
) -> AnnData:
    """Generate a cohort of the paper's shape whose traits are driven by planted gene modules.

    Expression: each gene has its own mean (2-10, like log2 microarray values) and scale; a low-rank background of
    ``n_factors`` shared factors correlates the genes (``background_correlation`` of each gene's variance); planted
    modules of ``module_size`` genes share a latent module activity ``m`` added with ``module_strength``.
    Traits: a ``"linear"`` trait is driven by one module (score ``m``); an ``"interaction"`` trait by the product of
    two modules (score ``m_a * m_b``, an XOR-like rule no linear model can fit). Gaussian noise of sd ``noise`` is
    added to the score, and the top ``balance`` fraction of patients is positive.

    Parameters
    ----------
    n_obs, n_vars, n_traits
        Patients, genes and traits.
    seed
        Seed of every random draw: the same arguments give the same cohort.
    kinds
        One of ``"linear"``/``"interaction"`` per trait; default alternates, starting with linear.
    module_size
        Genes per planted module.
    n_decoys
        Size-matched random decoy sets added to the gene-set collection per planted set.
    balance
        Fraction of positive patients, one value or one per trait (0 < balance < 1).
    noise
        Sd of the noise added to each trait's score (score sd is about 1).
    module_strength
        Weight of the module activity in its genes (the gene's own noise has sd 1).
    n_factors, background_correlation
        The shared background: rank and fraction of each gene's variance it explains (0 <= value < 1).
    unlabelled
        Share of the patients without any trait value (missing in every trait column): the paper's expression-only
        patients, on which the autoencoder pre-trains (0 <= value < 1; the last patients, after the traits are drawn).
    continuous
        Each trait column holds the trait's score itself (float: a continuous trait, such as a volume ratio) instead
        of its classes; the cohort is otherwise the same (``balance`` is then unused).

    Returns
    -------
    AnnData ``n_obs`` x ``n_vars`` (float32), genes ``G00001``... and patients ``P0001``....
    ``obs["trait_<i>"]``: categorical with categories ``["negative", "positive"]`` (positive second), or the float
    score with ``continuous=True``.
    ``uns["synthetic"]``: ``params``; ``traits`` (per trait: ``kind``, ``sets``, the planted set names, ``balance``);
    ``gene_sets``: the collection, planted sets among size-matched decoys under neutral names ``SET_0001``...
    ``obsm["synthetic_modules"]``: the latent module activities (patients x planted sets).
    """
    n_obs = _check_int("n_obs", n_obs, 4)
    n_vars = _check_int("n_vars", n_vars, 2)
    n_traits = _check_int("n_traits", n_traits, 1)
    module_size = _check_int("module_size", module_size, 1)
    n_decoys = _check_int("n_decoys", n_decoys, 0)
    n_factors = _check_int("n_factors", n_factors, 0)
    seed = _check_int("seed", seed, 0)
    kinds = list(kinds) if kinds is not None else ["linear" if i % 2 == 0 else "interaction" for i in range(n_traits)]
    if len(kinds) != n_traits or any(k not in ("linear", "interaction") for k in kinds):
        raise ValueError(f"kinds must hold {n_traits} values, each 'linear' or 'interaction'; got {kinds!r}")
    balances = np.broadcast_to(np.asarray(balance, dtype=float), (n_traits,)) if np.ndim(balance) == 0 else np.asarray(balance, float)
    if balances.shape != (n_traits,) or not np.all((balances > 0) & (balances < 1)):
        raise ValueError(f"balance must be in (0, 1), one value or one per trait ({n_traits}); got {balance!r}")
    if not 0 <= background_correlation < 1:
        raise ValueError(f"background_correlation must be in [0, 1), got {background_correlation!r}")
    if not 0 <= unlabelled < 1:
        raise ValueError(f"unlabelled must be in [0, 1), got {unlabelled!r}")
    if noise < 0 or module_strength < 0:
        raise ValueError(f"noise and module_strength must be >= 0, got {noise!r} and {module_strength!r}")
    n_modules = sum(1 if k == "linear" else 2 for k in kinds)
    if n_modules * module_size > n_vars:
        raise ValueError(
            f"{n_modules} modules of {module_size} genes need {n_modules * module_size} genes, but n_vars is {n_vars}; "
            "lower module_size or raise n_vars"
        )

    rng = np.random.default_rng(seed)
    genes = np.array([f"G{i + 1:05d}" for i in range(n_vars)])
    patients = np.array([f"P{i + 1:04d}" for i in range(n_obs)])

    # Background: shared low-rank factors + gene-specific noise, each gene of unit variance before scaling.
    x = rng.standard_normal((n_obs, n_vars), dtype=np.float32) * np.float32(np.sqrt(1 - background_correlation))
    if n_factors and background_correlation > 0:
        factors = rng.standard_normal((n_obs, n_factors), dtype=np.float32)
        loadings = rng.standard_normal((n_factors, n_vars), dtype=np.float32) * np.float32(np.sqrt(background_correlation / n_factors))
        x += factors @ loadings

    # Planted modules: disjoint gene sets sharing one latent activity each.
    module_genes = rng.permutation(n_vars)[: n_modules * module_size].reshape(n_modules, module_size)
    activity = rng.standard_normal((n_obs, n_modules)).astype(np.float32)
    signs = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(n_modules, module_size))
    weights = np.float32(module_strength) * signs * rng.uniform(0.7, 1.3, size=(n_modules, module_size)).astype(np.float32)
    for j in range(n_modules):
        x[:, module_genes[j]] += activity[:, [j]] * weights[j]

    # Realistic scale: per-gene means and sds (the models scale inside their folds).
    x = x * rng.uniform(0.5, 2.0, n_vars).astype(np.float32) + rng.uniform(2.0, 10.0, n_vars).astype(np.float32)

    obs = pd.DataFrame(index=patients)
    traits: dict[str, dict] = {}
    set_genes: list[np.ndarray] = []
    module_of_set: list[int] = []
    j = 0
    for t, kind in enumerate(kinds):
        used = [j] if kind == "linear" else [j, j + 1]
        j += len(used)
        score = activity[:, used[0]] if kind == "linear" else activity[:, used[0]] * activity[:, used[1]]
        score = score + noise * rng.standard_normal(n_obs)
        n_pos = int(round(balances[t] * n_obs))
        n_pos = min(max(n_pos, 1), n_obs - 1)
        positive = np.zeros(n_obs, dtype=bool)
        positive[np.argsort(-score, kind="stable")[:n_pos]] = True
        name = f"trait_{t}"
        obs[name] = (score.astype(np.float64) if continuous else
                     pd.Categorical(np.where(positive, "positive", "negative"), categories=["negative", "positive"]))
        traits[name] = {"kind": kind, "module_index": np.asarray(used), "balance": float(balances[t])}
        for m in used:
            set_genes.append(genes[np.sort(module_genes[m])])
            module_of_set.append(m)

    # The collection: planted sets among size-matched decoys drawn from the genes of no module, neutral shuffled names.
    free = np.setdiff1d(np.arange(n_vars), module_genes.ravel())
    n_planted = len(set_genes)
    for _ in range(n_planted * n_decoys):
        if len(free) < module_size:
            break
        set_genes.append(genes[np.sort(rng.choice(free, size=module_size, replace=False))])
    order = rng.permutation(len(set_genes))
    names = np.empty(len(set_genes), dtype=object)
    names[order] = [f"SET_{i + 1:04d}" for i in range(len(set_genes))]
    collection = {str(names[i]): set_genes[i].tolist() for i in np.argsort(names)}
    for info in traits.values():
        info["sets"] = np.array([names[i] for i in range(n_planted) if module_of_set[i] in info["module_index"]], dtype=object)

    n_free = int(round(unlabelled * n_obs))
    if n_free:
        for name in traits:
            obs.iloc[n_obs - n_free:, obs.columns.get_loc(name)] = np.nan
    adata = AnnData(X=x.astype(np.float32), obs=obs, var=pd.DataFrame(index=genes))
    adata.obsm["synthetic_modules"] = activity
    adata.uns["synthetic"] = {
        "params": {
            "n_obs": n_obs, "n_vars": n_vars, "n_traits": n_traits, "seed": seed, "kinds": np.array(kinds, dtype=object),
            "module_size": module_size, "n_decoys": n_decoys, "balance": balances.astype(float), "noise": float(noise),
            "module_strength": float(module_strength), "n_factors": n_factors,
            "background_correlation": float(background_correlation), "unlabelled": float(unlabelled),
            "continuous": bool(continuous),
            "radiogx_version": __version__,
        },
        "traits": traits,
        "gene_sets": collection,
    }
    return adata
