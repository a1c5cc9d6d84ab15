"""Figure handling shared by the plots: ``ax=None, show=None, return_fig=False`` (scanpy >= 1.12)."""

from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["new_axes", "finish"]


def new_axes(ax, figsize=(4.5, 4.0)):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax


def finish(fig, ax, *, show: bool | None, return_fig: bool):
    if return_fig:
        return fig
    if show is None:
        show = plt.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo", "template")
    if show:
        plt.show()
        return None
    return ax
