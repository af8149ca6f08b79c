"""Stage 4, exercise legendre5: a new autograd operation for the Legendre polynomial P5.

The stage with the operation changed: P5(z) = (63 z^5 - 70 z^3 + 15 z) / 8 in forward, and
its derivative P5'(z) = (315 z^4 - 210 z^2 + 15) / 8 in backward, written out by hand. The
model a + b P5(c + d x) is a polynomial of degree 5 in x, so it can go below the floor of
every cubic: from the stage's start values and rate its loss comes down to about 1.11.
"""

import math
import sys

import torch

import plotting

# The settings. Change them here, or for one run with a flag (--help lists them):
# read_flags returns them with the command line's values in place of these, and shows
# __doc__, this file's docstring, as its help.
points = 2000
steps = 10000
learning_rate = 5e-6
# The device: the accelerator torch finds (a GPU, Apple's MPS, ...), else the CPU.
# current_accelerator() answers for the kind this torch was built for: a CUDA build says
# cuda on a machine without a GPU (or, before torch 2.7, raises), so is_available() asks first.
device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else torch.device("cpu")
flags = plotting.read_flags(__doc__, points=points, steps=steps, learning_rate=learning_rate, device=device)
points, steps, learning_rate, device = flags.points, flags.steps, flags.learning_rate, flags.device
print("device:", device, file=sys.stderr)
# float32, PyTorch's default: about 7 significant digits against float64's 16, in half the
# memory; GPUs compute it faster than float64, and Apple's MPS has no float64 at all.
dtype = torch.float32

# %% The data
# Evenly spaced points of sin(x) on [-pi, pi], both ends included.
x = torch.linspace(-math.pi, math.pi, points, dtype=dtype, device=device)
y = torch.sin(x)


# %% The model and its start values
class LegendrePolynomial5(torch.autograd.Function):
    """P5(z) = (63 z^5 - 70 z^3 + 15 z) / 8, with its derivative P5'(z) = (315 z^4 - 210 z^2 + 15) / 8 written out."""

    @staticmethod
    def forward(ctx, z):
        # ctx carries what backward needs from this call: here, the input. Saved this way,
        # rather than as an attribute of ctx, autograd can check that z was not changed in
        # place before backward reads it.
        ctx.save_for_backward(z)
        return (63 * z**5 - 70 * z**3 + 15 * z) / 8

    @staticmethod
    def backward(ctx, grad_output):
        # The chain rule: d(loss)/dz = d(loss)/d(P5(z)) * P5'(z).
        (z,) = ctx.saved_tensors
        return grad_output * (315 * z**4 - 210 * z**2 + 15) / 8


# The operation is called through apply, not forward: apply records the call in the
# result's grad_fn, so that loss.backward() knows to run our backward.
P5 = LegendrePolynomial5.apply

# The lesson gives this model its own learning rate, 5e-6, and starts it near the answer,
# at fixed values, rather than at random.
# requires_grad_() comes after .to(): once a tensor requires grad, a move to another device
# is recorded like any operation, and its result is no leaf; backward fills .grad only on
# leaves, the tensors that no recorded operation made. (On the CPU, .to() returns the
# tensor itself, so there the order makes no difference.)
a = torch.full((), 0.0, dtype=dtype).to(device).requires_grad_()
b = torch.full((), -1.0, dtype=dtype).to(device).requires_grad_()
c = torch.full((), 0.0, dtype=dtype).to(device).requires_grad_()
d = torch.full((), 0.3, dtype=dtype).to(device).requires_grad_()

# %% The training loop
log_every = steps // 10
for t in range(steps + 1):
    # Forward pass: the prediction, written with the new operation.
    y_pred = a + b * P5(c + d * x)

    # The loss is the sum of squared errors; it is logged before this step's update.
    # flush=True sends the line out at once, even into a file or a pipe, where Python would
    # hold it back: a program reading the pipe sees it now, and a run killed keeps its log.
    # loss is a tensor of one number; .item() copies it out as a Python float, a float64,
    # which holds the float32 exactly; it prints up to 17 digits, but a float32 is good
    # for only about 7, so the digits after those record its rounding, not the fit.
    loss = torch.square(y_pred - y).sum()
    if t % log_every == 0:
        print(t, loss.item(), flush=True)
        # A rate too large overshoots the minimum by more at every step, until the loss
        # overflows. Stop there and say so.
        if not math.isfinite(loss.item()):
            sys.exit(f"step {t}: the loss is {loss.item()}, so the fit diverged; try a smaller learning rate")

    # Backward pass: autograd fills a.grad, b.grad, c.grad and d.grad. backward() adds to
    # what is there, so the gradients are cleared first.
    a.grad = None
    b.grad = None
    c.grad = None
    d.grad = None
    loss.backward()

    # Gradient descent: move each coefficient a small step against its gradient. The update
    # must not be recorded: without no_grad, `a -= ...` is an error (a leaf that requires
    # grad, changed in place), and `a = a - ...` would make a new a computed from the old
    # one, no longer a leaf, whose .grad backward leaves empty.
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

# %% The result and the figure
print(f"Result: y = {a.item()} + {b.item()} * P5({c.item()} + {d.item()} x)")

# matplotlib draws NumPy's arrays, which live on the CPU: .cpu() copies a tensor there,
# or returns it as it is if it is there already. y_pred requires grad, and NumPy refuses
# such a tensor: .detach() gives the same numbers without the record autograd keeps.
plotting.save_fit_figure(x.cpu(), y.cpu(), y_pred.detach().cpu(), flags)
