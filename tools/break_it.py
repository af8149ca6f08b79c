"""Break a stage on purpose and watch what happens: the experiment a teacher runs in front
of the class, for the lines each stage's lesson rests on.

    python tools/break_it.py                  # every breakage, by stage
    python tools/break_it.py 3                # stage 3's (also fit_autograd.py, autograd)
    python tools/break_it.py 3 no-grad-reset  # show the change, run the broken copy, say why

A breakage replaces one exact text of a stage. The broken copy runs as its own process from
a temporary folder, beside a copy of plotting.py: the stage files are never touched.
"""

import argparse
import difflib
import math
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.stages import ROOT, STAGES, StageRun, least_squares, resolve_stages, run_stage, settings, stage_number


@dataclass(frozen=True)
class Fails:
    """The run fails, and the last line it writes contains these words: the exception and its
    message, or the stage's own message when the loss stops being a number (DIVERGES)."""

    words: str

    def __str__(self) -> str:
        return f'fails: "{self.words}"'

    def holds(self, run: StageRun, stage: str) -> bool:
        return not run.ok and self.words in run.error


DIVERGES = Fails("so the fit diverged")


@dataclass(frozen=True)
class Ends:
    """The run ends without an error, its last logged loss `side` ("above" or "below") `times`
    the floor; with fitted=True, the sum of squared errors of its Result's cubic on the
    stage's points instead, whatever loss it logged."""

    side: str
    times: float
    fitted: bool = False

    def __str__(self) -> str:
        return f"{'its fitted cubic ' if self.fitted else ''}ends {self.side} {self.times:g}x the floor"

    def holds(self, run: StageRun, stage: str) -> bool:
        if not run.ok:
            return False
        loss, floor = run.log.final_loss, least_squares()[1]
        if self.fitted:
            x = np.linspace(-math.pi, math.pi, settings(stage)["points"])
            loss = run.log.cubic_loss(x, np.sin(x))
        return loss > self.times * floor if self.side == "above" else loss < self.times * floor


@dataclass(frozen=True)
class Breakage:
    """One change to one stage, named by its key, "stage:name": `old`, which occurs in the stage exactly once,
    becomes `new`. `why` is what a learner reads after the run; `expect` is what the run shows, and what the tests
    check. The broken copy runs with `args` (and --no-figure): the steps after which the stage, unbroken, is near
    the floor, or ten where the broken run fails at once."""

    key: str
    old: str
    new: str
    why: str
    expect: Fails | Ends
    args: tuple[str, ...] = ("--steps", "10")

    @property
    def stage(self) -> str:
        return self.key.partition(":")[0]

    @property
    def name(self) -> str:
        return self.key.partition(":")[2]

    @property
    def command(self) -> str:
        return f"python tools/break_it.py {stage_number(self.stage)} {self.name}"


# Stage 3's update, which two breakages take out of no_grad.
_UPDATE = """    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
"""

BREAKAGES: tuple[Breakage, ...] = (
    Breakage(
        "fit_numpy.py:grad-c-copied",
        "    grad_c = (grad_y_pred * x**2).sum()\n",
        "    grad_c = (grad_y_pred * x).sum()\n",
        "This is grad_b's line copied for c with x**2 left as x, so c now steps along b's gradient, which says "
        "nothing about c. The loss falls at first, then creeps up and stays far above the floor: b and d come out "
        "near the least-squares values, but a and c, which should be about zero, do not. Nothing warns of a wrong "
        "hand-derived gradient, which is one reason stage 3 hands the job to autograd.",
        Ends("above", 100),
        args=("--steps", "2000"),
    ),
    Breakage(
        "fit_numpy.py:sign-flipped",
        "    grad_y_pred = 2.0 * (y_pred - y)\n",
        "    grad_y_pred = 2.0 * (y - y_pred)\n",
        "With the error's sign turned round every gradient points the other way, so each step climbs the loss instead "
        "of descending it. The loss grows by about the same factor at every logged step until it overflows to inf and "
        "the stage's own check stops the run. The message suggests a smaller rate, but none helps here: a smaller one "
        "only climbs more slowly.",
        DIVERGES,
        args=("--steps", "2000"),
    ),
    Breakage(
        "fit_tensor.py:mean-loss",
        "    loss = torch.square(y_pred - y).sum()\n",
        "    loss = torch.square(y_pred - y).mean()\n",
        "The printed loss is now the mean, the sum divided by the number of points, so it ends far below the floor "
        "that no cubic's sum of squares can pass. Nothing else changes, and the Result line is the unbroken stage's "
        "after as many steps: these gradients were derived by hand from the sum and never read the loss line. Under "
        "autograd the same change reaches the gradients, as stage 5's mean-loss shows.",
        Ends("below", 0.01),
        args=("--steps", "2000"),
    ),
    Breakage(
        "fit_tensor.py:requires-grad",
        "a = torch.randn((), dtype=dtype).to(device)\n",
        "a = torch.randn((), dtype=dtype, requires_grad=True).to(device)\n",
        "Asking autograd to track a, and changing nothing else, ends the run at the first update (on the CPU, where "
        ".to() hands back a itself, still a leaf). With recording on, `a -= ...` would become part of a's own "
        "history, and a leaf is a tensor with no history, so PyTorch refuses to change a leaf that requires grad in "
        "place. That is why stage 3 makes its update under torch.no_grad().",
        Fails("RuntimeError: a leaf Variable that requires grad is being used in an in-place operation"),
    ),
    Breakage(
        "fit_tensor.py:grad-not-summed",
        "    grad_a = grad_y_pred.sum()\n",
        "    grad_a = grad_y_pred\n",
        "Without .sum(), grad_a holds one number per point, and `a -= ...` would have to put all of them into the "
        "single number a. An in-place operation keeps its tensor's shape, so torch stops at the first update. NumPy "
        "would not: in stage 1 the same slip makes a a new array, one intercept per point, and the run goes on "
        "without a word.",
        Fails("RuntimeError: output with shape [] doesn't match the broadcast shape [2000]"),
    ),
    Breakage(
        "fit_autograd.py:no-grad-reset",
        "    a.grad = None\n    b.grad = None\n    c.grad = None\n    d.grad = None\n",
        "",
        "backward() adds each new gradient to what .grad already holds, so without the reset every step moves by the "
        "sum of all the gradients so far. Like a ball rolling without friction, the fit swings back and forth through "
        "the minimum instead of settling: the logged loss falls and rises again, far above the floor.",
        Ends("above", 100),
        args=("--steps", "2000"),
    ),
    Breakage(
        "fit_autograd.py:grad-set-to-zero",
        "    a.grad = None\n",
        "    a.grad = 0.\n",
        "PyTorch checks every assignment to .grad: it must be None or a tensor of the same shape, dtype and device as "
        "a, so a Python float is refused at once, before the first backward(). None is also the cheaper reset: the "
        "next backward() then stores its gradient instead of adding it to zeros.",
        Fails("TypeError: assigned grad expected to be a Tensor or None but got grad of type float"),
    ),
    Breakage(
        "fit_autograd.py:update-outside-no-grad",
        _UPDATE,
        "    a -= learning_rate * a.grad\n"
        "    b -= learning_rate * b.grad\n"
        "    c -= learning_rate * c.grad\n"
        "    d -= learning_rate * d.grad\n",
        "With recording on, `a -= ...` would become part of a's own history, and a leaf is a tensor with no history, "
        "so PyTorch refuses to change a leaf that requires grad in place. The run stops at the first update, just "
        "after step 0 is logged. Under torch.no_grad() the same line only changes a's number.",
        Fails("RuntimeError: a leaf Variable that requires grad is being used in an in-place operation"),
    ),
    Breakage(
        "fit_autograd.py:rebind-outside-no-grad",
        _UPDATE,
        "    a = a - learning_rate * a.grad\n"
        "    b = b - learning_rate * b.grad\n"
        "    c = c - learning_rate * c.grad\n"
        "    d = d - learning_rate * d.grad\n",
        "Outside no_grad, `a = a - ...` is recorded: the new a is computed from the old one, so it is no leaf, and "
        "backward() leaves its .grad empty (PyTorch warns when it is read). The first update works, so steps 0 and 1 "
        "are logged; the second multiplies the rate by None and fails.",
        Fails("TypeError: unsupported operand type(s) for *: 'float' and 'NoneType'"),
    ),
    Breakage(
        "fit_newautograd.py:no-apply",
        "P3 = LegendrePolynomial3.apply\n",
        "P3 = LegendrePolynomial3\n",
        "Calling the class makes an instance of it and never runs forward, so the model's formula meets an object "
        "where it expects a tensor, and the multiplication fails before any loss is logged. PyTorch warns first that "
        "autograd functions should not be instantiated. apply is what runs forward and records the call in the "
        "result's grad_fn.",
        Fails("TypeError: unsupported operand type(s) for *: 'Tensor' and 'LegendrePolynomial3'"),
    ),
    Breakage(
        "fit_newautograd.py:save-a-number",
        "        ctx.save_for_backward(z)\n",
        "        ctx.save_for_backward(z, 1.5)\n",
        "save_for_backward keeps tensors only (or None), which it can check for in-place changes before backward "
        "reads them; a plain number is refused as soon as forward returns, before any loss is logged. Anything else "
        "backward needs goes on ctx as an attribute, say `ctx.scale = 1.5`.",
        Fails("TypeError: save_for_backward can only save variables, but argument 1 is of type float"),
    ),
    Breakage(
        "fit_newautograd.py:random-start",
        "a = torch.full((), 0.0, dtype=dtype).to(device).requires_grad_()\n"
        "b = torch.full((), -1.0, dtype=dtype).to(device).requires_grad_()\n"
        "c = torch.full((), 0.0, dtype=dtype).to(device).requires_grad_()\n"
        "d = torch.full((), 0.3, dtype=dtype).to(device).requires_grad_()\n",
        "torch.manual_seed(0)\n"
        "a = torch.randn((), dtype=dtype).to(device).requires_grad_()\n"
        "b = torch.randn((), dtype=dtype).to(device).requires_grad_()\n"
        "c = torch.randn((), dtype=dtype).to(device).requires_grad_()\n"
        "d = torch.randn((), dtype=dtype).to(device).requires_grad_()\n",
        "From the seeded random start of stages 2 and 3, c + d x reaches far beyond the fixed start's range, to about "
        "-4, where P3 is much steeper, so the first loss is far higher and so are its gradients. At this stage's rate "
        "the very first step overshoots, and the loss overflows at the next. The lesson starts near the answer, where "
        "this rate is safe.",
        DIVERGES,
    ),
    Breakage(
        "fit_newautograd.py:backward-without-grad-output",
        "        return grad_output * 1.5 * (5 * z**2 - 1)\n",
        "        return 1.5 * (5 * z**2 - 1)\n",
        "Without grad_output, backward returns P3'(z) alone, as if d(loss)/d(P3) were 1 at every point: the gradients "
        "of c and d no longer depend on the error at all. They descend the sum of P3(c + d x) over the points instead "
        "of the loss, a cubic with no lowest point, so the fit runs off and the loss goes to nan.",
        DIVERGES,
        args=("--steps", "1000"),
    ),
    Breakage(
        "fit_nn.py:no-flatten",
        "torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))",
        "torch.nn.Sequential(torch.nn.Linear(3, 1))",
        "Without Flatten the prediction has shape (points, 1), and MSELoss broadcasts it against y's (points,) into a "
        "table of every prediction minus every target. PyTorch warns about the sizes but computes it: the loss starts "
        "some three orders of magnitude above the unbroken stage's, its gradients likewise, and at this rate the loss "
        "overflows within a few steps.",
        DIVERGES,
    ),
    Breakage(
        "fit_nn.py:mean-loss",
        'loss_fn = torch.nn.MSELoss(reduction="sum")\n',
        "loss_fn = torch.nn.MSELoss()\n",
        "MSELoss's default reduction is the mean, the sum divided by the number of points, and autograd divides every "
        "gradient by the same. At the sum's rate each step is that many times too small, so the fit is far from done "
        "when the run ends. The printed loss, a mean, even ends below the floor, while the Result's cubic, as a sum "
        "of squares, is far above it.",
        Ends("above", 100, fitted=True),
        args=("--steps", "3000"),
    ),
    Breakage(
        "fit_optim.py:optimizer-in-loop",
        "for t in range(steps + 1):\n",
        "for t in range(steps + 1):\n    optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)\n",
        "A new RMSprop has no running average yet, so every step is its first: the average is then 1 - alpha = 0.01 "
        "of the squared gradient, and each parameter moves by ten times the rate, whatever its gradient's size. Steps "
        "of a fixed size cannot settle, so the fit soon hops back and forth between the same points, and the log "
        "repeats one loss far above the floor.",
        Ends("above", 10),
        args=("--steps", "2000"),
    ),
    Breakage(
        "fit_optim.py:sgd-at-rmsprop-rate",
        "optimizer = torch.optim.RMSprop(",
        "optimizer = torch.optim.SGD(",
        "Plain SGD steps by the rate times the gradient, and this loss sums over the points, so its gradients are "
        "large: at RMSprop's rate, a thousand times stage 5's, every step overshoots the minimum by more than the "
        "last, and the loss overflows within ten steps. RMSprop divides each gradient by its own running size, which "
        "is why it can take a rate that SGD cannot.",
        DIVERGES,
        args=("--steps", "100"),
    ),
    Breakage(
        "fit_custom_nn.py:no-super-init",
        "        super().__init__()\n",
        "",
        "Module.__init__ makes the tables in which a module keeps its parameters, buffers and submodules, and "
        "assigning a Parameter to self.a files it there. Without the call there is no table, so the first such "
        "assignment fails, before any step.",
        Fails("AttributeError: cannot assign parameters before Module.__init__() call"),
    ),
    Breakage(
        "fit_custom_nn.py:parameters-in-a-list",
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
        "A Module registers a Parameter only when it is assigned to one of the module's own attributes; inside a "
        "plain Python list it is invisible, so model.parameters() yields nothing and SGD refuses the empty list "
        "before any step. torch.nn.ParameterList is the list that registers what it holds.",
        Fails("ValueError: optimizer got an empty parameter list"),
    ),
    Breakage(
        "fit_ctlflow_wshare.py:stage-7-rate",
        "learning_rate = 1e-8\n",
        "learning_rate = 1e-6\n",
        "x^4 and x^5 reach about 97 and 306 at x = pi, so the loss is far steeper along e than along the cubic's "
        "coefficients. Stage 7's rate, a hundred times this stage's, overshoots from the first steps, and the loss "
        "overflows within a few dozen.",
        DIVERGES,
        args=("--steps", "30"),
    ),
    Breakage(
        "fit_ctlflow_wshare.py:no-momentum",
        "lr=learning_rate, momentum=0.9)",
        "lr=learning_rate)",
        "Without momentum each step is the rate times this step's gradient alone; with it, each step also carries on "
        "0.9 of the last, so along a direction the gradient keeps pointing, steps grow to ten times as long. At a "
        "rate this small that is most of the progress: after the same steps, drawing the same degrees, the loss is "
        "still many times the unbroken stage's.",
        Ends("above", 1000),
        args=("--steps", "1000"),
    ),
)


def broken_source(breakage: Breakage) -> str:
    """The stage's text with the breakage applied; ValueError unless its old text occurs in the stage exactly once."""
    text = (ROOT / breakage.stage).read_text(encoding="utf-8")
    if text.count(breakage.old) != 1:
        raise ValueError(f"{breakage.key}: its old text occurs {text.count(breakage.old)} times in the stage, not once")
    return text.replace(breakage.old, breakage.new)


def diff(breakage: Breakage) -> str:
    """The breakage as a unified diff of the stage against its broken copy."""
    before = (ROOT / breakage.stage).read_text(encoding="utf-8").splitlines(keepends=True)
    after = broken_source(breakage).splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, breakage.stage, f"{breakage.stage} (broken)"))


def run(breakage: Breakage, device: str | None = None) -> StageRun:
    """Run the broken copy with the breakage's flags and --no-figure (and `device`, for a
    torch stage) as its own process, from a temporary folder with a copy of plotting.py."""
    text = broken_source(breakage)
    with tempfile.TemporaryDirectory(prefix="break_it_") as folder:
        shutil.copy(ROOT / "plotting.py", folder)
        (Path(folder) / breakage.stage).write_text(text, encoding="utf-8")
        return run_stage(Path(folder) / breakage.stage, *breakage.args, "--no-figure", device=device, cwd=folder)


def warnings(run: StageRun) -> list[str]:
    """The run's warnings as `Category: message`, without the file and line they came from (a copy's, or torch's)."""
    return re.findall(r"^\S.*?:\d+: (\w+Warning: .*)$", run.stderr, re.MULTILINE)


def listing(stages: Sequence[str]) -> str:
    """A line per breakage, its name and what its run shows, under a heading per stage when there are several."""
    blocks = []
    for stage in stages:
        breakages = [breakage for breakage in BREAKAGES if breakage.stage == stage]
        width = max(len(breakage.name) for breakage in breakages)
        lines = [f"{breakage.name.ljust(width)}  {breakage.expect}" for breakage in breakages]
        blocks.append("\n".join(lines if len(stages) == 1 else [f"Stage {stage_number(stage)}, {stage}:", *lines]))
    return "\n\n".join(blocks)


def report(breakage: Breakage, run: StageRun) -> str:
    """What the broken run did, for a learner: the command, the log, how it ended, and why."""
    lines = [f"$ python {breakage.stage} {' '.join(run.command[2:])}    # the broken copy", *run.stdout.splitlines()]
    lines += [f"warning: {warning}" for warning in warnings(run)]
    if not run.ok:
        lines.append(f"error: {run.error}")
    lines.append(f"exit status {run.returncode}")
    if run.ok:
        lines.append(f"the least-squares floor: {least_squares()[1]}")
    lines += ["", f"Why: {breakage.why}"]
    # On another device, or after a change to torch, a run may not do what it does here.
    if not breakage.expect.holds(run, breakage.stage):
        lines += ["", f"Note: on the CPU here it {breakage.expect}; this time it did not."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS, description=__doc__, allow_abbrev=False)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("stage", nargs="?", help="a stage, by number (1-8) or name (default: list them all)")
    parser.add_argument("name", nargs="?", help="one of its breakages: show it, run it and say why")
    parser.add_argument("--device", help="passed to a torch stage: cpu, cuda, mps, ... (default: the stage's)")
    args = parser.parse_args(argv)
    try:
        stages = STAGES if args.stage is None else resolve_stages([args.stage])
        if args.stage is not None and len(stages) != 1:
            raise ValueError("name one stage")
        if args.name is None:
            print(listing(stages))
            return 0
        breakages = {breakage.name: breakage for breakage in BREAKAGES if breakage.stage == stages[0]}
        if args.name not in breakages:
            raise ValueError(f"{stages[0]} has no breakage {args.name!r}; choose from {', '.join(breakages)}")
        breakage = breakages[args.name]
        broken_source(breakage)
    except ValueError as error:
        parser.error(str(error))
    broken = run(breakage, args.device)
    if broken.returncode == 2:
        # The stage refused its flags; of those, only --device comes from this command line.
        parser.exit(2, f"{broken.error}\n")
    print(f"{breakage.command}: stage {stage_number(breakage.stage)} broken, {breakage.expect}\n")
    print(diff(breakage))
    print(report(breakage, broken))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
