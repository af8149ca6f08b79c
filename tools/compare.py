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

import signal
import sys
from argparse import SUPPRESS, ArgumentParser, RawDescriptionHelpFormatter
from collections.abc import Mapping, Sequence
from subprocess import PIPE, Popen

import numpy as np

import plotting
from tools.stages import STAGES, StageLog, StageRun, least_squares, resolve_stages, stage_command, text_table, utf8_env

TERMS = ("1", "x", "x^2", "x^3", "x^4", "x^5")


def short_name(stage: str) -> str:
    return f"{STAGES.index(stage) + 1} {stage.removeprefix('fit_').removesuffix('.py')}"


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
    best = [f"{value:.6g}" for value in coefficients] + ["", ""]
    rows = [[TERMS[power], *(_coefficient(log, power) for log in logs.values()), best[power]] for power in powers]
    rows.append(["final loss", *(_loss(log, max(log.losses)) for log in logs.values()), f"{floor:.7g}"])
    rows.append(["gap to floor", *(f"{log.final_loss / floor - 1:+.2e}" for log in logs.values()), "0"])
    return text_table(header, rows)


def draw_losses(logs: Mapping[str, StageLog], floor: float, show: bool = False) -> None:
    """Every stage's loss against the step, and, beside it, how far each one stays from the
    floor: there the float32 stages settle at rounding level and RMSprop visibly above."""
    figure = plotting.new_figure(show, figsize=(12, 5), layout="constrained")
    loss_axes, gap_axes = figure.subplots(1, 2)
    for stage, log in logs.items():
        steps, losses = list(log.losses), np.array(list(log.losses.values()))
        style = {"marker": "o", "markersize": 3, "label": short_name(stage)}
        loss_axes.plot(steps, losses, **style)
        gap_axes.plot(steps, losses - floor, **style)
    loss_axes.axhline(floor, color="k", linestyle="--", linewidth=1, label=f"least-squares floor ({floor:.4f})")
    loss_axes.set(xlabel="step", yscale="log", ylabel="loss (sum of squared errors)", title="Loss at each logged step")
    gap_axes.axhline(0, color="k", linestyle="--", linewidth=1)
    # symlog: logarithmic away from zero, linear within 1e-8 of it, so that stage 8's
    # dip below the floor shows too.
    gap_axes.set_yscale("symlog", linthresh=1e-8)
    gap_axes.set(xlabel="step", ylim=(-1, None), ylabel="loss - floor", title="Distance to the floor")
    loss_axes.legend(fontsize=8, ncols=2)
    plotting.save_figure(figure, "compare_losses", show=show)


def run_side_by_side(stages: Sequence[str], *flags: str, device: str | None = None) -> dict[str, StageRun]:
    """Start every stage as its own process, then wait for each. However this ends, a
    Ctrl-C included, no stage is left running."""
    commands = {stage: stage_command(stage, *flags, "--no-figure", device=device) for stage in stages}
    processes: dict[str, Popen[str]] = {}
    try:
        for stage, command in commands.items():
            processes[stage] = Popen(command, stdout=PIPE, stderr=PIPE, encoding="utf-8", env=utf8_env())
        # A stage prints a few lines, which its pipe holds until they are read here.
        outputs = {stage: process.communicate() for stage, process in processes.items()}
    finally:
        for process in processes.values():
            process.kill()  # nothing happens to one that has ended
            process.wait()
    return {stage: StageRun(commands[stage], processes[stage].returncode, *outputs[stage]) for stage in stages}


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        "compare.py", SUPPRESS, __doc__, allow_abbrev=False, formatter_class=RawDescriptionHelpFormatter
    )
    parser.add_argument("stages", nargs="*", help="stages to run, by number (1-8) or name (default: all)")
    parser.add_argument("--device", type=lambda name: str(plotting.device_flag(name)), help="cpu, cuda, ... for torch")
    parser.add_argument("--steps", type=plotting.steps_flag, help="for every stage (default: each stage's own)")
    parser.add_argument("--no-figure", dest="figure", action="store_false", help="skip figures/compare_losses.png")
    parser.add_argument("--show", action="store_true", help="also show the figure in a window")
    args = parser.parse_args(argv)
    try:
        stages = resolve_stages(args.stages) if args.stages else list(STAGES)
    except ValueError as error:
        parser.error(f"argument stages: {error}")
    flags = ("--steps", str(args.steps)) if args.steps else ()
    runs = run_side_by_side(stages, *flags, device=args.device)
    logs = {stage: run.log for stage, run in runs.items() if run.ok}
    fit = least_squares()
    if logs:
        print("Loss at each logged step", loss_table(logs, fit[1]), "Fitted models", model_table(logs, fit), sep="\n\n")
        if args.figure:
            plotting.draw_or_say(draw_losses, logs, fit[1], args.show)
    failed = [stage for stage, run in runs.items() if not run.ok]
    for stage in failed:
        print(f"{stage} failed (exit status {runs[stage].returncode}): {runs[stage].error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    # SIGTERM (sent by `kill`, or a job scheduler) ends the run as Ctrl-C does, so that the
    # stages are stopped too. On Windows nothing sends it: there a process is ended outright.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
