"""Stage 4: a new autograd operation, with a forward and a backward of our own.

Autograd knows the derivative of every built-in operation. A torch.autograd.Function adds
one it does not know: forward computes the result, backward turns the gradient of the loss
with respect to the result into the gradient with respect to the input. Here that operation
is the Legendre polynomial P3, and the model is y = a + b P3(c + d x).
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
    default=5e-6,
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


class LegendrePolynomial3(torch.autograd.Function):
    """P3(z) = (5 z^3 - 3 z) / 2, with its derivative P3'(z) = 3 (5 z^2 - 1) / 2 written out."""

    @staticmethod
    def forward(ctx, z):
        # backward needs the input, so keep it.
        ctx.save_for_backward(z)
        return 0.5 * (5 * z**3 - 3 * z)

    @staticmethod
    def backward(ctx, grad_output):
        # The chain rule: d(loss)/dz = d(loss)/d(P3(z)) * P3'(z).
        (z,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * z**2 - 1)


# The operation is called through apply, not forward: apply records the call, so that
# loss.backward() knows to run our backward.
P3 = LegendrePolynomial3.apply

# This model converges only from a start near the answer, so the start values are fixed.
a = torch.full((), 0.0, dtype=dtype).to(device).requires_grad_()
b = torch.full((), -1.0, dtype=dtype).to(device).requires_grad_()
c = torch.full((), 0.0, dtype=dtype).to(device).requires_grad_()
d = torch.full((), 0.3, dtype=dtype).to(device).requires_grad_()

log_every = args.steps // 10
for t in range(args.steps + 1):
    # Forward pass: the cubic's prediction, written with the new operation.
    y_pred = a + b * P3(c + d * x)

    # The loss is the sum of squared errors; it is logged before this step's update.
    loss = torch.square(y_pred - y).sum()
    if t % log_every == 0:
        print(t, loss.item())
        if not math.isfinite(loss.item()):
            sys.exit(f"step {t}: the loss is {loss.item()}, so the fit diverged; try a smaller --learning-rate")

    # Backward pass: autograd fills a.grad, b.grad, c.grad and d.grad. backward() adds to
    # what is there, so the gradients are cleared first.
    a.grad = None
    b.grad = None
    c.grad = None
    d.grad = None
    loss.backward()

    # Gradient descent: move each coefficient a small step against its gradient. Under
    # no_grad, autograd does not record the update as part of the next step's graph.
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

print(f"Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)")

if not args.no_figure:
    plotting.save_fit_figure(__file__, __doc__, x, y, y_pred, show=args.show)
