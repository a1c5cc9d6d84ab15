"""The block-by-block Adadelta step is torch's Adadelta, value for value; with the weight gradients formed in the
step (``deferring``), the same to float32 rounding, whatever the number of threads."""

from __future__ import annotations

import pytest
import torch

from radiogx.nn._blocked_optim import BLOCK, BlockedAdadelta, _update, _update_outer


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


def _network():
    """A network with BatchNorm (after the activation, so that every bias has a gradient), the same on every call."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(900, 700), torch.nn.Tanh(), torch.nn.BatchNorm1d(700),
                               torch.nn.Linear(700, 3))


def _deferred(**kwargs):
    """:func:`_network` and the blocked step for it."""
    model = _network()
    return model, BlockedAdadelta(model.parameters(), **kwargs)


def _train(model, opt, steps=6, twice=False):
    """Train ``model`` (``twice``: its first layer applied to two halves of each batch, so that a step sums two sets
    of terms)."""
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x, y = torch.randn(10, 900, generator=gen), torch.randint(0, 3, (10,), generator=gen)
        h = torch.cat([model[0](x[:5]), model[0](x[5:])]) if twice else model[0](x)
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model[1:](h), y).backward()
        opt.step()


@pytest.mark.parametrize("twice", [False, True])
@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.01}])
def test_deferred_weight_gradients_give_torchs_adadelta(kwargs, twice):
    ours, our_opt = _deferred(**kwargs)
    with our_opt.deferring(ours):
        assert not ours[0].weight.requires_grad  # 630,000 weights: deferred
        assert ours[3].weight.requires_grad  # 2,100 weights: their gradient stays in the cache, left to autograd
        _train(ours, our_opt, twice=twice)
        assert ours[0].weight.grad is None and ours[3].weight.grad is not None
        assert not our_opt._factors  # every kept term was used by its step
    assert ours[0].weight.requires_grad and ours[3].weight.requires_grad  # restored on leaving
    theirs = _network()
    start = [p.detach().clone() for p in theirs.parameters()]
    their_opt = torch.optim.Adadelta(theirs.parameters(), **kwargs)
    _train(theirs, their_opt, twice=twice)
    for a, b, b0 in zip(ours.parameters(), theirs.parameters(), start):
        assert not torch.equal(b.detach(), b0)  # trained
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-4, atol=1e-5 * float(b.detach().abs().max()))
        for key in ("square_avg", "acc_delta"):
            theirs_state = their_opt.state[b][key]
            torch.testing.assert_close(our_opt.state[a][key], theirs_state, rtol=1e-4,
                                       atol=1e-4 * float(theirs_state.abs().max()))
        assert torch.equal(our_opt.state[a]["step"], their_opt.state[b]["step"])


def test_deferred_step_is_the_same_on_any_number_of_threads():
    gen = torch.Generator().manual_seed(0)
    rows, cols = 1000, 800  # three blocks: three threads get a share of the rows
    assert rows * cols >= 3 * BLOCK
    weight = torch.randn(rows, cols, generator=gen)
    factors = [(torch.randn(7, rows, generator=gen), torch.randn(7, cols, generator=gen)),
               (torch.randn(3, rows, generator=gen), torch.randn(3, cols, generator=gen))]
    start = (weight, torch.rand(rows, cols, generator=gen), torch.rand(rows, cols, generator=gen))
    results = []
    threads = torch.get_num_threads()
    try:
        for n in (1, 3):
            torch.set_num_threads(n)
            p, sq, acc = (t.clone() for t in start)
            _update_outer(p, factors, sq, acc, 1.0, 0.9, 1e-6, 0.01)
            results.append((p, sq, acc))
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(a, b) for a, b in zip(*results))
    # and it is the step on the gradient sum_k dy_k^T x_k, formed whole
    p, sq, acc = (t.clone() for t in start)
    grad = sum(dy.T @ x for dy, x in factors)
    _update(p.view(-1), grad.view(-1), sq.view(-1), acc.view(-1), (torch.empty(BLOCK), torch.empty(BLOCK)),
            1.0, 0.9, 1e-6, 0.01)
    for ours, whole, before in zip(results[0], (p, sq, acc), start):
        torch.testing.assert_close(ours, whole, rtol=1e-5, atol=1e-4 * float((whole - before).abs().max()))


def test_a_shared_weight_is_left_to_autograd():
    torch.manual_seed(0)
    first, second = torch.nn.Linear(600, 600), torch.nn.Linear(600, 600)
    assert first.weight.numel() >= BLOCK
    second.weight = first.weight  # tied: its gradient has two sources, which autograd sums
    model = torch.nn.Sequential(first, torch.nn.Tanh(), second)
    opt = BlockedAdadelta(model.parameters())
    with opt.deferring(model):
        assert first.weight.requires_grad
        model(torch.randn(4, 600)).sum().backward()
        assert first.weight.grad is not None and not opt._factors
        opt.step()


def test_zero_grad_drops_deferred_terms_as_it_drops_gradients():
    model, opt = _deferred()
    x, y = torch.randn(10, 900), torch.randint(0, 3, (10,))
    with opt.deferring(model):
        torch.nn.functional.cross_entropy(model(x), y).backward()
        assert opt._factors
        opt.zero_grad()
        assert not opt._factors and model[3].weight.grad is None


@pytest.mark.parametrize("n_terms", [1, 2, 3, 7, 8, 9, 10, 17])
@pytest.mark.parametrize("decay", [0.0, 0.01])
def test_deferred_row_update_is_bitwise_the_plain_loop(n_terms, decay):
    """The compiled row update sums several batch terms per pass over a gradient row; its weights and running averages
    are bitwise those of one term per pass in order (float32 throughout), for any batch size's remainder."""
    import numpy as np

    from radiogx.nn._blocked_optim import _outer_adadelta

    rng = np.random.default_rng(n_terms)
    f32 = np.float32
    rows, cols = 5, 37
    p, dy, x = (rng.standard_normal(s).astype(f32) for s in [(rows, cols), (n_terms, rows), (n_terms, cols)])
    sq, acc = (rng.random((rows, cols)).astype(f32) * f32(1e-3) for _ in range(2))
    lr, rho, eps, wd = f32(1.0), f32(0.9), f32(1e-6), f32(decay)
    want_p, want_sq, want_acc = p.copy(), sq.copy(), acc.copy()
    for i in range(rows):
        g = np.zeros(cols, f32)
        for k in range(n_terms):
            g = g + dy[k, i] * x[k]
        if decay:
            g = g + wd * want_p[i]
        want_sq[i] = want_sq[i] * rho + (f32(1) - rho) * g * g
        d = np.sqrt(want_acc[i] + eps) / np.sqrt(want_sq[i] + eps) * g
        want_acc[i] = want_acc[i] * rho + (f32(1) - rho) * d * d
        want_p[i] = want_p[i] - lr * d
    _outer_adadelta(p, dy, x, sq, acc, np.empty(cols, f32), 0, rows, lr, rho, f32(1) - rho, eps, wd)
    for got, want in [(p, want_p), (sq, want_sq), (acc, want_acc)]:
        np.testing.assert_array_equal(got, want)
