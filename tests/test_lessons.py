"""Each stage teaches a claim about PyTorch; each test here proves one."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from tools.stages import STAGES, StageRun


def test_hand_derived_gradients_are_autograds(run_in_process) -> None:
    # Stage 2's globals after its last pass hold the gradients it derived by hand at the
    # point it then stepped away from; step back to that point and ask autograd.
    stage = run_in_process("fit_tensor.py", "--steps", "10", "--no-figure")
    x, y, rate = stage["x"], stage["y"], stage["learning_rate"]
    hand = [stage[f"grad_{name}"] for name in "abcd"]
    start = [
        (stage[name] + rate * grad).detach().clone().requires_grad_() for name, grad in zip("abcd", hand, strict=True)
    ]
    a, b, c, d = start
    (a + b * x + c * x**2 + d * x**3 - y).pow(2).sum().backward()
    for name, by_hand, coefficient in zip("abcd", hand, start, strict=True):
        assert by_hand.item() == pytest.approx(coefficient.grad.item(), rel=1e-4), name


def test_custom_backward_agrees_with_finite_differences(run_in_process) -> None:
    legendre = run_in_process("fit_newautograd.py", "--steps", "10", "--no-figure")["LegendrePolynomial3"]
    z = torch.linspace(-1.5, 1.5, 25, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(legendre.apply, (z,))


def test_a_function_without_backward_fails_in_the_backward_pass(run_in_process) -> None:
    legendre = run_in_process("fit_newautograd.py", "--steps", "10", "--no-figure")["LegendrePolynomial3"]

    class ForwardOnly(torch.autograd.Function):
        forward = staticmethod(legendre.forward)

    z = torch.linspace(-1, 1, 5, requires_grad=True)
    values = ForwardOnly.apply(z)
    assert torch.equal(values, legendre.apply(z))  # the forward pass alone still works
    with pytest.raises(NotImplementedError):
        values.sum().backward()


def test_the_linear_layer_holds_the_cubics_coefficients(default_runs: dict[str, StageRun]) -> None:
    # Stage 5 learns a bias and three weights from its own start; stage 7 learns a, b, c, d.
    layer = default_runs["fit_nn.py"].log.cubic
    module = default_runs["fit_custom_nn.py"].log.cubic
    assert layer == pytest.approx(module, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize(("degree_draw", "powers"), [(6, (4, 5)), (5, (4,)), (4, ())])
def test_a_shared_weight_gets_the_sum_of_its_gradients(
    degree_draw: int, powers: tuple[int, ...], run_in_process, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = run_in_process("fit_ctlflow_wshare.py", "--steps", "10", "--no-figure")
    model, x, y = stage["model"], stage["x"], stage["y"]
    monkeypatch.setattr(random, "randint", lambda low, high: degree_draw)
    model.zero_grad()
    (model(x) - y).pow(2).sum().backward()

    # The same model with a separate copy of e for every term that uses it.
    a, b, c, d, e = (parameter.detach() for parameter in (model.a, model.b, model.c, model.d, model.e))
    copies = {power: e.clone().requires_grad_() for power in powers}
    y_pred = a + b * x + c * x**2 + d * x**3 + sum(copies[power] * x**power for power in powers)
    if copies:
        (y_pred - y).pow(2).sum().backward()

    # A pass that leaves e out gives it no gradient at all.
    received = 0.0 if model.e.grad is None else model.e.grad.item()
    assert received == pytest.approx(sum(copy.grad.item() for copy in copies.values()), rel=1e-5)


# How far a stage's final cubic may be from the least-squares cubic, coefficient by
# coefficient. Gradient descent in float32 stops at float32 rounding of the loss, which
# leaves the coefficients about 1e-5 off; RMSprop hovers; stage 8's x^4 and x^5 terms
# take over part of the work of the cubic's.
COEFFICIENT_TOLERANCE = {
    "fit_numpy.py": 1e-7,
    "fit_tensor.py": 1e-4,
    "fit_autograd.py": 1e-4,
    "fit_newautograd.py": 1e-4,
    "fit_nn.py": 1e-4,
    "fit_optim.py": 2e-3,
    "fit_custom_nn.py": 1e-4,
    "fit_ctlflow_wshare.py": 2e-2,
}


@pytest.mark.parametrize("stage", STAGES)
def test_final_cubic_is_the_least_squares_cubic(
    stage: str, default_runs: dict[str, StageRun], least_squares: tuple[np.ndarray, float]
) -> None:
    run = default_runs[stage]
    assert run.ok, run.error
    assert run.log.cubic == pytest.approx(least_squares[0], abs=COEFFICIENT_TOLERANCE[stage])
