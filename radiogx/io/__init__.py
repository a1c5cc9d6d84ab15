"""Readers and writers: gene sets, VASARI tables, TCGA clinical files, expression matrices, the R export, saved models."""

from ._clinical import read_tcga_clinical
from ._expression import read_expression
from ._gmt import read_gmt, write_gmt
from ._models import save_model
from ._r_export import to_r, write_r
from ._vasari import read_vasari

__all__ = ["read_gmt", "write_gmt", "read_vasari", "read_tcga_clinical", "read_expression", "to_r", "write_r", "save_model"]
