"""Stage 3, exercise quartic: the cubic plus e x^4, its gradient found by autograd.

The stage with its model changed to a + b x + c x^2 + d x^3 + e x^4, e drawn after d as the
others are. autograd finds d(loss)/de with the others: what is left to write is e's reset
and its update. x^4 reaches about 97 at x = pi, so the loss is far steeper along e: at the
stage's rate, 1e-6, the fit diverges; at 1e-7 it does not, but after 10000 steps the loss is
still about 440, as the flattest directions shrink slowly. x^4 is even and sin is odd, so
e x^4 cannot lower the floor, and e heads for 0.
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
learning_rate = 1e-7
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

# %% The model and its start values
# Random start values, each a single number (a tensor of shape ()); a fixed seed makes every
# run print the same log. They are drawn on the CPU and then moved, so every device starts
# from the same four numbers.
# requires_grad_() comes after .to(): once a tensor requires grad, a move to another device
# is recorded like any operation, and its result is no leaf; backward fills .grad only on
# leaves, the tensors that no recorded operation made. (On the CPU, .to() returns the
# tensor itself, so there the order makes no difference.)
torch.manual_seed(0)
a = torch.randn((), dtype=dtype).to(device).requires_grad_()
b = torch.randn((), dtype=dtype).to(device).requires_grad_()
c = torch.randn((), dtype=dtype).to(device).requires_grad_()
d = torch.randn((), dtype=dtype).to(device).requires_grad_()
e = torch.randn((), dtype=dtype).to(device).requires_grad_()

# %% The training loop
log_every = steps // 10
for t in range(steps + 1):
    # Forward pass: the quartic's prediction at every point.
    y_pred = a + b * x + c * x**2 + d * x**3 + e * x**4

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

    # Backward pass: autograd fills a.grad, b.grad, c.grad, d.grad and e.grad. backward()
    # adds to what is there, so the gradients are cleared first.
    a.grad = None
    b.grad = None
    c.grad = None
    d.grad = None
    e.grad = None
    loss.backward()

    # Gradient descent: move each coefficient a small step against its gradient. The update
    # must not be recorded: without no_grad, `a -= ...` is an error (a leaf that requires
    # grad, changed in place), and `a = a - ...` would make a new a computed from the old
    # one, no longer a leaf, whose .grad backward leaves empty.
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        e -= learning_rate * e.grad

# %% The result and the figure
print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3 + {e.item()} x^4")

# matplotlib draws NumPy's arrays, which live on the CPU: .cpu() copies a tensor there,
# or returns it as it is if it is there already. y_pred requires grad, and NumPy refuses
# such a tensor: .detach() gives the same numbers without the record autograd keeps.
plotting.save_fit_figure(x.cpu(), y.cpu(), y_pred.detach().cpu(), flags)
