"""tools/benchmark.py: its timing, its output files, its figure, its flags and its Markdown table."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest

import plotting
from tools.benchmark import default_steps, draw_figure, main, markdown_table, measure, timed_steps

TINY = ["--sizes", "200,400", "--steps", "20", "--stages", "1,2", "--device", "cpu", "--no-figure"]
TINY_RUNS = {(stage, points) for stage in ("fit_numpy.py", "fit_tensor.py") for points in (200, 400)}
TIMES = ("median_s", "min_s", "max_s", "steps_per_second", "speedup_over_cpu")


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A tiny benchmark, saved as JSON and read back as the README generator would read it."""
    output = tmp_path_factory.mktemp("benchmark") / "results.json"
    assert main([*TINY, "--output", str(output)]) == 0
    return json.loads(output.read_text())


def test_json_holds_every_run_timed_and_the_machine(tiny_results: dict[str, Any]) -> None:
    rows = tiny_results["rows"]
    assert {(row["stage"], row["points"]) for row in rows} == TINY_RUNS
    for row in rows:
        assert row["valid"] and row["device"] == "cpu" and row["steps"] == 20, row
        assert all(row[key] > 0 for key in TIMES), row
        assert row["min_s"] <= row["median_s"] <= row["max_s"]
        assert math.isfinite(row["final_loss"])
    metadata = tiny_results["metadata"]
    assert metadata["torch_threads"] >= 1 and metadata["cpu_count"] >= 1
    assert "loss.item()" in metadata["method"]


def test_csv_holds_every_run_timed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "results.csv"
    assert main([*TINY, "--output", str(output)]) == 0
    with output.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert {(row["stage"], int(row["points"])) for row in rows} == TINY_RUNS
    for row in rows:
        assert row["valid"] == "True" and int(row["torch_threads"]) >= 1, row
        assert all(float(row[key]) > 0 for key in TIMES), row
    printed = capsys.readouterr()
    assert "torch.get_num_threads()" in printed.out and "os.cpu_count()" in printed.out
    # Progress goes to stderr, one line per run as it ends.
    assert len(printed.err.splitlines()) == len(TINY_RUNS)


def test_time_per_step_leaves_out_the_first_interval() -> None:
    log = "".join(f"{step} 1.5\n" for step in range(0, 101, 10)) + "Result: y = 1.0 + 2.0 x\n"
    # Ten steps per interval: the first interval took 5 s (warm-up), each later one 1 s.
    line_times = [0.0, 5.0, *(5.0 + k for k in range(1, 10)), 99.0]
    seconds, final_loss = timed_steps(log, line_times, 100)
    assert seconds == pytest.approx([0.1] * 9)
    assert final_loss == 1.5


def test_a_run_ending_at_a_loss_that_is_not_finite_is_invalid() -> None:
    log = "".join(f"{step} {'nan' if step == 100 else 1.5}\n" for step in range(0, 101, 10)) + "Result: y = 1.0\n"
    with pytest.raises(ValueError, match="last logged loss is nan"):
        timed_steps(log, [float(k) for k in range(12)], 100)


def test_a_stage_that_exits_is_invalid_and_says_why() -> None:
    run = measure("fit_tensor.py", 200, 20, "bogus")
    assert not run.valid and not run.seconds_per_step
    assert (
        run.error
        == "exit status 2: fit_tensor.py: error: argument --device: 'bogus' is not a device torch can use here"
    )


def test_default_steps_are_multiples_of_ten_that_fall_as_the_size_grows() -> None:
    sizes = [2_000, 20_000, 200_000, 2_000_000, 20_000_000, 200_000_000]
    steps = [default_steps(points) for points in sizes]
    assert all(count % 10 == 0 and count >= 10 for count in steps), steps
    assert steps == sorted(steps, reverse=True)


@pytest.mark.parametrize(
    "arguments",
    [
        ["--bogus"],
        ["--sizes", "many"],
        ["--sizes", "2000,3"],
        ["--steps", "15"],
        ["--steps", "0"],
        ["--stages", "9"],
        ["--device", "bogus"],
        ["--output", "results.txt"],
        ["--output", "/no/such/folder/results.json"],
    ],
    ids=" ".join,
)
def test_bad_input_is_one_line_and_exit_status_2(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(arguments)
    assert exit.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and "benchmark.py: error: " in captured.err


def test_markdown_table_has_a_row_for_every_run(tiny_results: dict[str, Any]) -> None:
    invalid = {**tiny_results["rows"][0], "device": "cuda:0", "valid": False, "error": "OutOfMemoryError: |x|"}
    table = markdown_table({**tiny_results, "rows": [*tiny_results["rows"], invalid]})
    lines = table.splitlines()
    assert lines[0].startswith("| stage | points | device | time per step")
    assert len(lines) == 2 + len(TINY_RUNS) + 1
    # Every line has the same seven cells, even where an error message holds a "|".
    assert {line.replace("\\|", "").count("|") for line in lines} == {8}
    assert "| fit_tensor.py | 400 | cpu |" in table
    assert "invalid: OutOfMemoryError" in lines[-1]


def test_figure_is_drawn(tiny_results: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Into a folder of the test's own, so that the project's figure is left as it is.
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path)
    path = draw_figure(tiny_results, "benchmark_scaling")
    assert path == tmp_path / "benchmark_scaling.png"
    assert path.read_bytes().startswith(b"\x89PNG")
