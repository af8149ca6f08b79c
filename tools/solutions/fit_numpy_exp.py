"""Stage 1, exercise exp: fit y = exp(x) with a cubic, every step written out by hand in NumPy.

The stage with its target changed to exp(x), and with 3000 steps instead of 10000. exp(x)
reaches e^pi, about 23, and its least-squares floor is about 501 instead of 8.8, yet the
rates that converge are the ones that do for sin(x): how steep a sum of squares is depends
on the model's terms 1, x, x^2, x^3 at the points, not on the target. The largest, about
3.56e-6, is 2 over the largest eigenvalue of the loss's Hessian. At 3e-6 the loss is at the
floor, to 12 digits, by step 3000, where at 1e-6 it is still 9 parts in 10^5 above it.
"""

import math
import sys

import numpy as np

import plotting

# The settings. Change them here, or for one run with a flag (--help lists them):
# read_flags returns them with the command line's values in place of these, and shows
# __doc__, this file's docstring, as its help.
points = 2000
steps = 3000
learning_rate = 3e-6
flags = plotting.read_flags(__doc__, points=points, steps=steps, learning_rate=learning_rate)
points, steps, learning_rate = flags.points, flags.steps, flags.learning_rate

# %% The data
# Evenly spaced points of exp(x) on [-pi, pi], both ends included.
x = np.linspace(-math.pi, math.pi, points)
y = np.exp(x)

# %% The model and its start values
# Random start values; a fixed seed makes every run print the same log.
np.random.seed(0)
a = np.random.randn()
b = np.random.randn()
c = np.random.randn()
d = np.random.randn()

# %% The training loop
log_every = steps // 10
for t in range(steps + 1):
    # Forward pass: the cubic's prediction at every point.
    y_pred = a + b * x + c * x**2 + d * x**3

    # The loss is the sum of squared errors; it is logged before this step's update.
    # flush=True sends the line out at once, even into a file or a pipe, where Python would
    # hold it back: a program reading the pipe sees it now, and a run killed keeps its log.
    loss = np.square(y_pred - y).sum()
    if t % log_every == 0:
        print(t, loss, flush=True)
        # A rate too large overshoots the minimum by more at every step, until the loss
        # overflows. Stop there and say so.
        if not math.isfinite(loss):
            sys.exit(f"step {t}: the loss is {loss}, so the fit diverged; try a smaller learning rate")

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
print(f"Result: y = {a} + {b} x + {c} x^2 + {d} x^3")

plotting.save_fit_figure(x, y, y_pred, flags)
