"""The vocabulary of a ``radiogx run`` config: keys, their checks, and keys whose default and allowed values are read
from the signature of the ``rg.tl`` tool that receives them (so the two cannot drift)."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "TOOL", "Key", "tool_key", "resolve_tool_key", "literal_values", "in_range", "positive_list",
           "BUNDLED_DATASETS", "BUNDLED_CLINICAL", "BUNDLED_VASARI", "BUNDLED_VOLUMETRICS"]

BUNDLED_DATASETS = ("verhaak2010", "phillips2006", "freije2004", "synthetic")
BUNDLED_CLINICAL = ("tcga_gbm_clinical", "tcga_glioma_subtypes", "tcga_glioma_fractal")
BUNDLED_VASARI = ("vasari_demo",)
BUNDLED_VOLUMETRICS = ("tcga_gbm_volumetrics",)


class ConfigError(ValueError):
    """A configuration that cannot be run; the message names the key, the value and what is allowed."""


class _FromTool:
    def __repr__(self) -> str:
        return "<the tool's>"


#: Placeholder for a default or the allowed values that come from the tool's signature.
TOOL = _FromTool()


@dataclass(frozen=True)
class Key:
    """One key of the schema: its kind, default, allowed values and a one-line description.

    ``why``: the reason a key shared with the tool has another default (a deliberate workflow override). ``arg``: the
    tool argument the key feeds, when its name differs.
    """

    kind: str  # "int", "float", "bool", "str", "path", "int_list", "str_list", "table_list", "table"
    default: Any
    doc: str
    choices: tuple | None = None
    check: Callable[[Any], str | None] | None = None  # returns what is allowed when the value is refused
    nullable: bool = False
    item_choices: tuple | Callable[[], tuple] | None = None  # a callable: read from a registry when checked
    why: str | None = None
    arg: str | None = None

    def allowed(self) -> tuple | None:
        """The allowed values (read now from a registry where they come from one)."""
        return self.choices() if callable(self.choices) else self.choices

    def allowed_items(self) -> tuple | None:
        """The allowed items of a list key (read now from a registry where they come from one)."""
        return self.item_choices() if callable(self.item_choices) else self.item_choices


def tool_key(kind: str, doc: str, *, arg: str | None = None, choices: tuple | None = TOOL,
             check: Callable[[Any], str | None] | None = None, item_choices: tuple | Callable[[], tuple] | None = None) -> Key:
    """A key that passes its value to the tool's argument ``arg`` (default: the key's name), with the tool's default
    and, for a ``Literal`` annotation, its allowed values."""
    return Key(kind, TOOL, doc, choices=choices, check=check, item_choices=item_choices, arg=arg)


def _tool(name: str) -> Callable:
    from .. import tl

    return getattr(tl, name)


def _literal_args(hint) -> tuple | None:
    if typing.get_origin(hint) is typing.Literal:
        return typing.get_args(hint)
    found = [a for member in typing.get_args(hint) for a in (_literal_args(member) or ())]
    return tuple(found) or None


def literal_values(tool: str, arg: str) -> tuple:
    """The values the ``Literal`` annotation of ``rg.tl.<tool>(<arg>=)`` allows."""
    values = _literal_args(typing.get_type_hints(_tool(tool))[arg])
    if values is None:
        raise TypeError(f"rg.tl.{tool}({arg}=) is not annotated with a Literal")
    return values


def resolve_tool_key(key: Key, name: str, tool: str) -> Key:
    """``key`` with the default (and allowed values) of the tool's argument filled in."""
    if key.default is not TOOL and key.choices is not TOOL:
        return key
    arg = key.arg or name
    func = _tool(tool)
    param = inspect.signature(func).parameters[arg]
    default = key.default
    if default is TOOL:
        default = list(param.default) if isinstance(param.default, tuple) else param.default
    choices = key.choices
    if choices is TOOL:
        choices = _literal_args(typing.get_type_hints(func)[arg])
        if choices is not None:
            choices = tuple(c for c in choices if c is not None)
    return replace(key, default=default, choices=choices, nullable=key.nullable or default is None)


def in_range(lo=None, hi=None, *, lo_open=False, hi_open=False) -> Callable[[Any], str | None]:
    """A check that the value lies in the range (``None``: unbounded on that side)."""
    def check(v):
        bad = (lo is not None and (v <= lo if lo_open else v < lo)) or (hi is not None and (v >= hi if hi_open else v > hi))
        if not bad:
            return None
        if hi is None:
            return f"{'>' if lo_open else '>='} {lo}"
        return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    return check


def positive_list(v) -> str | None:
    """A check for a non-empty list of positive integers."""
    return None if v and all(x >= 1 for x in v) else "a non-empty list of positive integers, e.g. [512, 256]"


def file_or(bundled: tuple) -> Callable[[Any], str | None]:
    """A check for a bundled name or a file name."""
    def check(v):
        return None if v in bundled or "." in Path(v).name else f"a bundled name {list(bundled)} or a file path"
    return check
