"""The stages as the tools and tests see them: their order, how to run them, and the one
reader of the log they print.

A stage prints `<step> <loss>` at its logged steps and ends with a `Result:` line naming
its fitted model. parse_log turns that text back into numbers, and run_stages runs several
stages at once as a learner would, each as its own `python fit_*.py` process.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import os
import random
import re
import runpy
import signal
import subprocess
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

import plotting

ROOT = Path(__file__).resolve().parent.parent

# In the order a learner reads them; stage N is STAGES[N - 1].
STAGES = plotting.STAGES
TORCH_STAGES = STAGES[1:]

_NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|inf|nan)"
_TERM = re.compile(rf"^({_NUMBER})(?: x(?:\^(\d+))?)?( \?)?$")
_LEGENDRE = re.compile(rf"^({_NUMBER}) \+ ({_NUMBER}) \* P3\(({_NUMBER}) \+ ({_NUMBER}) x\)$")


def stage_number(stage: str) -> int:
    return STAGES.index(stage) + 1


def resolve_stages(names: Iterable[str]) -> list[str]:
    """Stage file names from what a user types: `fit_nn.py`, `fit_nn`, `nn` or `5`, alone or
    separated by commas; each stage once, in the order first named. Naming none (`''` or
    `,`) is a ValueError too, as a tool has nothing to run then."""
    resolved: list[str] = []
    for name in (part for text in names for part in text.split(",") if part):
        for stage in STAGES:
            if name in (stage, stage[: -len(".py")], stage[len("fit_") : -len(".py")], str(stage_number(stage))):
                if stage not in resolved:
                    resolved.append(stage)
                break
        else:
            raise ValueError(f"unknown stage {name!r}; choose from 1-8 or {', '.join(STAGES)}")
    if not resolved:
        raise ValueError("name at least one stage")
    return resolved


@functools.cache
def stage_defaults(stage: str) -> dict[str, Any]:
    """The defaults a stage sets in its one call to plotting.command_line, read from its
    source without running it: {"steps": 10000, "learning_rate": 1e-06, ...}. Read once a
    process, so that a tool about to run a stage (the benchmark) starts it at once."""
    for node in ast.walk(ast.parse((ROOT / stage).read_text())):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "plotting.command_line":
            return {keyword.arg: ast.literal_eval(keyword.value) for keyword in node.keywords}
    raise ValueError(f"{stage} does not call plotting.command_line")


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: Iterable[int] = (0,)) -> str:
    """Rows as aligned text columns: those numbered in `left` left-aligned, the rest (numbers,
    so that their digits line up) right-aligned."""
    left = set(left)
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if column in left else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in (header, *rows)
    )


@dataclass(frozen=True)
class Term:
    """One term of a fitted model: coefficient * x^power. An optional term is one that
    stage 8 adds to some forward passes and not to others."""

    power: int
    coefficient: float
    optional: bool = False


@dataclass(frozen=True)
class StageLog:
    losses: dict[int, float]
    terms: tuple[Term, ...]
    result: str
    # What a stage says after a logged loss, by step: stage 8 names the degree its
    # forward pass drew, on which that loss depends.
    notes: dict[int, str] = field(default_factory=dict)

    @property
    def final_loss(self) -> float:
        return self.losses[max(self.losses)]

    @property
    def cubic(self) -> np.ndarray:
        """The coefficients of 1, x, x^2, x^3; a term of higher power is left out."""
        coefficients = np.zeros(4)
        for term in self.terms:
            if term.power < 4:
                coefficients[term.power] += term.coefficient
        return coefficients


def _legendre_terms(a: float, b: float, c: float, d: float) -> tuple[Term, ...]:
    """a + b P3(c + d x), with P3(z) = (5 z^3 - 3 z) / 2, multiplied out into powers of x."""
    z = np.polynomial.Polynomial([c, d])
    expanded = a + b * (5 * z**3 - 3 * z) / 2
    return tuple(Term(power, float(value)) for power, value in enumerate(expanded.coef))


def _parse_model(model: str) -> tuple[Term, ...]:
    legendre = _LEGENDRE.match(model)
    if legendre:
        return _legendre_terms(*map(float, legendre.groups()))
    terms = []
    for text in model.split(" + "):
        term = _TERM.match(text)
        if term is None:
            raise ValueError(f"cannot read the term {text!r} of the model {model!r}")
        coefficient, power, optional = term.groups()
        if power is None:
            power = "1" if " x" in text else "0"
        terms.append(Term(int(power), float(coefficient), optional is not None))
    return tuple(terms)


def parse_log(text: str) -> StageLog:
    """Read a stage's printed log: the loss at each logged step and the fitted model."""
    losses: dict[int, float] = {}
    notes: dict[int, str] = {}
    terms = None
    result = ""
    for line in text.splitlines():
        if line.startswith("Result: y = "):
            result = line
            terms = _parse_model(line[len("Result: y = ") :])
        elif line.strip():
            step, loss, *note = line.split(maxsplit=2)
            losses[int(step)] = float(loss)
            if note:
                notes[int(step)] = note[0]
    if not losses or terms is None:
        raise ValueError("not a stage log: it needs `<step> <loss>` lines and a `Result: y = ...` line")
    return StageLog(losses, terms, result, notes)


@dataclass(frozen=True)
class StageRun:
    stage: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float

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


def stage_command(stage: str, *args: str, device: str | None = None) -> list[str]:
    """The command line that runs a stage; the NumPy stage has no device to choose."""
    if device is not None and stage in TORCH_STAGES:
        args = (*args, "--device", device)
    return [sys.executable, str(ROOT / stage), *args]


class StageProcesses:
    """The stage processes a tool has started, so that it can stop every one of them when it
    is itself stopped (Ctrl-C, SIGTERM), instead of leaving them to run on as orphans."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[str]] = set()
        self.stopped = False

    def run(self, command: Sequence[str], **options: Any) -> tuple[int, str, str]:
        """Run the command to its end and return its exit status, stdout and stderr. Once
        stop() has been called it starts nothing, and returns what a process SIGTERM ended
        would have."""
        with self._lock:
            if self.stopped:
                return -signal.SIGTERM, "", ""
            process = subprocess.Popen(command, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options)
            self._running.add(process)
        try:
            stdout, stderr = process.communicate()
        except BaseException:
            # Stopped here, in the thread that started it (a tool running one stage).
            process.terminate()
            process.wait()
            raise
        finally:
            with self._lock:
                self._running.discard(process)
        return process.returncode, stdout, stderr

    def stop(self) -> None:
        """Stop every process still running, and start no more."""
        with self._lock:
            self.stopped = True
            for process in self._running:
                process.terminate()


def run_stage(
    stage: str,
    args: Sequence[str] = (),
    device: str | None = None,
    threads: int | None = None,
    cwd: Path | None = None,
    processes: StageProcesses | None = None,
) -> StageRun:
    """Run one stage as its own process, as a learner would, and keep what it printed."""
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    returncode, stdout, stderr = (processes or StageProcesses()).run(
        stage_command(stage, *args, device=device), env=env, cwd=cwd, stdin=subprocess.DEVNULL
    )
    return StageRun(stage, returncode, stdout, stderr, time.perf_counter() - start)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """warnings.showwarning as Python's own: the warning on sys.stderr, wherever that is now."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


@contextlib.contextmanager
def _process_state_kept() -> Iterator[None]:
    """Put back, afterwards, what a stage run in this process may change in it: the command
    line, the excepthook, signal handlers, NumPy's error handling, torch's grad mode, the
    random generators and the warning filters."""
    import torch

    argv, excepthook, errors, grad = sys.argv[:], sys.excepthook, np.geterr(), torch.is_grad_enabled()
    generators = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    signals = [getattr(signal, name) for name in ("SIGINT", "SIGPIPE") if hasattr(signal, name)]
    handlers = {number: signal.getsignal(number) for number in signals}
    try:
        with warnings.catch_warnings():
            # Python's own filters for a script: a warning once per place it comes from, and a
            # DeprecationWarning only where the script itself (__main__) triggers it. Each
            # change of the filters also forgets which warnings were already shown, so every
            # run shows its own, as a fresh process would.
            warnings.resetwarnings()
            for category in (ResourceWarning, ImportWarning, PendingDeprecationWarning, DeprecationWarning):
                warnings.filterwarnings("ignore", category=category)
            warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
            # Shown on this run's stderr, as Python shows them, whoever collects them here.
            warnings.showwarning = _show_warning
            # A new process seeds Python's random from the operating system; so does this run.
            random.seed()
            # What plotting.command_line does for a stage that is the program being run: the
            # loop reports an overflowing loss itself, so NumPy's warnings about it stay quiet.
            np.seterr(over="ignore", invalid="ignore")
            yield
    finally:
        sys.argv, sys.excepthook = argv, excepthook
        np.seterr(**errors)
        torch.set_grad_enabled(grad)
        random.setstate(generators[0])
        np.random.set_state(generators[1])
        torch.random.set_rng_state(generators[2])
        for number, handler in handlers.items():
            if handler is not None:
                signal.signal(number, handler)


def run_script_in_process(path: Path, args: Sequence[str]) -> tuple[int, str, str]:
    """Run a stage's file as `python <path> ARGS` would, inside this process, and return its
    exit status, stdout and stderr: torch is imported once for many runs, which makes the
    tests fast. The exit status and stderr are the ones Python would give: the message for
    sys.exit("..."), and for an exception a traceback that ends as a process's does, with
    runpy's frames above the script's. A stage's one-line messages for what a program that
    is being run alone hears (too little memory, a signal) are a process's only."""
    stdout, stderr = io.StringIO(), io.StringIO()
    returncode = 0
    with _process_state_kept(), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        sys.argv = [str(path), *args]
        try:
            runpy.run_path(str(path), run_name="__main__")
        except SystemExit as end:
            # plotting.Stopped is a signal ending the run: it ends this process too.
            if type(end).__name__ == "Stopped":
                raise
            if end.code is None or isinstance(end.code, int):
                returncode = end.code or 0
            else:
                print(end.code, file=sys.stderr)
                returncode = 1
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: B036 -- whatever the stage raised is what it did
            traceback.print_exception(error, file=sys.stderr)
            returncode = 1
    return returncode, stdout.getvalue(), stderr.getvalue()


def run_stage_in_process(stage: str, args: Sequence[str] = (), device: str | None = None) -> StageRun:
    """Run one stage inside this process, from the working directory, as run_stage runs it
    in a process of its own: the same output, but as run_script_in_process says."""
    start = time.perf_counter()
    returncode, stdout, stderr = run_script_in_process(ROOT / stage, stage_command(stage, *args, device=device)[2:])
    return StageRun(stage, returncode, stdout, stderr, time.perf_counter() - start)


def run_stages(
    stages: Sequence[str],
    args: Sequence[str] = (),
    jobs: int | None = None,
    device: str | None = None,
    on_finish: Callable[[StageRun], None] | None = None,
    cwd: Path | None = None,
) -> dict[str, StageRun]:
    """Run the stages side by side, `jobs` at a time (default: one per core), and return
    each one's run in the order given. on_finish hears of each run as it ends.

    The stages with the most steps (stage 8 trains three times as long) start first: left to
    the end, one would run alone on one core while the others stood idle. Whatever stops
    this function (Ctrl-C, a signal raising Stopped) stops the stages it started too, and
    nothing more is heard of them.
    """
    jobs = min(jobs or os.cpu_count() or 1, len(stages))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    processes = StageProcesses()

    def run(stage: str) -> StageRun:
        outcome = run_stage(stage, args, device, threads, cwd, processes)
        if on_finish is not None and not processes.stopped:
            on_finish(outcome)
        return outcome

    longest_first = sorted(stages, key=lambda stage: -stage_defaults(stage)["steps"])
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        try:
            runs = {outcome.stage: outcome for outcome in pool.map(run, longest_first)}
        except BaseException:
            # Before the pool's end waits for its threads, which wait for their stages.
            processes.stop()
            raise
    return {stage: runs[stage] for stage in stages}
