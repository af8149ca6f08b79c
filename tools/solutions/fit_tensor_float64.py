"""Stage 2, exercise float64: the same fit with torch tensors, in float64.

The stage with one change: dtype is torch.float64, NumPy's default, which stage 1 computes
in. The loss then comes down to the least-squares floor to about 12 digits, as stage 1's
does, where float32 stops about 2 parts in 10^7 above it. Apple's MPS has no float64: there,
run it with --device cpu.
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
learning_rate = 1e-6
# The device: the accelerator torch finds (a GPU, Apple's MPS, ...), else the CPU.
# current_accelerator() answers for the kind this torch was built for: a CUDA build says
# cuda on a machine without a GPU (or, before torch 2.7, raises), so is_available() asks first.
device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else torch.device("cpu")
flags = plotting.read_flags(__doc__, points=points, steps=steps, learning_rate=learning_rate, device=device)
points, steps, learning_rate, device = flags.points, flags.steps, flags.learning_rate, flags.device
print("device:", device, file=sys.stderr)
# float64, NumPy's default: about 16 significant digits against float32's 7, in twice the
# memory. Apple's MPS has no float64 at all.
dtype = torch.float64

# %% The data
# Evenly spaced points of sin(x) on [-pi, pi], both ends included.
x = torch.linspace(-math.pi, math.pi, points, dtype=dtype, device=device)
y = torch.sin(x)

# %% The model and its start values
# Random start values, each a single number (a tensor of shape ()); a fixed seed makes every
# run print the same log. They are drawn on the CPU and then moved, so every device starts
# from the same four numbers.
torch.manual_seed(0)
a = torch.randn((), dtype=dtype).to(device)
b = torch.randn((), dtype=dtype).to(device)
c = torch.randn((), dtype=dtype).to(device)
d = torch.randn((), dtype=dtype).to(device)

# %% The training loop
log_every = steps // 10
for t in range(steps + 1):
    # Forward pass: the cubic's prediction at every point.
    y_pred = a + b * x + c * x**2 + d * x**3

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

    # Backward pass, by the chain rule: d(loss)/d(y_pred) = 2 (y_pred - y), and y_pred
    # depends on a, b, c, d through the factors 1, x, x^2, x^3.
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x**2).sum()
    grad_d = (grad_y_pred * x**3).sum()

    # Gradient descent: move each coefficient a small step against its gradient. The loss
    # sums over all the points, so its gradients are large, and the rate must be small.
    a -= learning_rate * grad_a
    b -= learning_rate * grad_b
    c -= learning_rate * grad_c
    d -= learning_rate * grad_d

# %% The result and the figure
print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")

# matplotlib draws NumPy's arrays, which live on the CPU: .cpu() copies a tensor there,
# or returns it as it is if it is there already.
plotting.save_fit_figure(x.cpu(), y.cpu(), y_pred.cpu(), flags)
