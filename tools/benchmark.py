"""Does an accelerator pay off, and from how many points? Time each stage's step at growing sizes.

Each stage's own script runs in this process through runpy, as `python fit_*.py --points N --steps S
--learning-rate R --no-figure --device D` would, and the clock is read as each log line is written: a
stage prints only after loss.item(), which waits for the device. Of the ten intervals of S/10 steps the
first (warm-up) is dropped; the others give the time per step: median, min and max. The summed loss's
gradient grows with the points, so R is the stage's default rate times 2000 / points (RMSprop's too: one
rule is simpler; a rate changes where a step goes, not its cost). A run is valid if it ends at a finite
loss and, on an accelerator, at the CPU's.
"""

import contextlib
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
from argparse import SUPPRESS, ArgumentParser, Namespace, RawDescriptionHelpFormatter
from collections.abc import Sequence
from itertools import pairwise, product
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

# Run as a script, this file still finds plotting and tools.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import plotting  # noqa: E402

# From here on, torch's import (seconds) included, a Ctrl-C ends the benchmark in one line.
if __name__ == "__main__":
    plotting.run_as_program()

from tools.stages import ROOT, STAGES, TORCH_STAGES, parse_log, resolve_stages, stage_defaults, stage_number  # noqa: E402

SIZES = (2_000, 20_000, 200_000, 2_000_000)
# With an accelerator also 20M points, and more powers of ten while a generous guess at the
# hungriest stage's bytes per point fits in half of each accelerator's free memory.
ACCELERATOR_SIZE = 20_000_000
BYTES_PER_POINT = 200
# Ignored by git; the README quotes figures/benchmark_scaling.json.
DEFAULT_OUTPUT = ROOT / "benchmark-results.json"
METHOD = "per step: median, min and max of 9 intervals of S/10 steps ended by loss.item(), after a warm-up one"
SPREAD = ("points", "median_s", "min_s", "max_s")
COLUMNS = ("stage", "points", "device", "time per step (median)", "min - max", "steps per second", "speed-up over cpu")
# How far an accelerator's last loss may lie from the CPU's, relative to it: both round in float32,
# summing in other orders. Against float64 the CPU's was off by < 4e-6 (to 20M points) in the stages
# that sum with torch's pairwise sum: 1e-3, while a wrong matmul misses by 10% or more. Stage 8: 1e-2,
# as x^4 and x^5 make its loss far steeper and momentum carries differences on. Stage 5's gradient is
# a CPU matmul over the points, off by up to 4e-3 in the loss: 1e-2; past 2^24 points it drops terms
# (a float32 sum stops growing at 2^24 times its terms), so stages 5 and 6 go unchecked there. Stage
# 6's RMSprop steps by about the rate, so runs that round apart hover out of step, the loss by 16%.
TOLERANCE = {"fit_nn.py": 1e-2, "fit_optim.py": 0.25, "fit_ctlflow_wshare.py": 1e-2}
MATMUL_STAGES = ("fit_nn.py", "fit_optim.py")
MATMUL_LIMIT = 2**24


# Stands in for sys.stdout, noting the time at which each line is complete: the clock first, the bookkeeping after.
class TimedLog(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.line_times: list[float] = []

    def write(self, text: str) -> int:
        self.line_times += [time.perf_counter()] * text.count("\n")
        return super().write(text)


class Measurement(NamedTuple):
    stage: str
    points: int
    steps: int
    device: str
    seconds_per_step: tuple[float, ...] = ()
    final_loss: float | None = None
    error: str = ""


def timed_steps(text: str, line_times: Sequence[float], steps: int) -> tuple[tuple[float, ...], float]:
    """Time per step in each interval but the first, and the last loss; ValueError if not a whole, finite run."""
    log = parse_log(text)
    every = steps // 10
    if sorted(log.losses) != list(range(0, steps + 1, every)) or len(line_times) < 11:
        raise ValueError(f"the log should show the loss at steps 0, {every}, ..., {steps}")
    if not math.isfinite(log.final_loss):
        raise ValueError(f"the last logged loss is {log.final_loss}")
    return tuple((later - earlier) / every for earlier, later in pairwise(line_times[1:11])), log.final_loss


def measure(stage: str, points: int, steps: int, device: str) -> Measurement:
    """Run one stage in this process, its default learning rate scaled to the size, and time its steps."""
    rate = stage_defaults(stage)["learning_rate"] * plotting.POINTS / points
    argv = [stage, "--points", str(points), "--steps", str(steps), "--learning-rate", repr(rate), "--no-figure"]
    argv += ["--device", device] if stage in TORCH_STAGES else []
    log = TimedLog()
    messages = io.StringIO()
    error = ""
    saved = (sys.argv, sys.stdout, sys.stderr)
    sys.argv, sys.stdout, sys.stderr = argv, log, messages
    try:
        # NumPy's overflow warnings quieted, as the stage quiets them when it is the program.
        with np.errstate(over="ignore", invalid="ignore"):
            runpy.run_path(str(ROOT / stage), run_name="__main__")
    except plotting.Stopped:
        # A signal to the benchmark, not the stage's own exit.
        raise
    except SystemExit as stop:
        # A string is the stage's own message; else its last line on stderr says why (status 0: none).
        if isinstance(stop.code, str):
            error = stop.code
        elif stop.code:
            said = [line for line in messages.getvalue().splitlines() if line.strip()]
            error = f"exit status {stop.code}: {said[-1] if said else ''}"
    except Exception as exception:
        # Out of device memory, say: this run is invalid, the others go on.
        error = f"{type(exception).__name__}: {(str(exception).splitlines() or [''])[0]}"
    finally:
        sys.argv, sys.stdout, sys.stderr = saved
    # Free this run's tensors now, not during the next run's intervals.
    gc.collect()
    try:
        return Measurement(stage, points, steps, device, *timed_steps(log.getvalue(), log.line_times, steps), error)
    except ValueError as problem:
        return Measurement(stage, points, steps, device, error=error or str(problem))


def free_memory(device: str) -> int:
    """Free bytes on an accelerator, or 0 where torch cannot tell: torch.accelerator.get_memory_info is missing
    in torch 2.6-2.9 (torch.cuda.mem_get_info is not) and raises on MPS in some ("... not a DeviceAllocator")."""
    import torch

    module = getattr(torch, torch.device(device).type, None)
    for query in (getattr(torch.accelerator, "get_memory_info", None), getattr(module, "mem_get_info", None)):
        # Missing (None cannot be called), or raising in this release: try the next one.
        with contextlib.suppress(Exception):
            return int(query(torch.device(device))[0])
    plotting.say(f"torch cannot tell the free memory on {device}, so no sizes past 20M points")
    return 0


def default_sizes(accelerators: Sequence[str]) -> list[int]:
    sizes = [*SIZES, ACCELERATOR_SIZE] if accelerators else list(SIZES)
    free = min(map(free_memory, accelerators), default=0)
    while sizes[-1] * 10 * BYTES_PER_POINT < free / 2:
        sizes.append(sizes[-1] * 10)
    return sizes


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(device)
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
    if device != "cpu":
        return device
    return platform.processor() or (names[0] if names else platform.machine())


def result_rows(measurements: Sequence[Measurement]) -> list[dict[str, Any]]:
    """One row per run; one on an accelerator is invalid if its last loss is not the CPU's (same stage, size, steps)."""
    cpu = {(m.stage, m.points, m.steps): m for m in measurements if m.device == "cpu" and not m.error}
    rows = []
    for m in measurements:
        reference = cpu.get((m.stage, m.points, m.steps))
        tolerance = TOLERANCE.get(m.stage, 1e-3)
        error = m.error
        checked = m.device != "cpu" and not error and (m.stage not in MATMUL_STAGES or m.points <= MATMUL_LIMIT)
        if checked and reference is None:
            error = f"wrong result: its last loss is {m.final_loss:.7g}, the cpu has none (tolerance {tolerance:g})"
        elif checked and abs(m.final_loss - reference.final_loss) > tolerance * reference.final_loss:
            cpu_loss = f"the cpu's is {reference.final_loss:.7g}"
            error = f"wrong result: its last loss is {m.final_loss:.7g}, {cpu_loss} (tolerance {tolerance:g})"
        # An invalid run has no times (None); a median of 0 gives no speed-up and stands for the other times.
        median = None if error else statistics.median(m.seconds_per_step)
        low = high = per_second = median
        if median:
            low = min(m.seconds_per_step)
            high = max(m.seconds_per_step)
            per_second = 1 / median
        speedup = statistics.median(reference.seconds_per_step) / median if median and reference else None
        row = {"stage": m.stage, "points": m.points, "steps": m.steps, "device": m.device, "valid": not error}
        times = {"median_s": median, "min_s": low, "max_s": high, "steps_per_second": per_second}
        rows.append({**row, "error": error, **times, "speedup_over_cpu": speedup, "final_loss": m.final_loss})
    return rows


def format_seconds(seconds: float) -> str:
    # The power of 1000 to show it in: 0, -1, -2 or -3 for s, ms, µs or ns.
    power = min(0, max(-3, math.floor(math.log10(max(seconds, 1e-12)) / 3)))
    return f"{seconds / 1000.0**power:.3g} {('ns', 'µs', 'ms', 's')[power + 3]}"


def markdown_table(results: dict[str, Any], columns: Sequence[str] = COLUMNS) -> str:
    """The rows of a saved JSON result (what json.load gives back) as a Markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|---|--:|---|--:|--:|--:|--:|"]
    for row in results["rows"]:
        cells = [row["stage"], f"{row['points']:,}", row["device"], f"invalid: {row['error']}", "", "", ""]
        if row["valid"]:
            rate = row["steps_per_second"]
            spread = f"{format_seconds(row['min_s'])} - {format_seconds(row['max_s'])}"
            per_second = f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"
            faster = "n/a" if row["speedup_over_cpu"] is None else f"{row['speedup_over_cpu']:.2f}x"
            cells[3:] = [format_seconds(row["median_s"]), spread, per_second, faster]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def draw_figure(results: dict[str, Any], name: str) -> Path | None:
    """Time per step against points, log-log: a panel per stage, a line per device, NumPy's dashed."""
    rows = [row for row in results["rows"] if row["valid"]]
    stages = [stage for stage in STAGES if any(row["stage"] == stage for row in rows)]
    if not stages:
        return None
    columns = min(4, len(stages))
    panel_rows = math.ceil(len(stages) / 4)
    figure = plotting.new_figure(False, figsize=(3.2 * columns + 1, 3 * panel_rows + 1), layout="constrained")
    panels = list(figure.subplots(panel_rows, columns, sharex=True, sharey=True, squeeze=False).flat)
    reference = (STAGES[0], "cpu", {"color": "0.75", "linestyle": "--", "label": f"{STAGES[0]} on cpu"})
    for panel, stage in zip(panels, stages, strict=False):
        curves = [] if stage == STAGES[0] else [reference]
        for index, device in enumerate(results["metadata"]["devices"]):
            curves.append((stage, device, {"color": f"C{index}", "marker": "o", "markersize": 3, "label": device}))
        for curve, device, style in curves:
            runs = [[row[key] for key in SPREAD] for row in rows if (row["stage"], row["device"]) == (curve, device)]
            if runs:
                points, medians, low, high = np.array(sorted(runs)).T
                panel.errorbar(points, medians, yerr=[medians - low, high - medians], capsize=2, **style)
        panel.set(xscale="log", yscale="log", title=f"{stage_number(stage)} {stage}")
        panel.grid(True, alpha=0.3)
        panel.legend(fontsize=7)
    for panel in panels[len(stages) :]:
        panel.set_visible(False)
    figure.supxlabel("points fitted")
    figure.supylabel("seconds per step (median; bars: min to max)")
    return plotting.save_figure(figure, name)


def parse_arguments(argv: Sequence[str] | None) -> Namespace:
    parser = ArgumentParser("benchmark.py", SUPPRESS, __doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="", help="comma-separated numbers of points (default: 2000 to 2M, and up)")
    parser.add_argument("--steps", type=int, help="steps per run, a multiple of 10 (default: about 6e7 / points)")
    parser.add_argument("--stages", default="all", help="comma-separated stage names or numbers (default: all)")
    parser.add_argument("--device", default="all", help="all, cpu, or an accelerator, with the cpu as reference")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the JSON results file (.json)")
    parser.add_argument("--no-figure", action="store_true", help="skip drawing figures/<output name>.png")
    args = parser.parse_args(argv)
    try:
        args.stages = list(STAGES) if args.stages == "all" else resolve_stages([args.stages])
    except ValueError as error:
        parser.error(f"argument --stages: {error}")
    try:
        args.device = args.device if args.device == "all" else plotting.checked_device(args.device)
    except ValueError as error:
        parser.error(f"argument --device: {error}")
    sizes = args.sizes.split(",") if args.sizes else []
    # The output is checked now, not after minutes of timing. It is written to a file beside
    # it, then renamed, so its folder must take new files.
    folder = args.output.resolve().parent
    writable = folder.is_dir() and os.access(folder, os.W_OK)
    if not all(size.isdigit() for size in sizes):
        parser.error("argument --sizes: comma-separated whole numbers")
    for size in sizes:
        try:
            plotting.check_points(int(size))
        except ValueError as error:
            parser.error(f"argument --sizes: {error}")
    if args.steps is not None and (args.steps < 10 or args.steps % 10):
        parser.error("argument --steps: must be a positive multiple of 10")
    if args.output.suffix != ".json":
        parser.error("argument --output: must end in .json")
    if args.output.is_dir():
        parser.error(f"argument --output: {args.output} is a folder")
    if not writable or (args.output.exists() and not os.access(args.output, os.W_OK)):
        parser.error(f"argument --output: cannot write {args.output}")
    args.sizes = sorted({int(size) for size in sizes})
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    # The NumPy stage alone runs on the CPU alone, without torch, which then is not imported.
    torch = None
    if set(args.stages) & set(TORCH_STAGES):
        import torch
    # Every accelerator torch sees (none where there is none), or the one named; the CPU always, as the reference.
    count = torch.accelerator.device_count() if torch and args.device == "all" else 0
    accelerators = [f"{torch.accelerator.current_accelerator().type}:{index}" for index in range(count)]
    accelerators += [] if not torch or args.device == "all" or args.device.startswith("cpu") else [args.device]
    devices = ["cpu", *accelerators]
    # About 6e7 point-steps a run (10 to 2000 steps); the NumPy stage runs on the CPU only.
    plan = []
    for points, stage, device in product(args.sizes or default_sizes(accelerators), args.stages, devices):
        steps = args.steps or max(10, min(2000, 10 * round(6e6 / points)))
        if device == "cpu" or stage in TORCH_STAGES:
            plan.append((stage, points, steps, device))
    metadata = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "method": METHOD}
    metadata["devices"] = {device: device_name(device) for device in devices}
    # For the NumPy stage alone, no torch ran: no version, no threads.
    metadata["torch"] = torch.__version__ if torch else None
    metadata["torch_threads"] = torch.get_num_threads() if torch else None
    metadata |= {"cpu_count": os.cpu_count(), "numpy": np.__version__}
    measurements: list[Measurement] = []
    # The results file is written first when the first run has ended: until then a file
    # of an earlier benchmark at that path stays as it was.
    results = {"metadata": metadata, "rows": []}
    for number, (stage, points, steps, device) in enumerate(plan, 1):
        # What runs now, and once it has run, how long a step took.
        plotting.say(f"[{number}/{len(plan)}] {stage}, {points:,} points, {steps} steps, {device}: ", end="")
        run = measure(stage, points, steps, device)
        measurements.append(run)
        # Saved after every run, so that however the benchmark ends, the runs it finished are kept.
        results = {"metadata": metadata, "rows": result_rows(measurements)}
        save(results, args.output)
        plotting.say(run.error or f"{format_seconds(statistics.median(run.seconds_per_step))} per step")
    print(markdown_table(results), end="")
    if not args.no_figure:
        with plotting.drawing(f"{args.output.stem}.png"):
            draw_figure(results, args.output.stem)
    return 0


def save(results: dict[str, Any], path: Path) -> None:
    """Write the results to `path` whole or not at all: first beside it, then renamed over
    it, so that a benchmark stopped while writing cannot leave half a file."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(json.dumps(results, indent=2) + "\n")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
