"""Tidy tables of radiogx results."""

__all__: list[str] = []
