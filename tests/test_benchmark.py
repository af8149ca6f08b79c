"""tools/benchmark.py: its timing, its checks, its results file, its README section, its figure and its flags."""

import contextlib
import io
import json
import math
import os
import runpy
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import plotting
from tools import benchmark
from tools.benchmark import Measurement, default_sizes, free_memory, main, measure, result_rows
from tools.stages import ROOT

TINY = ["--sizes", "200,400", "--steps", "20", "--stages", "1,2", "--device", "cpu", "--no-figure"]
TINY_RUNS = {(stage, points) for stage in ("fit_numpy.py", "fit_tensor.py") for points in (200, 400)}
TIMES = ("median_s", "min_s", "max_s", "steps_per_second", "speedup_over_cpu")
NINE = (1e-3,) * 9


@pytest.fixture(autouse=True)
def figures_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Whatever a test here runs, a figure goes into a folder of its own, not into the project's figures/."""
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path / "figures")
    return tmp_path / "figures"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, str]:
    """A tiny benchmark: its results file read back as the README generator reads it, and its stdout and stderr."""
    output, out, err = tmp_path_factory.mktemp("benchmark") / "results.json", io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        patch.setattr(plotting, "FIGURES_DIR", output.parent / "figures")
        assert main([*TINY, "--output", str(output)]) == 0
    return json.loads(output.read_text()), out.getvalue(), err.getvalue()


def test_json_holds_every_run_timed_and_the_machine(tiny_run: tuple[dict[str, Any], str, str]) -> None:
    results, out, err = tiny_run
    rows = results["rows"]
    assert {(row["stage"], row["points"]) for row in rows} == TINY_RUNS
    for row in rows:
        assert row["valid"] and row["device"] == "cpu" and row["steps"] == 20, row
        assert all(row[key] > 0 for key in TIMES), row
        assert row["min_s"] <= row["median_s"] <= row["max_s"]
        assert math.isfinite(row["final_loss"])
    metadata = results["metadata"]
    assert metadata["torch"] == torch.__version__ and metadata["devices"]["cpu"]
    assert metadata["torch_threads"] >= 1 and metadata["cpu_count"] >= 1 and metadata["numpy"]
    assert metadata["date"].startswith("20") and "loss.item()" in metadata["method"]
    # The table on stdout; on stderr a progress line for each run as it ends.
    assert out.count("| fit_") == len(TINY_RUNS)
    assert [line.split("]")[0] for line in err.splitlines()] == ["[1/4", "[2/4", "[3/4", "[4/4"]


def test_time_per_step_leaves_out_the_first_interval() -> None:
    log = "".join(f"{step} 1.5\n" for step in range(0, 101, 10)) + "Result: y = 1.0 + 2.0 x\n"
    # Ten steps per interval: the first interval took 5 s (warm-up), each later one 1 s.
    line_times = [0.0, 5.0, *(5.0 + k for k in range(1, 10)), 99.0]
    seconds, final_loss = benchmark.timed_steps(log, line_times, 100)
    assert seconds == pytest.approx([0.1] * 9)
    assert final_loss == 1.5


def test_a_run_ending_at_a_loss_that_is_not_finite_is_invalid() -> None:
    log = "".join(f"{step} {'nan' if step == 100 else 1.5}\n" for step in range(0, 101, 10)) + "Result: y = 1.0\n"
    with pytest.raises(ValueError, match="last logged loss is nan"):
        benchmark.timed_steps(log, [float(k) for k in range(12)], 100)
    [made] = result_rows([Measurement("fit_tensor.py", 200, 100, "cpu", error="the last logged loss is nan")])
    assert not made["valid"] and made["median_s"] is None and made["steps_per_second"] is None


def test_a_stage_that_exits_is_invalid_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    run = measure("fit_tensor.py", 200, 20, "bogus")
    assert not run.seconds_per_step
    assert (
        run.error
        == "exit status 2: fit_tensor.py: error: argument --device: 'bogus' is not a device torch can use here"
    )
    # A rate far too large: the NumPy stage overflows and says so itself.
    monkeypatch.setattr(benchmark, "stage_defaults", lambda stage: {"learning_rate": 1.0})
    run = measure("fit_numpy.py", 200, 100, "cpu")
    assert run.error.startswith("step ") and "the fit diverged" in run.error and not run.seconds_per_step


def test_the_learning_rate_is_scaled_to_the_points(monkeypatch: pytest.MonkeyPatch) -> None:
    # At 20,000 points the NumPy stage's own rate (1e-6) takes its loss from 1.5e7 to 5e33 in 20 steps.
    run = measure("fit_numpy.py", 20_000, 20, "cpu")
    assert not run.error and run.final_loss < 1e5
    seen = []
    monkeypatch.setattr(runpy, "run_path", lambda path, run_name: seen.append(sys.argv))
    measure("fit_optim.py", 200_000, 20, "cuda:1")
    assert seen[0][seen[0].index("--learning-rate") + 1 :] == [repr(1e-3 / 100), "--no-figure", "--device", "cuda:1"]


@pytest.mark.parametrize(
    "arguments",
    [
        ["--bogus"],
        ["--no-figure=yes"],
        ["--sizes", "many"],
        ["--sizes", "2000,3"],
        ["--sizes", str(10**40)],
        ["--steps", "15"],
        ["--steps", "0"],
        ["--steps", "ten"],
        ["--stages", "9"],
        ["--stages", ","],
        ["--stages", ""],
        ["--device", "bogus"],
        ["--output", "results.txt"],
        ["--output", "/no/such/folder/results.json"],
        ["--output", "folder.json"],
    ],
    ids=" ".join,
)
def test_bad_input_is_one_line_and_exit_status_2(
    arguments: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Should a check let the input through, no benchmark runs and nothing is written outside tmp_path.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.json").mkdir()
    monkeypatch.setattr(benchmark, "measure", lambda *run: pytest.fail(f"{arguments} started a run"))
    with pytest.raises(SystemExit) as exit:
        main(arguments)
    assert exit.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and captured.err.startswith("benchmark.py: error: ")


def test_the_memory_query_falls_back_where_torch_cannot_answer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(device: Any) -> tuple[int, int]:
        raise RuntimeError("Allocator for mps is not a DeviceAllocator")

    # MPS on a torch whose torch.accelerator.get_memory_info raises; torch.mps has no mem_get_info.
    monkeypatch.setattr(torch.accelerator, "get_memory_info", refuse, raising=False)
    assert default_sizes(["mps"]) == [2_000, 20_000, 200_000, 2_000_000, 20_000_000]
    assert len(capsys.readouterr().err.splitlines()) == 1
    # CUDA on torch 2.6 to 2.9, which has no torch.accelerator.get_memory_info: torch.cuda answers.
    monkeypatch.delattr(torch.accelerator, "get_memory_info", raising=False)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (100 * 2**30, 141 * 2**30))
    assert default_sizes(["cuda:0"])[-2:] == [20_000_000, 200_000_000]
    monkeypatch.setattr(torch.cuda, "mem_get_info", refuse)
    assert free_memory("cuda:0") == 0 and len(capsys.readouterr().err.splitlines()) == 1
    assert default_sizes([]) == [2_000, 20_000, 200_000, 2_000_000] and not capsys.readouterr().err


def test_an_accelerator_run_that_does_not_end_at_the_cpus_loss_is_invalid() -> None:
    runs = [Measurement("fit_tensor.py", 2000, 100, "cpu", (2e-3,) * 9, 10.0)]
    runs.append(Measurement("fit_tensor.py", 2000, 100, "mps", NINE, 10.5))  # a wrong matmul, say
    runs.append(Measurement("fit_tensor.py", 2000, 100, "cuda:0", NINE, 10.0001))  # float32 rounding
    runs.append(Measurement("fit_tensor.py", 2000, 200, "cuda:0", NINE, 10.0))  # no cpu run with these steps
    runs += [Measurement("fit_optim.py", 2000, 100, device, NINE, loss) for device, loss in (("cpu", 9), ("mps", 10))]
    # Past 2^24 points the CPU's float32 matmul is no reference, so stage 5 is not checked there.
    runs += [Measurement("fit_nn.py", 2**25, 10, device, NINE, loss) for device, loss in (("cpu", 1), ("mps", 2))]
    rows = result_rows(runs)
    assert [row["valid"] for row in rows] == [True, False, True, False, True, True, True, True]
    assert rows[1]["error"].startswith("wrong result: its last loss is 10.5, the cpu's is 10")
    assert rows[1]["median_s"] is None and rows[1]["speedup_over_cpu"] is None
    assert rows[2]["speedup_over_cpu"] == pytest.approx(2) and "the cpu has none" in rows[3]["error"]


def test_an_accelerator_is_timed_with_the_cpu_as_its_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(stage: str, points: int, steps: int, device: str) -> Measurement:
        runs.append((stage, device))
        return Measurement(stage, points, steps, device, NINE, 2.0 if (stage, device) == ("fit_nn.py", "mps") else 1.0)

    runs: list[tuple[str, str]] = []
    monkeypatch.setattr(plotting, "usable_device", lambda name: torch.device("mps"))
    monkeypatch.setattr(benchmark, "measure", fake)
    output = tmp_path / "results.json"
    assert main(["--device", "mps", "--sizes", "200", "--stages", "1,2,5", "--output", str(output), "--no-figure"]) == 0
    # The NumPy stage on the CPU only; each torch stage on the CPU, then on the accelerator.
    tensor, nn = "fit_tensor.py", "fit_nn.py"
    assert runs == [("fit_numpy.py", "cpu"), (tensor, "cpu"), (tensor, "mps"), (nn, "cpu"), (nn, "mps")]
    results = json.loads(output.read_text())
    assert list(results["metadata"]["devices"]) == ["cpu", "mps"]
    assert [row["valid"] for row in results["rows"]] == [True, True, True, True, False]
    assert results["rows"][2]["speedup_over_cpu"] == 1.0


def test_a_figure_that_cannot_be_saved_is_one_line_after_the_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(benchmark, "measure", lambda *run: Measurement(*run, NINE, 1.0))
    (tmp_path / "figures").write_text("a file where the folder should be")
    output = tmp_path / "results.json"
    assert main(["--device", "cpu", "--sizes", "200", "--stages", "2", "--output", str(output)]) == 0
    assert len(json.loads(output.read_text())["rows"]) == 1
    captured = capsys.readouterr()
    assert "| fit_tensor.py | 200 | cpu |" in captured.out
    assert captured.err.splitlines()[-1].startswith("could not draw the figure results.png: ")


def test_markdown_table_has_a_row_for_every_run(tiny_run: tuple[dict[str, Any], str, str]) -> None:
    results = tiny_run[0]
    invalid = {**results["rows"][0], "device": "cuda:0", "valid": False, "error": "OutOfMemoryError: |x|"}
    lines = benchmark.markdown_table({**results, "rows": [*results["rows"], invalid]}).splitlines()
    assert lines[0].startswith("| stage | points | device | time per step")
    assert len(lines) == 2 + len(TINY_RUNS) + 1
    # Every line has the same seven cells, even where an error message holds a "|".
    assert {line.replace("\\|", "").count("|") for line in lines} == {8}
    assert "| fit_tensor.py | 400 | cpu |" in "\n".join(lines) and "invalid: OutOfMemoryError" in lines[-1]


def test_figure_is_drawn(tiny_run: tuple[dict[str, Any], str, str], figures_elsewhere: Path) -> None:
    results = tiny_run[0]
    gpu = [{**row, "device": "cuda:0"} for row in results["rows"] if row["stage"] == "fit_tensor.py"]
    metadata = {**results["metadata"], "devices": {"cpu": "a CPU", "cuda:0": "a GPU"}}
    path = benchmark.draw_figure({"metadata": metadata, "rows": [*results["rows"], *gpu]}, "benchmark_scaling")
    assert path == figures_elsewhere / "benchmark_scaling.png"
    assert path.read_bytes().startswith(b"\x89PNG")


def _benchmark(*arguments: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "benchmark.py"), "--device", "cpu", "--no-figure", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        # Python's buffering as for a user, whatever the tests run under.
        env={key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"} | env,
    )


def test_an_output_that_cannot_show_a_character_costs_that_character(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    tool = _benchmark(
        "--sizes", "100", "--stages", "1", "--steps", "10", "--output", str(output), PYTHONIOENCODING="ascii"
    )
    out, err = tool.communicate(timeout=120)
    assert tool.returncode == 0, err
    # Each "µs" in the table, as "?s".
    assert "| fit_numpy.py | 100 | cpu |" in out and " ?s |" in out
    assert len(json.loads(output.read_text())["rows"]) == 1


def test_sigterm_ends_the_benchmark_with_one_line_and_the_runs_it_finished_saved(tmp_path: Path) -> None:
    # 1000 steps take a fraction of a second at 100 points, minutes at a million.
    output = tmp_path / "results.json"
    tool = _benchmark("--sizes", "100,1000000", "--stages", "1", "--steps", "1000", "--output", str(output))
    second = "[2/2] fit_numpy.py, 1,000,000 points, 1000 steps, cpu: "
    try:
        first_line = tool.stderr.readline()
        # The second run has begun: the signal comes while the stage runs inside the benchmark.
        begun = tool.stderr.read(len(second))
        tool.send_signal(signal.SIGTERM)
        out, err = tool.communicate(timeout=60)
    finally:
        tool.kill()
    assert first_line.startswith("[1/2] fit_numpy.py, 100 points") and begun == second
    assert tool.returncode == 128 + signal.SIGTERM
    assert (out, err) == ("", "benchmark.py: terminated\n")
    [row] = json.loads(output.read_text())["rows"]
    assert row["points"] == 100 and row["valid"]
    assert [path.name for path in tmp_path.iterdir()] == ["results.json"]


def test_a_benchmark_stopped_before_its_first_run_ends_leaves_an_earlier_results_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "results.json"
    output.write_text('{"an earlier": "benchmark"}\n')

    def interrupted(*run: object) -> Measurement:
        raise KeyboardInterrupt

    monkeypatch.setattr(benchmark, "measure", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main(["--device", "cpu", "--sizes", "200", "--stages", "1", "--no-figure", "--output", str(output)])
    assert output.read_text() == '{"an earlier": "benchmark"}\n'
