"""Shared fixtures, and the ``data`` tier declared by fixtures and markers.

A test reads the real data sets only through the fixtures of :data:`DATA_FIXTURES` (directly or through another
fixture) or under ``@pytest.mark.data``; both mark it ``data``. Every other test runs with ``rg.settings.datasetdir``
and ``RADIOGX_DATASETDIR`` pointing at an empty folder, so that an undeclared read fails there instead of passing
where the data happen to be: the tier cannot drift from what the tests do. A missing data folder fails the run rather
than skipping tests, unless the run deselects them (``pytest -m "not data"``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

import radiogx as rg

DATA = Path(rg.settings.datasetdir)
#: Where the tests that declare no real data look for it: an empty folder.
NO_DATA = Path(tempfile.mkdtemp(prefix="radiogx-tests-without-data-"))
#: The fixtures that hold the real data; a test that requests one of them (or a fixture that does) reads it.
DATA_FIXTURES = frozenset({"real_data", "data_dir", "verhaak", "tcga_clinical"})


@contextlib.contextmanager
def _datasetdir(folder: Path):
    saved = (rg.settings.datasetdir, os.environ.get("RADIOGX_DATASETDIR"))
    rg.settings.datasetdir, os.environ["RADIOGX_DATASETDIR"] = folder, str(folder)
    try:
        yield folder
    finally:
        rg.settings.datasetdir = saved[0]
        if saved[1] is None:
            os.environ.pop("RADIOGX_DATASETDIR", None)
        else:
            os.environ["RADIOGX_DATASETDIR"] = saved[1]


def pytest_configure(config):
    rg.settings.datasetdir, os.environ["RADIOGX_DATASETDIR"] = NO_DATA, str(NO_DATA)


def pytest_unconfigure(config):
    shutil.rmtree(NO_DATA, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if DATA_FIXTURES & set(item.fixturenames):
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
def _restore_settings(request):
    """Each test starts from the same settings and leaves them as it found them; the data folder is the real one for
    a test of the ``data`` tier, the empty one for any other."""
    saved = (rg.settings.verbosity, rg.settings.seed, rg.settings.n_jobs, rg.settings.device, rg.settings.progress)
    folder = DATA if request.node.get_closest_marker("data") else NO_DATA
    with _datasetdir(folder):
        yield
    (rg.settings.verbosity, rg.settings.seed, rg.settings.n_jobs, rg.settings.device, rg.settings.progress) = saved
    rg.settings.datasetdir, os.environ["RADIOGX_DATASETDIR"] = NO_DATA, str(NO_DATA)


@pytest.fixture(scope="session")
def real_data():
    """``with real_data():`` reads the real data sets (for a module or session fixture, set up before the test's own
    data folder is chosen); a test that requests it is of the ``data`` tier."""
    return lambda: _datasetdir(DATA)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def verhaak(real_data):
    with real_data():
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
def tcga_clinical(real_data):
    """The TCGA-GBM clinical patients (no expression) with OS, age, gender, KPS, G-CIMP and MGMT in ``obs``."""
    import anndata as ad
    import pandas as pd

    with real_data():
        clinical = rg.datasets.tcga_gbm_clinical()
        adata = ad.AnnData(obs=pd.DataFrame(index=clinical.index))
        rg.pp.add_clinical(adata, clinical, columns=["os_days", "os_event", "age", "gender", "kps"])
        rg.pp.add_clinical(adata, rg.datasets.tcga_glioma_subtypes(), columns=["gcimp", "mgmt"])
    adata.obs["age_per_10y"] = adata.obs["age"] / 10
    return adata
