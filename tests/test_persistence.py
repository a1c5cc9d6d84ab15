"""Models own their persistence: AnnData holds an id (and, once saved, a path); a model lives as long as something
holds it, copies and h5ad round trips find it, and the autoencoder saves and loads like the networks."""

from __future__ import annotations

import gc
import weakref

import anndata as ad
import numpy as np
import pytest
import torch

import radiogx as rg

NET = {"hidden": (16,), "epochs": 5, "patience": 3, "cv": 3, "inner_splits": 1, "select_genes": "all", "seed": 0}


def _cohort():  # not a fixture: pytest would hold the AnnData until teardown
    return rg.datasets.synthetic(n_obs=90, n_vars=60, n_traits=1, module_size=10, n_decoys=3, seed=1)


def _state_bytes(model) -> int:
    states = [model.state] + [f["state"] for f in model.cv_folds]
    return sum(t.numel() * t.element_size() for s in states for t in s.values())


def test_a_model_lives_while_an_anndata_that_holds_it_lives_and_no_longer():
    cohort = _cohort()
    model = rg.tl.train(cohort, "trait_0", **NET)
    ref, size = weakref.ref(model), _state_bytes(model)
    del model
    gc.collect()
    assert ref() is not None  # the AnnData it was trained on keeps it
    copy = cohort.copy()
    rg.tl.saliency(copy)  # found through the id in the copy's record; the copy now keeps it too
    del cohort
    gc.collect()
    assert ref() is not None
    rg.tl.saliency(copy, key_added="again")
    del copy
    gc.collect()
    assert ref() is None, "a dropped model must free its memory"
    print(f"\nfreed a model of {size / 1e3:.0f} kB of weights once nothing held it")


def test_an_unsaved_dropped_model_says_how_to_keep_it():
    cohort = _cohort()
    rg.tl.train(cohort, "trait_0", **NET)
    orphan = cohort.copy()  # never used while the original lived
    del cohort
    gc.collect()
    with pytest.raises(ValueError, match=r"not in memory and was never saved.*model.save\(path\)"):
        rg.tl.saliency(orphan)


def test_a_saved_model_is_found_after_copy_and_h5ad_round_trip(tmp_path):
    cohort = _cohort()
    model = rg.tl.train(cohort, "trait_0", **NET)
    used = cohort.copy()
    rg.tl.saliency(used)
    model.save(tmp_path / "trait_0.pt")
    for holder in (cohort, used):  # save() changes no AnnData
        assert holder.uns["radiogx"]["trait_0"]["path"] == ""
    rg.io.save_model(cohort, "trait_0", tmp_path / "trait_0.pt", overwrite=True)  # the path recorded explicitly
    assert cohort.uns["radiogx"]["trait_0"]["path"] == str((tmp_path / "trait_0.pt").resolve())
    assert used.uns["radiogx"]["trait_0"]["path"] == ""
    expected = used.layers["saliency_trait_0"].copy()
    cohort.write_h5ad(tmp_path / "r.h5ad")
    ref = weakref.ref(model)
    del model, cohort, used, holder
    gc.collect()
    assert ref() is None
    back = ad.read_h5ad(tmp_path / "r.h5ad")
    rg.tl.saliency(back.copy())  # loaded from the saved path
    rg.tl.saliency(back)
    np.testing.assert_allclose(back.layers["saliency_trait_0"], expected, rtol=1e-5, atol=1e-7)


def test_autoencoder_saves_and_loads(tmp_path):
    cohort = _cohort()
    ae = rg.tl.pretrain(cohort, hidden=(8,), epochs=3, seed=0)
    path = ae.save(tmp_path / "ae.pt")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ae.save(path)
    back = rg.nn.TranscriptomeAutoencoder.load(path)
    assert back.hparams == ae.hparams
    for k, v in ae.state_dict().items():
        assert torch.equal(v, back.state_dict()[k])
    np.testing.assert_array_equal(back.scaler_mean, ae.scaler_mean)
    # the networks' file format: genes, id and a content hash that load checks
    assert back.genes == list(cohort.var_names) and back.model_id == ae.model_id
    payload = torch.load(path, weights_only=True)
    payload["state"]["encoder.0.0.weight"][0, 0] += 1.0
    torch.save(payload, tmp_path / "altered.pt")
    with pytest.raises(ValueError, match="does not match the hash"):
        rg.nn.TranscriptomeAutoencoder.load(tmp_path / "altered.pt")
    # an autoencoder of radiogx <= 0.8 (format /1: settings and weights, no genes) still loads
    legacy = {"format": "radiogx.TranscriptomeAutoencoder/1", "hparams": dict(ae.hparams), "state": ae.state_dict(),
              "scaler_mean": torch.as_tensor(ae.scaler_mean), "scaler_scale": torch.as_tensor(ae.scaler_scale)}
    torch.save(legacy, tmp_path / "legacy.pt")
    old = rg.nn.TranscriptomeAutoencoder.load(tmp_path / "legacy.pt")
    assert old.genes is None and torch.equal(old.state_dict()["encoder.0.0.weight"], ae.state_dict()["encoder.0.0.weight"])
    # a network file is not an autoencoder, nor the reverse
    rg.tl.train(cohort, "trait_0", **NET, save_to=tmp_path / "net.pt")
    with pytest.raises(ValueError, match="not a saved radiogx autoencoder .format 'radiogx.RadiogenomicModel/2'"):
        rg.nn.TranscriptomeAutoencoder.load(tmp_path / "net.pt")
    with pytest.raises(ValueError, match="not a saved radiogx model .format 'radiogx.TranscriptomeAutoencoder/2'"):
        rg.nn.RadiogenomicModel.load(path)
    assert cohort.uns["radiogx"]["trait_0"]["path"] == str((tmp_path / "net.pt").resolve())
    torch.save({"not": "an autoencoder"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a saved radiogx autoencoder"):
        rg.nn.TranscriptomeAutoencoder.load(tmp_path / "other.pt")
