"""Exercises: change a stage, run one command, and know whether the change is right.

    python tools/exercises.py                   # every exercise, by stage
    python tools/exercises.py 3                 # stage 3's (also fit_autograd.py, autograd)
    python tools/exercises.py start 3 quartic   # copy stage 3 to exercises/fit_autograd_quartic.py, yours to change
    python tools/exercises.py check 3 quartic   # run your copy: what holds, what does not, and a hint

Your copy lives in exercises/, which git ignores, beside a copy of plotting.py, so that it runs as
`python exercises/fit_autograd_quartic.py` from here; the stage itself is never touched. A check runs your file as
its own process, on the CPU, with a few short flags, and judges what it prints against a target computed here: the
least-squares floor of its target, gradient descent with autograd's gradients replayed from the same start values,
or torch.autograd.gradcheck. tools/solutions/ holds, for each exercise, a file that passes its check.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import signal
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

import plotting
from tools.stages import ROOT, STAGES, TORCH_STAGES, StageRun, one_stage, run_stage, settings, stage_number

WORK = ROOT / "exercises"
SOLUTIONS = ROOT / "tools" / "solutions"
# How close a run must come to the same steps done again here. A float32 sum of 2000 numbers rounds at every addition:
# another order of the same operations ends a few parts in 10^7 away, and a hundred steps on the steepest loss here,
# with momentum, a few parts in 10^5. A wrong answer is a part in 10 or more away; float64 comes a billion times closer.
CLOSE = {"float32": 1e-3, "float64": 1e-9}
Runner = Callable[..., StageRun]


def run_file(path: Path, *args: str) -> StageRun:
    """Run a file as `python PATH ARGS` from the repository's root, as a learner would. A check's run takes seconds:
    one still running after two minutes is stuck (a loop that never ends, say), and is stopped."""
    return run_stage(path, *args, cwd=ROOT, timeout=120)


def _cmp(what: str, yours: Sequence[float], ours: Sequence[float], where: Sequence[str], tolerance: float
         ) -> tuple[bool, str]:
    """Whether they are close, and a line in the manner of a gradient check: exact (the same numbers), close (within
    `tolerance`, relative, or absolute near 0), and the largest difference, with where it is."""
    yours, ours = np.asarray(yours), np.asarray(ours)
    gaps = np.abs(yours - ours) / np.maximum(np.abs(ours), 1.0)
    worst, close, exact = int(np.argmax(gaps)), bool(np.all(gaps <= tolerance)), bool(np.array_equal(yours, ours))
    return close, f"{what}: exact {exact}, close {close}, largest difference {gaps[worst]:.2g} ({where[worst]})"


def _torch_draws(count: int) -> list[float]:
    # torch.manual_seed(0), then `count` scalar draws as the stages make them: one draw of `count` numbers gives the
    # same below 16 (from 16 on, torch draws a vector another way). torch's own generator is left alone.
    import torch  # here, not at the top, so that listing and starting do not wait for torch to load
    return torch.randn(count, generator=torch.Generator().manual_seed(0)).tolist()


def _numpy_draws(count: int) -> list[float]:
    # np.random.seed(0) seeds this same legacy generator; RandomState leaves NumPy's global one alone.
    return np.random.RandomState(0).randn(count).tolist()


def _linear_draws(features: int) -> list[float]:
    # The start values of Linear(features, 1) made just after torch.manual_seed(0): its bias, then its weights.
    import torch
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        layer = torch.nn.Linear(features, 1)
    return [layer.bias.item(), *layer.weight[0].tolist()]


def _read(run: StageRun) -> tuple[Any, list[str]]:
    if not run.ok:
        return None, [f"your run stopped: {run.error}"]
    try:
        return run.log, []
    except ValueError as error:
        return None, [f"cannot read your log: {error}"]


@dataclass(frozen=True)
class Floor:
    """The run ends at the floor: its last logged loss, and the loss of its Result's cubic on the points, are each
    within `within` (relative) of the least-squares cubic's loss for `target`, computed here in float64."""

    within: float
    args: tuple[str, ...] = ()
    target: str = "sin"

    def judge(self, stage: str, run: StageRun) -> tuple[bool, list[str]]:
        log, lines = _read(run)
        if log is None:
            return False, lines
        x = np.linspace(-math.pi, math.pi, settings(stage)["points"])
        y = getattr(np, self.target)(x)
        floor = plotting.least_squares_cubic(x, y)[1]
        fitted = log.cubic_loss(x, y)
        lines.append(f"the least-squares floor of {self.target}(x), computed here: {floor!r}")
        if not log.final_loss <= log.losses[0]:  # grown, or nan
            # A rate too large grows the loss by a factor at every step, and a short run may end before it overflows.
            return False, [*lines, f"your loss grew, from {log.losses[0]:.4g} to {log.final_loss:.4g}: it diverges"]
        passed = True
        for what, loss in (("your last logged loss", log.final_loss), ("your Result's cubic's loss", fitted)):
            gap = loss / floor - 1
            side = "above" if gap >= 0 else "below" if abs(gap) <= self.within else "below: no cubic gets that close"
            lines.append(f"{what}: {loss!r}, {abs(gap):.2g} {side} (allowed: {self.within:g})")
            passed = passed and abs(gap) <= self.within
        return passed, lines


@dataclass(frozen=True)
class Replay:
    """The run does gradient descent on sum(w[i] x^power for i, power in terms), from `start`: its logged losses and
    its Result match torch.optim.SGD at `rate`, with `momentum`, using autograd's gradients, computed here in the
    stage's dtype. With `mean`, the run's loss is the mean, logged as the sum's divided by the points, and `rate` is
    the sum's. With `random_degree`, each pass draws its degree as stage 8 does and leaves out the higher powers."""

    start: Callable[[], list[float]]
    terms: tuple[tuple[int, int], ...]
    args: tuple[str, ...]
    rate: float
    momentum: float = 0.0
    mean: bool = False
    random_degree: bool = False

    @property
    def model(self) -> str:
        names = [f"{'abcdef'[i]}{' x' * (p > 0)}{f'^{p}' * (p > 1)}" for i, p in self.terms]
        return " + ".join(names) + " (x^4 and x^5 only in a pass of their degree)" * self.random_degree

    def replay(self, stage: str) -> tuple[dict[int, float], np.ndarray]:
        """The losses at the logged steps and the coefficients by power, after the same steps as the run."""
        import torch
        dtype, points = torch.float32 if stage in TORCH_STAGES else torch.float64, settings(stage)["points"]
        x = torch.linspace(-math.pi, math.pi, points, dtype=dtype)
        y = torch.sin(x)
        weights = [torch.tensor(value, dtype=dtype, requires_grad=True) for value in self.start()]
        # A weight no pass used keeps .grad None, and SGD then leaves it, and its momentum, alone: as in stage 8.
        optimizer = torch.optim.SGD(weights, lr=self.rate, momentum=self.momentum)
        degrees, steps = random.Random(0), int(self.args[self.args.index("--steps") + 1])
        losses = {}
        for t in range(steps + 1):
            degree = degrees.randint(3, 5) if self.random_degree else 5
            # Summed in the stages' order, a + b x + ..., so that a float32 run can match to the last bit.
            y_pred = sum(weights[i] * x**p for i, p in self.terms if p <= degree)
            loss = torch.square(y_pred - y).sum()
            if t % (steps // 10) == 0:
                losses[t] = loss.item() / (points if self.mean else 1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        coefficients = np.zeros(max(p for _, p in self.terms) + 1)
        for i, p in self.terms:
            coefficients[p] += weights[i].item()
        return losses, coefficients

    def judge(self, stage: str, run: StageRun) -> tuple[bool, list[str]]:
        log, lines = _read(run)
        if log is None:
            return False, lines
        losses, coefficients = self.replay(stage)
        lines.append(f"here: SGD with autograd's gradients on {self.model}, from the stage's start values")
        steps, tolerance = list(losses), CLOSE["float32" if stage in TORCH_STAGES else "float64"]
        if list(log.losses) != steps:
            return False, [*lines, f"your log's steps are {list(log.losses)}, not {steps}"]
        mean = " (a mean: the sum's / the points)" * self.mean
        same, line = _cmp(f"losses{mean}", [log.losses[t] for t in steps], list(losses.values()),
                          [f"step {t}" for t in steps], tolerance)
        yours = log.coefficients
        fit, result = False, f"your Result line's highest power is x^{len(yours) - 1}, not x^{len(coefficients) - 1}:"
        result += " print one term for each coefficient of the model the exercise asks for"
        if len(yours) == len(coefficients):
            fit, result = _cmp(f"Result after step {steps[-1]}", yours, coefficients,
                               [f"x^{p}" for p in range(len(yours))], tolerance)
        lines += [line, result]
        apart = [t for t in steps if abs(log.losses[t] - losses[t]) > tolerance * abs(losses[t])]
        if apart[:1] == [0]:
            lines.append("step 0's loss differs, before any update: your start values, your model or your loss do")
        elif apart:
            lines.append(f"step 0's loss agrees, so the start does; step {apart[0]}'s differs")
        return same and fit, lines


# Run as `python gradcheck.py STAGE NAME FLAGS...`: it runs the stage with its flags, as `python STAGE FLAGS` would,
# then prints as its last line, in JSON, what the operation the stage calls NAME does to float64 numbers.
_GRADCHECK = """\
import json, runpy, sys
from pathlib import Path
import torch
stage, name, *flags = sys.argv[1:]
sys.argv = [stage, *flags]
sys.path.insert(0, str(Path(stage).resolve().parent))
op = runpy.run_path(stage, run_name="__main__").get(name)
owner = getattr(op, "__self__", None)
if not (isinstance(owner, type) and issubclass(owner, torch.autograd.Function)):
    sys.exit(f"your file ran, but its {name} is not a Function's apply: {name} = YourFunction.apply")
z = torch.linspace(-1.2, 1.2, 7, dtype=torch.float64, requires_grad=True)
passed = torch.autograd.gradcheck(op, (z,), raise_exception=False)
# The Jacobian from backward, and from forward by central differences: gradcheck's comparison, with its largest gap.
analytic = torch.autograd.functional.jacobian(op, z)
with torch.no_grad():
    numerical = torch.stack([(op(z + h) - op(z - h)) / 2e-6 for h in 1e-6 * torch.eye(7, dtype=z.dtype)], dim=1)
gap = (analytic - numerical).abs().max().item()
print("\\n" + json.dumps({"z": z.tolist(), "forward": op(z).tolist(), "gradcheck": passed, "gap": gap}))
"""


@dataclass(frozen=True)
class Gradcheck:
    """The operation the file calls `name` computes the polynomial with these `coefficients` (of z^0, z^1, ...) in
    float64, and its backward passes torch.autograd.gradcheck, against finite differences of its forward."""

    name: str
    coefficients: tuple[float, ...]
    args: tuple[str, ...] = ("--steps", "10")

    def judge(self, stage: str, run: StageRun) -> tuple[bool, list[str]]:
        if not run.ok:
            return False, [f"your run stopped: {run.error}"]
        *log, last = run.stdout.splitlines()
        if not any(line.startswith("Result: y = ") and f"{self.name}(" in line for line in log):
            return False, [f"your log has no Result line naming {self.name}: the model is a + b {self.name}(c + d x)"]
        found = json.loads(last)
        expected = np.polynomial.polynomial.polyval(np.array(found["z"]), self.coefficients)
        at = [f"z = {z:.1f}" for z in found["z"]]
        right, line = _cmp(f"forward, against {self.name} computed here", found["forward"], expected, at, 1e-9)
        verdict = "passed" if found["gradcheck"] else "FAILED"
        return right and found["gradcheck"], [line, f"backward: torch.autograd.gradcheck {verdict}; largest "
                                              f"difference from forward's finite differences {found['gap']:.2g}"]

    def run(self, path: Path, runner: Runner, args: Sequence[str]) -> StageRun:
        with tempfile.TemporaryDirectory(prefix="exercises_") as folder:
            driver = Path(folder) / "gradcheck.py"
            driver.write_text(_GRADCHECK, encoding="utf-8")
            return runner(driver, str(path), self.name, *args)


@dataclass(frozen=True)
class Exercise:
    """A change to make to a copy of a stage. `task` is what the learner reads; `rule` judges what the changed file
    does; `hint` is where to look when it fails."""

    stage: str
    name: str
    task: str
    hint: str
    rule: Floor | Replay | Gradcheck

    @property
    def key(self) -> str:
        """The stage and the name, as a breakage is keyed: fit_autograd.py:quartic."""
        return f"{self.stage}:{self.name}"

    @property
    def file(self) -> str:
        """The learner's copy's name, and its solution's: fit_autograd_quartic.py."""
        return f"{self.stage.removesuffix('.py')}_{self.name.replace('-', '_')}.py"

    def command(self, action: str) -> str:
        return f"python tools/exercises.py {action} {stage_number(self.stage)} {self.name}"


_QUARTIC = Replay(partial(_torch_draws, 5), ((0, 0), (1, 1), (2, 2), (3, 3), (4, 4)), ("--steps", "10"), 1e-7)
_QUARTIC_TASK = (
    "Add a term e x^4 to the model, with e drawn after d as the others are, and end the Result line with e's "
    "term{how}. x^4 makes the loss far steeper, so the rate 1e-6 diverges: set it to 1e-7, at which the fit comes "
    "down slowly (a loss of about 440 after 10000 steps); the check compares your first 10 steps with autograd's."
)
_CUBIC = ((0, 0), (1, 1), (2, 2), (3, 3))
_QUINTIC = (*_CUBIC, (4, 4), (5, 5))
_FAST = ("--learning-rate", "5e-8")

EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "fit_numpy.py", "exp",
        "Fit y = exp(x) instead of sin(x), in 3000 steps instead of 10000, and find a learning rate at which the "
        "loss comes down to the least-squares floor of exp(x), which the check computes, within them. exp(x) "
        "reaches about 23 at x = pi: find out whether that makes the rate smaller.",
        "A rate too large makes the loss grow until it overflows; one too small leaves it above the floor at step "
        "3000.",
        Floor(1e-6, ("--steps", "3000"), "exp"),
    ),
    Exercise(
        "fit_numpy.py", "mean-loss",
        "Make the loss the mean of the squared errors instead of their sum, and change the hand-derived gradients to "
        "match. Then choose the rate at which every step moves the coefficients as the stage's step does, up to "
        "rounding.",
        "The mean is the sum divided by the number of points, and so is each of its gradients: the rate makes up "
        "for that.",
        Replay(partial(_numpy_draws, 4), _CUBIC, ("--steps", "500"), 1e-6, mean=True),
    ),
    Exercise(
        "fit_tensor.py", "quartic",
        _QUARTIC_TASK.format(how="; derive its gradient grad_e by hand"),
        "The rate is 1e-7; a gradient is grad_y_pred times its coefficient's factor in y_pred, summed over the points; "
        "e needs an update too.",
        _QUARTIC,
    ),
    Exercise(
        "fit_tensor.py", "float64",
        "Make stage 2 compute in float64, NumPy's default, instead of float32, so that the loss comes down to the "
        "least-squares floor to about 12 digits, as stage 1's does.",
        "float32 keeps about 7 digits: every tensor must be float64, the points as well as a, b, c and d.",
        Floor(1e-9, ("--steps", "3000", "--learning-rate", "3e-6")),
    ),
    Exercise(
        "fit_autograd.py", "quartic",
        _QUARTIC_TASK.format(how="; autograd finds its gradient, and what is left to write is e's reset and update"),
        "The rate is 1e-7; e needs requires_grad_() as a, b, c and d have, its .grad cleared before each backward(), "
        "and its update under torch.no_grad().",
        _QUARTIC,
    ),
    Exercise(
        "fit_newautograd.py", "legendre5",
        "Write LegendrePolynomial5, a Function for P5(z) = (63 z^5 - 70 z^3 + 15 z) / 8 whose backward uses its "
        "derivative, written out by hand, and fit y = a + b P5(c + d x) with P5 = LegendrePolynomial5.apply. The "
        "check runs your file for 10 steps, then tests P5 in float64 against the polynomial and its backward with "
        "torch.autograd.gradcheck.",
        "backward returns d(loss)/dz, grad_output times P5'(z), the derivative of forward's formula.",
        Gradcheck("P5", tuple(np.polynomial.legendre.leg2poly([0, 0, 0, 0, 0, 1]))),
    ),
    Exercise(
        "fit_nn.py", "degree-5",
        "Fit a polynomial of degree 5: make the features x, x^2, ..., x^5, the layer Linear(5, 1), and the Result "
        "line a + b x + ... + f x^5. x^5 makes the loss far steeper: above a rate of about 5.75e-8 the fit "
        "diverges, so use 5e-8, at which it comes down slowly (a loss of about 120 after 10000 steps).",
        "Linear(5, 1) takes five features a point, x to x^5; the seed just before it makes it draw the start values "
        "the check replays.",
        Replay(partial(_linear_draws, 5), _QUINTIC, ("--steps", "100", *_FAST), 5e-8),
    ),
    Exercise(
        "fit_nn.py", "mean-loss",
        'Use MSELoss(reduction="mean") instead of the sum, and choose the rate at which every step moves the '
        "coefficients as the stage's step does, up to rounding.",
        "The mean divides the loss by the number of points, and with it every gradient autograd computes.",
        Replay(partial(_linear_draws, 3), _CUBIC, ("--steps", "1000"), 1e-6, mean=True),
    ),
    Exercise(
        "fit_optim.py", "momentum",
        "Replace RMSprop with torch.optim.SGD with momentum=0.9, at a rate of your choosing, so that the loss comes "
        "down to the floor within 2000 steps, where RMSprop at a constant rate keeps hopping about 1 % above it.",
        "SGD steps by the rate times the gradient, as stages 1 to 5 do: at RMSprop's 1e-3 it diverges, and with "
        "momentum stage 5's rate is enough.",
        Floor(1e-5, ("--steps", "2000")),
    ),
    Exercise(
        "fit_custom_nn.py", "coefficient-vector",
        "Rewrite Polynomial so that Polynomial(degree) keeps its degree + 1 coefficients in one torch.nn.Parameter, "
        "drawn with torch.randn(degree + 1), and fit Polynomial(5), with a Result term c x^k for every power. Degree "
        "5 makes the loss far steeper: use the rate 5e-8 and SGD's momentum=0.9.",
        "Only a Parameter assigned to the Module is registered, and the Result line needs every power's coefficient.",
        Replay(partial(_torch_draws, 6), _QUINTIC, ("--steps", "100", *_FAST), 5e-8, momentum=0.9),
    ),
    Exercise(
        "fit_ctlflow_wshare.py", "degree-5",
        "Make every forward pass of degree 5, adding e x^4 + e x^5 each time instead of drawing the degree, so "
        "that every step descends the same loss.",
        "Every pass adds both e x^4 and e x^5; the note after each logged loss says which degree its pass had.",
        Replay(partial(_torch_draws, 5), (*_CUBIC, (4, 4), (4, 5)), ("--steps", "100"), 1e-8, momentum=0.9),
    ),
    Exercise(
        "fit_ctlflow_wshare.py", "separate-weights",
        "Give x^5 a weight of its own, a Parameter f drawn after e, so that a pass of degree 5 adds e x^4 + f x^5, "
        "and print f with x^5 in the Result line.",
        "Keep one random.randint(3, 5) a pass; f must be assigned to the Module after e, and used for x^5 alone.",
        Replay(partial(_torch_draws, 6), _QUINTIC, ("--steps", "100"), 1e-8, momentum=0.9, random_degree=True),
    ),
)


def check(exercise: Exercise, path: Path, runner: Runner = run_file) -> tuple[bool, list[str]]:
    """Run the file at `path` with the check's flags, on the CPU, and judge it: whether it passes, and the lines
    that say why, starting with the command that ran."""
    rule = exercise.rule
    args = (*rule.args, "--no-figure", *(("--device", "cpu") if exercise.stage in TORCH_STAGES else ()))
    run = rule.run(path, runner, args) if isinstance(rule, Gradcheck) else runner(path, *args)
    passed, lines = rule.judge(exercise.stage, run)
    verdict = "PASS: it does what the exercise asks." if passed else f"FAIL: {exercise.hint}"
    # The hint is about the exercise; a file that stopped may hold a slip of another kind, which its error names.
    lines += ["your file stopped before its end: if the error above is a slip, mend that first"] * (not run.ok)
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return passed, [f"$ python {shown} {' '.join(args)}", *lines, verdict]


def listing(stages: Sequence[str]) -> str:
    """Each stage's exercises under a heading, the task wrapped beside the name, and how to start and check one."""
    blocks = []
    for stage in stages:
        lines = [f"Stage {stage_number(stage)}, {stage}:"]
        for exercise in (exercise for exercise in EXERCISES if exercise.stage == stage):
            lines.append(textwrap.fill(exercise.task, 110, initial_indent=f"  {exercise.name:<20}",
                                       subsequent_indent=" " * 22, break_on_hyphens=False))
        blocks.append("\n".join(lines))
    return "\n\n".join([*blocks, "start one: python tools/exercises.py start STAGE NAME\n"
                                 "check it:  python tools/exercises.py check STAGE NAME"])


def find(stage: str, name: str) -> Exercise:
    exercises = {exercise.name: exercise for exercise in EXERCISES if exercise.stage == one_stage(stage)}
    if name not in exercises:
        raise ValueError(f"{one_stage(stage)} has no exercise {name!r}; choose from {', '.join(exercises)}")
    return exercises[name]


def start(exercise: Exercise, force: bool) -> str:
    """Copy the stage into the work folder, beside a fresh copy of plotting.py, unless the learner's copy is there
    already (ValueError) and `force` is off."""
    path = WORK / exercise.file
    if path.exists() and not force:
        raise ValueError(f"exercises/{exercise.file} is there already: check it, or start again with --force")
    WORK.mkdir(exist_ok=True)
    # Its `import plotting` then finds this copy first, so its figure goes to exercises/figures/.
    shutil.copy(ROOT / "plotting.py", WORK / "plotting.py")
    shutil.copy(ROOT / exercise.stage, path)
    task = textwrap.fill(exercise.task, 100, break_on_hyphens=False)
    return (f"exercises/{exercise.file} is a copy of {exercise.stage}, yours to change.\n\n{task}\n\n"
            f"run it:   python exercises/{exercise.file}{' --device cpu' * (exercise.stage in TORCH_STAGES)}\n"
            f"check it: {exercise.command('check')} (it runs your file on the CPU)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS, description=__doc__, allow_abbrev=False)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("words", nargs="*", metavar="[start|check] STAGE NAME", help="what to do (default: list)")
    parser.add_argument("--force", action="store_true", help="start: copy the stage again over your changed copy")
    args = parser.parse_args(argv)
    action, words = (args.words[0], args.words[1:]) if args.words[:1] in (["start"], ["check"]) else (None, args.words)
    try:
        if args.force and action != "start":
            raise ValueError("--force goes with start")
        if action is None and len(words) > 1:
            raise ValueError("to start or check an exercise, say so first: start STAGE NAME, check STAGE NAME")
        if action is None:
            print(listing([one_stage(words[0])] if words else STAGES))
            return 0
        if len(words) != 2:
            raise ValueError(f"{action} takes a stage and an exercise's name: {action} 3 quartic")
        exercise = find(*words)
        if action == "start":
            print(start(exercise, args.force))
            return 0
        if not (WORK / exercise.file).exists():
            raise ValueError(f"there is no exercises/{exercise.file} yet: {exercise.command('start')}")
    except ValueError as error:
        parser.error(str(error))
    passed, lines = check(exercise, WORK / exercise.file)
    print("\n".join(lines))
    return 0 if passed else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # kill, or an IDE's stop: as Ctrl-C, ending the run too
    raise SystemExit(main())
