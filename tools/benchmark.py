"""Does an accelerator pay off, and from how many points? Time each stage's step at growing sizes.

Every stage's own script runs inside this process through runpy (so torch is imported once),
exactly as `python fit_*.py --points N --steps S --no-figure --device D` would run it, with
sys.stdout replaced by a writer that reads time.perf_counter() each time a log line is
complete. A stage prints a log line only after loss.item(), which waits for the device to
finish the work queued so far, so every clock read follows a device synchronisation and the
time between two log lines covers exactly S/10 finished steps. Of the ten intervals between
the eleven log lines the first is dropped, as it carries the warm-up (first calls, the
allocator, kernel caches); the other nine, divided by S/10, give the time per step, reported
as their median and their min and max.

A run counts only if the stage exits normally and its last logged loss is finite; any other
run is reported as invalid and not timed. The stages keep the loss finite at any --points
themselves: the summed loss's gradient grows with the number of points, so plain gradient
descent scales its rate by 2000 / points, and RMSprop (stage 6) needs no scaling because it
divides each step by the gradient's running size.

    python tools/benchmark.py
    python tools/benchmark.py --sizes 2000,2000000 --stages 2,5 --device cpu --output benchmark-results.csv
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import math
import os
import platform
import runpy
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import torch

# `python tools/benchmark.py` puts tools/ on the path, but the stages import plotting from the
# project folder (as `python fit_*.py` finds it there), and so does this tool.
if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import plotting  # noqa: E402
from tools.stages import (  # noqa: E402
    ROOT,
    STAGES,
    TORCH_STAGES,
    parse_log,
    resolve_stages,
    stage_number,
    text_table,
    usable_device,
)

SIZES = (2_000, 20_000, 200_000, 2_000_000)
# Added when an accelerator takes part, for the CPU too, so that the speed-up is known there.
ACCELERATOR_SIZE = 20_000_000
# A generous guess at the hungriest stage's peak memory per point. It only decides how many
# powers of ten past 20M points an accelerator is timed at by default.
BYTES_PER_POINT = 200

# The default step count gives each run about this many point-steps, so a run at a large size
# stays short, between these bounds: a step at a small size costs well under a millisecond, so
# 2000 steps make intervals of 200 steps, tens of milliseconds; 10 steps is one per interval.
POINT_STEPS = 60_000_000
MIN_STEPS, MAX_STEPS = 10, 2000

# A stage logs at steps 0, S/10, ..., S: eleven lines and ten intervals.
INTERVALS = 10

# Your own runs land here, out of git's way (see .gitignore); the README's table is read
# from figures/benchmark_scaling.json, which only `--output figures/benchmark_scaling.json`
# replaces. The figure takes the name of the results file.
DEFAULT_OUTPUT = ROOT / "benchmark-results.json"
METHOD = (
    "Each stage's own script runs in-process via runpy with --points N --steps S; the clock is read as each log line "
    "is written, which a stage does only after loss.item() has waited for the device. Of the 10 intervals between "
    "its 11 log lines (S/10 steps each) the first is dropped as warm-up; the time per step is the median of the "
    "other 9, with their min and max as the spread. A run that exits non-zero or whose last logged loss is not "
    "finite is invalid and not timed; the stages keep the loss finite at every size by scaling gradient descent's "
    "rate by 2000/points (stage 6's RMSprop needs no scaling)."
)
COLUMNS = ("stage", "points", "device", "time per step (median)", "min - max", "steps per second", "speed-up over cpu")


class TimedLog(io.TextIOBase):
    """Stands in for sys.stdout: keeps what a stage prints and when each line was complete."""

    def __init__(self) -> None:
        super().__init__()
        self.line_times: list[float] = []
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        # The clock first, so that the bookkeeping below falls outside the interval.
        now = time.perf_counter()
        self.line_times.extend([now] * text.count("\n"))
        self._parts.append(text)
        return len(text)

    @property
    def text(self) -> str:
        return "".join(self._parts)


@dataclass(frozen=True)
class Measurement:
    stage: str
    points: int
    steps: int
    device: str
    # One time per step for each timed interval; empty for an invalid run.
    seconds_per_step: tuple[float, ...] = ()
    final_loss: float | None = None
    # Why the run is invalid; empty for a valid one.
    error: str = ""

    @property
    def valid(self) -> bool:
        return not self.error


def default_steps(points: int) -> int:
    return max(MIN_STEPS, min(MAX_STEPS, 10 * round(POINT_STEPS / points / 10)))


def timed_steps(text: str, line_times: Sequence[float], steps: int) -> tuple[tuple[float, ...], float]:
    """The time per step over each interval but the first, and the last logged loss, from what a
    stage printed and when; ValueError if that is not a whole run ending at a finite loss."""
    log = parse_log(text)
    every = steps // INTERVALS
    logged = [every * k for k in range(INTERVALS + 1)]
    if sorted(log.losses) != logged or len(line_times) < len(logged):
        raise ValueError(f"the log should show the loss at steps 0, {every}, ..., {steps}")
    if not math.isfinite(log.final_loss):
        raise ValueError(f"the last logged loss is {log.final_loss}")
    times = line_times[: len(logged)]
    intervals = [later - earlier for earlier, later in pairwise(times)]
    return tuple(interval / every for interval in intervals[1:]), log.final_loss


def _exit_error(exit: SystemExit, stderr: str) -> str:
    """Why a stage that called sys.exit failed, or "" if it did not."""
    if exit.code in (None, 0):
        return ""
    if isinstance(exit.code, str):
        return exit.code
    lines = [line for line in stderr.splitlines() if line.strip()]
    return f"exit status {exit.code}: {lines[-1]}" if lines else f"exit status {exit.code}"


def measure(stage: str, points: int, steps: int, device: str) -> Measurement:
    """Run one stage in this process, as `python <stage> --points ... --no-figure` would, and time its steps."""
    argv = [stage, "--points", str(points), "--steps", str(steps), "--no-figure"]
    if stage in TORCH_STAGES:
        argv += ["--device", device]
    log, messages = TimedLog(), io.StringIO()
    saved = sys.argv, sys.stdout, sys.stderr
    sys.argv, sys.stdout, sys.stderr = argv, log, messages
    error = ""
    try:
        runpy.run_path(str(ROOT / stage), run_name="__main__")
    except SystemExit as exit:
        error = _exit_error(exit, messages.getvalue())
    # Where `python <stage>` would end in a traceback (running out of device memory, say),
    # the run is invalid and the others still get their turn.
    except Exception as exception:
        first_line = (str(exception).splitlines() or [""])[0]
        error = f"{type(exception).__name__}: {first_line}"
    finally:
        sys.argv, sys.stdout, sys.stderr = saved
    # Free this run's tensors now, rather than in the middle of the next run's intervals.
    gc.collect()
    if error:
        return Measurement(stage, points, steps, device, error=error)
    try:
        seconds, final_loss = timed_steps(log.text, log.line_times, steps)
    except ValueError as problem:
        return Measurement(stage, points, steps, device, error=str(problem))
    return Measurement(stage, points, steps, device, seconds, final_loss)


def is_accelerator(device: str) -> bool:
    accelerator = torch.accelerator.current_accelerator()
    return accelerator is not None and torch.device(device).type == accelerator.type


def all_devices() -> list[str]:
    """The CPU and every accelerator torch finds."""
    devices = ["cpu"]
    if torch.accelerator.is_available():
        kind = torch.accelerator.current_accelerator().type
        devices += [f"{kind}:{index}" for index in range(torch.accelerator.device_count())]
    return devices


def default_sizes(device: str, accelerated: bool) -> list[int]:
    """Up to 2M points; also 20M when an accelerator takes part; and on an accelerator, further
    powers of ten while the guessed footprint fits in half of its free memory."""
    sizes = [*SIZES, ACCELERATOR_SIZE] if accelerated else list(SIZES)
    # torch.accelerator.get_memory_info is younger than the oldest torch this project accepts.
    if is_accelerator(device) and hasattr(torch.accelerator, "get_memory_info"):
        free, _ = torch.accelerator.get_memory_info(torch.device(device))
        while sizes[-1] * 10 * BYTES_PER_POINT < free / 2:
            sizes.append(sizes[-1] * 10)
    return sizes


def processor_name() -> str:
    # platform.processor() is often empty on Linux, where /proc/cpuinfo names the CPU.
    cpuinfo = Path("/proc/cpuinfo")
    if not platform.processor() and cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def device_name(device: str) -> str:
    if device == "cpu":
        return processor_name()
    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(torch.device(device))
    return device


def describe_machine(devices: Sequence[str]) -> dict[str, Any]:
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "devices": {device: device_name(device) for device in devices},
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "method": METHOD,
    }


def result_rows(measurements: Sequence[Measurement]) -> list[dict[str, Any]]:
    """One row per run, with its speed-up over the CPU running the same stage at the same size."""
    cpu = {
        (m.stage, m.points): statistics.median(m.seconds_per_step)
        for m in measurements
        if m.device == "cpu" and m.valid
    }
    rows = []
    for m in measurements:
        median = statistics.median(m.seconds_per_step) if m.valid else None
        baseline = cpu.get((m.stage, m.points)) if m.valid else None
        rows.append(
            {
                "stage": m.stage,
                "points": m.points,
                "steps": m.steps,
                "device": m.device,
                "valid": m.valid,
                "error": m.error,
                "median_s": median,
                "min_s": min(m.seconds_per_step) if m.valid else None,
                "max_s": max(m.seconds_per_step) if m.valid else None,
                "steps_per_second": 1 / median if median else None,
                "speedup_over_cpu": baseline / median if baseline and median else None,
                "final_loss": m.final_loss,
            }
        )
    return rows


def format_seconds(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def _cells(row: dict[str, Any]) -> list[str]:
    start = [row["stage"], f"{row['points']:,}", row["device"]]
    if not row["valid"]:
        return [*start, f"invalid: {row['error']}", "", "", ""]
    rate = row["steps_per_second"]
    speedup = row["speedup_over_cpu"]
    return [
        *start,
        format_seconds(row["median_s"]),
        f"{format_seconds(row['min_s'])} - {format_seconds(row['max_s'])}",
        f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}",
        "n/a" if speedup is None else f"{speedup:.2f}x",
    ]


def result_table(rows: Sequence[dict[str, Any]]) -> str:
    # Names to the left, numbers to the right.
    return text_table(COLUMNS, [_cells(row) for row in rows], left=(0, 2))


def markdown_table(results: dict[str, Any]) -> str:
    """The rows of a saved JSON result (what json.load gives back) as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|--:|---|--:|--:|--:|--:|"]
    for row in results["rows"]:
        cells = [cell.replace("|", "\\|") for cell in _cells(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def save_results(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps(results, indent=2) + "\n")
        return
    # A CSV has no place for the metadata, so each row carries the thread counts its times depend on.
    metadata = {key: results["metadata"][key] for key in ("torch_threads", "cpu_count", "torch", "date")}
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=[*results["rows"][0], *metadata])
        writer.writeheader()
        for row in results["rows"]:
            writer.writerow({**row, **metadata})


def draw_figure(results: dict[str, Any], name: str) -> Path | None:
    """Time per step against points, log-log: a panel per stage, a line per device, so that a
    device that pays off crosses below the CPU. The NumPy stage's CPU line is drawn faintly in
    every panel for reference."""
    valid = [row for row in results["rows"] if row["valid"]]
    stages = [stage for stage in STAGES if any(row["stage"] == stage for row in valid)]
    if not stages:
        return None
    devices = list(dict.fromkeys(row["device"] for row in valid))
    columns = min(4, len(stages))
    rows = math.ceil(len(stages) / columns)
    figure = plotting.new_figure(False, figsize=(3.2 * columns + 1, 3 * rows + 1), layout="constrained")
    panels = figure.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).flatten()

    def draw(panel: Any, stage: str, device: str, **style: Any) -> None:
        runs = sorted(
            (row for row in valid if (row["stage"], row["device"]) == (stage, device)), key=lambda row: row["points"]
        )
        if runs:
            medians = np.array([row["median_s"] for row in runs])
            spread = [medians - [row["min_s"] for row in runs], [row["max_s"] for row in runs] - medians]
            panel.errorbar([row["points"] for row in runs], medians, yerr=spread, capsize=2, **style)

    for panel, stage in zip(panels, stages, strict=False):
        if stage != STAGES[0]:
            draw(panel, STAGES[0], "cpu", color="0.75", linestyle="--", label=f"{STAGES[0]} on cpu")
        for index, device in enumerate(devices):
            draw(panel, stage, device, color=f"C{index}", marker="o", markersize=3, label=device)
        panel.set_title(f"{stage_number(stage)} {stage}", fontsize=9)
        panel.set_xscale("log")
        panel.set_yscale("log")
        panel.grid(True, which="major", alpha=0.3)
        panel.legend(fontsize=7)
    for panel in panels[len(stages) :]:
        panel.set_visible(False)
    figure.supxlabel("points fitted")
    figure.supylabel("seconds per step (median; bars: min to max)")
    metadata = results["metadata"]
    devices_named = "; ".join(f"{device}: {label}" for device, label in metadata["devices"].items())
    figure.suptitle(
        f"Time per training step ({devices_named}; torch {metadata['torch']}, {metadata['torch_threads']} threads)",
        fontsize=10,
    )
    return plotting.save_figure(figure, name)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of whole numbers") from None
    if min(sizes) < 4:
        raise argparse.ArgumentTypeError("a cubic needs at least 4 points")
    return sizes


def _steps(text: str) -> int:
    try:
        steps = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if steps < 10 or steps % 10:
        raise argparse.ArgumentTypeError("must be a positive multiple of 10")
    return steps


def _stages(text: str) -> list[str]:
    try:
        return resolve_stages(text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _device(text: str) -> str:
    if text == "all":
        return text
    try:
        return usable_device(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _output(text: str) -> Path:
    path = Path(text)
    if path.suffix not in (".json", ".csv"):
        raise argparse.ArgumentTypeError(f"{text!r} should end in .json or .csv")
    # Find out now, not after minutes of timing, that the results could not be saved.
    folder = path.resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write into the folder {str(folder)!r}")
    return path


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmark.py",
        description=__doc__,
        usage=argparse.SUPPRESS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        help=f"comma-separated numbers of points (default: {','.join(map(str, SIZES))}; with an accelerator also "
        f"{ACCELERATOR_SIZE}, and more on the accelerator where its memory allows)",
    )
    parser.add_argument(
        "--steps",
        type=_steps,
        help=f"steps per run, a multiple of 10 (default: about {POINT_STEPS:.0e} / points, from {MIN_STEPS} to "
        f"{MAX_STEPS})",
    )
    parser.add_argument(
        "--stages", type=_stages, default=list(STAGES), help="comma-separated names or numbers (default: all)"
    )
    parser.add_argument(
        "--device", type=_device, default="all", help="all (the CPU and every accelerator torch finds), cpu, cuda, ..."
    )
    parser.add_argument(
        "--output",
        type=_output,
        default=DEFAULT_OUTPUT,
        help="where to save the results, .json or .csv (default: benchmark-results.json in the project)",
    )
    parser.add_argument("--no-figure", action="store_true", help="skip drawing figures/<name of the output>.png")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    devices = all_devices() if args.device == "all" else [args.device]
    accelerated = any(is_accelerator(device) for device in devices)
    sizes = {device: args.sizes or default_sizes(device, accelerated) for device in devices}
    # The NumPy stage runs on the CPU only.
    plan = [
        (stage, points, args.steps or default_steps(points), device)
        for points in sorted(set().union(*sizes.values()))
        for stage in args.stages
        for device in devices
        if points in sizes[device] and (device == "cpu" or stage in TORCH_STAGES)
    ]
    if not plan:
        print("benchmark.py: error: nothing to run: stage 1 (NumPy) runs on the cpu only", file=sys.stderr)
        return 2
    metadata = describe_machine(devices)
    print(
        f"torch {metadata['torch']} with {metadata['torch_threads']} threads (torch.get_num_threads()), "
        f"{metadata['cpu_count']} CPUs (os.cpu_count()); {metadata['machine']}"
    )
    for device in devices:
        print(f"{device}: {metadata['devices'][device]}")
    print(f"{len(plan)} runs; time per step is the median of {INTERVALS - 1} intervals after a warm-up one\n")

    measurements = []
    for number, (stage, points, steps, device) in enumerate(plan, 1):
        measurement = measure(stage, points, steps, device)
        measurements.append(measurement)
        outcome = (
            f"{format_seconds(statistics.median(measurement.seconds_per_step))} per step"
            if measurement.valid
            else f"invalid: {measurement.error}"
        )
        print(
            f"[{number}/{len(plan)}] {stage} {points:,} points, {steps} steps on {device}: {outcome}", file=sys.stderr
        )

    results = {"metadata": metadata, "rows": result_rows(measurements)}
    print(result_table(results["rows"]))
    try:
        save_results(results, args.output)
    except OSError as error:
        print(f"benchmark.py: could not write {args.output}: {error}", file=sys.stderr)
        return 1
    print(f"\nwrote {args.output}")
    if not args.no_figure:
        draw_figure(results, args.output.stem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
