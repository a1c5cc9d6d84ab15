"""Loaders for the real TCGA-GBM data sets in ``rg.settings.datasetdir`` (each loader gives its source and citation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from .._validation import check_unique, patient_barcode
from ..io import read_expression, read_tcga_clinical, read_vasari
from ._fetch import fetch

__all__ = [
    "verhaak2010",
    "tcga_gbm_clinical",
    "tcga_glioma_subtypes",
    "tcga_gbm_volumetrics",
    "tcga_glioma_fractal",
    "vasari_demo",
    "cancersubtypes_gbm",
    "iclusterplus_gbm",
    "VERHAAK_SIGNATURES",
]

#: Verhaak 2010 subtype -> the code of its own gene signature in ``verhaak2010().var["signature"]``.
VERHAAK_SIGNATURES = {"Proneural": "PN", "Neural": "NL", "Classical": "CL", "Mesenchymal": "MES"}


def verhaak2010() -> AnnData:
    """Verhaak et al. 2010: the 840 ClaNC classifier genes of 173 TCGA-GBM core samples, with their subtypes.

    Expression is TCGA's "unified" gene expression (three platforms merged, centred per gene).

    Returns
    -------
    AnnData 173 x 840.
    ``obs["subtype"]``: Proneural, Neural, Classical or Mesenchymal (categorical); ``obs["sample_barcode"]``: the
    sample barcode; ``obs_names``: 12-character patient barcodes. ``var["signature"]``: the signature the gene belongs
    to (PN, NL, CL, MES; missing for the 155 unassigned genes), see :data:`VERHAAK_SIGNATURES`.
    """
    path = fetch("verhaak2010/TCGA_unified_CORE_ClaNC840.txt")
    raw = pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False)
    samples = raw.iloc[0, 2:].to_numpy()
    subtypes = raw.iloc[1, 2:].to_numpy()
    genes = raw.iloc[2:, 0].str.strip().to_numpy()
    signature = raw.iloc[2:, 1].str.strip().replace("", np.nan).to_numpy()
    x = raw.iloc[2:, 2:].astype(np.float32).to_numpy().T
    patients = patient_barcode(samples, what="Verhaak sample barcodes")
    check_unique(patients, "patients in the Verhaak 2010 file")
    obs = pd.DataFrame(
        {
            "subtype": pd.Categorical(subtypes, categories=sorted(VERHAAK_SIGNATURES)),
            "sample_barcode": samples.astype(str),
        },
        index=patients,
    )
    var = pd.DataFrame(
        {"signature": pd.Categorical(signature, categories=list(VERHAAK_SIGNATURES.values()))},
        index=pd.Index(genes),
    )
    check_unique(var.index, "genes in the Verhaak 2010 file")
    return AnnData(X=x, obs=obs, var=var)


def tcga_gbm_clinical() -> pd.DataFrame:
    """TCGA-GBM clinical patient file (Biotab, 548 patients) with survival and covariates ready for modelling.

    Returns
    -------
    DataFrame indexed by patient barcode. Derived columns first:
    ``os_days`` (``death_days_to`` for the dead, ``last_contact_days_to`` for the living), ``os_event`` (1 = dead,
    0 = alive; nullable integer), ``age`` (years at diagnosis), ``gender``, ``race`` (the file's columns, lower-cased, categorical) and
    ``kps`` (Karnofsky score); then every other column of the file, with Biotab placeholders as missing.
    """
    raw = read_tcga_clinical(fetch("tcga_gbm_clinical/nationwidechildrens.org_clinical_patient_gbm.txt"))
    status = raw["vital_status"].str.lower()
    dead = status.eq("dead")
    os_event = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    os_event[dead.fillna(False)] = 1
    os_event[status.eq("alive").fillna(False)] = 0
    os_days = pd.Series(np.where(dead.fillna(False), raw["death_days_to"], raw["last_contact_days_to"]), index=raw.index, dtype=float)
    os_days[os_event.isna()] = np.nan
    derived = pd.DataFrame(
        {
            "os_days": os_days,
            "os_event": os_event,
            "age": raw["age_at_initial_pathologic_diagnosis"].astype(float),
            "gender": raw["gender"].str.lower().astype("category"),
            "race": raw["race"].str.lower().astype("category"),
            "kps": raw["karnofsky_score"].astype(float),
        }
    )
    return pd.concat([derived, raw.drop(columns=["gender", "race"])], axis=1)


def tcga_glioma_subtypes() -> pd.DataFrame:
    """Ceccarelli et al. 2016 pan-glioma molecular table, GBM rows (606 patients).

    Returns
    -------
    DataFrame indexed by patient barcode with every column of the table, plus ``gcimp`` (True for the G-CIMP
    original subtype, False for the other Verhaak subtypes, missing where unclassified), ``idh`` (``IDH.status``)
    and ``mgmt`` (``MGMT.promoter.status``).
    """
    df = pd.read_csv(fetch("ceccarelli2016_tcga_glioma_subtypes/TCGA_LGG_GBM_pan_glioma_subtypes_1122patients.csv"))
    df = df[df["Study"].eq("Glioblastoma multiforme")].copy()
    df.index = patient_barcode(df.pop("patient"), what="Ceccarelli patients")
    check_unique(df.index, "patients in the Ceccarelli table")
    sub = df["Original.Subtype"]
    gcimp = pd.Series(pd.NA, index=df.index, dtype="boolean")
    gcimp[sub.notna()] = sub[sub.notna()].eq("G-CIMP")
    extra = pd.DataFrame({"gcimp": gcimp, "idh": df["IDH.status"], "mgmt": df["MGMT.promoter.status"]}, index=df.index)
    return pd.concat([extra, df], axis=1)


def tcga_gbm_volumetrics() -> pd.DataFrame:
    """Tumour volumes from segmented pre-operative MRI (Bakas et al. 2017 labels) for the 97 TCGA-GBM patients.

    Returns
    -------
    DataFrame indexed by patient barcode with ``VOLUME_ET`` (enhancing), ``VOLUME_NET`` (necrosis and non-enhancing
    tumour), ``VOLUME_ED`` (edema), ``VOLUME_TC`` (tumour core), ``VOLUME_WT`` (whole tumour), their ratios and the
    clinical columns of the source. Feed it to :func:`radiogx.pp.volumetric_traits`.
    """
    df = pd.read_csv(fetch("tcga_glioma_volumetrics_nibr/TCGA_LGG_GBM_volumetrics_clinical_159patients.csv"))
    df = df[df["Histology"].eq("glioblastoma")].copy()
    df.index = patient_barcode(df.pop("ID"), what="volumetrics patients")
    check_unique(df.index, "patients in the volumetrics table")
    return df


def tcga_glioma_fractal() -> pd.DataFrame:
    """Radiomic shape features of the tumour sub-regions of 159 TCGA gliomas (97 GBM, 62 LGG): fractal dimension and
    lacunarity of the necrotic and non-enhancing core (``ncr_net``), the edema (``ed``) and the enhancing tumour
    (``et``), in 2D (axial, ``_cor`` coronal, ``_sag`` sagittal; mean and median over slices) and 3D (Bakas et al. 2017
    segmentations; nibr-lab, "Fractal dimension and lacunarity in gliomas", bioRxiv 10.1101/2023.12.28.573519).

    Each column is a continuous imaging trait: join the ones to model with
    ``rg.pp.add_clinical(adata, rg.datasets.tcga_glioma_fractal(), columns=["et_mean3dfd", ...])`` and
    :func:`radiogx.tl.train` regresses them (48 of the Verhaak 2010 patients have them).

    Returns
    -------
    DataFrame indexed by patient barcode, 42 float columns (missing where a sub-region is absent).
    """
    df = pd.read_csv(fetch("tcga_glioma_volumetrics_nibr/fractal_lac_data.csv"))
    df.index = patient_barcode(df.pop("ID"), what="fractal table patients")
    check_unique(df.index, "patients in the fractal table")
    return df.astype(float)


def vasari_demo() -> pd.DataFrame:
    """The 20-patient VASARI annotation table of the paper's repository (Smedley, El-Saden & Hsu 2020).

    Returns
    -------
    DataFrame of the raw answer strings, one row per patient (see :func:`radiogx.io.read_vasari`).
    """
    return read_vasari(fetch("vasari_demo/vasari_annotations.csv"))


def _survival_obs(days, status, index) -> pd.DataFrame:
    return pd.DataFrame(
        {"os_days": pd.Series(days, index=index, dtype=float), "os_event": pd.Series(status, index=index).astype("Int64")}
    )


def cancersubtypes_gbm() -> AnnData:
    """CancerSubtypes' TCGA-GBM set: 1,500 genes x 100 patients with overall survival.

    Returns
    -------
    AnnData 100 x 1500; ``obs["os_days"]``, ``obs["os_event"]`` (1 = dead).
    """
    adata = read_expression(fetch("cancersubtypes_tcga_gbm/GeneExp_1500genes_x_100patients.csv"), orientation="genes_x_samples")
    surv = pd.read_csv(fetch("cancersubtypes_tcga_gbm/survival_100patients.csv"), index_col=0)
    surv.index = patient_barcode(surv.index)
    surv = surv.reindex(adata.obs_names)
    adata.obs = _survival_obs(surv["time_days"], surv["status"], adata.obs_names)
    del adata.uns["read_expression"]
    return adata


def iclusterplus_gbm() -> AnnData:
    """iClusterPlus' TCGA-GBM set: the 1,740 most variable genes (centred and scaled) of 84 patients, with mutations.

    The source holds no clinical columns; join them with
    ``rg.pp.add_clinical(adata, rg.datasets.tcga_gbm_clinical())``.

    Returns
    -------
    AnnData 84 x 1740; ``obsm["mutations"]``: DataFrame of 306 binary somatic mutation indicators.
    """
    adata = read_expression(fetch("iclusterplus_tcga_gbm/gbm_exp_84patients_x_1740genes.csv"), orientation="samples_x_genes")
    del adata.uns["read_expression"]
    mut = pd.read_csv(fetch("iclusterplus_tcga_gbm/gbm_mut_84patients_x_306genes.csv"), index_col=0)
    mut.index = patient_barcode(mut.index)
    adata.obsm["mutations"] = mut.reindex(adata.obs_names).astype(np.int8)
    adata.obs["n_mutations"] = adata.obsm["mutations"].sum(axis=1).astype(np.int64)
    return adata
