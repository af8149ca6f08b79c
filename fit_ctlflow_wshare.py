"""Stage 8: Python control flow in forward, and one weight used twice.

forward is ordinary Python, run anew at every step, so it can branch and loop. Here each
pass draws at random the degree of the polynomial: the cubic alone, or plus e x^4, or plus
e x^4 + e x^5. Autograd records whatever ran, and a weight used in two places receives the
sum of both gradients. The log names each logged loss's degree. x^4 alone cannot beat the
cubic (sin is odd, x^4 even, the points symmetric); x^5 can, but x^4 shares its weight: a
fit of degree-5 passes alone would reach 2.55 (with a weight per term, 0.037); as passes of
every degree share a to d, e stays tiny, and a degree-5 pass heads for 8.56. The rate, 1e-8,
momentum and 30,000 steps are the official lesson's: x^4 and x^5 make the loss far steeper.
"""

import math
import random
import sys

import torch

import plotting

# The settings. Change them here, or for one run with a flag (--help lists them):
# read_flags returns them with the command line's values in place of these, and shows
# __doc__, this file's docstring, as its help.
points = 2000
steps = 30000
learning_rate = 1e-8
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
class Polynomial(torch.nn.Module):
    def __init__(self):
        super().__init__()
        # A Parameter assigned to an attribute of a Module is registered, so that
        # model.parameters() yields it; one kept in a local variable or a plain list is not.
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        # The degree is 3, 4 or 5, drawn anew at every pass; the loop adds e x^4 for 4,
        # e x^4 and e x^5 for 5, and nothing for 3. The log reads it back.
        self.degree = random.randint(3, 5)
        y_pred = self.a + self.b * x + self.c * x**2 + self.d * x**3
        for power in range(4, self.degree + 1):
            y_pred = y_pred + self.e * x**power
        return y_pred


# The model draws its start values, on the CPU, after a fixed seed: the same four draws
# as stage 2, then e. Moving the model moves its parameters, and they stay leaves. forward
# draws from Python's random, so that is seeded too.
torch.manual_seed(0)
random.seed(0)
model = Polynomial().to(device, dtype)
# reduction="sum" adds up the squared errors, as the stages before did; the default,
# "mean", divides the loss by the number of points, and every gradient with it.
loss_fn = torch.nn.MSELoss(reduction="sum")
# With momentum, each step carries on 0.9 of the step before: where the gradient keeps its
# direction, as along the slow directions of this fit, the steps grow up to ten times.
optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9)

# %% The training loop
log_every = steps // 10
for t in range(steps + 1):
    # Forward pass: calling the model runs its forward method.
    y_pred = model(x)

    # The loss is the sum of squared errors; it is logged before this step's update.
    # flush=True sends the line out at once, even into a file or a pipe, where Python would
    # hold it back: a program reading the pipe sees it now, and a run killed keeps its log.
    # loss is a tensor of one number; .item() copies it out as a Python float, a float64,
    # which holds the float32 exactly; it prints up to 17 digits, but a float32 is good
    # for only about 7, so the digits after those record its rounding, not the fit.
    loss = loss_fn(y_pred, y)
    if t % log_every == 0:
        print(t, loss.item(), f"degree {model.degree}", flush=True)
        # A rate too large overshoots the minimum by more at every step, until the loss
        # overflows. Stop there and say so.
        if not math.isfinite(loss.item()):
            sys.exit(f"step {t}: the loss is {loss.item()}, so the fit diverged; try a smaller learning rate")

    # Backward pass: autograd fills the .grad of every parameter of the model. backward()
    # adds to what is there, so the gradients are cleared first.
    optimizer.zero_grad()
    loss.backward()

    # The optimizer updates every parameter it holds.
    optimizer.step()

# %% The result and the figure
# "?" marks the terms that only some forward passes add.
a, b, c, d, e = model.a, model.b, model.c, model.d, model.e
print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3 + {e.item()} x^4 ? + {e.item()} x^5 ?")

# matplotlib draws NumPy's arrays, which live on the CPU: .cpu() copies a tensor there,
# or returns it as it is if it is there already. y_pred requires grad, and NumPy refuses
# such a tensor: .detach() gives the same numbers without the record autograd keeps.
plotting.save_fit_figure(x.cpu(), y.cpu(), y_pred.detach().cpu(), flags)
