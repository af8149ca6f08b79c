"""Stage 1, exercise mean-loss: fit y = sin(x) with a cubic by hand, on the mean squared error.

The stage with the loss changed: it is the mean of the squared errors, the sum divided by
the number of points. Each gradient is divided by the same number, and the rate multiplied
by it, 1e-6 times 2000: every step is then the sum's step, so the fit is the stage's, to
rounding, while the printed loss is the sum's divided by 2000.
"""

import math
import sys

import numpy as np

import plotting

# The settings. Change them here, or for one run with a flag (--help lists them):
# read_flags returns them with the command line's values in place of these, and shows
# __doc__, this file's docstring, as its help.
points = 2000
steps = 10000
learning_rate = 2e-3
flags = plotting.read_flags(__doc__, points=points, steps=steps, learning_rate=learning_rate)
points, steps, learning_rate = flags.points, flags.steps, flags.learning_rate

# %% The data
# Evenly spaced points of sin(x) on [-pi, pi], both ends included.
x = np.linspace(-math.pi, math.pi, points)
y = np.sin(x)

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

    # The loss is the mean of the squared errors; it is logged before this step's update.
    # flush=True sends the line out at once, even into a file or a pipe, where Python would
    # hold it back: a program reading the pipe sees it now, and a run killed keeps its log.
    loss = np.square(y_pred - y).mean()
    if t % log_every == 0:
        print(t, loss, flush=True)
        # A rate too large overshoots the minimum by more at every step, until the loss
        # overflows. Stop there and say so.
        if not math.isfinite(loss):
            sys.exit(f"step {t}: the loss is {loss}, so the fit diverged; try a smaller learning rate")

    # Backward pass, by the chain rule: d(loss)/d(y_pred) = 2 (y_pred - y) / points, and y_pred
    # depends on a, b, c, d through the factors 1, x, x^2, x^3.
    grad_y_pred = 2.0 * (y_pred - y) / points
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x**2).sum()
    grad_d = (grad_y_pred * x**3).sum()

    # Gradient descent: move each coefficient a small step against its gradient. The loss
    # is a mean, so its gradients are the sum's divided by the points, and the rate is the
    # sum's times the points.
    a -= learning_rate * grad_a
    b -= learning_rate * grad_b
    c -= learning_rate * grad_c
    d -= learning_rate * grad_d

# %% The result and the figure
print(f"Result: y = {a} + {b} x + {c} x^2 + {d} x^3")

plotting.save_fit_figure(x, y, y_pred, flags)
