"""Each stage teaches a claim about PyTorch; each test here proves one."""

import ast
import math
import random
from collections.abc import Callable

import numpy as np
import pytest
import torch

from tools.stages import ROOT, STAGES, StageRun, settings

POINTS = settings("fit_numpy.py")["points"]


def test_hand_derived_gradients_are_autograds(run_in_process) -> None:
    # Stage 2's globals after its last pass hold the gradients it derived by hand at the
    # point it then stepped away from; step back to that point and ask autograd.
    stage = run_in_process("fit_tensor.py", "--steps", "10")
    x, y, rate = stage["x"], stage["y"], stage["learning_rate"]
    hand = [stage[f"grad_{name}"] for name in "abcd"]
    start = [(stage[name] + rate * grad).detach().requires_grad_() for name, grad in zip("abcd", hand, strict=True)]
    a, b, c, d = start
    (a + b * x + c * x**2 + d * x**3 - y).pow(2).sum().backward()
    for name, by_hand, coefficient in zip("abcd", hand, start, strict=True):
        assert by_hand.item() == pytest.approx(coefficient.grad.item(), rel=1e-4), name


def test_custom_backward_agrees_with_finite_differences(run_in_process) -> None:
    legendre = run_in_process("fit_newautograd.py", "--steps", "10")["LegendrePolynomial3"]
    z = torch.linspace(-1.5, 1.5, 25, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(legendre.apply, (z,))


def test_a_function_without_backward_fails_in_the_backward_pass(run_in_process) -> None:
    legendre = run_in_process("fit_newautograd.py", "--steps", "10")["LegendrePolynomial3"]

    class ForwardOnly(torch.autograd.Function):
        forward = staticmethod(legendre.forward)

    z = torch.linspace(-1, 1, 5, requires_grad=True)
    values = ForwardOnly.apply(z)
    assert torch.equal(values, legendre.apply(z))  # the forward pass alone still works
    with pytest.raises(NotImplementedError):
        values.sum().backward()


def test_the_linear_layer_holds_the_cubics_coefficients(run: Callable[..., StageRun]) -> None:
    # Stage 5 learns a bias and three weights from its own start; stage 7 learns a, b, c, d.
    layer = run("fit_nn.py").log.cubic
    module = run("fit_custom_nn.py").log.cubic
    assert layer == pytest.approx(module, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize(("degree_draw", "powers"), [(5, (4, 5)), (4, (4,)), (3, ())])
def test_a_shared_weight_gets_the_sum_of_its_gradients(
    degree_draw: int, powers: tuple[int, ...], run_in_process, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = run_in_process("fit_ctlflow_wshare.py", "--steps", "10")
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


# How far a final cubic may be from the least-squares one, per coefficient: float32 gradient descent stops at the
# loss's rounding, which leaves them about 1e-5 off; RMSprop hovers; stage 8's x^4 and x^5 take over part of its work.
COEFFICIENT_TOLERANCE = {stage: 1e-4 for stage in STAGES} | {
    "fit_numpy.py": 1e-7,
    "fit_optim.py": 2e-3,
    "fit_ctlflow_wshare.py": 2e-2,
}


@pytest.mark.parametrize("stage", STAGES)
def test_final_cubic_is_the_least_squares_cubic(
    stage: str, run: Callable[..., StageRun], least_squares_fit: tuple[np.ndarray, float]
) -> None:
    done = run(stage)
    assert done.ok, done.error
    assert done.log.cubic == pytest.approx(least_squares_fit[0], abs=COEFFICIENT_TOLERANCE[stage])


# The claims the stages' comments make about PyTorch, each one tested as PyTorch behaves.


def test_backward_adds_to_grad_which_is_why_the_stages_clear_it() -> None:
    a = torch.tensor(3.0, requires_grad=True)
    for _ in range(2):
        (a * a).backward()
    assert a.grad.item() == 2 * (2 * 3.0)


def test_operations_on_a_tensor_that_requires_grad_are_recorded_in_their_results() -> None:
    a = torch.tensor(2.0, requires_grad=True)
    x = torch.linspace(-1, 1, 5)
    y_pred = a * x
    loss = y_pred.sum()
    # The recording is in each result's grad_fn, which backward walks from the loss back.
    assert a.grad_fn is None and y_pred.grad_fn is not None
    assert loss.grad_fn.next_functions[0][0] is y_pred.grad_fn
    assert (x * 2.0).grad_fn is None


def test_updating_a_leaf_in_place_outside_no_grad_is_an_error() -> None:
    a = torch.tensor(1.0, requires_grad=True)
    (a * a).backward()
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        a -= 0.1 * a.grad
    with torch.no_grad():
        a -= 0.1 * a.grad
    assert a.is_leaf and a.grad_fn is None


def test_updating_out_of_place_makes_a_non_leaf_whose_grad_stays_empty() -> None:
    a = torch.tensor(1.0, requires_grad=True)
    (a * a).backward()
    a = a - 0.1 * a.grad
    assert not a.is_leaf and a.grad_fn is not None
    with pytest.warns(UserWarning, match="is not a leaf Tensor"):
        (a * a).backward()
        assert a.grad is None


def test_to_before_requires_grad_keeps_a_leaf_and_the_other_order_does_not() -> None:
    # A move to another device or dtype makes a new tensor; float64 stands in for a GPU here.
    start = torch.randn(())
    right = start.to(torch.float64).requires_grad_()
    wrong = start.clone().requires_grad_().to(torch.float64)
    assert right.is_leaf and not wrong.is_leaf
    with pytest.warns(UserWarning, match="is not a leaf Tensor"):
        (right * wrong).backward()
        assert right.grad is not None and wrong.grad is None
    # To where it already is, .to() returns the tensor itself, so the order shows no
    # difference on the CPU: only on a real move.
    same = start.clone().requires_grad_()
    assert same.to(torch.float32) is same


def test_linear_layers_hold_parameters_that_require_grad_from_the_start() -> None:
    layer = torch.nn.Linear(3, 1)
    assert all(isinstance(p, torch.nn.Parameter) and p.requires_grad and p.is_leaf for p in layer.parameters())
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]


def test_a_parameter_is_registered_by_assignment_to_a_module_attribute_only() -> None:
    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = torch.nn.Parameter(torch.zeros(()))
            self.in_a_list = [torch.nn.Parameter(torch.zeros(()))]
            in_a_local = torch.nn.Parameter(torch.zeros(()))
            assert in_a_local.requires_grad

    model = Model()
    assert [name for name, _ in model.named_parameters()] == ["a"]
    assert not any(p is model.in_a_list[0] for p in model.parameters())


def test_mse_loss_sums_only_when_asked_and_its_mean_has_gradients_n_times_smaller() -> None:
    y = torch.sin(torch.linspace(-math.pi, math.pi, 2000))
    y_pred = torch.zeros(2000, requires_grad=True)
    total = torch.nn.MSELoss(reduction="sum")(y_pred, y)
    mean = torch.nn.MSELoss()(y_pred, y)
    assert total.item() == pytest.approx(torch.square(y_pred - y).sum().item())
    assert mean.item() == pytest.approx(total.item() / 2000)
    (sum_grad,) = torch.autograd.grad(total, y_pred)
    (mean_grad,) = torch.autograd.grad(mean, y_pred)
    assert torch.allclose(mean_grad * 2000, sum_grad)


def test_flatten_keeps_the_loss_from_broadcasting_to_a_points_by_points_table() -> None:
    x = torch.linspace(-math.pi, math.pi, 7)
    xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))
    assert x.unsqueeze(-1).shape == (7, 1) and xx.shape == (7, 3)
    assert torch.equal(xx[:, 2], x**3)
    y = torch.sin(x)
    column = torch.nn.Linear(3, 1)(xx)
    assert column.shape == (7, 1)
    assert (column - y).shape == (7, 7)
    with pytest.warns(UserWarning, match="different to the input size"):
        torch.nn.MSELoss(reduction="sum")(column, y)
    assert torch.nn.Flatten(0, 1)(column).shape == (7,)


def test_a_functions_forward_runs_with_recording_off(run_in_process) -> None:
    legendre = run_in_process("fit_newautograd.py", "--steps", "10")["LegendrePolynomial3"]
    recording = []

    class Watched(legendre):
        @staticmethod
        def forward(ctx, z):
            recording.append(torch.is_grad_enabled())
            return legendre.forward(ctx, z)

    z = torch.linspace(-1, 1, 5, requires_grad=True)
    result = Watched.apply(z)
    assert recording == [False] and torch.is_grad_enabled()
    # apply records the call in the result, so backward knows to run ours.
    assert type(result.grad_fn).__name__ == "WatchedBackward"


def test_save_for_backward_catches_an_input_changed_in_place(run_in_process) -> None:
    legendre = run_in_process("fit_newautograd.py", "--steps", "10")["LegendrePolynomial3"]
    a = torch.tensor(2.0, requires_grad=True)
    z = a * torch.linspace(-1, 1, 5)
    result = legendre.apply(z)
    with torch.no_grad():
        z += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        result.sum().backward()


def test_the_optimizer_keeps_state_for_each_parameter_from_step_to_step(run_in_process) -> None:
    stage = run_in_process("fit_optim.py", "--steps", "10")
    model, optimizer = stage["model"], stage["optimizer"]
    # RMSprop's running average of squared gradients, one per parameter, kept between
    # steps: an optimizer made anew inside the loop would start it from zero every step.
    assert [optimizer.state[p]["step"].item() for p in model.parameters()] == [11, 11]
    assert all(optimizer.state[p]["square_avg"].shape == p.shape for p in model.parameters())


def test_stage_8_loss_depends_on_the_degree_drawn_and_is_still_falling_at_its_last_step(
    run: Callable[..., StageRun], floor: float
) -> None:
    log = run("fit_ctlflow_wshare.py").log
    x = np.linspace(-math.pi, math.pi, POINTS)
    y = np.sin(x)
    # Stage 8's model is the cubic plus e times 0, x^4 or x^4 + x^5, a third of the passes each: the least-squares
    # solution (a, b, c, d, e) over the three stacked minimises the loss averaged over the draw.
    extra = [np.zeros_like(x), x**4, x**4 + x**5]
    columns = [np.column_stack([np.vander(x, 4, increasing=True), term]) for term in extra]
    best = np.linalg.lstsq(np.vstack(columns), np.concatenate([y, y, y]), rcond=None)[0]
    fitted = np.array([*log.cubic, log.terms[4].coefficient])

    def losses(coefficients: np.ndarray) -> list[float]:
        return [float(np.square(part @ coefficients - y).sum()) for part in columns]

    # Each logged loss is that of the degree drawn on that pass, as the log says. (The last
    # one is logged before the last update, the Result after it: one small step apart.)
    assert log.notes[max(log.losses)] == "degree 5"
    assert log.final_loss == pytest.approx(losses(fitted)[2], rel=1e-3)
    assert log.final_loss != pytest.approx(losses(fitted)[0], rel=1e-3)
    # With x^4 and x^5 the model can go below the cubic's floor; the cubic alone cannot, and
    # neither can x^4 alone: it is even, sin is odd, and the points are symmetric.
    assert losses(best)[2] < floor < losses(best)[0]
    quartic = np.linalg.lstsq(columns[1], y, rcond=None)[0]
    assert float(np.square(columns[1] @ quartic - y).sum()) == pytest.approx(floor, rel=1e-9)
    # At step 30000 the fit is still on its way: its loss averaged over the draw is more
    # than float32 rounding above the best one, though within a few percent of it.
    gap = np.mean(losses(fitted)) / np.mean(losses(best)) - 1
    assert 1e-3 < gap < 0.05


def test_the_slowest_direction_of_the_fit_shrinks_by_e_about_every_580_steps() -> None:
    # Gradient descent on the summed squared error of a linear model shrinks the error
    # along each eigenvector of the Hessian 2 A^T A by (1 - rate * eigenvalue) per step;
    # the smallest eigenvalue sets the pace, one factor e per 1 / (rate * eigenvalue) steps.
    x = np.linspace(-math.pi, math.pi, POINTS)
    powers = np.vander(x, 4, increasing=True)
    eigenvalues, directions = np.linalg.eigh(2 * powers.T @ powers)
    rate = settings("fit_numpy.py")["learning_rate"]
    assert 1 / (rate * eigenvalues[0]) == pytest.approx(580, rel=0.02)
    # That direction mixes the constant and the x^2 coefficient only.
    assert np.abs(directions[[1, 3], 0]).max() < 1e-9 < np.abs(directions[[0, 2], 0]).min()


def test_moving_a_model_keeps_its_parameters_leaves_that_require_grad() -> None:
    # Unlike a tensor moved after requires_grad_(), a module's parameters are moved in
    # place: the same Parameter objects, still leaves, now holding the moved values.
    model = torch.nn.Linear(3, 1)
    before = list(model.parameters())
    model.to(torch.float64)
    after = list(model.parameters())
    assert all(old is new for old, new in zip(before, after, strict=True))
    assert all(p.dtype == torch.float64 and p.is_leaf and p.requires_grad for p in after)


def test_float32_sums_of_the_same_numbers_in_another_order_end_in_other_last_digits() -> None:
    # The squared errors of stage 2's start cubic, summed in float32 left to right in one
    # pass, then as two halves added at the end, as two threads would share the sum: the
    # last digits differ, while both stay within float32 rounding of the exact sum.
    x = np.linspace(-math.pi, math.pi, POINTS).astype(np.float32)
    torch.manual_seed(0)
    a, b, c, d = (np.float32(torch.randn(()).item()) for _ in range(4))
    squares = np.square(a + b * x + c * x**2 + d * x**3 - np.sin(x)).astype(np.float32)
    half = len(squares) // 2
    one_pass = np.cumsum(squares, dtype=np.float32)[-1]
    two_halves = np.cumsum(squares[:half], dtype=np.float32)[-1] + np.cumsum(squares[half:], dtype=np.float32)[-1]
    exact = math.fsum(squares.astype(np.float64))
    assert one_pass != two_halves
    assert one_pass == pytest.approx(exact, rel=1e-5) and two_halves == pytest.approx(exact, rel=1e-5)


def test_numpy_refuses_a_tensor_that_requires_grad_and_cpu_returns_one_on_the_cpu_as_it_is() -> None:
    # Why the torch stages hand y_pred to the figure as y_pred.detach().cpu().
    y_pred = torch.linspace(-1, 1, 5) * torch.ones((), requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(y_pred)
    detached = y_pred.detach()
    assert not detached.requires_grad and np.array_equal(np.asarray(detached), np.asarray(y_pred.tolist()))
    assert detached.cpu() is detached


def test_tying_x4_to_x5s_weight_costs_the_quintic_most_of_its_gain_as_stage_8_says() -> None:
    x = np.linspace(-math.pi, math.pi, POINTS)
    powers = np.vander(x, 6, increasing=True)

    def least_squares_loss(columns: np.ndarray) -> float:
        coefficients = np.linalg.lstsq(columns, np.sin(x), rcond=None)[0]
        return float(np.square(columns @ coefficients - np.sin(x)).sum())

    tied = least_squares_loss(np.column_stack([powers[:, :4], powers[:, 4] + powers[:, 5]]))
    free = least_squares_loss(powers)
    assert free < tied < least_squares_loss(powers[:, :4])
    docstring = " ".join(ast.get_docstring(ast.parse((ROOT / "fit_ctlflow_wshare.py").read_text())).split())
    assert f"degree-5 passes alone would reach {tied:.3g} (with a weight per term, {free:.2g})" in docstring
    # Passes of every degree share a to e: the least-squares fit over the three, stacked, is where the run goes.
    extra = [np.zeros_like(x), powers[:, 4], powers[:, 4] + powers[:, 5]]
    columns = [np.column_stack([powers[:, :4], term]) for term in extra]
    best = np.linalg.lstsq(np.vstack(columns), np.concatenate([np.sin(x)] * 3), rcond=None)[0]
    assert (
        abs(best[4]) < 1e-3
        and f"a degree-5 pass heads for {np.square(columns[2] @ best - np.sin(x)).sum():.3g}" in docstring
    )


def test_a_float32_loss_prints_up_to_17_digits_though_only_about_7_are_its_precision(
    run: Callable[..., StageRun],
) -> None:
    digits = []
    for value in run("fit_tensor.py").log.losses.values():
        # .item() gave a float64 holding a float32 exactly; Python printed the digits that float64 needs.
        assert float(np.float32(value)) == value
        digits.append(len(repr(value).replace(".", "").lstrip("0")))
        # The next float32 up differs within the first 8 digits: those after them record rounding, not the fit.
        after = float(np.nextafter(np.float32(value), np.float32(math.inf)))
        assert f"{after:.8g}" != f"{value:.8g}"
    assert max(digits) in (16, 17) and min(digits) > 7


def test_momentum_09_carries_on_the_last_step_so_a_steady_gradient_gets_steps_up_to_ten_times_as_long() -> None:
    w = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=1.0, momentum=0.9)
    lengths = []
    for _ in range(100):
        before = w.item()
        optimizer.zero_grad()
        w.backward()  # the gradient of w itself: 1, every step
        optimizer.step()
        lengths.append(before - w.item())
    assert lengths[:3] == pytest.approx([1, 1.9, 2.71]) and 9.99 < lengths[-1] <= 10
