"""HTML of the report's tables."""

from __future__ import annotations

import pandas as pd

__all__ = ["html_table"]


def html_table(df: pd.DataFrame, n: int = 25, width: int = 80) -> str:
    """The first ``n`` rows of ``df`` as an HTML table (text cut at ``width`` characters), noting the rest."""
    more = f"<p class='note'>first {n} of {len(df)} rows; all rows in tables/</p>" if len(df) > n else ""
    shown = df.head(n).copy()
    for c in shown.columns:
        if shown[c].dtype == object:
            shown[c] = shown[c].astype(str).str.slice(0, width)
    return shown.to_html(index=False, border=0, classes="tbl", na_rep="", float_format=lambda x: f"{x:.4g}") + more
