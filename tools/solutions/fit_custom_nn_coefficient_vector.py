"""Stage 7, exercise coefficient-vector: a Module holding a polynomial's coefficients in one Parameter.

The stage with its model changed: Polynomial(degree) keeps its degree + 1 coefficients in one
torch.nn.Parameter, a vector, and forward multiplies the columns x^0, x^1, ... by it, so one
class fits any degree; this file fits degree 5. After the seed, torch.randn(6) draws the
same six numbers as six torch.randn(()). x^5 makes the loss far steeper, so the rate is 5e-8,
and SGD's momentum 0.9, stage 8's, makes up for part of that: by step 10000 the loss is below
the cubic's floor.
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


# %% The model and its start values
class Polynomial(torch.nn.Module):
    def __init__(self, degree):
        super().__init__()
        # A Parameter assigned to an attribute of a Module is registered, so that
        # model.parameters() yields it; one kept in a local variable or a plain list is not.
        # This one is a vector: the coefficients of x^0, x^1, ..., x^degree.
        self.coefficients = torch.nn.Parameter(torch.randn(degree + 1))

    def forward(self, x):
        # One row (1, x, ..., x^degree) for every point, times the coefficients: the powers
        # broadcast against x.unsqueeze(-1) as stage 5's features do.
        powers = torch.arange(len(self.coefficients), device=x.device)
        return x.unsqueeze(-1).pow(powers) @ self.coefficients


# The model draws its start values, on the CPU, after a fixed seed: stage 2's four draws,
# then two more. Moving the model moves its parameters, and they stay leaves.
torch.manual_seed(0)
model = Polynomial(5).to(device, dtype)
# reduction="sum" adds up the squared errors, as the stages before did; the default,
# "mean", divides the loss by the number of points, and every gradient with it.
loss_fn = torch.nn.MSELoss(reduction="sum")
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
        print(t, loss.item(), flush=True)
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
terms = [f"{coefficient} x^{power}" for power, coefficient in enumerate(model.coefficients.tolist())]
print("Result: y =", " + ".join(terms))

# matplotlib draws NumPy's arrays, which live on the CPU: .cpu() copies a tensor there,
# or returns it as it is if it is there already. y_pred requires grad, and NumPy refuses
# such a tensor: .detach() gives the same numbers without the record autograd keeps.
plotting.save_fit_figure(x.cpu(), y.cpu(), y_pred.detach().cpu(), flags)
