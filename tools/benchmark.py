"""Does an accelerator pay off, and from how many points? Time each stage's step at growing sizes.

    python tools/benchmark.py --sizes 2000,200000 --stages 2,5 --device cpu --steps 100
    python tools/benchmark.py --step-modes --sizes 2000,200000   # stage 2's step: eager, compiled, a CUDA graph

Each run is a stage's own script in its own process, with --points N --steps S and the stage's own
learning rate times its points / N (a summed loss's gradient grows with the points). The clock is read
as each log line arrives, which the stage prints once loss.item() has waited for the device. Of the ten
intervals of S/10 steps the first (warm-up) is dropped. A run is valid if it ends at a finite loss and,
on an accelerator, at the CPU's. The results file is saved after each run, before anything is printed.

With --step-modes, stage 2's step runs in this process instead, timed the same way three times: as the
stage runs it (eager, an operation at a time), fused by torch.compile, and replayed as one CUDA graph.
"""

import contextlib
import functools
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from argparse import SUPPRESS, ArgumentParser, ArgumentTypeError, RawDescriptionHelpFormatter
from collections.abc import Callable, Sequence
from itertools import pairwise, product
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

import plotting
from tools.stages import (
    ROOT,
    STAGES,
    TORCH_STAGES,
    StageRun,
    parse_log,
    resolve_stages,
    settings,
    stage_command,
    utf8_env,
)

SIZES = (2_000, 20_000, 200_000, 2_000_000)
# With an accelerator also 20M points; more, where its memory holds them, with --sizes.
ACCELERATOR_SIZE = 20_000_000
# Ignored by git; the README quotes figures/benchmark_scaling.json.
DEFAULT_OUTPUT = ROOT / "benchmark-results.json"
METHOD = "per step: median, min and max of 9 intervals of S/10 steps ended by loss.item(), after a warm-up one"
SPREAD = ("points", "median_s", "min_s", "max_s")
COLUMNS = ("stage", "points", "device", "time per step (median)", "min - max", "steps per second", "speed-up over cpu")
# How far an accelerator's last loss may lie from the CPU's, relative to it (both round in float32, summing in
# other orders): 1e-3 where torch's pairwise sum keeps the CPU's within 4e-6 of float64's (to 20M points), while
# a wrong matmul misses by 10% or more. Stage 8: 1e-2, as x^4 and x^5 steepen its loss and momentum carries
# differences on. Stage 5's gradient is a CPU matmul, off by up to 4e-3: 1e-2; past 2^24 points its float32 sum
# stops growing, so stages 5 and 6 go unchecked there. Stage 6's RMSprop steps by about the rate: 16% apart.
TOLERANCE = {"fit_nn.py": 1e-2, "fit_optim.py": 0.25, "fit_ctlflow_wshare.py": 1e-2}
MATMUL_STAGES = ("fit_nn.py", "fit_optim.py")
MATMUL_LIMIT = 2**24
STEP_MODES = ("eager", "torch.compile", "CUDA graph")


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
    log, every = parse_log(text), steps // 10
    if sorted(log.losses) != list(range(0, steps + 1, every)) or len(line_times) < 11:
        raise ValueError(f"the log should show the loss at steps 0, {every}, ..., {steps}")
    if not math.isfinite(log.final_loss):
        raise ValueError(f"the last logged loss is {log.final_loss}")
    return tuple((later - earlier) / every for earlier, later in pairwise(line_times[1:11])), log.final_loss


def scaled_rate(stage: str, points: int) -> float:
    """The stage's own learning rate times its points / points, RMSprop's too: a summed loss's gradient grows with
    the points. A rate changes where a step goes, not its cost."""
    own = settings(stage)
    return own["learning_rate"] * own["points"] / points


def measure(stage: str, points: int, steps: int, device: str) -> Measurement:
    """Run one stage as its own process and time its steps by the arrival of its log lines."""
    line_times, lines = [], []
    rate = scaled_rate(stage, points)
    flags = ("--points", str(points), "--steps", str(steps), "--learning-rate", repr(rate), "--no-figure")
    command = stage_command(stage, *flags, device=device)
    # What the stage says on stderr goes to a file, which cannot fill up as an unread pipe can.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as messages:
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=messages, encoding="utf-8", env=utf8_env()
        ) as process:
            try:
                for line in process.stdout:
                    line_times.append(time.perf_counter())
                    lines.append(line)
            except BaseException:
                # Stopped, by a Ctrl-C say: the stage stops too.
                process.kill()
                raise
        messages.seek(0)
        run = StageRun(command, process.returncode, "".join(lines), messages.read())
    try:
        if not run.ok:
            raise ValueError(run.error)
        return Measurement(stage, points, steps, device, *timed_steps(run.stdout, line_times, steps))
    except ValueError as problem:
        return Measurement(stage, points, steps, device, error=str(problem))


def stage2_step(x: Tensor, y: Tensor, a: Tensor, b: Tensor, c: Tensor, d: Tensor, learning_rate: float) -> Tensor:
    """One step of fit_tensor.py's loop, its lines as they stand there, as one function that torch.compile can
    fuse and a CUDA graph can capture. It updates a, b, c and d in place and returns the loss before the update."""
    y_pred = a + b * x + c * x**2 + d * x**3
    loss = torch.square(y_pred - y).sum()
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x**2).sum()
    grad_d = (grad_y_pred * x**3).sum()
    a -= learning_rate * grad_a
    b -= learning_rate * grad_b
    c -= learning_rate * grad_c
    d -= learning_rate * grad_d
    return loss


def step_runner(mode: str, points: int, device: str) -> Callable[[], Tensor]:
    """Stage 2's data and start values on the device, and a call that takes one step of `mode` and returns its loss."""
    x = torch.linspace(-math.pi, math.pi, points, device=device)
    torch.manual_seed(0)
    a, b, c, d = (torch.randn(()).to(device) for _ in range(4))
    step = functools.partial(stage2_step, x, torch.sin(x), a, b, c, d, scaled_rate("fit_tensor.py", points))
    if mode == "torch.compile":
        # Compiled afresh for each size, so that no size runs code compiled for another's.
        torch._dynamo.reset()
        return functools.partial(torch.compile(stage2_step), *step.args)
    if mode == "CUDA graph":
        if torch.device(device).type != "cuda":
            raise RuntimeError(f"a CUDA graph needs a CUDA device, and {device} is not one")
        # As torch's CUDA graph notes ask: warm up on a side stream, capture, then replay; every replay runs the
        # captured kernels again on the same tensors, so the parameters go on changing as in the eager loop.
        with torch.cuda.device(device):
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    step()
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                loss = step()

        def replay() -> Tensor:
            graph.replay()
            return loss

        return replay
    return step


def time_step_mode(mode: str, points: int, steps: int, device: str, eager: float | None = None) -> dict[str, Any]:
    """Time stage 2's step in `mode` as a stage run is timed: ten intervals of steps / 10, each ended by loss.item()
    (which waits for the device), the first dropped. The run is valid if its last loss is finite and, beside `eager`'s
    last loss, within 0.1 % of it (summing in another order moves it less). A mode the device or this machine lacks
    gives its error."""
    row: dict[str, Any] = {"points": points, "steps": steps, "device": device, "mode": mode, "error": ""}
    try:
        step, ends = step_runner(mode, points, device), []
        for _ in range(11):
            for _ in range(steps // 10):
                loss = step()
            row["final_loss"] = loss.item()
            ends.append(time.perf_counter())
    # torch.compile can fail in many ways (no C compiler, an unsupported device): each is reported, not raised.
    except Exception as error:  # noqa: BLE001
        # Its first line, and the next where the first only introduces it ("backend='inductor' raised:").
        lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [""]
        said = " ".join(lines[:2] if lines[0].endswith(":") else lines[:1])
        return row | {"error": f"{type(error).__name__}: {said}"}
    if not math.isfinite(row["final_loss"]) or eager is not None and abs(row["final_loss"] / eager - 1) > 1e-3:
        return row | {"error": f"wrong result: its last loss is {row['final_loss']:.7g}, eager's {eager:.7g}"}
    seconds = [(later - earlier) / (steps // 10) for earlier, later in pairwise(ends)]
    return row | {"median_s": statistics.median(seconds), "min_s": min(seconds), "max_s": max(seconds)}


def step_table(rows: Sequence[dict[str, Any]]) -> str:
    """Stage 2's step per mode, as Markdown: a row per size and device, each mode's median and speed-up over eager."""
    lines = ["| points | device | " + " | ".join(STEP_MODES) + " |", "|--:|---|" + "--:|" * len(STEP_MODES)]
    times: dict[tuple[int, str], dict[str, float | None]] = {}
    for row in rows:
        times.setdefault((row["points"], row["device"]), {})[row["mode"]] = row.get("median_s")
    for (points, device), median in times.items():
        cells = [format_seconds(median[mode]) if median.get(mode) else "n/a" for mode in STEP_MODES]
        if median.get("eager"):
            cells = [f"{cell} ({median['eager'] / median[mode]:.2f}x)" if median.get(mode) else cell
                     for cell, mode in zip(cells, STEP_MODES, strict=True)]  # fmt: skip
        lines.append(f"| {points:,} | {device} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def device_name(device: str) -> str:
    """A GPU's model, or the CPU's, where platform.processor() says only x86_64 or arm; else the device."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(device)
    if device != "cpu":
        return device
    name = ""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        if sys.platform == "win32":
            import winreg

            key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"HARDWARE\DESCRIPTION\System\CentralProcessor\0")
            name = winreg.QueryValueEx(key, "ProcessorNameString")[0].strip()
        elif sys.platform == "darwin":
            name = subprocess.check_output(["sysctl", "-n", "machdep.cpu.brand_string"], text=True).strip()
        elif sys.platform.startswith("linux"):
            models = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
            name = models[0].partition(":")[2].strip() if models else ""
    return name or platform.machine()


def result_rows(measurements: Sequence[Measurement]) -> list[dict[str, Any]]:
    """One row per run; one on an accelerator is invalid if its last loss is not the CPU's (same stage, size, steps)."""
    cpu = {(m.stage, m.points, m.steps): m for m in measurements if m.device == "cpu" and not m.error}
    rows = []
    for m in measurements:
        reference = cpu.get((m.stage, m.points, m.steps))
        error, tolerance = m.error, TOLERANCE.get(m.stage, 1e-3)
        checked = m.device != "cpu" and not error and (m.stage not in MATMUL_STAGES or m.points <= MATMUL_LIMIT)
        if checked and (reference is None or abs(m.final_loss / reference.final_loss - 1) > tolerance):
            cpu_loss = f"the cpu's is {reference.final_loss:.7g}" if reference else "the cpu has none"
            error = f"wrong result: its last loss is {m.final_loss:.7g}, {cpu_loss} (tolerance {tolerance:g})"
        # An invalid run has no times (None); a median of 0 gives no speed-up and stands for the other times.
        median = None if error else statistics.median(m.seconds_per_step)
        low = high = per_second = median
        if median:
            low, high, per_second = min(m.seconds_per_step), max(m.seconds_per_step), 1 / median
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


def speedup_table(results: dict[str, Any], device: str, points_header: str = "points") -> str:
    """How many times faster each torch stage's step ran on `device` than on the CPU, as Markdown: a row per size, a
    column per stage, headed by its number."""
    rows = [row for row in results["rows"] if row["valid"] and row["device"] == device]
    numbers = {stage: str(STAGES.index(stage) + 1) for stage in STAGES if any(row["stage"] == stage for row in rows)}
    lines = [f"| {points_header} | {' | '.join(numbers.values())} |", "|--:|" + "--:|" * len(numbers)]
    for points in sorted({row["points"] for row in rows}):
        cells = {row["stage"]: f"{row['speedup_over_cpu']:.3g}x" for row in rows if row["points"] == points}
        lines.append(f"| {points:,} | {' | '.join(cells.get(stage, '') for stage in numbers)} |")
    return "\n".join(lines) + "\n"


def draw_figure(results: dict[str, Any], name: str) -> None:
    """Time per step against points, log-log: a panel per stage, a line per device, NumPy's dashed."""
    rows = [row for row in results["rows"] if row["valid"]]
    stages = [stage for stage in STAGES if any(row["stage"] == stage for row in rows)]
    if not stages:
        return
    columns, panel_rows = min(4, len(stages)), math.ceil(len(stages) / 4)
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
        panel.set(xscale="log", yscale="log", title=f"{STAGES.index(stage) + 1} {stage}")
        panel.grid(True, alpha=0.3)
        panel.legend(fontsize=7)
    for panel in panels[len(stages) :]:
        panel.set_visible(False)
    figure.supxlabel("points fitted")
    figure.supylabel("seconds per step (median; bars: min to max)")
    plotting.save_figure(figure, name)


def _sizes(text: str) -> list[int]:
    return sorted({plotting.points_flag(size) for size in text.split(",")})


def _stages(text: str) -> list[str]:
    try:
        return resolve_stages([text])
    except ValueError as error:
        raise ArgumentTypeError(str(error)) from None


def _output(text: str) -> Path:
    """The results file, checked now rather than after minutes of timing: its folder must take new files."""
    path = Path(text)
    if path.suffix != ".json" or path.is_dir():
        raise ArgumentTypeError(f"{text} is not a file name ending in .json")
    try:
        tempfile.TemporaryFile(dir=path.parent).close()
    except OSError as error:
        raise ArgumentTypeError(f"cannot write {text}: {error.strerror}") from None
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        "benchmark.py", SUPPRESS, __doc__, allow_abbrev=False, formatter_class=RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=_sizes, help="points, comma-separated (default: 2000 to 2M, 20M on a GPU)")
    parser.add_argument("--steps", type=plotting.steps_flag, help="steps per run (default: about 6e7 / points)")
    parser.add_argument(
        "--stages", type=_stages, default=STAGES, help="comma-separated names or numbers (default: all)"
    )
    parser.add_argument("--device", type=lambda name: str(plotting.device_flag(name)), help="cpu, or one accelerator")
    parser.add_argument("--output", type=_output, default=str(DEFAULT_OUTPUT), help="the results file (.json)")
    parser.add_argument("--no-figure", dest="figure", action="store_false", help="skip figures/<output name>.png")
    parser.add_argument("--step-modes", action="store_true", help="time stage 2's step in this process, three ways")
    args = parser.parse_args(argv)
    if args.step_modes and args.stages != STAGES:
        parser.error("--step-modes times stage 2's step only: leave out --stages")
    if args.step_modes and args.output == DEFAULT_OUTPUT:
        args.output = DEFAULT_OUTPUT.with_suffix(".step-modes.json")
    # Every accelerator torch sees, or the one named; the CPU always, as the reference.
    count = torch.accelerator.device_count() if args.device is None else 0
    accelerators = [f"{torch.accelerator.current_accelerator().type}:{index}" for index in range(count)]
    accelerators += [] if args.device is None or args.device.startswith("cpu") else [args.device]
    devices = ["cpu", *accelerators]
    # About 6e7 point-steps a run (10 to 2000 steps); the NumPy stage runs on the CPU only.
    sizes, plan = args.sizes or ([*SIZES, ACCELERATOR_SIZE] if accelerators else SIZES), []
    for points, stage, device in product(sizes, STEP_MODES if args.step_modes else args.stages, devices):
        steps = args.steps or max(10, min(2000, 10 * round(6e6 / points)))
        if device == "cpu" or stage in TORCH_STAGES or args.step_modes:
            plan.append((stage, points, steps, device))
    metadata = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "method": METHOD}
    metadata["devices"] = {device: device_name(device) for device in devices}
    metadata |= {"torch": torch.__version__, "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count()}
    metadata |= {"numpy": np.__version__, "python": platform.python_version()}
    measurements, rows = [], []
    for number, (stage, points, steps, device) in enumerate(plan, 1):
        if args.step_modes:
            # Each mode's last loss is held to eager's, run first at each size and device.
            same = [row for row in rows if (row["points"], row["device"], row["mode"]) == (points, device, "eager")]
            eager = [row["final_loss"] for row in same if not row["error"]]
            rows.append(time_step_mode(stage, points, steps, device, *eager))
            took = rows[-1]["error"] or f"{format_seconds(rows[-1]['median_s'])} per step"
            stage = f"fit_tensor.py's step, {stage}"
        else:
            measurements.append(run := measure(stage, points, steps, device))
            took = run.error or f"{format_seconds(statistics.median(run.seconds_per_step))} per step"
            rows = result_rows(measurements)
        # Saved before anything is printed: however the benchmark ends, the runs it finished are kept.
        results = {"metadata": metadata, "step_rows" if args.step_modes else "rows": rows}
        args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"[{number}/{len(plan)}] {stage}, {points:,} points, {steps} steps, {device}: {took}", file=sys.stderr)
    if args.step_modes:
        print(step_table(rows), end="")
    else:
        print(markdown_table(results), end="")
        if args.figure:
            plotting.draw_or_say(draw_figure, results, args.output.stem)
    return 0


if __name__ == "__main__":
    # SIGTERM ends the benchmark as Ctrl-C does, so that the stage it is timing is stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
