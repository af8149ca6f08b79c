"""Stage 6: torch.optim does the update.

An optimizer holds the model's parameters and knows how to step them: zero_grad() clears
their gradients and step() applies its update rule. This stage uses RMSprop, which divides
each parameter's step by the root of a running average of its squared gradients; those
steps are of about the size of the learning rate, which is why it is so much larger here.
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
    default=1e-3,
    metavar="R",
    help="learning rate, whatever --points (default: %(default)s)",
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

# RMSprop divides each step by the running size of the gradient, so unlike plain gradient
# descent it needs no smaller rate when more points make the summed loss larger.
learning_rate = args.learning_rate

# The layer's input: one row (x, x^2, x^3) for every point, a tensor of shape (points, 3).
p = torch.tensor([1, 2, 3], device=device)
xx = x.unsqueeze(-1).pow(p)

# Linear(3, 1) maps each row to one number; Flatten(0, 1) turns the (points, 1) output into
# (points,), the shape of y. The layer draws its own start values, on the CPU, after a
# fixed seed; moving the model moves its parameters.
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1)).to(device, dtype)
loss_fn = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)

log_every = args.steps // 10
for t in range(args.steps + 1):
    # Forward pass: calling the model runs its layers in turn.
    y_pred = model(xx)

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

# The bias is a; the weights are b, c, d.
linear_layer = model[0]
a = linear_layer.bias[0]
b, c, d = linear_layer.weight[0]
print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")

if not args.no_figure:
    plotting.save_fit_figure(__file__, __doc__, x, y, y_pred, show=args.show)
