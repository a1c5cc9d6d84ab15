"""Parameter descriptions shared by several docstrings (scanpy's ``_docs.py`` pattern)."""

doc_adata = """\
adata
    Annotated data matrix: patients x genes in ``X``, traits and clinical data in ``.obs``."""

doc_copy = """\
copy
    Return a changed copy instead of changing ``adata`` in place; the input is then left untouched."""

doc_seed = """\
seed
    Seed of every random step; ``None`` uses ``rg.settings.seed``."""
