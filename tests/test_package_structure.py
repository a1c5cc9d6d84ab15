"""House style: the public API's shape, checked on every public function (scanpy's test of the same name)."""

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


def test_no_file_cites_a_document_outside_the_repository():
    """Docstrings, comments and docs cite the papers and the repository's own files, never a document that a user
    of the package does not have."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    outside = re.compile(r"\b(method|design|style)\.md\b|\.\./shared/docs")
    files = [p for d in ("radiogx", "R", "tests", "vignettes", "benchmarks", "man") for p in (root / d).rglob("*")
             if p.is_file() and p.suffix in (".py", ".R", ".Rmd", ".Rd", ".md", ".toml")]
    files += [root / f for f in ("README.md", "pyproject.toml", "DESCRIPTION", "Makefile") if (root / f).exists()]
    assert len(files) > 30
    cited = [f"{p.relative_to(root)}:{i}" for p in files if p.name != Path(__file__).name
             for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if outside.search(line)]
    assert not cited, f"these lines cite documents outside the repository: {cited}"


def test_import_is_light():
    """``import radiogx`` loads no heavy dependency; the subpackages load on first use and are all reachable."""
    code = ("import sys, radiogx as rg; heavy = [m for m in ('torch', 'sklearn', 'matplotlib', 'lifelines', 'xgboost', "
            "'captum', 'gseapy', 'dask', 'rpy2', 'anndata') if m in sys.modules]; print(heavy); "
            "assert {'tl', 'pp', 'pl', 'get', 'io', 'nn', 'datasets', 'workflow'} <= set(dir(rg)); "
            "print(callable(rg.tl.train), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "True True"]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rg.nope  # noqa: B018


@pytest.mark.parametrize("name,func", PUBLIC, ids=[n for n, _ in PUBLIC])
def test_public_function_annotations_and_returns(name, func):
    """Every argument and the return value are annotated, and the docstring says what is returned or written."""
    sig = inspect.signature(func)
    bare = [p.name for p in sig.parameters.values() if p.annotation is inspect.Parameter.empty]
    assert not bare, f"{name}: annotate {bare}"
    assert sig.return_annotation is not inspect.Signature.empty, f"{name}: annotate the return value"
    assert "\n    Returns\n    -------\n" in func.__doc__, f"{name}: needs a Returns section"


#: pp/tl functions without ``copy=``, and why
COPY_EXCEPTIONS = {
    "tl.train": "returns the trained model (train a copy with rg.tl.train(adata.copy(), ...))",
    "tl.pretrain": "returns the autoencoder (pre-train a copy with rg.tl.pretrain(adata.copy(), ...))",
}


@pytest.mark.parametrize("name,func", [(n, f) for n, f in PUBLIC if n.split(".")[0] in ("pp", "tl")],
                         ids=[n for n, _ in PUBLIC if n.split(".")[0] in ("pp", "tl")])
def test_pp_and_tl_take_copy_or_say_why_not(name, func):
    params = inspect.signature(func).parameters
    if name in COPY_EXCEPTIONS:
        assert "copy" not in params, f"{name} has copy= now: drop it from COPY_EXCEPTIONS"
        return
    assert "copy" in params and params["copy"].default is False, f"{name}: needs copy=False or a written exception"
    assert "AnnData" in str(inspect.signature(func).return_annotation), f"{name}: returns the copy with copy=True"


def test_docstring_examples_run():
    """The Examples sections of the public functions run as doctests (on synthetic data: no files needed)."""
    import doctest

    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    examples = [t for _, func in PUBLIC for t in finder.find(func) if t.examples]
    assert examples, "no public function has an example"
    for test in examples:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
