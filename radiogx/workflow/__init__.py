"""The main job: ``radiogx run CONFIG.toml`` (validated config, resumable steps, every output, ``report.html``)."""

from ._config import SCHEMA, ConfigError, describe_schema, load_config, validate_config
from ._predict import predict_cohort, read_cohort
from ._report import render_report
from ._outputs import read_results
from ._runner import run

__all__ = [
           "SCHEMA",
           "ConfigError",
           "describe_schema",
           "load_config",
           "predict_cohort",
           "read_cohort",
           "read_results",
           "render_report",
           "run",
           "validate_config",
]
