"""tools/benchmark.py: its timing, its results file, its checks, its table and figure, and its flags."""

import io
import json
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import plotting
from tools import benchmark
from tools.benchmark import Measurement, main, measure
from tools.stages import StageRun

NINE = (1e-3,) * 9


def pretend(stage: str, points: int, steps: int, device: str) -> Measurement:
    return Measurement(stage, points, steps, device, NINE, 2.0 if (stage, device) == ("fit_nn.py", "mps") else 1.0)


def test_json_holds_every_run_and_the_machine_and_the_table_and_figure_show_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path)
    output = tmp_path / "results.json"
    flags = ["--sizes", "200,400", "--steps", "20", "--stages", "1,2", "--device", "cpu", "--output", str(output)]
    assert main(flags) == 0
    results = json.loads(output.read_text())
    runs = [(row["stage"], row["points"]) for row in results["rows"]]
    assert runs == [("fit_numpy.py", 200), ("fit_tensor.py", 200), ("fit_numpy.py", 400), ("fit_tensor.py", 400)]
    for row in results["rows"]:
        assert row["valid"] and row["device"] == "cpu" and row["steps"] == 20 and math.isfinite(row["final_loss"])
        assert 0 <= row["min_s"] <= row["median_s"] <= row["max_s"]
    metadata = results["metadata"]
    assert metadata["devices"] == {"cpu": benchmark.device_name("cpu")} and metadata["torch"] == torch.__version__
    assert metadata["torch_threads"] >= 1 and metadata["cpu_count"] >= 1 and metadata["numpy"] == np.__version__
    out, err = capsys.readouterr()
    assert out == benchmark.markdown_table(results)
    progress = [line.split("]")[0] for line in err.splitlines()]
    assert progress == ["[1/4", "[2/4", "[3/4", "[4/4", f"figure: {tmp_path / 'results.png'}"]
    assert (tmp_path / "results.png").read_bytes().startswith(b"\x89PNG")
    invalid = {**results["rows"][0], "valid": False, "error": "OutOfMemoryError: |x|"}
    table = benchmark.markdown_table({**results, "rows": [invalid]})
    assert table.endswith("| 200 | cpu | invalid: OutOfMemoryError: \\|x\\| |  |  |  |\n")


def test_the_cpu_is_named_by_its_model_on_a_mac_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(benchmark.subprocess, "check_output", lambda command, text: f"Apple M2 ({' '.join(command)})\n")
    assert benchmark.device_name("cpu") == "Apple M2 (sysctl -n machdep.cpu.brand_string)"


def test_time_per_step_leaves_out_the_first_interval_and_needs_a_finite_last_loss() -> None:
    log = "".join(f"{step} 1.5\n" for step in range(0, 101, 10)) + "Result: y = 1.0 + 2.0 x\n"
    # Ten steps per interval: the first interval took 5 s (warm-up), each later one 1 s.
    seconds, final_loss = benchmark.timed_steps(log, [0.0, 5.0, *(5.0 + k for k in range(1, 10)), 99.0], 100)
    assert seconds == pytest.approx([0.1] * 9) and final_loss == 1.5
    with pytest.raises(ValueError, match="last logged loss is nan"):
        benchmark.timed_steps(log.replace("100 1.5", "100 nan"), [float(k) for k in range(12)], 100)


def test_an_invalid_run_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    # At a rate far too large the NumPy stage overflows and says so itself.
    monkeypatch.setattr(benchmark, "settings", lambda stage: {"learning_rate": 1.0, "points": 2000})
    run = measure("fit_numpy.py", 200, 100, "cpu")
    assert run.error.startswith("step ") and "the fit diverged" in run.error and not run.seconds_per_step


def test_an_accelerator_is_checked_against_the_cpu_and_a_figure_that_cannot_be_saved_is_one_line_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(plotting, "device_flag", lambda name: name)
    monkeypatch.setattr(benchmark, "measure", pretend)
    (tmp_path / "figures").write_text("a file where the folder should be")
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path / "figures")
    output = tmp_path / "results.json"
    assert main(["--device", "mps", "--sizes", "200", "--stages", "1,2,5", "--output", str(output)]) == 0
    results = json.loads(output.read_text())
    assert list(results["metadata"]["devices"]) == ["cpu", "mps"]
    # The NumPy stage on the CPU only; each torch stage on the CPU, then on the accelerator.
    assert [row["stage"][4:-3] for row in results["rows"]] == ["numpy", "tensor", "tensor", "nn", "nn"]
    assert [row["device"] for row in results["rows"]] == ["cpu", "cpu", "mps", "cpu", "mps"]
    assert [row["valid"] for row in results["rows"]] == [True, True, True, True, False]
    assert results["rows"][2]["speedup_over_cpu"] == 1.0 and results["rows"][4]["median_s"] is None
    assert results["rows"][4]["error"] == "wrong result: its last loss is 2, the cpu's is 1 (tolerance 0.01)"
    out, err = capsys.readouterr()
    assert out == benchmark.markdown_table(results) and err.splitlines()[-1].startswith("could not draw the figure: ")


def test_the_learning_rate_scales_with_the_points(monkeypatch: pytest.MonkeyPatch) -> None:
    # At 20,000 points the NumPy stage's own rate (1e-6) takes its loss from 1.5e7 to 5e33 in 20 steps.
    run = measure("fit_numpy.py", 20_000, 20, "cpu")
    assert not run.error and run.final_loss < 1e5
    # The same rule for every stage: here RMSprop's rate, 1e-3 at 2000 points.
    flags = []
    monkeypatch.setattr(benchmark, "stage_command", lambda *command, device: flags.extend(command) or [sys.executable])
    measure("fit_optim.py", 200_000, 20, "cpu")
    assert flags[flags.index("--learning-rate") + 1] == repr(1e-3 / 100)


@pytest.mark.parametrize(
    "arguments",
    [
        *(["--bogus"], ["--size", "200"], ["--sizes", "many"], ["--sizes", "2000,3"], ["--steps", "15"]),
        *(["--stages", "9"], ["--stages", ","], ["--device", "bogus"], ["--output", "results.txt"]),
        *(["--output", "no/such/folder/results.json"], ["--output", "folder.json"], ["--step-modes", "--stages", "5"]),
    ],
    ids=" ".join,
)
def test_bad_input_is_one_line_and_exit_status_2_before_any_run(
    arguments: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.json").mkdir()
    monkeypatch.setattr(benchmark, "measure", lambda *run: pytest.fail(f"{arguments} started a run"))
    with pytest.raises(SystemExit) as exit:
        main(arguments)
    out, err = capsys.readouterr()
    assert exit.value.code == 2 and out == "" and err.startswith("benchmark.py: error: ") and len(err.splitlines()) == 1


def test_each_run_is_saved_before_anything_is_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(benchmark, "measure", pretend)
    monkeypatch.setattr(sys, "stdout", Full())
    monkeypatch.setattr(sys, "stderr", Full())
    output = tmp_path / "results.json"
    with pytest.raises(OSError, match="No space"):
        main(["--sizes", "200,400", "--stages", "1", "--output", str(output), "--no-figure"])
    assert len(json.loads(output.read_text())["rows"]) == 1


def test_the_step_the_modes_time_is_stage_2s_step(run: Callable[..., StageRun]) -> None:
    step = benchmark.step_runner("eager", 2000, "cpu")
    losses = [step().item() for _ in range(11)]
    assert losses == list(run("fit_tensor.py", "--steps", "10", "--no-figure").log.losses.values())


def test_step_modes_time_eager_and_compiled_steps_and_say_in_a_line_why_a_mode_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "modes.json"
    assert main(["--step-modes", "--sizes", "200", "--steps", "20", "--device", "cpu", "--output", str(output)]) == 0
    rows = json.loads(output.read_text())["step_rows"]
    assert [row["mode"] for row in rows] == list(benchmark.STEP_MODES) and {row["device"] for row in rows} == {"cpu"}
    assert rows[2]["error"] == "RuntimeError: a CUDA graph needs a CUDA device, and cpu is not one"
    out, err = capsys.readouterr()
    assert out == benchmark.step_table(rows) and err.splitlines()[-1].endswith(f"cpu: {rows[2]['error']}")
    if re.search(r"C\+\+|Cxx|Cpp|compiler", rows[1]["error"]):
        pytest.skip(f"torch.compile cannot build its C++ code here: {rows[1]['error']}")
    eager, compiled = rows[:2]
    assert not eager["error"] and not compiled["error"] and 0 < compiled["min_s"] <= compiled["median_s"]
    assert compiled["final_loss"] == pytest.approx(eager["final_loss"], rel=1e-3)


def test_the_step_table_gives_each_size_and_device_a_row_and_each_mode_its_speed_up_over_eager() -> None:
    def row(points: int, device: str, mode: str, median: float | None) -> dict:
        return {"points": points, "device": device, "mode": mode, "median_s": median}

    rows = [row(200, device, mode, 1e-3) for mode in benchmark.STEP_MODES for device in ("cpu", "cuda:0")]
    rows[2:4] = [row(200, "cpu", "torch.compile", 5e-4), row(200, "cuda:0", "torch.compile", None)]
    rows += [row(400, "cpu", "eager", None), row(400, "cpu", "torch.compile", 1e-6)]
    assert benchmark.step_table(rows).splitlines()[2:] == [
        "| 200 | cpu | 1 ms (1.00x) | 500 µs (2.00x) | 1 ms (1.00x) |",
        "| 200 | cuda:0 | 1 ms (1.00x) | n/a | 1 ms (1.00x) |",
        "| 400 | cpu | n/a | 1 µs | n/a |",
    ]


def test_a_mode_that_fails_says_why_in_a_line_even_when_torch_wraps_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    def fails(mode: str, points: int, device: str) -> None:
        raise RuntimeError("backend='inductor' raised:\n\nInvalidCxxCompiler: No working C++ compiler found\nmore")

    monkeypatch.setattr(benchmark, "step_runner", fails)
    row = benchmark.time_step_mode("torch.compile", 200, 20, "cpu")
    assert row["error"] == "RuntimeError: backend='inductor' raised: InvalidCxxCompiler: No working C++ compiler found"
