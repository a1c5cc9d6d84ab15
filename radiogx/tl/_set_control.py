"""A control for gene-set networks: the same recipe trained on randomised collections (Caranzano et al. 2025 ask it
of every pathway-informed network), and the gain of the real collection over them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from joblib import Parallel, delayed
from scipy import stats
from tqdm.auto import tqdm

from .. import __version__
from .._docs import doc_params
from .._logging import log_added, logger
from .._settings import settings
from .._validation import check_adata
from ..nn import TranscriptomeAutoencoder
from ._folds import child_seed
from ._models import models_to_explain
from ._record import write_record
from ._stability import _cohort, _repeat, retrain_settings

__all__ = ["set_control"]


def _randomised(sets: dict[str, list[str]], genes: pd.Index, seed: int) -> dict[str, list[str]]:
    """Each set replaced by as many genes drawn at random (without replacement within a set) from ``genes``."""
    rng = np.random.default_rng(seed)
    return {name: list(genes[rng.choice(len(genes), len(members), replace=False)]) for name, members in sets.items()}


@doc_params
def set_control(
    adata: AnnData,
    trait: str | None = None,
    *,
    n_draws: int = 5,
    ci: float = 0.95,
    seed: int | None = None,
    pretrained: TranscriptomeAutoencoder | None = None,
    n_jobs: int | None = None,
    device: str | None = None,
    key: str | None = None,
    key_added: str = "set_control",
    copy: bool = False,
) -> AnnData | None:
    """How much a gene-set network owes to its collection: the trait's recipe trained on ``n_draws`` randomised
    collections, each set's size kept and its genes drawn at random from the model's genes, on the same outer folds
    and seed as the trained network (a paired comparison).

    The gain is the trained network's pooled out-of-fold score (ROC-AUC, or R^2 for a continuous trait) minus the
    mean of the randomised networks'; its interval is the t interval over the draws (``n_draws`` - 1 degrees of
    freedom). It covers the randomised collections' mean score, conditional on the trained network's run (its seed
    and folds); it says nothing of another cohort. A gain whose interval includes 0 means the collection's structure
    did not help: a network with random sets of the same sizes did as well (Caranzano et al. 2025; Esser-Skala &
    Fortelny, npj Syst Biol Appl 2023).

    Parameters
    ----------
    adata
        The cohort of the trait's gene-set network (``rg.tl.train(..., architecture="gene_sets")``).
    trait
        The trait; ``None``: every trained trait (each must be a gene-set network).
    n_draws
        Randomised collections (at least 2).
    ci
        Coverage of the interval.
    seed
        Seeds the draws (``None``: ``rg.settings.seed``).
    pretrained
        Not used by gene-set networks (their first layer is the set layer); refused when given.
    n_jobs
        Draws trained at once; results do not depend on it.
    {device}
    {models_key}
    key_added
        ``adata.uns[key_added][trait]`` receives ``summary`` (one row: ``metric``, ``collection`` (the trained
        network's score), ``randomised_mean``, ``randomised_sd``, ``gain``, ``gain_lower``, ``gain_upper``,
        ``n_draws``), ``draws`` (each draw's seed and score) and ``params``.
    {copy}

    Returns
    -------
    ``None``, or the modified copy with ``copy=True``.
    """
    adata = adata.copy() if copy else adata
    check_adata(adata)
    if isinstance(n_draws, bool) or not isinstance(n_draws, int | np.integer) or n_draws < 2:
        raise ValueError(f"n_draws must be an integer >= 2, got {n_draws!r}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")
    if pretrained is not None:
        raise ValueError("gene-set networks start from their collection, not an autoencoder; leave pretrained=None")
    seed = settings.seed if seed is None else int(seed)
    n_jobs = settings.n_jobs if n_jobs is None else int(n_jobs)
    device = settings.torch_device(device)
    for m in models_to_explain(adata, None, trait, key):
        if m.set_nodes is None:
            raise ValueError(f"the {m.trait!r} model is a dense network; the control compares a gene-set network "
                             "(rg.tl.train(..., architecture='gene_sets')) with randomised collections")
        kwargs = retrain_settings(m)
        cohort = _cohort(adata, m)
        own_seed = int(m.settings["seed"])
        draws = [child_seed(seed, 28_001, d) for d in range(n_draws)]
        jobs = (delayed(_repeat)(cohort, m.trait, {**kwargs, "gene_sets": _randomised(kwargs["gene_sets"], m.genes, d)},
                                 own_seed, [], device, None) for d in draws)
        runs = list(tqdm(Parallel(n_jobs=n_jobs, return_as="generator")(jobs), total=n_draws,
                         desc=f"set_control {m.trait} ({n_draws} randomised collections)",
                         disable=not settings.show_progress))
        scores = np.array([r["score"] for r in runs])
        real = float(m.training["cv"].get("roc_auc_pooled", m.training["cv"].get("r2_pooled")))
        metric = "r2" if m.is_regression else "roc_auc"
        half = stats.t.ppf(0.5 + ci / 2, n_draws - 1) * scores.std(ddof=1) / np.sqrt(n_draws)
        gain = real - float(scores.mean())
        summary = pd.DataFrame([{"metric": metric, "collection": real, "randomised_mean": float(scores.mean()),
                                 "randomised_sd": float(scores.std(ddof=1)), "gain": gain, "gain_lower": gain - half,
                                 "gain_upper": gain + half, "n_draws": int(n_draws), "ci": float(ci)}])
        record = {"params": {"kind": "set_control", "trait": m.trait, "n_draws": int(n_draws), "seed": int(seed),
                             "model_id": m.model_id, "device": str(device), "radiogx_version": __version__},
                  "summary": summary,
                  "draws": pd.DataFrame({"draw": np.arange(n_draws), "seed": draws, "score": scores})}
        record["added"] = log_added("set_control", uns=key_added)
        write_record(adata, key_added, record, tool="set_control", trait=m.trait)
        logger.info(f"set_control: {m.trait}: {metric} {real:.3f} with its collection, {scores.mean():.3f} with "
                    f"randomised ones; gain {gain:.3f} [{gain - half:.3f}, {gain + half:.3f}]")
    return adata if copy else None
