"""The house rules: one finder for every tool and reader, registries for result kinds, baselines and attribution
methods, a torch-free reading path, the device recorded, and no module of pl, the report or the workflow reading
``adata.uns`` result entries directly."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsClassifier

import radiogx as rg
from radiogx.get import Record

ROOT = Path(__file__).resolve().parents[1]
NET = {"hidden": (16,), "epochs": 10, "patience": 5, "cv": 3, "inner_splits": 1, "select_genes": "all"}


@pytest.fixture(scope="module")
def keyed():
    """A model trained under ``key_added="m"`` only."""
    adata = rg.datasets.synthetic(n_obs=90, n_vars=60, n_traits=1, kinds=["linear"], module_size=10, n_decoys=4,
                                  noise=0.3, seed=3)
    rg.tl.train(adata, "trait_0", seed=0, key_added="m", **NET)
    return adata


def test_a_model_under_another_key_is_found_by_every_tool_and_reader_without_key(keyed):
    adata = keyed.copy()
    sets = adata.uns["synthetic"]["gene_sets"]
    rg.tl.compare(adata, "trait_0", models=["logit_l2"], param_grids={"logit_l2": {"C": [0.1]}})
    rg.tl.bootstrap(adata, "trait_0", n_boot=20)
    rg.tl.gene_masking(adata, sets, n_null=0)
    rg.tl.saliency(adata, device="cpu")
    rg.tl.predict(adata, trait="trait_0")
    assert rg.get.record(adata, "compare").model_key == "m"
    assert rg.get.record(adata, "bootstrap").params["model_key"] == "m"
    assert rg.get.record(adata, "masking").params["traits"] == ["trait_0"]
    assert rg.get.cv_df(adata)["trait"].unique().tolist() == ["trait_0"]
    assert set(rg.get.compare_df(adata)["model"]) == {"network", "logit_l2"}
    assert rg.get.saliency_df(adata)["trait"].unique().tolist() == ["trait_0"]
    ids = rg.get.record(adata, "model").model_ids  # what each result read, by the models' ids
    assert len(ids) == 1 and all(rg.get.record(adata, kind).model_ids == ids
                                 for kind in ("masking", "saliency", "prediction"))
    # two model records: the finder names them instead of guessing
    rg.tl.train(adata, "trait_0", seed=1, key_added="m2", **NET)
    with pytest.raises(ValueError, match=r"2 model results in adata: \['m', 'm2'\]; pass key="):
        rg.tl.saliency(adata, key_added="again")


def test_the_report_says_how_attributions_were_computed(keyed):
    from radiogx.workflow._report import _tables

    adata = keyed.copy()
    rg.tl.saliency(adata)
    rg.tl.saliency(adata, patients="all", key_added="insample")
    titles = [title for section in _tables(adata).values() for title, _ in section]
    assert any(t.startswith("saliency:") and "fold network that never saw it" in t for t in titles), titles
    assert any(t.startswith("insample:") and "final model, in sample" in t for t in titles), titles


def test_saliency_records_the_device_and_precision(keyed):
    adata = keyed.copy()
    rg.tl.saliency(adata, device="cpu")
    params = rg.get.record(adata, "saliency").params_of("trait_0")
    assert (params["device"], params["precision"]) == ("cpu", "fp32")
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'gpu'"):
        rg.tl.saliency(adata, device="gpu")


def test_reading_a_saved_result_loads_no_torch(keyed, tmp_path):
    adata = keyed.copy()
    rg.tl.compare(adata, "trait_0", models=["logit_l2"], param_grids={"logit_l2": {"C": [0.1]}})
    path = tmp_path / "results.h5ad"
    adata.write_h5ad(path)
    code = ("import sys, anndata, radiogx; radiogx.get; a = anndata.read_h5ad(sys.argv[1]); "
            "t = radiogx.get.compare_df(a); assert len(t) == 2, t; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code, str(path)], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout
    assert " torch" not in out.stderr.replace("torch_", "")  # the import-time log names every module loaded


# --- registries: a result kind in 3 places (tool, reader, entry), a baseline in 1 -----------------------------------

def count_tool(adata, trait: str, *, key_added: str = "class_counts") -> None:
    """A tool: writes its record through the one writer (here: the class counts of a trait)."""
    from radiogx.tl._record import write_record

    counts = adata.obs[trait].astype(str).value_counts().rename_axis("class").reset_index(name="n")
    write_record(adata, key_added, {"params": {"kind": "class_counts"}, "counts": counts}, tool="count_tool",
                 trait=trait)


def counts_tables(adata, key: str) -> dict[str, pd.DataFrame]:
    """Its reader: a long table with a ``trait`` column."""
    rec = rg.get.record(adata, "class_counts", key)
    return {"class_counts": pd.concat([e["counts"].assign(trait=t) for t, e in rec.items()], ignore_index=True)}


@pytest.fixture
def registered():
    from radiogx import _registry

    kind = rg.tl.register_kind(rg.tl.ResultKind("class_counts", "count_tool", True, "class_counts", counts_tables,
                                                section="Class counts"))
    knn = rg.tl.register_baseline(rg.tl.Baseline(
        "knn", "classification", {"n_neighbors": [3, 7]}, lambda seed, n: KNeighborsClassifier(),
        "Cover & Hart 1967"))
    yield kind, knn
    _registry.KINDS.pop("class_counts", None)
    _registry._BASELINES["classification"].pop("knn", None)


def test_a_registered_result_kind_reaches_the_finder_tables_report_and_r_export(registered, keyed, tmp_path):
    from radiogx.workflow._report import _tables

    adata = keyed.copy()
    count_tool(adata, "trait_0")
    assert rg.get.records(adata, "class_counts")["key"].tolist() == ["class_counts"]
    assert isinstance(rg.get.record(adata, "class_counts"), Record)
    tables = rg.get.result_tables(adata)
    assert tables["class_counts"][0]["n"].sum() == adata.obs["trait_0"].notna().sum()
    assert "Class counts" in _tables(adata)
    from radiogx.io._rpy2 import import_rpy2

    ro = import_rpy2()
    names = list(ro.r("function(se) names(S4Vectors::metadata(se)$tables)")(rg.io.to_r(adata)))
    assert "class_counts" in names


def test_a_registered_baseline_is_compared_and_accepted_by_the_workflow(registered, keyed):
    adata = keyed.copy()
    rg.tl.compare(adata, "trait_0", models=["knn", "logit_l2"], param_grids={"logit_l2": {"C": [0.1]}})
    assert set(rg.get.compare_df(adata)["model"]) == {"network", "knn", "logit_l2"}
    assert "knn" in set(rg.tl.methods()["name"])
    cfg = rg.workflow.validate_config({"input": {"dataset": "synthetic"}, "steps.compare": {"models": ["knn"]}})
    assert cfg["steps.compare"]["models"] == ["knn"]


def test_methods_lists_every_baseline_and_attribution_method_with_a_reference():
    table = rg.tl.methods()
    assert {"logit_l1", "logit_l2", "svm", "random_forest", "gbt", "ridge", "saliency", "integrated_gradients"} <= set(
        table["name"])
    assert (table["reference"].str.len() > 0).all()


# --- the architecture -------------------------------------------------------------------------------------------------

def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / "radiogx").glob(f"{folder}/**/*.py"))


#: Where ``adata.uns`` may be touched outside ``rg.tl`` and ``rg.get``: the run's own record and the step store.
_UNS_ALLOWED = {"workflow/_run_info.py", "workflow/_store.py", "workflow/_runner.py", "workflow/_inputs.py",
                "workflow/steps/predict.py"}


def test_pl_the_report_and_the_workflow_read_no_uns_result_entry_directly():
    offenders = []
    for path in _modules("pl") + _modules("workflow"):
        rel = str(path.relative_to(ROOT / "radiogx"))
        if rel in _UNS_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "uns":
                offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, offenders


def _imports(path: Path) -> set[str]:
    """The radiogx modules ``path`` imports at module level (not inside functions)."""
    rel = path.relative_to(ROOT).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("radiogx"):
            out.add(node.module)
    return out


def test_no_import_circle_among_radiogx_modules():
    paths = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
             for p in (ROOT / "radiogx").rglob("*.py")}
    graph = {m: {t for t in _imports(p) if t in paths and t != m} for m, p in paths.items()}
    packages = {m for m, p in paths.items() if p.name == "__init__.py"}
    # a package importing its own submodules is how packages are built; a circle is two modules that need each other
    edges = {m: {t for t in ts if not (m in packages and t.startswith(m + "."))} for m, ts in graph.items()}
    state: dict[str, int] = {}
    circle: list[str] = []

    def visit(m: str, stack: list[str]) -> bool:
        state[m] = 1
        for t in edges[m]:
            if state.get(t) == 1:
                circle.extend(stack[stack.index(t):] + [m, t] if t in stack else [m, t])
                return True
            if state.get(t) is None and visit(t, stack + [t]):
                return True
        state[m] = 2
        return False

    assert not any(visit(m, [m]) for m in sorted(edges) if state.get(m) is None), circle


def test_no_module_imports_another_subpackages_private_module():
    """A subpackage's private modules are its own: another subpackage imports what its ``__init__`` or a public
    module (``radiogx.nn.engine``) offers; radiogx's core modules (``radiogx/_*.py``) are shared by all."""
    offenders = []
    for path in (ROOT / "radiogx").rglob("*.py"):
        rel = path.relative_to(ROOT)
        own = rel.parts[1] if len(rel.parts) > 2 else None
        package = list(rel.parts[:-1])
        for node in ast.walk(ast.parse(path.read_text())):  # function-level imports too
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                target = package[: len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
            elif (node.module or "").startswith("radiogx."):
                target = node.module.split(".")
            else:
                continue
            if len(target) >= 3 and target[1] != own and not target[1].startswith("_") and target[2].startswith("_"):
                offenders.append(f"{rel}:{node.lineno} imports {'.'.join(target)}")
    assert not offenders, offenders


def test_attributions_table_says_where_each_attribution_is(keyed):
    adata = keyed.copy()
    adata.obs["trait_0_x"] = adata.obs["trait_0"]
    rg.tl.train(adata, "trait_0_x", seed=0, key_added="m", **NET)
    rg.tl.saliency(adata)
    table = rg.get.attributions_df(adata)
    assert table[["trait", "layer"]].values.tolist() == [["trait_0", "saliency_trait_0"],
                                                         ["trait_0_x", "saliency_trait_0_x"]]
    assert np.isfinite(adata.var["saliency_trait_0"]).any()
