"""``report.html``: every figure and table of a run's results, its parameters, versions and seeds, in one file.

The report is rendered from the results alone (``radiogx report results.h5ad`` gives the same report as the run);
figures are embedded as base64 PNG, so the file is self-contained, and also written as files in the chosen formats.
"""

from __future__ import annotations

import base64
import html
import io as _io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from anndata import AnnData
from tqdm.auto import tqdm

from .. import get
from .._atomic import atomic_path
from .._logging import logger
from .._registry import resolve
from .._settings import settings
from ._html import html_table as _table
from ._findings import findings
from ._run_info import run_info

__all__ = ["figure_specs", "render_report", "save_figures"]


@dataclass
class FigureSpec:
    section: str
    name: str
    caption: str
    draw: object  # () -> matplotlib Figure
    png: str = ""

    def __post_init__(self) -> None:  # a file name: class names may hold "/" or spaces
        self.name = re.sub(r"[^A-Za-z0-9_.+-]+", "_", self.name)


def _each(adata: AnnData, kind: str) -> list[get.Record]:
    """The ``kind`` results, the one under the tool's default key first."""
    return sorted(get.each_record(adata, kind), key=lambda r: r.key != get.KINDS[kind].default_key)


def _parts(adata: AnnData, what: str, fallback=None):
    """``(kind entry, record, item)`` of every item a kind's registered ``what`` (``figures``, ``summary``,
    ``overview``) gives for each of its records, kinds in registry order; ``fallback(adata, rec)`` gives the items
    of a kind that registers no ``what``."""
    for kind in get.KINDS.values():
        func = resolve(getattr(kind, what)) or fallback
        if func is None:
            continue
        for rec in _each(adata, kind.name):
            for item in func(adata, rec):
                yield kind, rec, item


#: How many panels of each slot the overview takes (the slot's lowest priorities first).
_OVERVIEW_SLOTS = {"models": 2, "interpretation": 1, "outcome": 1}


def overview(adata: AnnData):
    """The run at a glance (the report's first figure): the panels the result kinds offer (registry ``overview``),
    by slot: each trait's models on the same folds (up to two), the first gene-masking heatmap, and the Kaplan-Meier
    curves of the most significant survival feature (else the first cohort-level enrichment)."""
    offered: dict[str, list] = {}
    for order, (_, _, (slot, priority, draw)) in enumerate(_parts(adata, "overview")):
        offered.setdefault(slot, []).append((priority, order, draw))
    panels = [draw for slot, n in _OVERVIEW_SLOTS.items()
              for _, _, draw in sorted(offered.get(slot, []), key=lambda p: p[:2])[:n]]
    ncols = 2
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(13, 4.8 * nrows), layout="constrained", squeeze=False)
    for ax, draw in zip(axes.flat, panels):
        draw(ax)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(str(run_info(adata).get("name", "radiogx results")))
    return fig


def figure_specs(adata: AnnData) -> list[FigureSpec]:
    """The figures a run's results call for, in report order: the overview, then each kind's registered figures."""
    specs = [FigureSpec(kind.section, name, caption, draw) for kind, _, (name, caption, draw) in _parts(adata, "figures")]
    if any(r.traits for r in get.each_record(adata, "model")):
        specs.insert(0, FigureSpec("Overview", "overview", "the run at a glance: models on the same folds, gene "
                                   "masking, and survival (or enrichment)", lambda: overview(adata)))
    return specs


def save_figures(adata: AnnData, out: str | Path, *, formats=("png", "svg"), embed: bool = False) -> list[FigureSpec]:
    """Draw every figure of :func:`figure_specs` into ``<out>/figures/<name>.<format>`` (with ``embed``, also keep
    each as base64 PNG in ``spec.png``); return the specs."""
    specs = figure_specs(adata)
    for spec in tqdm(specs, desc="figures", disable=not settings.show_progress):
        fig = spec.draw()
        if embed:  # first, so that the embedded image does not depend on the file formats drawn before it
            spec.png = _png(fig)
        for fmt in formats:
            with atomic_path(Path(out) / "figures" / f"{spec.name}.{fmt}") as tmp:
                fig.savefig(tmp, format=fmt, dpi=120)
        plt.close(fig)
    written = {f"{spec.name}.{fmt}" for spec in specs for fmt in formats}
    for old in (Path(out) / "figures").glob("*"):  # figures of an earlier run's traits or settings
        if old.suffix.lstrip(".") in ("png", "svg", "pdf") and old.name not in written:
            old.unlink()
    return specs


def _tables(adata: AnnData) -> dict[str, list[tuple[str, str]]]:
    """Per report section, its ``(title, HTML)`` tables: each kind's registered ``summary``, else every table its
    registered ``tables`` gives."""
    def every_table(adata: AnnData, rec):
        return ((f"{name} ({rec.key})", df, 40, "") for name, df in get.kind_tables(adata, rec.kind, rec.key).items())

    out: dict[str, list[tuple[str, str]]] = {}
    for kind, _, (title, content, n, note) in _parts(adata, "summary", fallback=every_table):
        body = content if isinstance(content, str) else _table(content, n)
        out.setdefault(kind.section, []).append((title, body + note))
    return out


def _png(fig) -> str:
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode()


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1150px;color:#222;padding:0 1em}
h1{margin-bottom:0.2em} h2{border-bottom:2px solid #ddd;padding-bottom:0.2em;margin-top:2em}
nav a{margin-right:1em} figure{display:inline-block;margin:0.5em;vertical-align:top;max-width:100%}
figure img{max-width:100%;height:auto;border:1px solid #eee} figcaption{font-size:0.85em;color:#555;max-width:520px}
table.tbl{border-collapse:collapse;font-size:0.8em;margin:0.5em 0} .tbl th,.tbl td{padding:2px 8px;text-align:right}
.tbl th{background:#f3f3f3} .tbl tr:nth-child(even){background:#fafafa} .note{font-size:0.8em;color:#777}
summary{cursor:pointer;font-weight:600;margin:0.8em 0} pre{background:#f6f6f6;padding:0.8em;font-size:0.78em;overflow-x:auto} .meta td{padding:1px 10px 1px 0}
"""
_SECTIONS = ["Overview", "Run", "Models", "Gene masking", "Saliency", "Enrichment", "Associations", "Survival"]


def render_report(adata: AnnData, out: str | Path, *, formats=("png", "svg"), title: str | None = None) -> Path:
    """Write ``<out>/report.html`` and every figure as ``<out>/figures/<name>.<format>``; return the report's path.

    Parameters
    ----------
    adata
        Results of ``radiogx run`` (or any AnnData holding radiogx results).
    out
        Output folder.
    formats
        File formats of the figures besides the PNG embedded in the report.
    title
        The report's title (default: the run's name).

    Returns
    -------
    The path of ``report.html``.
    """
    out = Path(out)
    run = run_info(adata)
    specs = save_figures(adata, out, formats=formats, embed=True)
    tables = _tables(adata)
    sections = _SECTIONS + list(dict.fromkeys(s for s in [*(spec.section for spec in specs), *tables]
                                              if s not in _SECTIONS))
    blocks: dict[str, list[str]] = {s: [] for s in sections}
    for spec in specs:
        blocks[spec.section].append(
            f"<figure><img alt='{html.escape(spec.name)}' src='data:image/png;base64,{spec.png}'>"
            f"<figcaption>{html.escape(spec.caption)}</figcaption></figure>")
    body = []
    found = findings(adata)
    if len(found):
        body.append("<section id='findings'><h2>Findings</h2><p class='note'>per trait, strongest model first: the "
                    "verdict on the network, the stable genes (top of at least 80% of retrainings), the gene sets "
                    "masking called (padj &lt; 0.05) and the attribution methods that failed a sanity check</p>"
                    f"{_table(found, n=50, width=400)}</section>")
    for section in sections:
        parts = [f"<h3>{html.escape(title)}</h3>{table}" for title, table in tables.get(section, [])]
        if section == "Run":
            parts = [_run_section(adata, run)] if run or title is None else []
        if not parts and not blocks[section]:
            continue
        anchor = section.lower().replace(" ", "-")
        body.append(f"<section id='{anchor}'><h2>{section}</h2>{''.join(blocks[section])}{''.join(parts)}</section>")
    nav = " ".join(f"<a href='#{s.lower().replace(' ', '-')}'>{s}</a>" for s in ["Findings", *sections]
                   if any(f"id='{s.lower().replace(' ', '-')}'" in b for b in body))
    title = html.escape(title or f"radiogx report: {run.get('name', 'results')}")
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<link rel='icon' href='data:,'><style>{_CSS}</style></head><body><h1>{title}</h1>"
            f"<p class='note'>{adata.n_obs} patients x {adata.n_vars} genes; rendered "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}</p><nav>{nav}</nav>{''.join(body)}</body></html>")
    path = out / "report.html"
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    logger.info(f"report: {len(specs)} figures, {sum(map(len, tables.values()))} tables -> {path}")
    return path


def _run_section(adata: AnnData, run: dict) -> str:
    if not run:
        return "<p>These results were not made by <code>radiogx run</code>: no run parameters recorded.</p>"
    meta = [("seed", run.get("seed")), ("n_jobs (results do not depend on it)", run.get("n_jobs")),
            ("traits modelled", ", ".join(map(str, run.get("traits", [])))), ("radiogx", run.get("radiogx_version"))]
    pre = get.record(adata, "autoencoder", missing_ok=True)
    if pre is not None and "patients" in pre:
        meta.append(("autoencoder pre-trained on", f"{len(pre['patients'])} "
                     + str(pre.params.get("patients_used", "patients (not recorded which)"))))
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in meta)
    parts = [f"<table class='meta'>{rows}</table>"]
    skipped = run.get("skipped_traits")
    if skipped is not None and len(skipped):
        parts.append("<h3>Traits not modelled</h3>" + _table(skipped))
    steps = run.get("steps")
    if steps is not None:
        parts.append("<h3>Steps (computed now, or reused from a stored result of the same fingerprint)</h3>"
                     + _table(steps, 100))
    versions = pd.DataFrame(list(dict(run.get("versions", {})).items()), columns=["package", "version"])
    parts.append("<details><summary>Versions</summary>" + _table(versions, 50) + "</details>")
    config = run.get("config", {})
    parts.append("<details><summary>Configuration (validated, with defaults)</summary><pre>"
                 + html.escape(json.dumps(config, indent=1)) + "</pre></details>")
    return "".join(parts)
