"""House style (style.md): the public API's shape, checked on every public function (scanpy's test of the same name)."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import radiogx as rg

NAMESPACES = {"pp": rg.pp, "tl": rg.tl, "pl": rg.pl, "get": rg.get, "io": rg.io, "datasets": rg.datasets}
PUBLIC = [
    (f"{ns}.{name}", obj)
    for ns, mod in NAMESPACES.items()
    for name in mod.__all__
    if inspect.isfunction(obj := getattr(mod, name))
]


def test_namespaces_and_settings():
    for attr in ("verbosity", "seed", "n_jobs", "device", "datasetdir"):
        assert hasattr(rg.settings, attr)
    assert len(PUBLIC) >= 20
    for mod in NAMESPACES.values():
        for name in mod.__all__:
            assert hasattr(mod, name), f"{mod.__name__}.__all__ names {name} but it is not there"


@pytest.mark.parametrize("name,func", PUBLIC, ids=[n for n, _ in PUBLIC])
def test_public_function_signature(name, func):
    params = list(inspect.signature(func).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert len(positional) <= 3, f"{name}: at most three positional arguments, has {[p.name for p in positional]}"
    for p in positional:
        assert not isinstance(p.default, bool), f"{name}: boolean {p.name} must be keyword-only"
    if name.split(".")[0] in ("pp", "tl", "pl"):
        assert positional and positional[0].name == "adata", f"{name}: first argument must be adata"
    assert func.__doc__ and len(func.__doc__.strip()) > 40, f"{name}: needs a numpydoc docstring"
    if "copy" in {p.name for p in params}:
        assert inspect.signature(func).parameters["copy"].kind == inspect.Parameter.KEYWORD_ONLY


def test_import_does_not_configure_root_logging():
    code = "import logging, radiogx; print(len(logging.getLogger().handlers))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
