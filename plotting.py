"""The one module the stages share: it reads their flags and draws their figure.

read_flags(__doc__, points=..., steps=..., ...) lets a flag override a stage's settings for
one run; save_fit_figure draws the fit beside the least-squares cubic, the best any cubic
can do, and saves it in figures/. least_squares_cubic computes that floor, for the figure,
the tools and the tests; points_flag, steps_flag, learning_rate_flag and device_flag check a
flag's value, for the stages and the tools alike. Importing this module changes nothing in
the process.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FIGURES_DIR = Path(__file__).resolve().parent / "figures"
# The largest float32, the number type of the torch stages: a larger rate cannot be stored.
LARGEST_RATE = float(np.finfo(np.float32).max)
# The most memory a stage needs for each point, with room to spare: measured at 10 million
# points, about 56 bytes in the NumPy stage (float64) and at most 40 in the torch stages.
BYTES_PER_POINT = 64


def _number(kind: type, text: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}") from None


def points_flag(text: str) -> int:
    points = _number(int, text)
    if points < 4:
        raise argparse.ArgumentTypeError("a cubic needs at least 4 points")
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        # Windows has no sysconf: there a size too large ends in torch's or NumPy's own error.
        return points
    if points * BYTES_PER_POINT > memory:
        raise argparse.ArgumentTypeError(f"{points} points need more than this machine's {memory / 1e9:.3g} GB")
    return points


def steps_flag(text: str) -> int:
    steps = _number(int, text)
    if steps < 10 or steps % 10:
        raise argparse.ArgumentTypeError("must be a positive multiple of 10, as every tenth step is logged")
    return steps


def learning_rate_flag(text: str) -> float:
    rate = _number(float, text)
    if not 0 < rate <= LARGEST_RATE:
        raise argparse.ArgumentTypeError(f"must be positive and at most {LARGEST_RATE:.4g}, the largest float32")
    return rate


def device_flag(name: str) -> Any:
    import torch

    try:
        device = torch.device(name)
        # "cuda" names a device even where there is no GPU: computing one number there tells.
        torch.zeros(1, device=device).item()
    except (RuntimeError, AssertionError, NotImplementedError):
        raise argparse.ArgumentTypeError(f"{name!r} is not a device torch can use here") from None
    return device


def read_flags(doc: str | None, *, points: int, steps: int, learning_rate: float, device: Any = None) -> Any:
    """The stage's settings, each replaced by its flag where the command line gives one, as a
    namespace: points, steps, learning_rate, device (for a torch stage), and what to do with
    the figure. A wrong or abbreviated flag, or a value the stage cannot run with, ends the
    run with one line and exit status 2. In a Jupyter kernel, whose command line is the
    kernel's own, the settings stand as the stage wrote them, and the figure is shown inline."""
    parser = argparse.ArgumentParser(
        description=doc, usage=argparse.SUPPRESS, allow_abbrev=False, formatter_class=argparse.RawTextHelpFormatter
    )
    default = " (default: %(default)s)"
    parser.add_argument("--points", type=points_flag, default=points, help="fit this many points" + default)
    parser.add_argument("--steps", type=steps_flag, default=steps, help="train steps 0..STEPS" + default)
    parser.add_argument("--learning-rate", type=learning_rate_flag, default=learning_rate, help="step size" + default)
    if device is not None:
        parser.add_argument("--device", type=device_flag, default=device, help="cpu, cuda, mps, ..." + default)
    parser.add_argument("--no-figure", dest="figure", action="store_false", help="do not save the figure")
    parser.add_argument("--show", action="store_true", help="also show the figure in a window")
    # The figure is named after the stage (fit_nn.png) and titled with its file's name and the
    # first line of its docstring (python -OO removes the docstring).
    title = (doc or "").strip().partition("\n")[0]
    # A Jupyter kernel (a notebook, VS Code's interactive window) is started as ipykernel_launcher.
    if "ipykernel" in Path(sys.argv[0]).name:
        flags = parser.parse_args([])
        flags.figure, flags.show, flags.name, flags.title = False, True, "notebook", title
    else:
        flags = parser.parse_args()
        flags.name, flags.title = parser.prog.removesuffix(".py"), f"{parser.prog}\n{title}".strip()
    return flags


def least_squares_cubic(x: Any, y: Any) -> tuple[np.ndarray, float]:
    """The best cubic through the points, in float64: its coefficients of 1, x, x^2, x^3
    and its sum of squared errors, which no cubic fitted to these points can go below."""
    powers = np.vander(np.asarray(x, dtype=np.float64), 4, increasing=True)
    y = np.asarray(y, dtype=np.float64)
    coefficients = np.linalg.lstsq(powers, y, rcond=None)[0]
    return coefficients, float(np.square(powers @ coefficients - y).sum())


def new_figure(show: bool, **options: Any) -> Any:
    """A figure to draw on: through pyplot, which needs a display, only if it is to be shown."""
    if show:
        import matplotlib.pyplot as plt

        return plt.figure(**options)
    from matplotlib.figure import Figure

    return Figure(**options)


def save_figure(figure: Any, name: str, save: bool = True, show: bool = False) -> None:
    """Save the figure as figures/<name>.png and say where on stderr; show it too if asked."""
    if save:
        FIGURES_DIR.mkdir(exist_ok=True)
        figure.savefig(FIGURES_DIR / f"{name}.png", dpi=100)
        print(f"figure: {FIGURES_DIR / name}.png", file=sys.stderr)
    if show:
        import matplotlib
        import matplotlib.pyplot as plt

        # Without a display matplotlib falls back to Agg, which can only write files.
        if matplotlib.get_backend().lower() == "agg":
            print("no display to show the figure on", file=sys.stderr)
        else:
            plt.show()


def draw_or_say(draw: Callable[..., None], *args: Any) -> None:
    """Call draw(*args). The results are printed by then, so whatever stops a figure being
    drawn or saved (its folder, the backend) is one line on stderr, and the run goes on."""
    try:
        draw(*args)
    except Exception as error:
        print(f"could not draw the figure: {type(error).__name__}: {error}", file=sys.stderr)


def save_fit_figure(x: Any, y: Any, y_pred: Any, flags: Any) -> None:
    """Draw the stage's fit and the least-squares cubic, with both residuals below, and save
    it as figures/<stage>.png, unless --no-figure. x, y and y_pred are NumPy arrays or CPU
    tensors that do not require grad."""
    if flags.figure or flags.show:
        draw_or_say(_draw_fit, x, y, y_pred, flags)


def _draw_fit(x: Any, y: Any, y_pred: Any, flags: Any) -> None:
    x, y, y_pred = (np.asarray(values, dtype=np.float64) for values in (x, y, y_pred))
    coefficients, floor = least_squares_cubic(x, y)
    best = np.polynomial.polynomial.polyval(x, coefficients)
    loss = float(np.square(y_pred - y).sum())

    figure = new_figure(flags.show, figsize=(8, 6.5), layout="constrained")
    fit_axes, residual_axes = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    figure.suptitle(flags.title, fontsize=10)
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
    save_figure(figure, flags.name, flags.figure, flags.show)
