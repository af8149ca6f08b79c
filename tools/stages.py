"""The stages as the tools and tests see them: their order, their settings, how to run one,
and the one reader of the log a stage prints.

A stage prints `<step> <loss>` at its logged steps and ends with a `Result:` line naming
its fitted model; parse_log turns that text back into numbers.
"""

from __future__ import annotations

import ast
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import plotting

ROOT = Path(__file__).resolve().parent.parent
# In the order a learner reads them: stage N is STAGES[N - 1].
STAGES = (
    "fit_numpy.py",
    "fit_tensor.py",
    "fit_autograd.py",
    "fit_newautograd.py",
    "fit_nn.py",
    "fit_optim.py",
    "fit_custom_nn.py",
    "fit_ctlflow_wshare.py",
)
TORCH_STAGES = STAGES[1:]

_NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|inf|nan)"
_TERM = re.compile(rf"^({_NUMBER})(?: x(?:\^(\d+))?)?( \?)?$")
_LEGENDRE = re.compile(rf"^({_NUMBER}) \+ ({_NUMBER}) \* P3\(({_NUMBER}) \+ ({_NUMBER}) x\)$")


def stage_number(stage: str) -> int:
    return STAGES.index(stage) + 1


def resolve_stages(names: Iterable[str]) -> list[str]:
    """Stage file names from what a user types: `fit_nn.py`, `fit_nn`, `nn` or `5`, alone or
    separated by commas; each stage once, in the order first named. ValueError for a name
    that is no stage's, or for none at all."""
    resolved: list[str] = []
    for name in (part for text in names for part in text.split(",") if part):
        matches = [s for s in STAGES if name in (s, s[:-3], s[4:-3], str(stage_number(s)))]
        if not matches:
            raise ValueError(f"unknown stage {name!r}; choose from 1-8 or {', '.join(STAGES)}")
        resolved += [stage for stage in matches if stage not in resolved]
    if not resolved:
        raise ValueError("name at least one stage")
    return resolved


def one_stage(name: str) -> str:
    """The one stage a user names, read as resolve_stages reads it; ValueError for none, or for several."""
    stages = resolve_stages([name])
    if len(stages) != 1:
        raise ValueError("name one stage")
    return stages[0]


def settings(stage: str) -> dict[str, int | float]:
    """The settings a stage assigns at its top, read from its source without running it:
    {"points": 2000, "steps": 10000, "learning_rate": 1e-06}."""
    found = {}
    for node in ast.parse((ROOT / stage).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            found[ast.unparse(node.targets[0])] = node.value.value
    return {name: found[name] for name in ("points", "steps", "learning_rate")}


def least_squares() -> tuple[np.ndarray, float]:
    """The least-squares cubic through the stages' default points, and its loss: the floor."""
    x = np.linspace(-math.pi, math.pi, settings("fit_numpy.py")["points"])
    return plotting.least_squares_cubic(x, np.sin(x))


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: Iterable[int] = (0,)) -> str:
    """Rows as aligned text columns: those numbered in `left` left-aligned, the rest (numbers,
    so that their digits line up) right-aligned."""
    left = set(left)
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    lines = []
    for row in (header, *rows):
        cells = [cell.ljust(widths[n]) if n in left else cell.rjust(widths[n]) for n, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


@dataclass(frozen=True)
class Term:
    """One term of a fitted model, coefficient * x^power; an optional one is a term that
    stage 8 adds to some forward passes and not to others."""

    power: int
    coefficient: float
    optional: bool = False


@dataclass(frozen=True)
class StageLog:
    losses: dict[int, float]
    terms: tuple[Term, ...]
    result: str
    # What a stage says after a logged loss, by step: stage 8 names the degree it drew.
    notes: dict[int, str] = field(default_factory=dict)

    @property
    def final_loss(self) -> float:
        return self.losses[max(self.losses)]

    @property
    def coefficients(self) -> np.ndarray:
        """The coefficient of each power of x, from x^0 to the highest the Result names."""
        return np.bincount([term.power for term in self.terms], [term.coefficient for term in self.terms])

    @property
    def cubic(self) -> np.ndarray:
        """The coefficients of 1, x, x^2, x^3; a term of higher power is left out."""
        return np.pad(self.coefficients, (0, 4))[:4]

    def cubic_loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """The sum of squared errors of its cubic against y at the points x."""
        return float(np.square(np.polynomial.polynomial.polyval(x, self.cubic) - y).sum())


def _parse_model(model: str) -> tuple[Term, ...]:
    legendre = _LEGENDRE.match(model)
    if legendre:
        # a + b P3(c + d x), with P3(z) = (5 z^3 - 3 z) / 2, multiplied out into powers of x.
        a, b, c, d = map(float, legendre.groups())
        z = np.polynomial.Polynomial([c, d])
        return tuple(Term(power, float(value)) for power, value in enumerate((a + b * (5 * z**3 - 3 * z) / 2).coef))
    terms = []
    for text in model.split(" + "):
        term = _TERM.match(text)
        if term is None:
            raise ValueError(f"cannot read the term {text!r} of the model {model!r}")
        coefficient, power, optional = term.groups()
        terms.append(Term(int(power or (" x" in text)), float(coefficient), optional is not None))
    return tuple(terms)


def parse_log(text: str) -> StageLog:
    """Read a stage's printed log: the loss at each logged step and the fitted model."""
    losses: dict[int, float] = {}
    notes: dict[int, str] = {}
    terms, result = None, ""
    for line in text.splitlines():
        if line.startswith("Result: y = "):
            result, terms = line, _parse_model(line.removeprefix("Result: y = "))
        elif line.strip():
            try:
                step, loss, *note = line.split(maxsplit=2)
                losses[int(step)] = float(loss)
            except ValueError:
                raise ValueError(f"the line {line!r} is neither `<step> <loss>` nor `Result: y = ...`") from None
            if note:
                notes[int(step)] = note[0]
    if not losses or terms is None:
        raise ValueError("not a stage log: it needs `<step> <loss>` lines and a `Result: y = ...` line")
    return StageLog(losses, terms, result, notes)


@dataclass(frozen=True)
class StageRun:
    """What one run of a stage printed, and how it ended."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def log(self) -> StageLog:
        return parse_log(self.stdout)

    @property
    def error(self) -> str:
        """The last line the stage wrote to stderr: its own message, or the exception."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {self.returncode}"


def stage_command(stage: str | Path, *args: str, device: str | None = None) -> list[str]:
    """The command that runs a stage (a name in STAGES, or the path of a copy) with these
    flags, and on `device` if it is a torch stage."""
    path = ROOT / stage
    if device is not None and path.name in TORCH_STAGES:
        args = (*args, "--device", device)
    return [sys.executable, str(path), *args]


def utf8_env() -> dict[str, str]:
    """This process's environment, with a child's output in UTF-8, as the tools read it: by default Python writes
    to a pipe in the locale's encoding (cp1252 on many Windows machines), which a path like C:\\Users\\José breaks."""
    return os.environ | {"PYTHONIOENCODING": "utf-8"}


def run_stage(
    stage: str | Path, *args: str, device: str | None = None, cwd: Path | None = None, timeout: float = 600
) -> StageRun:
    """Run a stage as its own process, as a learner would, and keep what it printed; one that runs longer than
    `timeout` seconds is stopped, and says so as its error."""
    command = stage_command(stage, *args, device=device)
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=utf8_env(),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as late:
        # What it printed before it was stopped comes as bytes, whatever text=True says.
        printed = (late.stdout or b"").decode("utf-8", "replace")
        return StageRun(command, 1, printed, f"stopped after {timeout:g} s, still running")
    return StageRun(command, done.returncode, done.stdout, done.stderr)
