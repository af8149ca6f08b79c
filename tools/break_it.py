"""Break a stage on purpose and watch what happens: the experiment a teacher runs in front
of the class, for the lines each stage's lesson rests on.

    python tools/break_it.py                  # every breakage, by stage
    python tools/break_it.py 3                # stage 3's (also fit_autograd.py, autograd)
    python tools/break_it.py 3 no-grad-reset  # show the change, run the broken copy, say why

Each breakage is a small change to one stage, written as the exact text it replaces. The
broken copy is written to a temporary folder, beside a copy of plotting.py, and run there
as its own `python` process: the stage files themselves are never touched. It runs with
short flags where the failure shows early, and always without a figure.

The walkthrough (tools/make_readme.py) is made from BREAKAGES, diff(breakage) and
run(breakage); run(..., in_process=True) gives the same output inside the calling process,
which is how the tests stay fast.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import math
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# `python tools/<tool>.py` puts tools/ on the path, not the project folder that holds
# plotting.py and the tools package; put it first, so this checkout's code is the one used.
if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import plotting  # noqa: E402
from tools.stages import (  # noqa: E402
    ROOT,
    STAGES,
    TORCH_STAGES,
    parse_log,
    resolve_stages,
    run_script_in_process,
    stage_number,
)

# The line a stage's own check prints when the loss stops being a finite number.
DIVERGED = "so the fit diverged"


@dataclass(frozen=True)
class Raises:
    """The broken run ends in this exception, whose message contains these words."""

    exception: str
    words: str

    def __str__(self) -> str:
        return f'raises {self.exception}: "{self.words}"'

    def holds(self, run: BrokenRun) -> bool:
        line = run.last_error_line
        return run.returncode != 0 and line.startswith(f"{self.exception}: ") and self.words in line


@dataclass(frozen=True)
class Diverges:
    """The loss overflows, and the stage's own check stops the run with its message."""

    def __str__(self) -> str:
        return "diverges with the divergence message"

    def holds(self, run: BrokenRun) -> bool:
        return run.returncode == 1 and DIVERGED in run.last_error_line


@dataclass(frozen=True)
class EndsAbove:
    """The run ends without an error, its last logged loss above `times` the floor."""

    times: float

    def __str__(self) -> str:
        return f"ends above {self.times:g}x the floor"

    def holds(self, run: BrokenRun) -> bool:
        return run.returncode == 0 and parse_log(run.stdout).final_loss > self.times * floor(run)


@dataclass(frozen=True)
class EndsBelow:
    """The run ends without an error, its last logged loss below `times` the floor: below
    what any cubic can reach, so the printed loss is no longer the cubic's sum of squares."""

    times: float

    def __str__(self) -> str:
        return f"ends below {self.times:g}x the floor"

    def holds(self, run: BrokenRun) -> bool:
        return run.returncode == 0 and parse_log(run.stdout).final_loss < self.times * floor(run)


@dataclass(frozen=True)
class FitAbove:
    """The run ends without an error, and the cubic of its Result line, whatever loss the
    log printed, has a sum of squared errors above `times` the floor on the same points."""

    times: float

    def __str__(self) -> str:
        return f"its fitted cubic ends above {self.times:g}x the floor"

    def holds(self, run: BrokenRun) -> bool:
        return run.returncode == 0 and fitted_loss(run) > self.times * floor(run)


Expectation = Raises | Diverges | EndsAbove | EndsBelow | FitAbove


@dataclass(frozen=True)
class Breakage:
    """One change to one stage: `old`, which must occur in the stage exactly once, becomes
    `new`. `args` are the broken run's flags (--no-figure is always added); `why` is what a
    learner reads after the run; `expect` is what the run shows, and what the tests check."""

    stage: str
    name: str
    old: str
    new: str
    args: tuple[str, ...]
    why: str
    expect: Expectation

    @property
    def key(self) -> str:
        return f"{self.stage}:{self.name}"

    @property
    def command(self) -> str:
        """What a learner types to see this breakage."""
        return f"python tools/break_it.py {stage_number(self.stage)} {self.name}"


# Stage 3's update, which two breakages take out of no_grad, and stage 4's fixed start.
_UPDATE = """    with torch.no_grad():
        a -= args.learning_rate * a.grad
        b -= args.learning_rate * b.grad
        c -= args.learning_rate * c.grad
        d -= args.learning_rate * d.grad
"""
_FIXED_START = """a = torch.full((), 0.0, dtype=dtype).to(args.device).requires_grad_()
b = torch.full((), -1.0, dtype=dtype).to(args.device).requires_grad_()
c = torch.full((), 0.0, dtype=dtype).to(args.device).requires_grad_()
d = torch.full((), 0.3, dtype=dtype).to(args.device).requires_grad_()
"""
# Short runs: the steps after which each stage, unbroken, is near the floor, or fewer where
# the broken run fails at once.
_QUICK = ("--steps", "10")

BREAKAGES: tuple[Breakage, ...] = (
    Breakage(
        "fit_numpy.py",
        "grad-c-copied",
        "    grad_c = (grad_y_pred * x**2).sum()\n",
        "    grad_c = (grad_y_pred * x).sum()\n",
        ("--steps", "2000"),
        "This is grad_b's line copied for c with x**2 left as x, so c now steps along b's gradient, "
        "which says nothing about c. The loss falls at first, then creeps up and stays far above the "
        "floor: b and d come out near the least-squares values, but a and c, which should be about "
        "zero, do not. Nothing warns of a wrong hand-derived gradient, which is one reason stage 3 "
        "hands the job to autograd.",
        EndsAbove(100),
    ),
    Breakage(
        "fit_numpy.py",
        "sign-flipped",
        "    grad_y_pred = 2.0 * (y_pred - y)\n",
        "    grad_y_pred = 2.0 * (y - y_pred)\n",
        ("--steps", "2000"),
        "With the error's sign turned round every gradient points the other way, so each step climbs "
        "the loss instead of descending it. The loss grows by about the same factor at every logged "
        "step until it overflows to inf and the stage's own check stops the run. The message suggests "
        "a smaller rate, but none helps here: a smaller one only climbs more slowly.",
        Diverges(),
    ),
    Breakage(
        "fit_tensor.py",
        "mean-loss",
        "    loss = torch.square(y_pred - y).sum()\n",
        "    loss = torch.square(y_pred - y).mean()\n",
        ("--steps", "2000"),
        "The printed loss is now the mean, the sum divided by the number of points, so it ends far "
        "below the floor that no cubic's sum of squares can pass. Nothing else changes, and the Result "
        "line is the unbroken stage's after as many steps: these gradients were derived by hand from "
        "the sum and never read the loss line. Under autograd the same change reaches the gradients, as "
        "stage 5's mean-loss shows.",
        EndsBelow(0.01),
    ),
    Breakage(
        "fit_tensor.py",
        "requires-grad",
        "a = torch.randn((), dtype=dtype).to(args.device)\n",
        "a = torch.randn((), dtype=dtype, requires_grad=True).to(args.device)\n",
        _QUICK,
        "Asking autograd to track a, and changing nothing else, ends the run at the first update (on the "
        "CPU, where .to() hands back a itself, still a leaf). With recording on, `a -= ...` would become "
        "part of a's own history, and a leaf is a tensor with no history, so PyTorch refuses to change "
        "a leaf that requires grad in place. That is why stage 3 makes its update under torch.no_grad().",
        Raises("RuntimeError", "a leaf Variable that requires grad is being used in an in-place operation"),
    ),
    Breakage(
        "fit_tensor.py",
        "grad-not-summed",
        "    grad_a = grad_y_pred.sum()\n",
        "    grad_a = grad_y_pred\n",
        _QUICK,
        "Without .sum(), grad_a holds one number per point, and `a -= ...` would have to put all of "
        "them into the single number a. An in-place operation keeps its tensor's shape, so torch stops "
        "at the first update. NumPy would not: in stage 1 the same slip makes a a new array, one "
        "intercept per point, and the run goes on without a word.",
        Raises("RuntimeError", "output with shape [] doesn't match the broadcast shape [2000]"),
    ),
    Breakage(
        "fit_autograd.py",
        "no-grad-reset",
        "    a.grad = None\n    b.grad = None\n    c.grad = None\n    d.grad = None\n",
        "",
        ("--steps", "2000"),
        "backward() adds each new gradient to what .grad already holds, so without the reset every "
        "step moves by the sum of all the gradients so far. Like a ball rolling without friction, the "
        "fit swings back and forth through the minimum instead of settling: the logged loss falls and "
        "rises again, far above the floor.",
        EndsAbove(100),
    ),
    Breakage(
        "fit_autograd.py",
        "grad-set-to-zero",
        "    a.grad = None\n",
        "    a.grad = 0.\n",
        _QUICK,
        "PyTorch checks every assignment to .grad: it must be None or a tensor of the same shape, "
        "dtype and device as a, so a Python float is refused at once, before the first backward(). "
        "None is also the cheaper reset: the next backward() then stores its gradient instead of "
        "adding it to zeros.",
        Raises("TypeError", "assigned grad expected to be a Tensor or None but got grad of type float"),
    ),
    Breakage(
        "fit_autograd.py",
        "update-outside-no-grad",
        _UPDATE,
        "    a -= args.learning_rate * a.grad\n"
        "    b -= args.learning_rate * b.grad\n"
        "    c -= args.learning_rate * c.grad\n"
        "    d -= args.learning_rate * d.grad\n",
        _QUICK,
        "With recording on, `a -= ...` would become part of a's own history, and a leaf is a tensor "
        "with no history, so PyTorch refuses to change a leaf that requires grad in place. The run "
        "stops at the first update, just after step 0 is logged. Under torch.no_grad() the same line "
        "only changes a's number.",
        Raises("RuntimeError", "a leaf Variable that requires grad is being used in an in-place operation"),
    ),
    Breakage(
        "fit_autograd.py",
        "rebind-outside-no-grad",
        _UPDATE,
        "    a = a - args.learning_rate * a.grad\n"
        "    b = b - args.learning_rate * b.grad\n"
        "    c = c - args.learning_rate * c.grad\n"
        "    d = d - args.learning_rate * d.grad\n",
        _QUICK,
        "Outside no_grad, `a = a - ...` is recorded: the new a is computed from the old one, so it is "
        "no leaf, and backward() leaves its .grad empty (PyTorch warns when it is read). The first "
        "update works, so steps 0 and 1 are logged; the second multiplies the rate by None and fails.",
        Raises("TypeError", "unsupported operand type(s) for *: 'float' and 'NoneType'"),
    ),
    Breakage(
        "fit_newautograd.py",
        "no-apply",
        "P3 = LegendrePolynomial3.apply\n",
        "P3 = LegendrePolynomial3\n",
        _QUICK,
        "Calling the class makes an instance of it and never runs forward, so the model's formula "
        "meets an object where it expects a tensor, and the multiplication fails before any loss is "
        "logged. PyTorch warns first that autograd functions should not be instantiated. apply is what "
        "runs forward and records the call in the result's grad_fn.",
        Raises("TypeError", "unsupported operand type(s) for *: 'Tensor' and 'LegendrePolynomial3'"),
    ),
    Breakage(
        "fit_newautograd.py",
        "save-a-number",
        "        ctx.save_for_backward(z)\n",
        "        ctx.save_for_backward(z, 1.5)\n",
        _QUICK,
        "save_for_backward keeps tensors only (or None), which it can check for in-place changes "
        "before backward reads them; a plain number is refused as soon as forward returns, before any "
        "loss is logged. Anything else backward needs goes on ctx as an attribute, say `ctx.scale = 1.5`.",
        Raises("TypeError", "save_for_backward can only save variables, but argument 1 is of type float"),
    ),
    Breakage(
        "fit_newautograd.py",
        "random-start",
        _FIXED_START,
        "torch.manual_seed(0)\n"
        "a = torch.randn((), dtype=dtype).to(args.device).requires_grad_()\n"
        "b = torch.randn((), dtype=dtype).to(args.device).requires_grad_()\n"
        "c = torch.randn((), dtype=dtype).to(args.device).requires_grad_()\n"
        "d = torch.randn((), dtype=dtype).to(args.device).requires_grad_()\n",
        _QUICK,
        "From the seeded random start of stages 2 and 3, c + d x reaches far beyond the fixed start's "
        "range, to about -4, where P3 is much steeper, so the first loss is far higher and so are its "
        "gradients. At "
        "this stage's rate the very first step overshoots, and the loss overflows at the next. The "
        "lesson starts near the answer, where this rate is safe.",
        Diverges(),
    ),
    Breakage(
        "fit_newautograd.py",
        "backward-without-grad-output",
        "        return grad_output * 1.5 * (5 * z**2 - 1)\n",
        "        return 1.5 * (5 * z**2 - 1)\n",
        ("--steps", "1000"),
        "Without grad_output, backward returns P3'(z) alone, as if d(loss)/d(P3) were 1 at every "
        "point: the gradients of c and d no longer depend on the error at all. They descend the sum "
        "of P3(c + d x) over the points instead of the loss, a cubic with no lowest point, so the fit "
        "runs off and the loss goes to nan.",
        Diverges(),
    ),
    Breakage(
        "fit_nn.py",
        "no-flatten",
        "torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))",
        "torch.nn.Sequential(torch.nn.Linear(3, 1))",
        _QUICK,
        "Without Flatten the prediction has shape (points, 1), and MSELoss broadcasts it against y's "
        "(points,) into a table of every prediction minus every target. PyTorch warns about the sizes "
        "but computes it: the loss starts some three orders of magnitude above the unbroken stage's, "
        "its gradients likewise, and at this rate the loss overflows within a few steps.",
        Diverges(),
    ),
    Breakage(
        "fit_nn.py",
        "mean-loss",
        'loss_fn = torch.nn.MSELoss(reduction="sum")\n',
        "loss_fn = torch.nn.MSELoss()\n",
        ("--steps", "3000"),
        "MSELoss's default reduction is the mean, the sum divided by the number of points, and autograd "
        "divides every gradient by the same. At the sum's rate each step is that many times too small, "
        "so the fit is far from done when the run ends. The printed loss, a mean, even ends below the "
        "floor, while the Result's cubic, as a sum of squares, is far above it.",
        FitAbove(100),
    ),
    Breakage(
        "fit_optim.py",
        "optimizer-in-loop",
        "optimizer = torch.optim.RMSprop(model.parameters(), lr=args.learning_rate)\n\n"
        "# %% The training loop\nlog_every = args.steps // 10\nfor t in range(args.steps + 1):\n",
        "\n# %% The training loop\nlog_every = args.steps // 10\nfor t in range(args.steps + 1):\n"
        "    optimizer = torch.optim.RMSprop(model.parameters(), lr=args.learning_rate)\n",
        ("--steps", "2000"),
        "A new RMSprop has no running average yet, so every step is its first: the average is then "
        "1 - alpha = 0.01 of the squared gradient, and each parameter moves by ten times the rate, "
        "whatever its gradient's size. Steps of a fixed size cannot settle, so the fit soon hops back "
        "and forth between the same points, and the log repeats one loss far above the floor.",
        EndsAbove(10),
    ),
    Breakage(
        "fit_optim.py",
        "sgd-at-rmsprop-rate",
        "optimizer = torch.optim.RMSprop(",
        "optimizer = torch.optim.SGD(",
        ("--steps", "100"),
        "Plain SGD steps by the rate times the gradient, and this loss sums over the points, so its "
        "gradients are large: at RMSprop's rate, a thousand times stage 5's, every step overshoots the "
        "minimum by more than the last, and the loss overflows within ten steps. RMSprop divides each "
        "gradient by its own running size, which is why it can take a rate that SGD cannot.",
        Diverges(),
    ),
    Breakage(
        "fit_custom_nn.py",
        "no-super-init",
        "        super().__init__()\n",
        "",
        _QUICK,
        "Module.__init__ makes the tables in which a module keeps its parameters, buffers and "
        "submodules, and assigning a Parameter to self.a files it there. Without the call there is no "
        "table, so the first such assignment fails, before any step.",
        Raises("AttributeError", "cannot assign parameters before Module.__init__() call"),
    ),
    Breakage(
        "fit_custom_nn.py",
        "parameters-in-a-list",
        "        self.a = torch.nn.Parameter(torch.randn(()))\n"
        "        self.b = torch.nn.Parameter(torch.randn(()))\n"
        "        self.c = torch.nn.Parameter(torch.randn(()))\n"
        "        self.d = torch.nn.Parameter(torch.randn(()))\n"
        "\n    def forward(self, x):\n"
        "        return self.a + self.b * x + self.c * x**2 + self.d * x**3\n",
        "        self.coefficients = [torch.nn.Parameter(torch.randn(())) for _ in range(4)]\n"
        "\n    def forward(self, x):\n"
        "        a, b, c, d = self.coefficients\n"
        "        return a + b * x + c * x**2 + d * x**3\n",
        _QUICK,
        "A Module registers a Parameter only when it is assigned to one of the module's own "
        "attributes; inside a plain Python list it is invisible, so model.parameters() yields nothing "
        "and SGD refuses the empty list before any step. torch.nn.ParameterList is the list that "
        "registers what it holds.",
        Raises("ValueError", "optimizer got an empty parameter list"),
    ),
    Breakage(
        "fit_ctlflow_wshare.py",
        "stage-7-rate",
        "learning_rate=1e-8",
        "learning_rate=1e-6",
        ("--steps", "30"),
        "x^4 and x^5 reach about 97 and 306 at x = pi, so the loss is far steeper along e than along "
        "the cubic's coefficients. Stage 7's rate, a hundred times this stage's, overshoots from the "
        "first steps, and the loss overflows within a few dozen.",
        Diverges(),
    ),
    Breakage(
        "fit_ctlflow_wshare.py",
        "no-momentum",
        "lr=args.learning_rate, momentum=0.9)",
        "lr=args.learning_rate)",
        ("--steps", "1000"),
        "Without momentum each step is the rate times this step's gradient alone; with it, each step "
        "also carries on 0.9 of the last, so along a direction the gradient keeps pointing, steps grow "
        "to ten times as long. At a rate this small that is most of the progress: after the same steps, "
        "drawing the same degrees, the loss is still many times the unbroken stage's.",
        EndsAbove(1000),
    ),
)


@dataclass(frozen=True)
class BrokenRun:
    """What a run of a broken copy did: its exit status and all it printed."""

    breakage: Breakage
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def last_error_line(self) -> str:
        """The last line the run wrote to stderr if it failed: the exception as Python's
        traceback ends (`TypeError: message`), or the stage's own message; "" if it exited 0."""
        if self.returncode == 0:
            return ""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    @property
    def warnings(self) -> list[str]:
        """The warnings the run printed, each as `Category: message`, without the file and
        line it came from (a temporary copy's, or torch's)."""
        return [match[1] for match in re.finditer(r"^\S.*?:\d+: (\w+Warning: .*)$", self.stderr, re.MULTILINE)]

    @property
    def command(self) -> str:
        return self.breakage.command


def source(breakage: Breakage) -> str:
    """The stage's text today."""
    return (ROOT / breakage.stage).read_text(encoding="utf-8")


def broken_source(breakage: Breakage) -> str:
    """The stage's text with the breakage applied; ValueError if its old text does not occur
    exactly once, which means the stage has changed under it."""
    text = source(breakage)
    count = text.count(breakage.old)
    if count != 1:
        raise ValueError(f"{breakage.key}: its old text occurs {count} times in {breakage.stage}, not once")
    return text.replace(breakage.old, breakage.new)


def diff(breakage: Breakage) -> str:
    """The breakage as a unified diff of the stage against its broken copy."""
    return "".join(
        difflib.unified_diff(
            source(breakage).splitlines(keepends=True),
            broken_source(breakage).splitlines(keepends=True),
            breakage.stage,
            f"{breakage.stage} (broken)",
        )
    )


def run_args(breakage: Breakage, device: str | None = None) -> tuple[str, ...]:
    """The broken run's flags: the breakage's own, no figure, and --device for a torch stage."""
    args = (*breakage.args, "--no-figure")
    if device is not None and breakage.stage in TORCH_STAGES:
        args = (*args, "--device", device)
    return args


@contextlib.contextmanager
def broken_copy(breakage: Breakage) -> Iterator[Path]:
    """The broken stage, written beside a copy of plotting.py in a folder that is removed
    afterwards, however the run ends."""
    text = broken_source(breakage)
    with tempfile.TemporaryDirectory(prefix="break_it_") as folder:
        shutil.copy2(ROOT / "plotting.py", folder)
        path = Path(folder) / breakage.stage
        path.write_text(text, encoding="utf-8")
        yield path


def _run_process(path: Path, args: Sequence[str]) -> tuple[int, str, str]:
    """Run the broken copy as its own `python` process, from its folder. If this process is
    interrupted (Ctrl-C), the child is stopped before the interruption goes on up."""
    child = subprocess.Popen(
        [sys.executable, str(path), *args],
        cwd=path.parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = child.communicate()
    except BaseException:
        # Stopped by a signal: a second one must not cut short stopping the child and removing
        # the temporary folder, which the run's way out does next.
        plotting.handle_endings(signal.SIG_IGN)
        child.kill()
        child.wait()
        raise
    return child.returncode, stdout, stderr


def run(breakage: Breakage, device: str | None = None, in_process: bool = False) -> BrokenRun:
    """Run the broken copy of the stage and keep what it printed. In a process of its own by
    default, as a learner would; in_process=True runs it inside this one, with the same
    output, and puts the process back as it was afterwards."""
    args = run_args(breakage, device)
    with broken_copy(breakage) as path:
        returncode, stdout, stderr = (run_script_in_process if in_process else _run_process)(path, args)
    return BrokenRun(breakage, args, returncode, stdout, stderr)


def points(run: BrokenRun) -> np.ndarray:
    """The x of the points the run fitted: the stages' own, or as many as --points says."""
    args = list(run.args)
    count = int(args[args.index("--points") + 1]) if "--points" in args else plotting.POINTS
    return np.linspace(-math.pi, math.pi, count)


def floor(run: BrokenRun) -> float:
    """The least-squares floor on the run's points: no cubic's sum of squares goes below it."""
    x = points(run)
    return plotting.least_squares_cubic(x, np.sin(x))[1]


def fitted_loss(run: BrokenRun) -> float:
    """The sum of squared errors of the cubic the run's Result line names, on its points."""
    x = points(run)
    cubic = np.polynomial.polynomial.polyval(x, parse_log(run.stdout).cubic)
    return float(np.square(cubic - np.sin(x)).sum())


def find(stage: str, name: str) -> Breakage:
    """A stage's breakage by name; ValueError, naming the stage's breakages, if none."""
    for breakage in BREAKAGES:
        if breakage.stage == stage and breakage.name == name:
            return breakage
    names = ", ".join(breakage.name for breakage in BREAKAGES if breakage.stage == stage)
    raise ValueError(f"{stage} has no breakage {name!r}; choose from {names}")


def listing(stages: Sequence[str]) -> str:
    """Each stage's breakages, a line each that starts with its name, then what its run shows."""
    blocks = []
    for stage in stages:
        breakages = [breakage for breakage in BREAKAGES if breakage.stage == stage]
        width = max(len(breakage.name) for breakage in breakages)
        lines = [f"{breakage.name.ljust(width)}  {breakage.expect}" for breakage in breakages]
        # Listing one stage, the learner named it already: its lines alone, then.
        blocks.append("\n".join(lines if len(stages) == 1 else [f"Stage {stage_number(stage)}, {stage}:", *lines]))
    return "\n\n".join(blocks)


def report(run: BrokenRun) -> str:
    """What the broken run did, for a learner: the command, the log, how it ended, and why."""
    breakage = run.breakage
    lines = [f"$ python {breakage.stage} {' '.join(run.args)}    # the broken copy"]
    lines += run.stdout.rstrip("\n").splitlines()
    lines += [f"warning: {warning}" for warning in run.warnings]
    if run.returncode:
        lines.append(f"error: {run.last_error_line}")
    lines.append(f"exit status {run.returncode}")
    if run.returncode == 0:
        lines.append(f"the least-squares floor: {floor(run)}")
    lines += ["", "Why: " + breakage.why]
    # On another device, or after a change to torch, a run may not do what it does here.
    if not breakage.expect.holds(run):
        lines += ["", f"Note: on the CPU here it {breakage.expect}; this time it did not."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stage", nargs="?", help="a stage, by number (1-8) or name (default: list them all)")
    parser.add_argument("name", nargs="?", help="one of its breakages: show it, run it and say why")
    parser.add_argument("--device", help="passed to a torch stage: auto, cpu, cuda, mps, ... (default: the stage's)")
    args = parser.parse_args(argv)
    if args.stage is None:
        print(listing(STAGES))
        return 0
    try:
        stages = resolve_stages([args.stage])
    except ValueError as error:
        parser.error(f"argument stage: {error}")
    if len(stages) != 1:
        parser.error("argument stage: name one stage")
    if args.name is None:
        print(listing(stages))
        return 0
    try:
        breakage = find(stages[0], args.name)
    except ValueError as error:
        parser.error(f"argument name: {error}")
    if args.device is not None:
        try:
            plotting.usable_device(args.device)
        except ValueError as error:
            parser.error(f"argument --device: {error}")

    try:
        broken_source(breakage)
    except ValueError:
        plotting.say(
            f"{Path(sys.argv[0]).name}: {breakage.stage} is not as this breakage expects it: "
            f"bring it back with `git restore {breakage.stage}`"
        )
        return 1
    print(f"{breakage.command}: stage {stage_number(breakage.stage)} broken, {breakage.expect}\n")
    print(diff(breakage))
    sys.stdout.flush()
    print(report(run(breakage, args.device)))
    return 0


if __name__ == "__main__":
    # Ctrl-C, SIGTERM or SIGHUP end the tool with one line and the shell's status; on the
    # way out the broken copy's process is stopped and its temporary folder removed.
    plotting.run_as_program()
    sys.exit(main())
