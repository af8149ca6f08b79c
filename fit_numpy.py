"""Stage 1: fit y = sin(x) with a cubic, every step written out by hand in NumPy.

The prediction, the loss and the gradient of the loss with respect to each coefficient
are all spelled out here, the gradients derived on paper with the chain rule. Each later
stage hands one of these jobs to PyTorch.
"""

import argparse
import math
import sys

import numpy as np

import plotting

parser = argparse.ArgumentParser(
    description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
)
parser.add_argument(
    "--points", type=int, default=2000, metavar="N", help="fit N points of sin(x) (default: %(default)s)"
)
parser.add_argument(
    "--steps",
    type=int,
    default=10000,
    metavar="N",
    help="run steps 0..N, N a multiple of 10; log every N/10th (default: %(default)s)",
)
parser.add_argument(
    "--learning-rate",
    type=float,
    default=1e-6,
    metavar="R",
    help="learning rate at 2000 points, scaled by 2000/N (default: %(default)s)",
)
parser.add_argument("--no-figure", action="store_true", help="skip drawing the figure in figures/")
parser.add_argument("--show", action="store_true", help="also open the figure in a window")
args = parser.parse_args()
if args.points < 4:
    parser.error("argument --points: a cubic needs at least 4 points")
if args.steps < 10 or args.steps % 10:
    parser.error("argument --steps: must be a positive multiple of 10")
if not 0 < args.learning_rate < math.inf:
    parser.error("argument --learning-rate: must be positive and finite")
# A diverging fit overflows to inf and nan; the loop reports that itself, without warnings.
np.seterr(over="ignore", invalid="ignore")

# Evenly spaced points of sin(x) on [-pi, pi], both ends included.
x = np.linspace(-math.pi, math.pi, args.points)
y = np.sin(x)

# The loss sums over the points, so its gradient grows with their number: scaling the
# step by 2000 / points keeps gradient descent stable for any --points.
learning_rate = args.learning_rate * 2000 / args.points

# Random start values; a fixed seed makes every run print the same log.
np.random.seed(0)
a = np.random.randn()
b = np.random.randn()
c = np.random.randn()
d = np.random.randn()

log_every = args.steps // 10
for t in range(args.steps + 1):
    # Forward pass: the cubic's prediction at every point.
    y_pred = a + b * x + c * x**2 + d * x**3

    # The loss is the sum of squared errors; it is logged before this step's update.
    loss = np.square(y_pred - y).sum()
    if t % log_every == 0:
        print(t, loss)
        if not math.isfinite(loss):
            sys.exit(f"step {t}: the loss is {loss}, so the fit diverged; try a smaller --learning-rate")

    # Backward pass, by the chain rule: d(loss)/d(y_pred) = 2 (y_pred - y), and y_pred
    # depends on a, b, c, d through the factors 1, x, x^2, x^3.
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x**2).sum()
    grad_d = (grad_y_pred * x**3).sum()

    # Gradient descent: move each coefficient a small step against its gradient.
    a -= learning_rate * grad_a
    b -= learning_rate * grad_b
    c -= learning_rate * grad_c
    d -= learning_rate * grad_d

print(f"Result: y = {a} + {b} x + {c} x^2 + {d} x^3")

if not args.no_figure:
    plotting.save_fit_figure(__file__, __doc__, x, y, y_pred, show=args.show)
