"""Torch modules: the transcriptomic autoencoder and the radiogenomic network (Smedley, El-Saden & Hsu 2020)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from ._persist import SavedModel

__all__ = ["TranscriptomeAutoencoder", "RadiogenomicNetwork", "MaskedLinear", "SeededDropout", "seed_dropout", "seeded_init",
           "ACTIVATIONS", "network_from_state", "merge_networks"]

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "elu": nn.ELU}


# Torch's initialisers draw from its global generator, which the threads of a process share (dask's threaded workers
# train several folds at once): a network is built under this lock, and a seeded fit seeds and builds under it.
_INIT_LOCK = threading.RLock()


@contextmanager
def seeded_init(seed: int):
    """Seed torch's global generator and hold it for the networks built inside, whatever other threads do."""
    with _INIT_LOCK:
        torch.manual_seed(seed)
        yield


def _locked_init(init):
    @functools.wraps(init)
    def wrapper(*args, **kwargs):
        with _INIT_LOCK:
            init(*args, **kwargs)
    return wrapper


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


class MaskedLinear(nn.Linear):
    """A Dense layer whose weights outside a fixed 0/1 ``mask`` (out x in) are zero and stay zero.

    It carries the gene-set layer (each node sees only its set's genes; P-NET, Elmarakeby et al. 2021) and the
    genes a fold screened in (every node sees only them). Masked weights start at zero and get no gradient, so they
    stay exactly zero through training (weight decay of a zero is zero): ``weight`` is the effective weight, which the
    masking engine and captum read as for any Dense layer.
    """

    def __init__(self, n_in: int, n_out: int, mask: torch.Tensor | None = None) -> None:
        super().__init__(n_in, n_out)
        self.register_buffer("mask", torch.ones(n_out, n_in) if mask is None else mask.float().clone())
        if self.mask.shape != (n_out, n_in):
            raise ValueError(f"mask must have shape {(n_out, n_in)}, got {tuple(self.mask.shape)}")
        with torch.no_grad():
            self.weight.mul_(self.mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight * self.mask, self.bias)


class SeededDropout(nn.Dropout):
    """``nn.Dropout`` that draws its masks from ``self.generator`` when one is set (by :func:`seed_dropout`).

    Torch's global generator is shared by every thread of a process: two folds trained at once in a dask worker's
    threads would interleave their draws, and the results would depend on timing. Without a generator, it is
    ``nn.Dropout`` exactly."""

    generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.generator is None or not self.training or self.p == 0:
            return super().forward(x)
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=self.generator)
        return x * keep / (1.0 - self.p)


def seed_dropout(module: nn.Module, generator: torch.Generator | None) -> None:
    """Give every :class:`SeededDropout` of ``module`` the ``generator`` (``None``: the global one again)."""
    for m in module.modules():
        if isinstance(m, SeededDropout):
            m.generator = generator


def _block(n_in: int, n_out: int, activation: str, dropout: float = 0.0, mask: torch.Tensor | None = None,
           masked: bool = False) -> nn.Sequential:
    linear = MaskedLinear(n_in, n_out, mask) if masked or mask is not None else nn.Linear(n_in, n_out)
    layers: list[nn.Module] = [linear, nn.BatchNorm1d(n_out), _activation(activation)]
    if dropout > 0:
        layers.append(SeededDropout(dropout))
    return nn.Sequential(*layers)


class TranscriptomeAutoencoder(SavedModel, nn.Module):
    """Dense -> BatchNorm -> activation encoder, mirrored decoder, and a reconstruction layer.

    Parameters
    ----------
    n_genes
        Input (and output) width.
    hidden
        Encoder widths, the last one the bottleneck (the paper: 4000-2000-1000).
    activation
        Activation of every block (the paper: tanh).
    output
        ``"linear"`` (default): a plain Dense reconstruction, right for z-scored targets. ``"paper"``: Dense ->
        BatchNorm -> activation, as the authors' Keras model (its tanh bounds the output to [-1, 1]).
    """

    @_locked_init
    def __init__(self, n_genes: int, hidden: Sequence[int] = (4000, 2000, 1000), *, activation: str = "tanh",
                 output: str = "linear") -> None:
        super().__init__()
        if output not in ("linear", "paper"):
            raise ValueError(f"output must be 'linear' or 'paper', got {output!r}")
        widths = [n_genes, *hidden]
        self.encoder = nn.Sequential(*[_block(a, b, activation) for a, b in zip(widths[:-1], widths[1:])])
        back = widths[::-1]  # bottleneck -> ... -> first hidden, then the reconstruction layer
        self.decoder = nn.Sequential(*[_block(a, b, activation) for a, b in zip(back[:-2], back[1:-1])])
        self.reconstruction = nn.Linear(back[-2], n_genes) if output == "linear" else _block(back[-2], n_genes, activation)
        self.hparams = {"n_genes": n_genes, "hidden": list(hidden), "activation": activation, "output": output}
        #: The input genes, in order (set by :func:`radiogx.tl.pretrain`), the training scaler and the session id.
        self.genes: list[str] | None = None
        self.scaler_mean = self.scaler_scale = None
        self.model_id, self.path = self.new_id(), None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reconstruction(self.decoder(self.encoder(x)))

    def dense_layers(self) -> list[nn.Linear]:
        """The encoder's Dense layers, in order (what encoder transfer copies)."""
        return [block[0] for block in self.encoder]

    # persistence (the shared format of :class:`~radiogx.nn._persist.SavedModel`) ------------------------------------
    FORMAT = "radiogx.TranscriptomeAutoencoder/2"
    LEGACY_FORMAT = "radiogx.TranscriptomeAutoencoder/1"  # radiogx <= 0.8: no genes, no id, no content hash; still read
    READABLE = (LEGACY_FORMAT, FORMAT)
    WHAT = "autoencoder"

    def _meta(self) -> dict:
        return {"hparams": dict(self.hparams), "genes": None if self.genes is None else list(self.genes)}

    def _tensors(self) -> dict:
        payload = {"state": {k: v.detach().cpu() for k, v in self.state_dict().items()}}
        for name in ("scaler_mean", "scaler_scale"):
            if getattr(self, name, None) is not None:
                payload[name] = torch.as_tensor(np.asarray(getattr(self, name), dtype=np.float32))
        return payload

    @classmethod
    def _from_file(cls, meta: dict, payload: dict) -> TranscriptomeAutoencoder:
        hp = dict(meta["hparams"])
        ae = cls(hp.pop("n_genes"), hp.pop("hidden"), **hp)
        ae.load_state_dict(payload["state"])
        for name in ("scaler_mean", "scaler_scale"):
            if name in payload:
                setattr(ae, name, payload[name].numpy())
        ae.genes = meta.get("genes")
        ae.model_id = meta.get("model_id") or ae.model_id
        return ae.eval()


class RadiogenomicNetwork(nn.Module):
    """Input dropout, then Dense -> BatchNorm -> activation -> Dropout blocks, then a logit head.

    The head has one logit for a binary trait and one per class for a multiclass trait; the sigmoid or softmax is
    applied outside the module, so that attributions can take the gradient of the logit (the paper's saliency, Smedley et al. 2020).
    With ``first_mask`` (first hidden width x genes, 0/1) the first Dense layer is a :class:`MaskedLinear`: the
    gene-set layer, or the genes screened in by the training fold.
    """

    @_locked_init
    def __init__(self, n_genes: int, n_outputs: int, hidden: Sequence[int] = (4000, 2000, 1000), *,
                 activation: str = "tanh", dropout: float = 0.0, input_dropout: float | None = None,
                 first_mask: torch.Tensor | None = None, masked: bool = False, interaction_rank: int = 0) -> None:
        super().__init__()
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        input_dropout = dropout if input_dropout is None else input_dropout
        if not 0 <= input_dropout < 1:
            raise ValueError(f"input_dropout must be in [0, 1), got {input_dropout!r}")
        widths = [n_genes, *hidden]
        self.input_dropout = SeededDropout(input_dropout) if input_dropout > 0 else nn.Identity()
        self.blocks = nn.Sequential(*[
            _block(a, b, activation, dropout, first_mask if i == 0 else None, masked and i == 0)
            for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))
        ])
        self.head = nn.Linear(widths[-1], n_outputs)
        if interaction_rank:
            self.pairs = nn.Linear(widths[-1], 2 * interaction_rank, bias=False)
            self.pair_head = nn.Linear(interaction_rank, n_outputs, bias=False)
        self.interaction_rank = int(interaction_rank)
        self.hparams = {"n_genes": n_genes, "n_outputs": n_outputs, "hidden": list(hidden), "activation": activation,
                        "dropout": dropout, "input_dropout": input_dropout, "interaction_rank": int(interaction_rank)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.input_dropout(x))
        out = self.head(h)
        if self.interaction_rank:
            # factorisation-machine term (Rendle 2010): sum_r (u_r . h)(v_r . h), pairwise products of the last layer's
            # units; a trait driven by the product of two set activities gets a first-order gradient through it
            a, b = self.pairs(h).chunk(2, dim=1)
            out = out + self.pair_head(a * b)
        return out

    def dense_layers(self) -> list[nn.Linear]:
        return [block[0] for block in self.blocks]

    def transfer_encoder(self, autoencoder: TranscriptomeAutoencoder, *, freeze: int = 0) -> None:
        """Copy the autoencoder's encoder Dense weights and biases into this network (BatchNorm is not copied, as in
        the paper), and freeze the first ``freeze`` Dense layers."""
        ours, theirs = self.dense_layers(), autoencoder.dense_layers()
        if [(l.in_features, l.out_features) for l in ours] != [(l.in_features, l.out_features) for l in theirs]:
            raise ValueError(
                f"the autoencoder's encoder {[l.out_features for l in theirs]} on {theirs[0].in_features} genes does not "
                f"match the network's hidden layers {[l.out_features for l in ours]} on {ours[0].in_features} genes"
            )
        if not 0 <= freeze <= len(ours):
            raise ValueError(f"freeze must be between 0 and {len(ours)}, got {freeze!r}")
        with torch.no_grad():
            for dst, src in zip(ours, theirs):
                dst.weight.copy_(src.weight * dst.mask if isinstance(dst, MaskedLinear) else src.weight)
                dst.bias.copy_(src.bias)
        for layer in ours[:freeze]:
            for p in layer.parameters():
                p.requires_grad_(False)


def network_from_state(state: dict, *, activation: str) -> RadiogenomicNetwork:
    """An eval-mode network rebuilt from its ``state_dict`` alone (widths and first-layer mask read from it)."""
    n_blocks = sum(1 for k in state if k.startswith("blocks.") and k.endswith(".0.weight"))
    widths = [int(state[f"blocks.{i}.0.weight"].shape[0]) for i in range(n_blocks)]
    n_genes, n_out = int(state["blocks.0.0.weight"].shape[1]), int(state["head.weight"].shape[0])
    rank = int(state["pairs.weight"].shape[0]) // 2 if "pairs.weight" in state else 0
    net = RadiogenomicNetwork(n_genes, n_out, widths, activation=activation, masked="blocks.0.0.mask" in state,
                              interaction_rank=rank)
    net.load_state_dict(state)
    return net.eval()


@torch.no_grad()
def merge_networks(nets: Sequence[RadiogenomicNetwork], *, shifts: Sequence[torch.Tensor] | None = None,
                   scales: Sequence[torch.Tensor] | None = None) -> RadiogenomicNetwork:
    """One eval-mode network whose logit is the mean of ``nets``' logits, exactly.

    The members' hidden layers are stacked side by side (block-diagonal Dense weights, BatchNorm statistics
    concatenated) and the head averages theirs. Member ``k`` may expect its input scaled differently: it sees
    ``x * scales[k] + shifts[k]`` of the merged network's input ``x``, folded into its first Dense layer. The members
    must share depth and activation.
    """
    nets = list(nets)
    depth = {len(n.blocks) for n in nets}
    acts = {type(n.blocks[0][2]) for n in nets}
    if len(depth) != 1 or len(acts) != 1:
        raise ValueError("networks of different depths or activations cannot be merged into one")
    n_genes, n_out = nets[0].hparams["n_genes"], nets[0].head.out_features
    widths = [sum(n.blocks[i][0].out_features for n in nets) for i in range(depth.pop())]
    act_type = acts.pop()
    act_name = next(k for k, v in ACTIVATIONS.items() if v is act_type)
    first_mask = torch.cat([n.blocks[0][0].mask if isinstance(n.blocks[0][0], MaskedLinear)
                            else torch.ones_like(n.blocks[0][0].weight) for n in nets])
    ranks = [n.interaction_rank for n in nets]
    if len(set(ranks)) != 1:
        raise ValueError("networks with different interaction ranks cannot be merged into one")
    rank = ranks[0]
    merged = RadiogenomicNetwork(n_genes, n_out, widths, activation=act_name, first_mask=first_mask,
                                 interaction_rank=rank * len(nets)).eval()
    for i, block in enumerate(merged.blocks):
        linear, bn = block[0], block[1]
        linear.weight.zero_()
        row = col = 0
        for k, net in enumerate(nets):
            src, src_bn = net.blocks[i][0], net.blocks[i][1]
            w, b = src.weight.detach().clone(), src.bias.detach().clone()
            if i == 0 and scales is not None:
                b += w @ shifts[k].to(w.dtype)
                w *= scales[k].to(w.dtype)[None, :]
            rows = slice(row, row + w.shape[0])
            if i == 0:
                linear.weight[rows] = w
            else:
                linear.weight[rows, col:col + w.shape[1]] = w
                col += w.shape[1]
            linear.bias[rows] = b
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(bn, name)[rows] = getattr(src_bn, name)
            row += w.shape[0]
    merged.head.weight.copy_(torch.cat([n.head.weight for n in nets], dim=1) / len(nets))
    merged.head.bias.copy_(torch.stack([n.head.bias for n in nets]).mean(0))
    if rank:  # member k's u rows, then its v rows, on its own last-layer units; the pair heads side by side, averaged
        merged.pairs.weight.zero_()
        total, col = rank * len(nets), 0
        for k, net in enumerate(nets):
            u, v = net.pairs.weight.chunk(2, dim=0)
            width = u.shape[1]
            merged.pairs.weight[k * rank:(k + 1) * rank, col:col + width] = u
            merged.pairs.weight[total + k * rank:total + (k + 1) * rank, col:col + width] = v
            col += width
        merged.pair_head.weight.copy_(torch.cat([n.pair_head.weight for n in nets], dim=1) / len(nets))
    return merged
