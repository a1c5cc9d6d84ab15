"""Shared fixtures. The real data must be present: a missing folder fails the run rather than skipping tests, unless
the run deselects the tests that read them (``pytest -m "not data"``)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import radiogx as rg

DATA = Path(rg.settings.datasetdir)
# what reads the real data: the dataset loaders (rg.datasets.synthetic does not), bundled collections by name, the
# demo and the walkthrough, and the fixtures below that wrap them
_READS_DATA = re.compile(
    r"datasets\.(verhaak2010|tcga_\w+|phillips2006|freije2004|vasari_demo|cancersubtypes_gbm|iclusterplus_gbm|gene_sets|fetch)"
    r"|[\"'](hallmark|hallmark_v6\.2|reactome|go_bp|ivygap)[\"']|\b(verhaak|tcga_clinical|data_dir)\b|datasetdir|demo"
    r"|walkthrough"
    r"|configs/|\.toml")


def _reads_data(item) -> bool:
    sources = [item.function]
    if hasattr(item, "callspec"):  # parametrized: the cases may read the data (e.g. lambdas in a table of cases)
        sources += [v for v in item.callspec.params.values() if callable(v)]
    for name in item.fixturenames:
        for fixturedef in item._fixtureinfo.name2fixturedefs.get(name, ()):
            if not inspect.getsourcefile(fixturedef.func).endswith("conftest.py"):  # a test module's own fixtures
                sources.append(fixturedef.func)
    for source in sources:
        try:
            text = inspect.getsource(source)
        except (OSError, TypeError):
            continue
        if _READS_DATA.search(text):
            return True
    return any(n in ("verhaak", "tcga_clinical", "data_dir") for n in item.fixturenames)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _reads_data(item):
            item.add_marker(pytest.mark.data)


def pytest_sessionstart(session):
    rg.settings.progress = False  # progress bars are for people; the test log stays readable


def pytest_collection_finish(session):
    needs_data = [item for item in session.items if item.get_closest_marker("data")]
    if needs_data and not (DATA / "verhaak2010").is_dir():
        raise pytest.UsageError(
            f"the real data are not at {DATA}; set RADIOGX_DATASETDIR to the shared data folder (make test does this), "
            f"or run the {len(session.items) - len(needs_data)} tests that do without them: pytest -m 'not data'"
        )


@pytest.fixture(autouse=True)
def _restore_settings():
    """Each test starts from the same settings and leaves them as it found them."""
    saved = (rg.settings.verbosity, rg.settings.seed, rg.settings.n_jobs, rg.settings.device, rg.settings.datasetdir,
             rg.settings.progress)
    yield
    (rg.settings.verbosity, rg.settings.seed, rg.settings.n_jobs, rg.settings.device, rg.settings.datasetdir,
     rg.settings.progress) = saved


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def verhaak():
    return rg.datasets.verhaak2010()


@pytest.fixture
def small_synthetic():
    return rg.datasets.synthetic(n_obs=120, n_vars=400, n_traits=2, module_size=15, n_decoys=5, seed=3)


@pytest.fixture
def permuted_copies():
    """``permuted_copies(adata, trait, n, seed)`` yields ``(i, copy)`` n times, each copy with ``obs["permuted"]``: the
    trait's labels shuffled (same categories), for the null controls that must call (almost) nothing."""
    import numpy as np
    import pandas as pd

    def generate(adata, trait, n, seed):
        rng = np.random.default_rng(seed)
        categories = adata.obs[trait].cat.categories
        for i in range(n):
            copy = adata.copy()
            copy.obs["permuted"] = pd.Categorical(rng.permutation(copy.obs[trait].to_numpy()), categories=categories)
            yield i, copy

    return generate


@pytest.fixture(scope="session")
def tcga_clinical():
    """The TCGA-GBM clinical patients (no expression) with OS, age, gender, KPS, G-CIMP and MGMT in ``obs``."""
    import anndata as ad
    import pandas as pd

    clinical = rg.datasets.tcga_gbm_clinical()
    adata = ad.AnnData(obs=pd.DataFrame(index=clinical.index))
    rg.pp.add_clinical(adata, clinical, columns=["os_days", "os_event", "age", "gender", "kps"])
    rg.pp.add_clinical(adata, rg.datasets.tcga_glioma_subtypes(), columns=["gcimp", "mgmt"])
    adata.obs["age_per_10y"] = adata.obs["age"] / 10
    return adata
