"""Stage 2: the same fit with torch tensors, on the CPU or an accelerator.

A tensor is PyTorch's array: NumPy's operations, plus a device it lives on. The gradients
are still derived by hand; only the array library changes, and --device moves the whole
computation to an accelerator without touching the code.
"""

import argparse
import math
import sys

import torch

import plotting

parser = argparse.ArgumentParser(
    description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
)
parser.add_argument("--device", default="auto", help="auto (an accelerator if torch has one, else cpu), cpu, cuda, mps")
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
if args.device == "auto":
    args.device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
try:
    device = torch.device(args.device)
    torch.zeros(1, device=device).item()
except (RuntimeError, AssertionError, NotImplementedError, ImportError):
    parser.error(f"argument --device: {args.device!r} is not a device torch can use here")
print(f"device: {device}", file=sys.stderr)
dtype = torch.float32

# Evenly spaced points of sin(x) on [-pi, pi], both ends included.
x = torch.linspace(-math.pi, math.pi, args.points, dtype=dtype, device=device)
y = torch.sin(x)

# The loss sums over the points, so its gradient grows with their number: scaling the
# step by 2000 / points keeps gradient descent stable for any --points.
learning_rate = args.learning_rate * 2000 / args.points

# Random start values; a fixed seed makes every run print the same log. They are drawn on
# the CPU and then moved, so every device starts from the same four numbers.
torch.manual_seed(0)
a = torch.randn((), dtype=dtype).to(device)
b = torch.randn((), dtype=dtype).to(device)
c = torch.randn((), dtype=dtype).to(device)
d = torch.randn((), dtype=dtype).to(device)

log_every = args.steps // 10
for t in range(args.steps + 1):
    # Forward pass: the cubic's prediction at every point.
    y_pred = a + b * x + c * x**2 + d * x**3

    # The loss is the sum of squared errors; it is logged before this step's update.
    loss = torch.square(y_pred - y).sum()
    if t % log_every == 0:
        print(t, loss.item())
        if not math.isfinite(loss.item()):
            sys.exit(f"step {t}: the loss is {loss.item()}, so the fit diverged; try a smaller --learning-rate")

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

print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")

if not args.no_figure:
    plotting.save_fit_figure(__file__, __doc__, x, y, y_pred, show=args.show)
