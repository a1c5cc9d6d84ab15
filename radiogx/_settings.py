"""Global settings: one object, ``rg.settings`` (scanpy's ``sc.settings`` pattern)."""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path

import numpy as np

__all__ = ["RadiogxSettings", "settings", "check_device"]

_LEVELS = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG}


def _default_datasetdir() -> Path:
    """``$RADIOGX_DATASETDIR``, else ``../shared/data`` beside a source checkout, else a user cache folder."""
    env = os.environ.get("RADIOGX_DATASETDIR")
    if env:
        return Path(env).expanduser()
    checkout_shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if checkout_shared.is_dir():
        return checkout_shared
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "radiogx" / "data"


def check_device(value, name: str) -> str:
    """``value`` when it names a device radiogx can use, else a ValueError naming ``name``."""
    if not isinstance(value, str) or not (value in {"auto", "cpu", "cuda"} or value.startswith("cuda:")):
        raise ValueError(f"{name} must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {value!r}")
    return value


class RadiogxSettings:
    """Settings shared by every radiogx function.

    Attributes
    ----------
    verbosity
        0 errors, 1 warnings, 2 info (default), 3 debug. Progress bars show at verbosity >= 2.
    seed
        Default seed for every random step; :meth:`seed_everything` seeds numpy, random and torch with it.
    n_jobs
        Default number of parallel jobs (joblib).
    device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"`` or ``"cuda"``.
    datasetdir
        Folder where :mod:`radiogx.datasets` looks for (and downloads) data files.
    progress
        Show progress bars on long work (also hidden when ``verbosity < 2``).
    """

    def __init__(self) -> None:
        self._logger = logging.getLogger("radiogx")
        self._handler: logging.Handler | None = None
        self.verbosity = 2
        self.seed = 0
        self.n_jobs = 1
        self.device = "auto"
        self.datasetdir = _default_datasetdir()
        self.progress = True

    # verbosity ---------------------------------------------------------------------------------------------------
    @property
    def verbosity(self) -> int:
        return self._verbosity

    @verbosity.setter
    def verbosity(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value <= 3:
            raise ValueError(f"settings.verbosity must be an integer 0-3 (errors, warnings, info, debug), got {value!r}")
        self._verbosity = int(value)
        self._logger.setLevel(_LEVELS[self._verbosity])
        if self._handler is None:  # our own handler on our own logger: never logging.basicConfig
            self._handler = logging.StreamHandler()
            self._handler.setFormatter(logging.Formatter("radiogx: %(message)s"))
            self._logger.addHandler(self._handler)
            self._logger.propagate = False

    # seed ---------------------------------------------------------------------------------------------------------
    @property
    def seed(self) -> int:
        return self._seed

    @seed.setter
    def seed(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"settings.seed must be a non-negative integer, got {value!r}")
        self._seed = int(value)

    def seed_everything(self, seed: int | None = None) -> int:
        """Seed Python's ``random``, numpy's legacy global state and torch with ``seed`` (default ``settings.seed``)."""
        seed = self.seed if seed is None else int(seed)
        random.seed(seed)
        np.random.seed(seed % 2**32)
        import torch

        torch.manual_seed(seed)
        return seed

    # n_jobs -------------------------------------------------------------------------------------------------------
    @property
    def n_jobs(self) -> int:
        return self._n_jobs

    @n_jobs.setter
    def n_jobs(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value == 0 or value < -1:
            raise ValueError(f"settings.n_jobs must be a positive integer or -1 (all cores), got {value!r}")
        self._n_jobs = int(value)

    # device -------------------------------------------------------------------------------------------------------
    @property
    def device(self) -> str:
        return self._device

    @device.setter
    def device(self, value: str) -> None:
        self._device = check_device(value, "settings.device")

    def torch_device(self, device: str | None = None):
        """The :class:`torch.device` that ``device`` (a tool's ``device=``; ``None``: ``settings.device``) resolves
        to."""
        import torch

        value = self._device if device is None else check_device(str(device), "device")
        if value == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(value)

    # datasetdir ---------------------------------------------------------------------------------------------------
    @property
    def datasetdir(self) -> Path:
        return self._datasetdir

    @datasetdir.setter
    def datasetdir(self, value: str | os.PathLike) -> None:
        if not isinstance(value, str | os.PathLike):
            raise TypeError(f"settings.datasetdir must be a path, got {type(value).__name__}")
        self._datasetdir = Path(value).expanduser()

    @property
    def show_progress(self) -> bool:
        """Whether long work shows a progress bar now."""
        return bool(self.progress) and self._verbosity >= 2

    def __repr__(self) -> str:
        return (
            f"RadiogxSettings(verbosity={self.verbosity}, seed={self.seed}, n_jobs={self.n_jobs}, "
            f"device={self.device!r}, datasetdir='{self.datasetdir}', progress={self.progress})"
        )


settings = RadiogxSettings()
