"""Adadelta's step a cache-sized block at a time: the paper's optimizer (Zeiler 2012) at the speed of memory.

``torch.optim.Adadelta`` (``foreach`` or not) applies each of its elementwise operations to a whole parameter
before the next, and allocates two temporaries of the parameter's size per step; on the paper's network (58 million
parameters, 233 MB each for the weights, their gradients and two running averages) every operation streams whole
tensors through memory. :class:`BlockedAdadelta` does the same arithmetic, in the same order, on blocks of ``BLOCK``
values that stay in the cache between operations, with two reusable block buffers: each step reads the weights,
gradients and running averages from memory once and writes the weights and running averages once (the step on that
network: 396 ms with torch's, 202 ms blocked, one thread). Its state (``square_avg``, ``acc_delta``, ``step``) and
results are ``torch.optim.Adadelta``'s (``tests/test_blocked_optim.py`` checks equality after several steps);
``benchmarks/train_speed.py --paper`` measures an epoch.

Within :meth:`BlockedAdadelta.deferring` (which ``fit_network`` uses), the weights of a network's large plain
``nn.Linear`` layers get no gradient from autograd: each layer keeps its batch input ``x`` and the gradient ``dy`` of
its output, and the step forms each row of the weight gradient ``dy^T x`` (of rank the batch size) in the cache and
updates that row at once (:func:`_outer_adadelta`, compiled by numba). At batch 10 the gradient of the 4000 x 12,042
layer is a rank-10 product that torch writes to memory (192 MB, 128 ms with a reused buffer, 205 ms with a new one)
for the update to read back; formed row by row, it never leaves the cache. One step of the paper's network on one
thread went from 430 ms (42 forward, 230 backward, 158 update) to 154-184 ms in two measurements (the update 99-114,
of which the first layer 82), then to 110-114 ms (update 68-70) with each gradient row accumulated eight batch terms
per pass over it instead of one (bitwise the same sums). The arithmetic is Adadelta's, in float32, element by
element; only the order in which the gradient's rank-one terms are summed differs from torch's matrix product, so
results agree with ``torch.optim.Adadelta`` to float32 rounding, and they do not depend on the number of threads the
rows are split among (``tests/test_blocked_optim.py``).
"""

from __future__ import annotations

import functools
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numba
import numpy as np
import torch
from torch import nn

__all__ = ["BlockedAdadelta", "BLOCK"]

#: Values per block: the four streamed tensors and two buffers of a block (6 MiB) fit a core's share of the cache.
BLOCK = 1 << 18


class BlockedAdadelta(torch.optim.Adadelta):
    """``torch.optim.Adadelta`` with its update applied block by block (dense CPU gradients; anything else, and
    ``maximize`` or ``differentiable``, goes to torch's own step); within :meth:`deferring`, large Dense layers' weight
    gradients are formed inside the update."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=False)
        self._buffers: tuple[torch.Tensor, torch.Tensor] | None = None
        self._factors: dict[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]] = {}

    def _blocks_fit(self) -> bool:
        return all(not g["maximize"] and not g["differentiable"] and not g["capturable"]
                   and not isinstance(g["lr"], torch.Tensor)
                   and all(p.grad is None or (p.grad.layout == torch.strided and _served(p) and p.grad.is_contiguous())
                           for p in g["params"]) for g in self.param_groups)

    @contextmanager
    def deferring(self, module: nn.Module):
        """Within this context, the weight gradients of ``module``'s plain ``nn.Linear`` layers (their weights in this
        optimizer, float32 on the CPU) are formed by :meth:`step` from each layer's input and output gradient
        instead of by autograd; the weights do not require grad inside it. Each layer may be called more than once
        per step (its terms are summed). A layer is left to autograd when its weight is shared or smaller than
        ``BLOCK`` values (its gradient then stays in the cache anyway), or when the groups use an option the blocked
        step does not serve."""
        ours = {id(p) for g in self.param_groups for p in g["params"]}
        linears = [m for m in module.modules() if type(m) is nn.Linear]
        uses = Counter(id(m.weight) for m in linears)
        layers = [m for m in linears if id(m.weight) in ours and uses[id(m.weight)] == 1 and m.weight.requires_grad
                  and m.weight.numel() >= BLOCK and _served(m.weight)] if self._blocks_fit() else []
        handles = []
        try:
            for m in layers:
                m.weight.requires_grad_(False)
                handles.append(m.register_forward_hook(self._keep_factors))
            yield self
        finally:
            for h in handles:
                h.remove()
            for m in layers:
                m.weight.requires_grad_(True)
            self._factors.clear()

    def _keep_factors(self, module: nn.Linear, inputs, output) -> None:
        if not (torch.is_grad_enabled() and output.requires_grad):
            return
        x = inputs[0].detach().reshape(-1, module.in_features)

        def keep(grad: torch.Tensor) -> None:
            self._factors.setdefault(module.weight, []).append((grad.detach().reshape(-1, module.out_features), x))

        output.register_hook(keep)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """torch's ``zero_grad``; the kept terms of deferred weight gradients are dropped too."""
        self._factors.clear()
        super().zero_grad(set_to_none)

    @torch.no_grad()
    def step(self, closure=None):
        if not self._blocks_fit():
            if self._factors:
                raise RuntimeError("deferred weight gradients need the blocked step; leave `deferring` first")
            return super().step(closure)
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self._buffers is None:
            self._buffers = (torch.empty(BLOCK), torch.empty(BLOCK))
        for group in self.param_groups:
            lr, rho, eps, decay = group["lr"], group["rho"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                factors = self._factors.pop(p, None)
                if p.grad is None and factors is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = torch.tensor(0.0)
                    state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["acc_delta"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                if factors is not None:
                    _update_outer(p, factors, state["square_avg"], state["acc_delta"], lr, rho, eps, decay)
                else:
                    _update(p.view(-1), p.grad.view(-1), state["square_avg"].view(-1), state["acc_delta"].view(-1),
                            self._buffers, lr, rho, eps, decay)
        return loss


def _served(p: torch.Tensor) -> bool:
    """A parameter the blocked step updates in place: float32, on the CPU, contiguous."""
    return p.device.type == "cpu" and p.dtype == torch.float32 and p.is_contiguous()


def _update(param, grad, square_avg, acc_delta, buffers, lr: float, rho: float, eps: float, decay: float) -> None:
    """torch's ``_single_tensor_adadelta``, operation for operation, on each block of the flattened tensors."""
    for start in range(0, param.numel(), BLOCK):
        stop = min(start + BLOCK, param.numel())
        p, g, sq, acc = param[start:stop], grad[start:stop], square_avg[start:stop], acc_delta[start:stop]
        std, delta = buffers[0][:stop - start], buffers[1][:stop - start]
        if decay != 0:
            g = g.add(p, alpha=decay)
        sq.mul_(rho).addcmul_(g, g, value=1 - rho)
        torch.add(sq, eps, out=std).sqrt_()
        torch.add(acc, eps, out=delta).sqrt_()
        delta.div_(std).mul_(g)
        acc.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        p.add_(delta, alpha=-lr)


def _update_outer(param, factors, square_avg, acc_delta, lr: float, rho: float, eps: float, decay: float) -> None:
    """Adadelta's step on a weight whose gradient is ``sum_k dy_k^T x_k`` over the kept ``factors``, rows split
    among torch's threads (each row's arithmetic is the same however the rows are split)."""
    dy = torch.cat([f[0] for f in factors]).numpy()  # a new, contiguous tensor
    x = torch.cat([f[1] for f in factors]).numpy()
    arrays = (param.detach().numpy(), dy, x, square_avg.numpy(), acc_delta.numpy())
    f32 = np.float32
    constants = (f32(lr), f32(rho), f32(1 - rho), f32(eps), f32(decay))
    rows = param.shape[0]
    n_threads = max(1, min(torch.get_num_threads(), param.numel() // BLOCK, rows))
    bounds = np.linspace(0, rows, n_threads + 1).astype(int)

    def run(i: int) -> None:
        _outer_adadelta(*arrays, np.empty(param.shape[1], f32), bounds[i], bounds[i + 1], *constants)

    if n_threads == 1:
        run(0)
    else:
        list(_pool(n_threads).map(run, range(n_threads)))


@functools.lru_cache(maxsize=None)
def _pool(n_threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(n_threads, thread_name_prefix="radiogx-adadelta")


@numba.njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
def _outer_adadelta(p, dy, x, sq, acc, g, start, stop, lr, rho, one_minus_rho, eps, decay):  # pragma: no cover (compiled)
    """Rows ``start:stop`` of ``p``: gradient row ``g = dy[:, i] . x`` (the batch's terms summed in order), then
    torch's ``_single_tensor_adadelta`` on the row, element by element, in float32.

    The gradient row is accumulated eight batch terms per pass over it (then two, then one), in the same order as one
    term per pass, so the sums are bitwise those of the plain loop; at batch 10 that is 3 passes over the row instead
    of 10, which made the first layer's update of the paper's network 1.3x faster (73 to 56 ms, one thread)."""
    n, n_terms = g.shape[0], dy.shape[0]
    for i in range(start, stop):
        g[:] = 0
        k = 0
        while k + 8 <= n_terms:
            a0, a1, a2, a3 = dy[k, i], dy[k + 1, i], dy[k + 2, i], dy[k + 3, i]
            a4, a5, a6, a7 = dy[k + 4, i], dy[k + 5, i], dy[k + 6, i], dy[k + 7, i]
            for j in range(n):
                g[j] = (((((((g[j] + a0 * x[k, j]) + a1 * x[k + 1, j]) + a2 * x[k + 2, j]) + a3 * x[k + 3, j])
                          + a4 * x[k + 4, j]) + a5 * x[k + 5, j]) + a6 * x[k + 6, j]) + a7 * x[k + 7, j]
            k += 8
        while k + 2 <= n_terms:
            a0, a1 = dy[k, i], dy[k + 1, i]
            for j in range(n):
                g[j] = (g[j] + a0 * x[k, j]) + a1 * x[k + 1, j]
            k += 2
        if k < n_terms:
            a0 = dy[k, i]
            for j in range(n):
                g[j] += a0 * x[k, j]
        if decay != 0:
            for j in range(n):
                g[j] += decay * p[i, j]
        for j in range(n):
            gj = g[j]
            s = sq[i, j] * rho + one_minus_rho * gj * gj
            sq[i, j] = s
            d = np.sqrt(acc[i, j] + eps) / np.sqrt(s + eps) * gj
            acc[i, j] = acc[i, j] * rho + one_minus_rho * d * d
            p[i, j] -= lr * d
