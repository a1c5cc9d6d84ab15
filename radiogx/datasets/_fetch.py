"""Find a registered data file in ``rg.settings.datasetdir``, verify its sha256, or download it from its public source."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .._logging import logger
from .._settings import settings

__all__ = ["DataFile", "REGISTRY", "fetch"]

_DEEPRG = "https://raw.githubusercontent.com/novasmedley/deepRadiogenomics/a1cfde8d9a89059a116d1a0edfe489ace3226ff4/demo_data"
_NIBR = (
    "https://raw.githubusercontent.com/nibr-lab/Fractal-Dimension-and-Lacunarity-in-Gliomas/"
    "b7fe09f8bf5837887c55c18684d9cf5d58886242"
)


@dataclass(frozen=True)
class DataFile:
    """One registered file: where it lives under ``datasetdir``, its checksum and, when it is public verbatim, its URL.

    ``url`` is ``None`` for files converted from their source (an R object written as CSV, say); ``source`` then says
    where they come from, as in the folder's SOURCE.txt.
    """

    path: str
    sha256: str
    url: str | None
    source: str


def _f(path: str, sha256: str, url: str | None, source: str) -> tuple[str, DataFile]:
    return path, DataFile(path, sha256, url, source)


REGISTRY: dict[str, DataFile] = dict(
    [
        _f("verhaak2010/TCGA_unified_CORE_ClaNC840.txt",
           "c69b92feb65b29d1a3d913818cb480fa8d1b4c8b73dcc3a2df7954855145b86d",
           f"{_DEEPRG}/TCGA_unified_CORE_ClaNC840.txt", "Verhaak et al. 2010, via novasmedley/deepRadiogenomics"),
        _f("tcga_gbm_clinical/nationwidechildrens.org_clinical_patient_gbm.txt",
           "16e9d381af700f846905e518356799aca2db4001aa9bf572977cedd6f1b7b0b3",
           f"{_DEEPRG}/nationwidechildrens.org_clinical_patient_gbm.txt", "TCGA-GBM Biotab, via deepRadiogenomics"),
        _f("vasari_demo/vasari_annotations.csv",
           "e9e7f1b32487465bc35fb3571624887b6cd935516b6abcbf1c2eb8f8177e62d8",
           f"{_DEEPRG}/vasari_annotations.csv", "deepRadiogenomics demo VASARI annotations"),
        _f("ivygap_puchalski2018/aaf2666_Table-S15.csv",
           "3547e174154dfe2b6a38150c84353b3781dc0b71a2efdf292bfba534cd26ccf4",
           f"{_DEEPRG}/gene_sets_Puchalski/aaf2666_Table-S15.csv", "Puchalski et al. 2018 Table S15"),
        _f("msigdb_v6.2/h.all.v6.2.symbols.gmt",
           "0ee07a4abda7bba49e6cf4ce773f1c5a57b24726cd6c6662f01cabe31e22146b",
           f"{_DEEPRG}/msigdb_v6.2_GMTs/h.all.v6.2.symbols.gmt", "MSigDB v6.2 hallmark"),
        _f("msigdb_v7.1/h.all.v7.1.symbols.gmt",
           "0445cf5f5bb68c14f32d0b11df2afc606506c27161f734a846b102d1d2f12d9a",
           None, "MSigDB v7.1 hallmark, written from the RDS of github.com/mw201608/msigdb"),
        _f("msigdb_v7.1/c2.cp.v7.1.symbols.reactome_pid_naba.gmt",
           "ac9d3de1d8430ccf4232cb89a9e0a2dd824091fac1002074a33d1203c4033850",
           None, "MSigDB v7.1 C2 CP (Reactome, PID, NABA), written from the RDS of github.com/mw201608/msigdb"),
        _f("msigdb_v7.1/c5.bp.v7.1.symbols.gmt.gz",
           "260d63464cf20bc365653231751df838cee5d9472a9d012e4383cef0891cafb9",
           None, "MSigDB v7.1 GO BP, written from the RDS of github.com/mw201608/msigdb"),
        _f("ceccarelli2016_tcga_glioma_subtypes/TCGA_LGG_GBM_pan_glioma_subtypes_1122patients.csv",
           "59bee93d8afc9b2c43739493f10f4715da622f07e8333b7f05a947fc5516ed65",
           None, "Ceccarelli et al. 2016 Table S1, from Debian's r-bioc-tcgabiolinks"),
        _f("tcga_glioma_volumetrics_nibr/TCGA_LGG_GBM_volumetrics_clinical_159patients.csv",
           "b6e8c14bcc0e06103fcf695e25883bd2e2cca875ac48e9e56979c3dbc8a0a633",
           None, f"CSV export of {_NIBR}/TCGA_LGG_GBM_radiomicFeatures_clinicalDetails.xlsx"),
        _f("tcga_glioma_volumetrics_nibr/fractal_lac_data.csv",
           "c65c2ae8bccb605c96ecc22a04119c0f164342cd97dc5ba2f8b78363131e9f4b",
           f"{_NIBR}/fractal_lac_data.csv", "fractal dimension and lacunarity of the tumour sub-regions"),
        _f("phillips2006/Phillips_expression_12703genes_x_100samples.csv.gz",
           "3afff2435bedfe8719022e2b6da92adbb114e36a2f6a9c1ffad4c5a430937efe",
           None, "GEO GSE4271 as processed by GlioVis (github.com/msquatrito/shiny_GlioVis)"),
        _f("phillips2006/Phillips_clinical_100samples.csv",
           "bfcf0a97d65efcb1f59861da8ab9f026940d5240b80802982be7740325730a4e",
           None, "GEO GSE4271 as annotated by GlioVis"),
        _f("freije2004/Freije_expression_12713genes_x_85samples.csv.gz",
           "902a68a84f629c157338b2d0055a9aeaf6090c7ece041a4932f5e4d477424976",
           None, "GEO GSE4412 as processed by GlioVis"),
        _f("freije2004/Freije_clinical_85samples.csv",
           "b348b1a99fb601b1dd81d614d2af7543cea466c23db9eeae1724c37fdef2537d",
           None, "GEO GSE4412 as annotated by GlioVis"),
        _f("cancersubtypes_tcga_gbm/GeneExp_1500genes_x_100patients.csv",
           "1710c48d6b62186dfc5af2b97821ac8db098a63d06d069689522474a20ffdfff",
           None, "Bioconductor CancerSubtypes data/GeneExp.rda"),
        _f("cancersubtypes_tcga_gbm/survival_100patients.csv",
           "0644ed4a23de94bd548262d1e476e3bcca5949d2ee4f9393d0454d70bafdd8d6",
           None, "Bioconductor CancerSubtypes data/time.rda, status.rda"),
        _f("iclusterplus_tcga_gbm/gbm_exp_84patients_x_1740genes.csv",
           "25c3ba71ed1a73aaedfcf9a5f27a055c94abfa38220fe9ab6fd8ad0a20322e5c",
           None, "Bioconductor iClusterPlus data/gbm.rda (gbm.exp)"),
        _f("iclusterplus_tcga_gbm/gbm_mut_84patients_x_306genes.csv",
           "143e1de71633e8eaade2052c4456e38fdb9b56f6b0d76121057bd98fc87fae6f",
           None, "Bioconductor iClusterPlus data/gbm.rda (gbm.mut)"),
    ]
)

_verified: dict[tuple[str, int, int], bool] = {}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _matches(path: Path, sha256: str) -> bool:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        _verified[key] = _sha256(path) == sha256
    return _verified[key]


def _download(entry: DataFile, target: Path) -> None:
    """Download ``entry.url`` to ``target`` atomically (a temporary file renamed once its sha256 is right)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(entry.url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {target.name}",
                      disable=not settings.show_progress) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
        got = _sha256(Path(tmp))
        if got != entry.sha256:
            raise OSError(f"downloaded {entry.url} but its sha256 is {got}, expected {entry.sha256}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def fetch(name: str) -> Path:
    """Path of the registered file ``name`` (``"folder/file"``), verified, downloading it when needed.

    Returns
    -------
    The local path of the file, whose sha256 matches the registered one.

    Raises
    ------
    FileNotFoundError
        When the file is neither present with the right sha256 nor downloadable; the message names the file, the
        folder searched and the setting to change.
    """
    entry = REGISTRY[name]
    root = settings.datasetdir
    path = root / entry.path
    problem = None
    if path.is_file():
        if _matches(path, entry.sha256):
            return path
        problem = f"{path} exists but its sha256 is not the registered {entry.sha256} (a different or damaged copy)"
    else:
        problem = f"{entry.path} is not in the dataset folder {root}"
    if entry.url is not None:
        try:
            logger.info(f"{problem}; downloading it from {entry.url}")
            _download(entry, path)
            return path
        except (OSError, urllib.error.URLError) as err:
            problem += f"; downloading it from {entry.url} failed ({err})"
    else:
        problem += f"; it has no direct public download (source: {entry.source}; see {entry.path.split('/')[0]}/SOURCE.txt)"
    raise FileNotFoundError(
        f"{problem}. Put the file at {path}, or point radiogx at the folder that holds it with "
        "rg.settings.datasetdir = '/path/to/data' or the environment variable RADIOGX_DATASETDIR."
    )
