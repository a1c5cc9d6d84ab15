"""Tools: models, attributions, enrichment and survival (the later issues fill this namespace)."""

__all__: list[str] = []
