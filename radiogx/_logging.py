"""The package logger; its level follows ``rg.settings.verbosity``."""

import logging

logger = logging.getLogger("radiogx")
