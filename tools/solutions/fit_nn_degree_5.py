"""Stage 5, exercise degree-5: torch.nn fits a polynomial of degree 5.

The stage with its model changed: the features are x, x^2, ..., x^5, and the layer is
Linear(5, 1). x^5 reaches about 306 at x = pi, so the loss is far steeper: gradient descent
on it converges only at rates below about 5.75e-8, 2 over the largest eigenvalue of its
Hessian, and this file uses 5e-8. At that rate its flattest directions shrink so slowly that
after 10000 steps the loss is still far above the cubic's floor, though the least-squares
polynomial of degree 5 comes down to about 0.037: stage 8 brings in momentum for this.
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
learning_rate = 5e-8
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

# The layer's input: one row (x, x^2, x^3, x^4, x^5) for every point. x.unsqueeze(-1) has
# shape (points, 1) and p has shape (5,); pow broadcasts the two to shape (points, 5).
p = torch.tensor([1, 2, 3, 4, 5], device=device)
xx = x.unsqueeze(-1).pow(p)

# %% The model and its start values
# Linear(5, 1) maps each row to one number, so its output has shape (points, 1), and
# Flatten(0, 1) makes that (points,), the shape of y: left as it was, the loss would
# broadcast it against y into a (points, points) table of every prediction minus every
# target. The layer's weight and bias are Parameters, which require grad from the start.
# It draws their start values on the CPU, after a fixed seed; moving the model moves them,
# and they stay leaves.
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(5, 1), torch.nn.Flatten(0, 1)).to(device, dtype)
# reduction="sum" adds up the squared errors, as the stages before did; the default,
# "mean", divides the loss by the number of points, and every gradient with it.
loss_fn = torch.nn.MSELoss(reduction="sum")

# %% The training loop
log_every = steps // 10
for t in range(steps + 1):
    # Forward pass: calling the model runs its layers in turn.
    y_pred = model(xx)

    # The loss is the sum of squared errors; it is logged before this step's update.
    # flush=True sends the line out at once, even into a file or a pipe, where Python would
    # hold it back: a program reading the pipe sees it now, and a run killed keeps its log.
    # loss is a tensor of one number; .item() copies it out as a Python float, a float64,
    # which holds the float32 exactly; it prints up to 17 digits, but a float32 is good
    # for only about 7, so the digits after those record its rounding, not the fit.
    loss = loss_fn(y_pred, y)
    if t % log_every == 0:
        print(t, loss.item(), flush=True)
        # A rate too large overshoots the minimum by more at every step, until the loss
        # overflows. Stop there and say so.
        if not math.isfinite(loss.item()):
            sys.exit(f"step {t}: the loss is {loss.item()}, so the fit diverged; try a smaller learning rate")

    # Backward pass: autograd fills the .grad of every parameter of the model. backward()
    # adds to what is there, so the gradients are cleared first.
    model.zero_grad()
    loss.backward()

    # Gradient descent: move each parameter a small step against its gradient. The update
    # must not be recorded: without no_grad, `param -= ...` is an error (a leaf that
    # requires grad, changed in place).
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

# %% The result and the figure
# The bias is a; the weights are b, c, d, e, f.
linear_layer = model[0]
a = linear_layer.bias[0]
b, c, d, e, f = linear_layer.weight[0]
print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3 + {e.item()} x^4 + {f.item()} x^5")

# matplotlib draws NumPy's arrays, which live on the CPU: .cpu() copies a tensor there,
# or returns it as it is if it is there already. y_pred requires grad, and NumPy refuses
# such a tensor: .detach() gives the same numbers without the record autograd keeps.
plotting.save_fit_figure(x.cpu(), y.cpu(), y_pred.detach().cpu(), flags)
