"""What every stage shares and none of them teaches: the command line, the device, the
least-squares floor and the figures.

A stage reads its flags with one call, command_line(__doc__, steps=..., learning_rate=...),
which shows the stage's own defaults where the stage sets them. Everything behind that call
(the flags and their checks, choosing and checking --device, one-line errors, a quiet end
on Ctrl-C or a closed pipe) lives here once, so that the stage files hold the lesson and
nothing else. The stages import this module and nothing else of the project's. It opens a
window only when asked to, so it works the same on a laptop, over ssh and in CI.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

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
# A notebook has no command line of its own (sys.argv holds the kernel's): there, the
# flags are read from this environment variable instead, e.g. STAGE_ARGS="--steps 1000".
ARGS_VARIABLE = "STAGE_ARGS"


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


def _end_quietly(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    """For an exception no stage catches: Ctrl-C ends the run with one line and exit status
    130 (the shell's code for an interrupt); anything else keeps Python's traceback."""
    if issubclass(kind, KeyboardInterrupt):
        try:
            sys.stdout.flush()
        except OSError:
            pass
        print(f"{Path(sys.argv[0]).name}: interrupted", file=sys.stderr)
        os._exit(130)
    sys.__excepthook__(kind, error, trace)


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
    the run with one line and exit status 2. Also quiets what would otherwise end a run in
    a traceback that teaches nothing: NumPy's overflow warnings (the loop reports a
    diverging loss itself), a pipe closed early (`| head -3`), and Ctrl-C.

    In a Jupyter kernel the flags come from the STAGE_ARGS environment variable rather
    than the kernel's own arguments, and the figure is shown in the notebook.
    """
    # A kernel running the stage as its own code; a tool that runs a stage in a kernel sets
    # sys.argv to the stage's command line, and that is read as usual.
    in_a_kernel = _in_a_kernel() and Path(sys.argv[0]).name not in STAGES
    # Called with flags of its own (as the tests do), it leaves the process as it is.
    runs_the_process = argv is None
    if runs_the_process and in_a_kernel:
        argv = shlex.split(os.environ.get(ARGS_VARIABLE, ""))
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
    args = parser.parse_args(argv)
    if args.points < 4:
        parser.error("argument --points: a cubic needs at least 4 points")
    if args.steps < 10 or args.steps % 10:
        parser.error("argument --steps: must be a positive multiple of 10")
    if not 0 < args.learning_rate < math.inf:
        parser.error("argument --learning-rate: must be positive and finite")
    if device is not None:
        try:
            args.device = usable_device(args.device)
        except ValueError as error:
            parser.error(f"argument --device: {error}")
        print(f"device: {args.device}", file=sys.stderr)

    if not runs_the_process:
        return args
    np.seterr(over="ignore", invalid="ignore")
    if in_a_kernel:
        # The notebook shows the figure under its cell; the kernel handles Ctrl-C itself.
        args.show = True
        return args
    # A reader that stops early (`| head -3`) ends the run as it ends other command-line
    # programs, without a BrokenPipeError; Windows has no SIGPIPE and no such error.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.excepthook = _end_quietly
    return args


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


def save_figure(figure: Figure, name: str, show: bool = False) -> Path | None:
    """Save the figure as figures/<name>.png in the project, whatever the working directory.

    A figure that cannot be saved is reported on stderr and None comes back: a run whose
    numbers are already printed should not fail for want of a picture.
    """
    path = FIGURES_DIR / f"{name}.png"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100)
        print(f"figure: {path}", file=sys.stderr)
    except (OSError, ValueError) as error:
        print(f"could not save the figure {path}: {error}", file=sys.stderr)
        path = None
    if show:
        import matplotlib
        import matplotlib.pyplot as plt

        # Without a display matplotlib falls back to Agg, which can only write files.
        if matplotlib.get_backend().lower() == "agg":
            print("no display to show the figure on, so it is only saved", file=sys.stderr)
        else:
            plt.show()
    return path


def save_fit_figure(doc: str, x: Any, y: Any, y_pred: Any, args: argparse.Namespace) -> None:
    """Draw a stage's fit beside the least-squares cubic, with both residuals below, and
    save it as figures/<stage>.png, unless --no-figure; show it too with --show. `doc` is
    the stage's docstring, which names the stage and titles the figure. Returns nothing,
    so that a notebook shows the figure under the stage's last cell and nothing else."""
    if args.no_figure:
        return
    x, y, y_pred = to_numpy(x), to_numpy(y), to_numpy(y_pred)
    coefficients, floor = least_squares_cubic(x, y)
    best = np.polynomial.polynomial.polyval(x, coefficients)
    loss = float(np.square(y_pred - y).sum())
    number = int(doc.split(":", 1)[0].removeprefix("Stage "))
    if not 1 <= number <= len(STAGES):
        raise ValueError(f"no stage {number}: a stage's docstring opens with 'Stage N: ', N from 1 to {len(STAGES)}")
    name = Path(STAGES[number - 1]).stem
    show = args.show

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
