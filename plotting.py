"""What every stage shares and none of them teaches: the command line, the device, the
least-squares floor and the figures.

A stage reads its flags with one call, command_line(__doc__, steps=..., learning_rate=...),
which shows the stage's own defaults where the stage sets them. Everything behind that call
(the flags and their checks, choosing and checking --device, one-line errors, how a run
ends) lives here once, so that the stage files hold the lesson and nothing else. The stages
import this module and nothing else of the project's. It opens a window only when asked to,
so it works the same on a laptop, over ssh and in CI.

Only a stage that is the program being run (`python fit_numpy.py`) changes its process, with
run_as_program, as the tools do too: then every line is written as it is printed, a signal
(Ctrl-C, SIGTERM, SIGHUP) ends the run with one line and the shell's status for it, and a
closed pipe ends it quietly. A stage imported by another program, run as a notebook or run
inside a tool leaves its host as it was, and takes its flags from STAGE_ARGS or from the
sys.argv the tool set. Messages go through say(), so that a closed or full stderr can
neither fail a run nor write into its log.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import io
import os
import shlex
import signal
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

FIGURES_DIR = Path(__file__).resolve().parent / "figures"
# Every stage fits this many evenly spaced points of sin(x) unless --points says otherwise.
POINTS = 2000
# The stages in the order a learner reads them: stage N's docstring opens "Stage N: ".
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
# A notebook, or a program that imports a stage, has no command line of the stage's own
# (sys.argv holds the kernel's or the program's): there, the flags are read from this
# environment variable instead, e.g. STAGE_ARGS="--steps 1000".
ARGS_VARIABLE = "STAGE_ARGS"
# The largest float32, the number type of the torch stages: a learning rate above it cannot
# even be stored in the update, which torch.optim refuses with an overflow error.
LARGEST_RATE = float(np.finfo(np.float32).max)
# The most memory a stage takes a point at its peak, measured with 10 million points: about
# 56 bytes in the NumPy stage, whose arrays and their temporaries are float64, and at most 40
# in the torch stages, in float32.
BYTES_PER_POINT = 64
# What the one line says when each signal ends a run. By name, since Windows has no SIGHUP.
ENDINGS = {"SIGINT": "interrupted", "SIGTERM": "terminated", "SIGHUP": "its terminal hung up"}


class Stopped(SystemExit):
    """Raised where a program is when a signal ends it, so that its `finally` blocks run and
    Python flushes what it printed before exiting with the shell's status for the signal,
    128 + its number, and no traceback. A tool that runs a stage inside itself and catches
    the stage's SystemExit lets this one through."""


def usable_device(name: str) -> torch.device:
    """The device torch names `name`, if torch can compute on it here; else ValueError.
    "auto" is the accelerator torch finds (cuda, mps, ...), else the CPU."""
    import torch

    if name == "auto":
        # Ask is_available() first: before torch 2.7, current_accelerator() raises where
        # there is no accelerator rather than returning None.
        name = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    try:
        device = torch.device(name)
        # Naming a device is not enough: "cuda" parses on a machine without a GPU, and
        # "meta" holds shapes but no numbers. Computing one number there tells.
        torch.zeros(1, device=device).item()
    except (RuntimeError, AssertionError, NotImplementedError, ImportError):
        raise ValueError(f"{name!r} is not a device torch can use here") from None
    return device


def checked_device(name: str) -> str:
    """A tool's --device, checked now, in one line, rather than by each stage it runs: "cpu",
    which every torch has, as it is, without importing torch (seconds); any other as
    usable_device names it, or ValueError."""
    return name if name == "cpu" else str(usable_device(name))


def say(message: str, stream: TextIO | None = None, end: str = "\n") -> None:
    """Write a line on stderr (or `stream`) if it can be written, at once, even with `end`
    "" (the first half of a line); never on stdout, where print would put it when stderr is
    closed, and never at the cost of the run."""
    stream = stream or sys.stderr
    if stream is not None:
        with contextlib.suppress(OSError, ValueError):
            print(message, file=stream, end=end, flush=True)


def handle_endings(handler: Any) -> None:
    """Give every signal that ends a run (those of ENDINGS this platform has) to `handler`."""
    for name in ENDINGS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handler)


def _stop(program: str, stderr: TextIO, signum: int, frame: FrameType | None) -> None:
    """The handler of the signals that end a run. It names the program and writes to the
    stderr it started with, as a tool running a stage inside itself (the benchmark) may
    have set sys.argv and sys.stderr to the stage's just then."""
    # A second signal while the first one's run unwinds ends the process at once.
    handle_endings(signal.SIG_DFL)
    say(f"{program}: {ENDINGS[signal.Signals(signum).name]}", stderr)
    raise Stopped(128 + signum)


def _one_line_for_what_the_user_can_change(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    """For an exception nothing caught: what the system refused (a full disk, say) or a size
    too large for memory is told in one line; anything else keeps Python's traceback."""
    name = Path(sys.argv[0]).name
    if issubclass(kind, OSError):
        # The reader of stdout gone (`| head -3`) loses nothing, and needs no word.
        if not issubclass(kind, BrokenPipeError):
            say(f"{name}: {error}")
        # What stdout could not take would fail again at exit, and be told twice.
        sys.stdout = None
    elif issubclass(kind, MemoryError) or kind.__name__ == "OutOfMemoryError" or "can't allocate memory" in str(error):
        # NumPy raises MemoryError; torch an OutOfMemoryError on an accelerator and a
        # RuntimeError from its CPU allocator, each naming the bytes it asked for.
        say(f"{name}: not enough memory, try fewer --points: {str(error).strip().splitlines()[0]}")
    else:
        sys.__excepthook__(kind, error, trace)


def _flush_or_drop_stdout() -> None:
    """At exit, before Python flushes stdout itself: what stdout still holds (argparse lets
    a --help it could not write pass) is written, or said in one line and dropped, so that
    Python's own flush does not fail again, with "Exception ignored" and status 120."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except (OSError, ValueError) as error:
        if not isinstance(error, BrokenPipeError):
            say(f"{Path(sys.argv[0]).name}: {error}")
        sys.stdout = None


def run_as_program() -> None:
    """Make this process end as a careful command-line program does; for a stage or tool
    that is the program being run, never for one imported or run inside another program.

    Every line printed is written at once, so that a run killed outright keeps its log; a
    character the output's encoding lacks is replaced, not fatal. Ctrl-C, SIGTERM and
    SIGHUP raise Stopped; a signal the process started with ignored (SIGINT under `cmd &`
    in a script, SIGHUP under nohup) stays ignored, as its parent meant. A reader of stdout
    that stops early (`| head -3`) ends the run quietly, with status 1. SIGPIPE stays ignored,
    as Python sets it, so that a stderr whose reader has gone costs only the messages, not
    the run. A closed stdout ends the run at once.
    """
    global _runs_the_process
    if _runs_the_process:
        return
    _runs_the_process = True
    if sys.stdout is None:
        sys.exit(f"{Path(sys.argv[0]).name}: stdout is closed, so there is nowhere to print the results")
    with contextlib.suppress(AttributeError):
        sys.stdout.reconfigure(line_buffering=True, errors="replace")
    # stderr without a buffer: a message it cannot take (its reader gone, its disk full) is
    # dropped at once, rather than kept to fail again when Python flushes stderr at exit,
    # which would change the exit status to 120.
    with contextlib.suppress(AttributeError, OSError, ValueError):
        raw = io.FileIO(sys.stderr.fileno(), "w", closefd=False)
        sys.stderr = io.TextIOWrapper(raw, sys.stderr.encoding, "backslashreplace", line_buffering=True)
    for name in ENDINGS:
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) is not signal.SIG_IGN:
            signal.signal(getattr(signal, name), functools.partial(_stop, Path(sys.argv[0]).name, sys.stderr))
    sys.excepthook = _one_line_for_what_the_user_can_change
    atexit.register(_flush_or_drop_stdout)


# Whether run_as_program has already made this process a program's: it does so once.
_runs_the_process = False


def _is_the_program(module: Mapping[str, Any]) -> bool:
    """Whether the module with these globals is the program Python was started to run
    (`python fit_numpy.py ...` or `python -m fit_numpy ...`). A program that runs a stage
    inside itself through runpy, as the benchmark and the tests do, sets sys.argv to the
    stage's command line, but sys.orig_argv still holds the one Python was started with."""
    if module.get("__name__") != "__main__" or len(sys.orig_argv) <= len(sys.argv):
        return False
    started = sys.orig_argv[len(sys.orig_argv) - len(sys.argv) :]
    return started[1:] == sys.argv[1:] and started[0] in (sys.argv[0], getattr(module.get("__spec__"), "name", None))


def _in_a_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (a notebook, VS Code's interactive
    window), whose shell, unlike plain IPython's, has a kernel."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and hasattr(ipython.get_ipython(), "kernel")


def command_line(
    doc: str,
    *,
    steps: int,
    learning_rate: float,
    device: str | None = None,
    argv: Sequence[str] | None = None,
) -> argparse.Namespace:
    """Read a stage's flags from the command line, with the stage's own defaults.

    Returns points, steps, learning_rate, no_figure and show; with a default `device`
    (torch stages only) also device, as a checked torch.device. A wrong flag or value ends
    the run with one line and exit status 2, and so does a --points too large for this
    machine's memory or a --learning-rate too large for float32.

    The flags are `argv` where given (the tests), else sys.argv's in a stage run as
    `__main__`, by Python or by a tool that sets sys.argv. A stage that has no command line
    of its own, imported by another program or run in a Jupyter kernel, reads them from the
    STAGE_ARGS environment variable; in a kernel the figure is shown in the notebook too.
    Only a stage that is the program Python was started to run changes the process (see
    run_as_program), and quiets NumPy's overflow warnings, as the loop reports a diverging
    loss itself.
    """
    # The globals of the stage that called: whether it is __main__, and how it was started.
    stage = sys._getframe(1).f_globals
    # A kernel running the stage as its own code; a tool that runs a stage in a kernel sets
    # sys.argv to the stage's command line, and that is read as usual.
    in_a_kernel = _in_a_kernel() and Path(sys.argv[0]).name not in STAGES
    runs_the_process = argv is None and not in_a_kernel and _is_the_program(stage)
    if runs_the_process:
        # Before the flags are read, so that even `--help | head -1` ends quietly.
        run_as_program()
        np.seterr(over="ignore", invalid="ignore")
    parser = argparse.ArgumentParser(
        description=doc, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--points", type=int, default=POINTS, metavar="N", help="fit N points of sin(x) (default: %(default)s)"
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=steps,
        metavar="N",
        help="run steps 0..N, N a multiple of 10; log every N/10th (default: %(default)s)",
    )
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=learning_rate,
        metavar="R",
        help="the step size; the loss sums over the points, so more points want a smaller rate (default: %(default)s)",
    )
    if device is not None:
        parser.add_argument(
            "--device",
            default=device,
            metavar="D",
            help="auto (an accelerator if torch finds one, else cpu), cpu, cuda, mps, ... (default: %(default)s)",
        )
    parser.add_argument("--no-figure", action="store_true", help="skip drawing the figure in figures/")
    parser.add_argument("--show", action="store_true", help="also open the figure in a window")
    from_the_environment = argv is None and (in_a_kernel or stage.get("__name__") != "__main__")
    if from_the_environment:
        try:
            argv = shlex.split(os.environ.get(ARGS_VARIABLE, ""))
        except ValueError as error:
            parser.error(f"{ARGS_VARIABLE}: {error}")
    args = parser.parse_args(argv)
    try:
        check_points(args.points)
    except ValueError as error:
        parser.error(f"argument --points: {error}")
    if args.steps < 10 or args.steps % 10:
        parser.error("argument --steps: must be a positive multiple of 10")
    if not 0 < args.learning_rate <= LARGEST_RATE:
        parser.error(f"argument --learning-rate: must be positive and at most {LARGEST_RATE:.4g}, the largest float32")
    if device is not None:
        try:
            args.device = usable_device(args.device)
        except ValueError as error:
            parser.error(f"argument --device: {error}")
        say(f"device: {args.device}")
    # The notebook shows the figure under its cell.
    args.show = args.show or (in_a_kernel and from_the_environment)
    return args


def check_points(points: int) -> None:
    """ValueError unless a stage can fit this many points: at least 4, for a cubic, and no
    more than this machine's memory holds, where Python can tell how much that is (not on
    Windows), so that a size too large is one line now rather than an error, or the system
    ending the process, after the log has begun."""
    if points < 4:
        raise ValueError("a cubic needs at least 4 points")
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return
    if points * BYTES_PER_POINT > memory:
        needed, held = f"{points * BYTES_PER_POINT / 1e9:.3g} GB", f"{memory / 1e9:.3g} GB"
        raise ValueError(f"{points} points need about {needed}, more than this machine's {held}")


def least_squares_cubic(x: Any, y: Any) -> tuple[np.ndarray, float]:
    """The best cubic through the points, in float64: its coefficients of 1, x, x^2, x^3
    and its sum of squared errors, which no cubic fitted to these points can go below."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    powers = np.vander(x, 4, increasing=True)
    coefficients = np.linalg.lstsq(powers, y, rcond=None)[0]
    floor = float(np.square(powers @ coefficients - y).sum())
    return coefficients, floor


def to_numpy(values: Any) -> np.ndarray:
    """A NumPy copy of an array or a tensor, wherever the tensor lives and whatever it tracks."""
    if hasattr(values, "detach"):
        values = values.detach().cpu()
    return np.asarray(values, dtype=np.float64)


def new_figure(show: bool, **kwargs: Any) -> Figure:
    """A figure for save_figure; through pyplot only when a window was asked for, so that
    a figure that is only saved needs no display and no interactive backend. matplotlib is
    imported here, not at the top, so that a run with --no-figure does not wait for it."""
    if show:
        import matplotlib.pyplot as plt

        return plt.figure(**kwargs)
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def save_figure(figure: Figure, name: str, show: bool = False) -> Path:
    """Save the figure as figures/<name>.png in the project, whatever the working directory,
    and say where on stderr; show it too if asked. Call it within drawing(), which reports
    a figure that cannot be drawn or saved."""
    path = FIGURES_DIR / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    say(f"figure: {path}")
    if show:
        import matplotlib
        import matplotlib.pyplot as plt

        # Without a display matplotlib falls back to Agg, which can only write files.
        if matplotlib.get_backend().lower() == "agg":
            say("no display to show the figure on, so it is only saved")
        else:
            plt.show()
    return path


@contextlib.contextmanager
def drawing(name: str) -> Iterator[None]:
    """Around the drawing of a figure, which comes after the results are printed: whatever
    stops it (the file or its folder, matplotlib's backend, a docstring that python -OO
    removed) is said in one line on stderr, and the run ends as it would have without it."""
    try:
        yield
    except Exception as error:
        say(f"could not draw the figure {name}: {type(error).__name__}: {error}")


def save_fit_figure(doc: str | None, x: Any, y: Any, y_pred: Any, args: argparse.Namespace) -> None:
    """Draw a stage's fit beside the least-squares cubic, with both residuals below, and
    save it as figures/<stage>.png, unless --no-figure; show it too with --show. `doc` is
    the stage's docstring, which names the stage and titles the figure. Returns nothing,
    so that a notebook shows the figure under the stage's last cell and nothing else."""
    if args.no_figure:
        return
    with drawing("of this stage"):
        if doc is None:
            raise ValueError("the stage's docstring, which names it, is gone (python -OO removes it)")
        number = int(doc.split(":", 1)[0].removeprefix("Stage "))
        if not 1 <= number <= len(STAGES):
            raise ValueError(
                f"no stage {number}: a stage's docstring opens with 'Stage N: ', N from 1 to {len(STAGES)}"
            )
        _draw_fit(Path(STAGES[number - 1]).stem, doc, x, y, y_pred, args.show)


def _draw_fit(name: str, doc: str, x: Any, y: Any, y_pred: Any, show: bool) -> None:
    x, y, y_pred = to_numpy(x), to_numpy(y), to_numpy(y_pred)
    coefficients, floor = least_squares_cubic(x, y)
    best = np.polynomial.polynomial.polyval(x, coefficients)
    loss = float(np.square(y_pred - y).sum())

    figure = new_figure(show, figsize=(8, 6.5), layout="constrained")
    fit_axes, residual_axes = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    figure.suptitle(f"{name}.py\n{doc.strip().splitlines()[0]}", fontsize=10)

    fit_axes.plot(x, y, color="0.6", linewidth=4, label="sin(x), the data")
    fit_axes.plot(x, y_pred, color="tab:blue", label=f"this stage's fit (loss {loss:.4f})")
    fit_axes.plot(x, best, "k--", linewidth=1, label=f"least-squares cubic (loss {floor:.4f}, the floor)")
    fit_axes.set_ylabel("y")
    fit_axes.legend(loc="upper left", fontsize=8)

    residual_axes.axhline(0, color="0.6", linewidth=1)
    residual_axes.plot(x, y_pred - y, color="tab:blue", label="this stage's fit - sin(x)")
    residual_axes.plot(x, best - y, "k--", linewidth=1, label="least-squares cubic - sin(x)")
    residual_axes.set_xlabel("x")
    residual_axes.set_ylabel("residual")
    residual_axes.legend(loc="upper center", fontsize=8)
    save_figure(figure, name, show)


# A stage imports this module before torch, whose import takes a second or two: a stage that
# is the program being run becomes one here, so that Ctrl-C or kill during that import
# already ends it in one line.
_main = sys.modules.get("__main__")
if Path(getattr(_main, "__file__", None) or "").name in STAGES and _is_the_program(vars(_main)):
    run_as_program()
