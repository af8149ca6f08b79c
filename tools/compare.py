"""Run the stages side by side and compare what they print.

    python tools/compare.py                 # all eight stages
    python tools/compare.py 2 3 7           # the ones named, by number or name
    python tools/compare.py --device cpu    # the torch stages on the CPU, even with a GPU

Shows the loss logs in one table (a row per logged step, a column per stage, the
least-squares floor beside them), the fitted models in another (every stage's cubic as
coefficients of 1, x, x^2, x^3, beside the least-squares cubic, with each stage's gap to
the floor), and draws every stage's loss against the step in figures/compare_losses.png.
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

# `python tools/<tool>.py` puts tools/ on the path, not the project folder that holds
# plotting.py and the tools package; put it first, so this checkout's code is the one used.
if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import plotting  # noqa: E402
from tools.stages import (  # noqa: E402
    STAGES,
    StageLog,
    StageRun,
    resolve_stages,
    run_stages,
    stage_number,
    text_table,
)

TERMS = ("1", "x", "x^2", "x^3", "x^4", "x^5")


def least_squares() -> tuple[np.ndarray, float]:
    """The least-squares cubic through the stages' points, and its loss: the floor."""
    x = np.linspace(-math.pi, math.pi, plotting.POINTS)
    return plotting.least_squares_cubic(x, np.sin(x))


def short_name(stage: str) -> str:
    return f"{stage_number(stage)} {stage[len('fit_') : -len('.py')]}"


def _loss(log: StageLog, step: int) -> str:
    """A logged loss, with what the stage said of it (stage 8: the degree drawn)."""
    return " ".join([f"{log.losses[step]:.7g}", *([log.notes[step]] if step in log.notes else [])])


def loss_table(logs: Mapping[str, StageLog], floor: float) -> str:
    """One row per logged step of any stage, one column per stage; blank where a stage
    logs no loss at that step (stage 8 logs every 3000 steps, the others every 1000)."""
    steps = sorted({step for log in logs.values() for step in log.losses})
    header = ["step", *(short_name(stage) for stage in logs), "floor"]
    rows = [
        [str(step), *(_loss(log, step) if step in log.losses else "" for log in logs.values()), f"{floor:.7g}"]
        for step in steps
    ]
    return text_table(header, rows)


def _coefficient(log: StageLog, power: int) -> str:
    terms = [term for term in log.terms if term.power == power]
    if not terms:
        return "" if power > 3 else "0"
    # Stage 8 adds e x^4 and e x^5 only on some passes: mark them so.
    return f"{sum(term.coefficient for term in terms):.6g}" + (" ?" if any(term.optional for term in terms) else "")


def model_table(logs: Mapping[str, StageLog], least_squares: tuple[np.ndarray, float]) -> str:
    """Each stage's fitted model as coefficients of the powers of x (stage 4's
    a + b P3(c + d x) multiplied out), the least-squares cubic last, then the final loss
    and its gap to the floor. `?` marks stage 8's terms that some passes leave out."""
    coefficients, floor = least_squares
    # The even coefficients vanish by symmetry; float64 leaves them at rounding level (1e-17),
    # in digits that differ from one processor to the next, so they are shown as the 0 they are.
    coefficients = np.where(abs(coefficients) < 1e-12 * abs(coefficients).max(), 0.0, coefficients)
    powers = range(max(max(term.power for term in log.terms) for log in logs.values()) + 1)
    header = ["term", *(short_name(stage) for stage in logs), "least squares"]
    rows = [
        [
            TERMS[power],
            *(_coefficient(log, power) for log in logs.values()),
            f"{coefficients[power]:.6g}" if power < 4 else "",
        ]
        for power in powers
    ]
    rows.append(["final loss", *(_loss(log, max(log.losses)) for log in logs.values()), f"{floor:.7g}"])
    rows.append(["gap to floor", *(f"{log.final_loss / floor - 1:+.2e}" for log in logs.values()), "0"])
    return text_table(header, rows)


def draw_losses(logs: Mapping[str, StageLog], floor: float, show: bool = False) -> Path | None:
    """Every stage's loss against the step, and, beside it, how far each one stays from the
    floor: there the float32 stages settle at rounding level and RMSprop visibly above."""
    figure = plotting.new_figure(show, figsize=(12, 5), layout="constrained")
    loss_axes, gap_axes = figure.subplots(1, 2)
    for stage, log in logs.items():
        steps = list(log.losses)
        losses = np.array([log.losses[step] for step in steps])
        style = {"marker": "o", "markersize": 3, "label": short_name(stage)}
        loss_axes.plot(steps, losses, **style)
        gap_axes.plot(steps, losses - floor, **style)
    loss_axes.axhline(floor, color="k", linestyle="--", linewidth=1, label=f"least-squares floor ({floor:.4f})")
    loss_axes.set_yscale("log")
    loss_axes.set_ylabel("loss (sum of squared errors)")
    loss_axes.set_title("Loss at each logged step")
    gap_axes.axhline(0, color="k", linestyle="--", linewidth=1)
    # symlog: logarithmic away from zero, linear within 1e-8 of it, so that stage 8's
    # dip below the floor shows too.
    gap_axes.set_yscale("symlog", linthresh=1e-8)
    gap_axes.set_ylim(bottom=-1)
    gap_axes.set_ylabel("loss - floor")
    gap_axes.set_title("Distance to the floor")
    for axes in (loss_axes, gap_axes):
        axes.set_xlabel("step")
    loss_axes.legend(fontsize=8, ncols=2)
    return plotting.save_figure(figure, "compare_losses", show)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stages", nargs="*", help="stages to run, by number (1-8) or name (default: all)")
    parser.add_argument("--device", default="auto", help="passed to every torch stage: auto, cpu, cuda, mps, ...")
    parser.add_argument("--jobs", type=int, help="stages to run at once (default: one per core)")
    parser.add_argument("--no-figure", action="store_true", help="skip figures/compare_losses.png")
    parser.add_argument("--show", action="store_true", help="also open the figure in a window")
    args = parser.parse_args(argv)
    try:
        stages = resolve_stages(args.stages) if args.stages else list(STAGES)
    except ValueError as error:
        parser.error(f"argument stages: {error}")
    if args.jobs is not None and args.jobs < 1:
        parser.error("argument --jobs: must be at least 1")
    try:
        plotting.checked_device(args.device)
    except ValueError as error:
        parser.error(f"argument --device: {error}")

    finished = 0
    lock = threading.Lock()

    def report(run: StageRun) -> None:
        nonlocal finished
        with lock:
            finished += 1
            outcome = f"final loss {run.log.final_loss:.7g}" if run.ok else f"FAILED: {run.error}"
            plotting.say(f"[{finished}/{len(stages)}] {run.stage} in {run.seconds:.1f} s, {outcome}")

    runs = run_stages(stages, ["--no-figure"], jobs=args.jobs, device=args.device, on_finish=report)
    logs = {stage: run.log for stage, run in runs.items() if run.ok}
    failed = [run for run in runs.values() if not run.ok]

    best = least_squares()
    if logs:
        print("Loss at each logged step\n")
        print(loss_table(logs, best[1]))
        print("\nFitted models\n")
        print(model_table(logs, best))
        if not args.no_figure:
            with plotting.drawing("of the losses"):
                draw_losses(logs, best[1], args.show)
    for run in failed:
        plotting.say(f"{run.stage} failed (exit status {run.returncode}): {run.error}")
    return 1 if failed else 0


if __name__ == "__main__":
    plotting.run_as_program()
    sys.exit(main())
