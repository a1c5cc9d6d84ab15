"""Plots of radiogx results."""

__all__: list[str] = []
