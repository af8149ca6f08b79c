"""Stage 7: a model of our own, as a torch.nn.Module subclass.

A Module subclass declares its parameters in __init__ and computes its output in forward.
Here the parameters are the cubic's four coefficients, each a scalar torch.nn.Parameter,
and forward is the cubic itself, so the model reads like the formula. torch.optim.SGD does
the plain gradient descent step of stages 2 to 5, and the log matches stage 2's.
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


class Polynomial(torch.nn.Module):
    def __init__(self):
        super().__init__()
        # Wrapping a tensor in Parameter registers it, so model.parameters() yields it.
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.a + self.b * x + self.c * x**2 + self.d * x**3


# The model draws its start values, on the CPU, after a fixed seed: the same four draws
# as stage 2. Moving the model moves its parameters.
torch.manual_seed(0)
model = Polynomial().to(device, dtype)
loss_fn = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

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

a, b, c, d = model.a, model.b, model.c, model.d
print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")

if not args.no_figure:
    plotting.save_fit_figure(__file__, __doc__, x, y, y_pred, show=args.show)
