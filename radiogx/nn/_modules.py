"""Torch modules: the transcriptomic autoencoder and the radiogenomic network (Smedley et al. 2020; method.md 2-3)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["TranscriptomeAutoencoder", "RadiogenomicNetwork", "ACTIVATIONS"]

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "elu": nn.ELU}


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


def _block(n_in: int, n_out: int, activation: str, dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), _activation(activation)]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class TranscriptomeAutoencoder(nn.Module):
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reconstruction(self.decoder(self.encoder(x)))

    def dense_layers(self) -> list[nn.Linear]:
        """The encoder's Dense layers, in order (what encoder transfer copies)."""
        return [block[0] for block in self.encoder]


class RadiogenomicNetwork(nn.Module):
    """Input dropout, then Dense -> BatchNorm -> activation -> Dropout blocks, then a logit head.

    The head has one logit for a binary trait and one per class for a multiclass trait; the sigmoid or softmax is
    applied outside the module, so that attributions can take the gradient of the logit (method.md section 6).
    """

    def __init__(self, n_genes: int, n_outputs: int, hidden: Sequence[int] = (4000, 2000, 1000), *,
                 activation: str = "tanh", dropout: float = 0.0, input_dropout: float | None = None) -> None:
        super().__init__()
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        input_dropout = dropout if input_dropout is None else input_dropout
        widths = [n_genes, *hidden]
        self.input_dropout = nn.Dropout(input_dropout) if input_dropout > 0 else nn.Identity()
        self.blocks = nn.Sequential(*[_block(a, b, activation, dropout) for a, b in zip(widths[:-1], widths[1:])])
        self.head = nn.Linear(widths[-1], n_outputs)
        self.hparams = {"n_genes": n_genes, "n_outputs": n_outputs, "hidden": list(hidden), "activation": activation,
                        "dropout": dropout, "input_dropout": input_dropout}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.input_dropout(x)))

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
                dst.weight.copy_(src.weight)
                dst.bias.copy_(src.bias)
        for layer in ours[:freeze]:
            for p in layer.parameters():
                p.requires_grad_(False)
