"""Stage 8: Python control flow in forward, and one weight used twice.

forward is ordinary Python, run anew at every step, so it can branch and loop. Here each
pass draws at random whether to add e x^4, e x^4 + e x^5 or nothing to the cubic. Autograd
records whatever ran, and a weight used in two places receives the sum of both gradients.
The x^4 and x^5 terms make the loss far steeper, so the learning rate is much smaller;
momentum and three times the steps make up for it.
"""

import argparse
import math
import random
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
    default=30000,
    metavar="N",
    help="run steps 0..N, N a multiple of 10; log every N/10th (default: %(default)s)",
)
parser.add_argument(
    "--learning-rate",
    type=float,
    default=1e-8,
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


class Polynomial(torch.nn.Module):
    def __init__(self):
        super().__init__()
        # Wrapping a tensor in Parameter registers it, so model.parameters() yields it.
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        # random.randint(4, 6) is 4, 5 or 6, so the loop adds no term, x^4, or x^4 and x^5,
        # each with the same weight e.
        y = self.a + self.b * x + self.c * x**2 + self.d * x**3
        for exponent in range(4, random.randint(4, 6)):
            y = y + self.e * x**exponent
        return y


# The model draws its start values, on the CPU, after a fixed seed: the same four draws
# as stage 2, then e. Moving the model moves its parameters. forward draws from Python's
# random, so that is seeded too.
torch.manual_seed(0)
random.seed(0)
model = Polynomial().to(device, dtype)
loss_fn = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9)

log_every = args.steps // 10
for t in range(args.steps + 1):
    # Forward pass: calling the model runs its forward method.
    y_pred = model(x)

    # The loss is the sum of squared errors; it is logged before this step's update.
    loss = loss_fn(y_pred, y)
    if t % log_every == 0:
        print(t, loss.item())
        if not math.isfinite(loss.item()):
            sys.exit(f"step {t}: the loss is {loss.item()}, so the fit diverged; try a smaller --learning-rate")

    # Backward pass: autograd fills the .grad of every parameter of the model. backward()
    # adds to what is there, so the gradients are cleared first.
    optimizer.zero_grad()
    loss.backward()

    # The optimizer updates every parameter it holds.
    optimizer.step()

# "?" marks the terms that only some forward passes add.
a, b, c, d, e = model.a, model.b, model.c, model.d, model.e
print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3 + {e.item()} x^4 ? + {e.item()} x^5 ?")

if not args.no_figure:
    plotting.save_fit_figure(__file__, __doc__, x, y, y_pred, show=args.show)
