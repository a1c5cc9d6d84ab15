"""Real public data sets (TCGA-GBM, Verhaak 2010, GEO cohorts, MSigDB, Ivy GAP) and a synthetic cohort.

Each loader finds its file in ``rg.settings.datasetdir``, checks its sha256 and otherwise downloads it from its public
source; see :func:`radiogx.datasets.fetch`.
"""

from ._fetch import fetch
from ._gene_sets import GENE_SET_COLLECTIONS, gene_sets
from ._geo import freije2004, phillips2006
from . import _tcga
from ._synthetic import synthetic
from ._tcga import (
    VERHAAK_SIGNATURES,
    cancersubtypes_gbm,
    iclusterplus_gbm,
    tcga_gbm_clinical,
    tcga_gbm_volumetrics,
    tcga_glioma_fractal,
    tcga_glioma_subtypes,
    vasari_demo,
    verhaak2010,
)

__all__ = [*_tcga.__all__, "phillips2006", "freije2004", "gene_sets", "synthetic", "fetch", "GENE_SET_COLLECTIONS"]
