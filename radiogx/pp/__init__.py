"""Preprocessing: imaging-trait encoding and clinical joins."""

from ._add_clinical import add_clinical
from ._encode_vasari import encode_vasari
from ._volumetric_traits import volumetric_traits

__all__ = ["encode_vasari", "add_clinical", "volumetric_traits"]
