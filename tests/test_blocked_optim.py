"""The block-by-block Adadelta step is torch's Adadelta, value for value."""

from __future__ import annotations

import pytest
import torch

from radiogx.nn._blocked_optim import BLOCK, BlockedAdadelta


def _trained(optimizer_class, steps=6, **kwargs):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(900, 700), torch.nn.Tanh(), torch.nn.Linear(700, 3))  # 630,000 > BLOCK
    assert model[0].weight.numel() > 2 * BLOCK
    opt = optimizer_class(model.parameters(), **kwargs)
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x, y = torch.randn(10, 900, generator=gen), torch.randint(0, 3, (10,), generator=gen)
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model, opt


@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.01}])
@pytest.mark.parametrize("foreach", [False, True])
def test_blocked_adadelta_equals_torch_adadelta(kwargs, foreach):
    ours, our_opt = _trained(BlockedAdadelta, **kwargs)
    theirs, their_opt = _trained(torch.optim.Adadelta, foreach=foreach, **kwargs)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)
        for key in ("square_avg", "acc_delta", "step"):
            assert torch.equal(our_opt.state[a][key], their_opt.state[b][key])
    # the state carries over to torch's optimizer and back
    resumed = torch.optim.Adadelta(ours.parameters(), **kwargs)
    resumed.load_state_dict(our_opt.state_dict())
    assert torch.equal(resumed.state_dict()["state"][0]["square_avg"], their_opt.state_dict()["state"][0]["square_avg"])


def test_a_gradient_blocks_do_not_serve_goes_to_torchs_step():
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(5, 4))
    q = torch.nn.Parameter(p.detach().clone())
    ours, theirs = BlockedAdadelta([p]), torch.optim.Adadelta([q])
    for opt, t in ((ours, p), (theirs, q)):
        (t ** 2).sum().backward()
        t.grad = t.grad.T.contiguous().T  # a non-contiguous gradient
        opt.step()
    assert not ours._blocks_fit()  # the gradient sent it to torch's step
    assert torch.equal(p, q)
