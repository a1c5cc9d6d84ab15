"""Batched forward passes of a network on gene-masked inputs (the engine behind ``rg.tl.gene_masking``).

Masking keeps a set's genes at their scaled values and sets every other gene to 0 (the training mean). So the first
layer's pre-activation of a masked patient is ``x[:, set] @ W1[set].T + b1``: its cost grows with the set's size,
not with all genes. Genes whose first-layer weights are all zero (outside a gene screen) cannot move it, so a set is
reduced to the genes the network weighs before anything is gathered, and a set that keeps none of them gets the
prediction of the empty set without a forward pass. The network runs in inference form: no autograd, BatchNorm
folded into the Dense weights, and the matrix products optionally in bfloat16 (5x faster than float32 on CPUs with
AMX).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._modules import RadiogenomicNetwork

__all__ = ["FoldedNetwork", "FoldStack", "PackedSets", "distinct_rows", "gene_positions", "masked_logits", "pack_sets"]

_INPLACE = {  # activations applied in place: they are memory-bound, and a copy costs as much as the function
    nn.Tanh: torch.tanh_,
    nn.ReLU: torch.relu_,
    nn.Sigmoid: torch.sigmoid_,
    nn.ELU: lambda t: nn.functional.elu(t, inplace=True),
}


@dataclass(frozen=True)
class PackedSets:
    """Gene sets as one padded matrix: row ``i`` holds set ``i``'s ``counts[i]`` gene indices, then padding
    (``pad``: one past the last gene)."""

    index: np.ndarray  # sets x width, int64
    counts: np.ndarray  # sets
    pad: int

    def __len__(self) -> int:
        return len(self.counts)


def gene_positions(genes: np.ndarray, n_genes: int) -> np.ndarray:
    """Each of ``n_genes`` input genes' position among ``genes`` (sorted), ``len(genes)`` for the others and for the
    padding index ``n_genes``: the ``lookup`` of :func:`pack_sets` and :func:`masked_logits`."""
    lookup = np.full(n_genes + 1, len(genes), dtype=np.int64)
    lookup[genes] = np.arange(len(genes))
    return lookup


def pack_sets(sets: Sequence[np.ndarray], lookup: np.ndarray | None = None, *, n_genes: int) -> PackedSets:
    """Pack index arrays (or a matrix of them, one set per row) into a :class:`PackedSets`; with ``lookup`` (an index per gene, ``n_genes`` where a gene is
    dropped), each set's genes are first mapped through it and the dropped ones removed (order kept)."""
    if isinstance(sets, np.ndarray) and sets.ndim == 2:  # sets of one size, one per row
        lengths = np.full(len(sets), sets.shape[1], dtype=np.int64)
        flat = sets.astype(np.int64, copy=False).ravel()
    else:
        lengths = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
        flat = np.concatenate([np.asarray(s, dtype=np.int64) for s in sets]) if lengths.sum() else np.zeros(0, np.int64)
    rows = np.repeat(np.arange(len(sets)), lengths)
    if lookup is not None:
        flat = lookup[flat]
        keep = flat < n_genes
        flat, rows = flat[keep], rows[keep]
    counts = np.bincount(rows, minlength=len(sets))
    index = np.full((len(sets), int(counts.max(initial=0))), n_genes, dtype=np.int64)
    index[rows, np.arange(len(rows)) - (np.cumsum(counts) - counts)[rows]] = flat
    return PackedSets(index, counts, n_genes)


class FoldedNetwork:
    """An eval-mode :class:`RadiogenomicNetwork` as plain (weight, bias, activation) layers, BatchNorm folded in.

    ``active`` lists the input genes the first layer weighs (every gene for a network without a gene screen);
    ``first_weight_t`` holds their first-layer weights, genes x hidden1, with a row of zeros after them (padding)."""

    def __init__(self, net: RadiogenomicNetwork, *, dtype: torch.dtype = torch.float32) -> None:
        self.dtype = dtype
        raw = []
        for block in net.blocks:
            linear, bn, act = block[0], block[1], block[2]
            scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
            w = linear.weight.detach() * scale[:, None]
            b = (linear.bias.detach() - bn.running_mean) * scale + bn.bias.detach()
            raw.append((w.double(), b.double(), type(act)))
        raw.append((net.head.weight.detach().double(), net.head.bias.detach().double(), None))
        # (A tanh computed as a centred sigmoid runs 2x faster in bfloat16 but loses absolute precision near 0, where
        # bfloat16 sigmoid outputs sit at 0.5: masked AUCs moved by up to 0.01 instead of 0.002. Measured, not used.)
        layers = [(w.to(dtype).contiguous(), b.to(dtype), _INPLACE.get(kind)) for w, b, kind in raw]
        first_w, self.first_bias, self.first_act = layers[0]
        self.n_genes = first_w.shape[1]
        weighs = (first_w != 0).any(dim=0)
        self.active = np.flatnonzero(weighs.cpu().numpy())
        rows = first_w.T if len(self.active) == self.n_genes else first_w.T[weighs]
        self.first_weight_t = torch.cat([rows, rows.new_zeros(1, rows.shape[1])]).contiguous()
        self.rest = layers[1:-1]  # (out x in) weights for F.linear, measured fastest for these shapes
        self.head_w, self.head_b, _ = layers[-1]
        rank = getattr(net, "interaction_rank", 0)
        self.pairs = (net.pairs.weight.detach().to(dtype).contiguous(),
                      net.pair_head.weight.detach().to(dtype).contiguous()) if rank else None
        self.width = self.first_weight_t.shape[1]
        self.n_outputs = self.head_w.shape[0]
        # input gene -> its row of first_weight_t; genes the network does not weigh -> the row of zeros
        self.lookup = gene_positions(self.active, self.n_genes)

    def restrict(self, genes: np.ndarray) -> FoldedNetwork:
        """The same network on the inputs ``genes`` only (sorted input indices holding every gene it weighs)."""
        genes = np.asarray(genes, dtype=np.int64)
        position = np.searchsorted(genes, self.active)
        if len(self.active) and (position.max() >= len(genes) or not np.array_equal(genes[position], self.active)):
            raise ValueError("restrict() needs every gene the network weighs")
        out = copy.copy(self)
        out.n_genes, out.active = len(genes), position
        out.lookup = gene_positions(position, len(genes))
        return out

    def from_first(self, pre: torch.Tensor) -> torch.Tensor:
        """Logits (float32) from first-layer pre-activations (rows x hidden1; overwritten)."""
        h = self.first_act(pre)
        for w, b, act in self.rest:
            h = act(nn.functional.linear(h, w, b))
        out = nn.functional.linear(h, self.head_w, self.head_b)
        if self.pairs is not None:
            a, b = nn.functional.linear(h, self.pairs[0]).chunk(2, dim=-1)
            out = out + nn.functional.linear(a * b, self.pairs[1])
        return out.float()

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Unmasked logits (a check: they equal the network's own)."""
        active = torch.as_tensor(self.active, device=x.device)
        return self.from_first(torch.addmm(self.first_bias, x.to(self.dtype).index_select(1, active),
                                           self.first_weight_t[:-1]))


class FoldStack:
    """The fold networks of one model as one batched network: every patient scored by the network of its own outer
    fold, all folds in the same products.

    A screened network's forward pass on a few sets costs less than the calls that launch it, so scoring the folds in
    turn spent its time on overhead (ten folds, ten calls per batch of sets). Here the folds' weights are stacked on a
    leading axis (each fold's first layer spread over the common inputs, zero where it weighs nothing) and their
    patients padded to the largest fold; each product is a batched one over folds.

    Parameters
    ----------
    nets
        Folded networks of one architecture on the same inputs (``n_genes``) and dtype.
    xs
        Each fold's patients' scaled expression (patients x ``n_genes``).
    positions
        Each fold's patients' rows in the output.
    """

    def __init__(self, nets: Sequence[FoldedNetwork], xs: Sequence[torch.Tensor], positions: Sequence[np.ndarray]):
        first = nets[0]
        shapes = [[tuple(w.shape) for w, _, _ in net.rest] + [tuple(net.head_w.shape)] for net in nets]
        acts = [[act for _, _, act in net.rest] + [net.first_act] for net in nets]
        if (any(s != shapes[0] for s in shapes) or any(a != acts[0] for a in acts)
                or any(net.n_genes != first.n_genes or net.dtype != first.dtype or net.width != first.width
                       or (net.pairs is None) != (first.pairs is None) for net in nets)):
            raise ValueError("fold networks of different architectures or inputs cannot be stacked")
        self.dtype, self.n_genes, self.width, self.n_outputs = first.dtype, first.n_genes, first.width, first.n_outputs
        self.first_act = first.first_act
        n_folds, most = len(nets), max(len(p) for p in positions)
        device = xs[0].device
        # fold x (inputs + padding) x hidden1: each fold's weights at the common input positions, zero rows elsewhere
        self.first_weight_t = torch.stack([net.first_weight_t[torch.as_tensor(net.lookup, device=device)]
                                           for net in nets])
        self.first_bias = torch.stack([net.first_bias for net in nets])[:, None, :]
        self.x = torch.zeros((n_folds, most, self.n_genes + 1), dtype=self.dtype, device=device)
        for f, x in enumerate(xs):
            self.x[f, :len(x), :self.n_genes] = x.to(self.dtype)
        self.rest = [(torch.stack([net.rest[i][0].T for net in nets]).contiguous(),
                      torch.stack([net.rest[i][1] for net in nets])[:, None, :], first.rest[i][2])
                     for i in range(len(first.rest))]
        self.head_w = torch.stack([net.head_w.T for net in nets]).contiguous()
        self.head_b = torch.stack([net.head_b for net in nets])[:, None, :]
        self.pairs = None if first.pairs is None else tuple(
            torch.stack([net.pairs[i].T for net in nets]).contiguous() for i in range(2))
        # output row of each patient -> its (fold, padded row) in the stacked results
        self.n_patients = int(sum(len(p) for p in positions))
        gather = np.empty(self.n_patients, dtype=np.int64)
        for f, pos in enumerate(positions):
            gather[np.asarray(pos)] = f * most + np.arange(len(pos))
        self.gather = torch.as_tensor(gather)
        self.n_folds, self.most = n_folds, most

    def from_first(self, pre: torch.Tensor) -> torch.Tensor:
        """Logits (float32, folds x rows x outputs) from first-layer pre-activations (folds x rows x hidden1;
        overwritten)."""
        h = self.first_act(pre)
        for w, b, act in self.rest:
            h = act(torch.baddbmm(b, h, w))
        out = torch.baddbmm(self.head_b, h, self.head_w)
        if self.pairs is not None:
            a, b = torch.bmm(h, self.pairs[0]).chunk(2, dim=-1)
            out = out + torch.bmm(a * b, self.pairs[1])
        return out.float()

    @torch.no_grad()
    def masked_logits(self, sets: PackedSets, *, max_rows: int | None = None) -> torch.Tensor:
        """Logits of every patient with each set kept and the rest zeroed, sets x patients x outputs (float32, on the
        CPU): :func:`masked_logits` for all folds at once (``sets`` packed for ``n_genes`` inputs)."""
        if sets.pad != self.n_genes:
            raise ValueError(f"sets packed for {sets.pad} genes, the stacked networks have {self.n_genes}")
        n_sets, n_folds, most = len(sets), self.n_folds, self.most
        index = sets.index if sets.index.shape[1] else np.full((n_sets, 1), self.n_genes, dtype=np.int64)
        counts = np.maximum(sets.counts, 1)  # a set without genes reads the padding: the bias alone
        order = np.argsort(counts, kind="stable")
        out = torch.empty((n_sets, self.n_patients, self.n_outputs), dtype=torch.float32)
        for chunk in _chunks(order, counts, rows=most, width=self.width, copies=n_folds, dtype=self.dtype,
                             max_rows=max_rows):
            s, width = len(chunk), int(counts[chunk[-1]])
            t = torch.as_tensor(index[chunk, :width], device=self.x.device).reshape(-1)
            xg = self.x.index_select(2, t).reshape(n_folds, most, s, width).transpose(1, 2)
            wg = self.first_weight_t.index_select(1, t).reshape(n_folds * s, width, self.width)
            pre = torch.baddbmm(self.first_bias.repeat_interleave(s, dim=0), xg.reshape(n_folds * s, most, width), wg)
            logits = self.from_first(pre.reshape(n_folds, s * most, self.width)).cpu()
            logits = logits.reshape(n_folds, s, most, -1).transpose(0, 1).reshape(s, n_folds * most, -1)
            out[torch.as_tensor(chunk)] = logits.index_select(1, self.gather)
        return out


@torch.no_grad()
def masked_logits(
    net: FoldedNetwork,
    x: torch.Tensor,
    sets: Sequence[np.ndarray] | PackedSets,
    *,
    max_rows: int | None = None,
) -> torch.Tensor:
    """Logits of every patient of ``x`` (patients x genes, scaled) with each gene set kept and the rest zeroed.

    Parameters
    ----------
    net
        The folded network.
    x
        Scaled expression, patients x genes (the network's gene order).
    sets
        Gene index arrays, one per set (empty arrays allowed: every gene masked), or the same packed
        (:func:`pack_sets`, ``pad`` equal to the network's genes).
    max_rows
        Upper bound on sets x patients rows per chunk (memory: rows x hidden1 values, counting the gathered inputs
        and weights as more of them); default keeps a chunk near 256 MB.

    Returns
    -------
    Tensor sets x patients x outputs (float32, on the CPU; the products run on ``x``'s device, where the network's
    weights must be too).
    """
    n_sets, n_pat, n_active = len(sets), x.shape[0], len(net.active)
    # each set's genes as rows of first_weight_t: the genes the network weighs first, then padding
    if isinstance(sets, PackedSets):
        if sets.pad != net.n_genes:
            raise ValueError(f"sets packed for {sets.pad} genes, the network has {net.n_genes}")
        index = net.lookup[sets.index]
    else:
        index = pack_sets(sets, net.lookup, n_genes=n_active).index
    # A screened network weighs few genes, so many sets keep the same ones (of 1,000 random sets of each of
    # Reactome's sizes that keep any of 31 weighed genes, six in ten repeat another's): each distinct set of
    # weighed genes is scored once.
    rows_of_set = None
    if n_active < net.n_genes:
        index.sort(axis=1)
        if n_sets > 1:
            index, rows_of_set = distinct_rows(index)
            n_sets = len(index)
    counts = (index < n_active).sum(axis=1)
    order = np.argsort(counts, kind="stable")
    xd = x.to(net.dtype)
    xa = xd if n_active == net.n_genes else xd.index_select(1, torch.as_tensor(net.active, device=x.device))
    xa = torch.cat([xa, xa.new_zeros(n_pat, 1)], dim=1)  # the padding column
    out = torch.empty((n_sets, n_pat, net.n_outputs), dtype=torch.float32)
    empty = order[counts[order] == 0]
    if len(empty):  # no gene the network weighs: the bias alone, the same for every patient
        out[torch.as_tensor(empty)] = net.from_first(net.first_bias[None].clone()).cpu()
    for chunk in _chunks(order[len(empty):], counts, rows=n_pat, width=net.width, copies=1, dtype=net.dtype,
                         max_rows=max_rows):
        width = int(counts[chunk[-1]])
        t = torch.as_tensor(index[chunk, :width], device=x.device)  # sets x width
        xg = xa.index_select(1, t.reshape(-1)).reshape(n_pat, len(chunk), width).transpose(0, 1)
        wg = net.first_weight_t.index_select(0, t.reshape(-1)).reshape(len(chunk), width, net.width)
        pre = torch.baddbmm(net.first_bias.expand(len(chunk), n_pat, net.width), xg, wg)
        out[torch.as_tensor(chunk)] = net.from_first(pre.reshape(-1, net.width)).reshape(len(chunk), n_pat, -1).cpu()
    return out if rows_of_set is None else out[torch.as_tensor(rows_of_set)]


def _chunks(order: np.ndarray, counts: np.ndarray, *, rows: int, width: int, copies: int, dtype: torch.dtype,
            max_rows: int | None):
    """Consecutive chunks of ``order`` (sets by growing gene count ``counts``), each the most sets whose
    pre-activations (``rows x width`` per set), gathered inputs (``rows x genes``) and gathered weights
    (``genes x width``), ``copies`` times over (one per stacked fold), fit the budget: ``max_rows x width`` values, by
    default about 256 MB."""
    itemsize = torch.finfo(dtype).bits // 8
    budget = max_rows * width if max_rows else max(rows * width, int(256e6 // itemsize))
    start = 0
    while start < len(order):
        c = counts[order[start:]]
        cost = np.arange(1, len(order) - start + 1) * copies * (rows * (width + c) + c * width)
        take = max(1, int(np.searchsorted(cost, budget, side="right")))
        yield order[start:start + take]
        start += take


def distinct_rows(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a non-negative integer matrix and, per row, the position of its own among them (as
    ``np.unique(index, axis=0, return_inverse=True)``, several times faster on short rows)."""
    if index.shape[1] == 0:
        return index[:1], np.zeros(len(index), dtype=np.int64)
    base = int(index.max()) + 1
    if index.shape[1] * np.log2(base) < 62:  # each row one exact integer key
        key = np.zeros(len(index), dtype=np.int64)
        for j in range(index.shape[1]):
            key = key * base + index[:, j]
    else:  # a 64-bit hash, checked below
        weights = np.random.default_rng(index.shape[1]).integers(1, 2**62, size=index.shape[1], dtype=np.int64)
        with np.errstate(over="ignore"):
            key = (index * weights).sum(axis=1)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    distinct, inverse = index[first], inverse.reshape(-1)
    if not np.array_equal(distinct[inverse], index):  # a hash collision: the exact, slower way
        distinct, inverse = np.unique(index, axis=0, return_inverse=True)
    return distinct, inverse.reshape(-1)


def dense_masked_logits(net: nn.Module, x: torch.Tensor, sets: Sequence[np.ndarray]) -> torch.Tensor:
    """The straightforward reference: one dense float32 forward pass per set (all patients batched)."""
    outs = []
    with torch.no_grad():
        for idx in sets:
            masked = torch.zeros_like(x)
            if len(idx):
                t = torch.as_tensor(idx, dtype=torch.int64)
                masked[:, t] = x[:, t]
            outs.append(net(masked))
    return torch.stack(outs)
