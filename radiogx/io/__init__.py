"""Readers and writers: gene sets, VASARI tables, TCGA clinical files, expression matrices."""

from ._clinical import read_tcga_clinical
from ._expression import read_expression
from ._gmt import read_gmt, write_gmt
from ._vasari import read_vasari

__all__ = ["read_gmt", "write_gmt", "read_vasari", "read_tcga_clinical", "read_expression"]
