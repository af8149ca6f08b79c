"""What every stage shares and none of them teaches: the least-squares floor and the figures.

The stages import this module and nothing else of the project's. It never opens a window
unless asked to, so it works the same on a laptop, over ssh and in CI.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FIGURES_DIR = Path(__file__).resolve().parent / "figures"


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


def save_fit_figure(script: str, doc: str, x: Any, y: Any, y_pred: Any, show: bool = False) -> Path | None:
    """Draw a stage's fit beside the least-squares cubic, with both residuals below, and
    save it as figures/<stage>.png. `script` is the stage's __file__, `doc` its docstring."""
    x, y, y_pred = to_numpy(x), to_numpy(y), to_numpy(y_pred)
    coefficients, floor = least_squares_cubic(x, y)
    best = np.polynomial.polynomial.polyval(x, coefficients)
    loss = float(np.square(y_pred - y).sum())
    name = Path(script).stem

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
    return save_figure(figure, name, show)
