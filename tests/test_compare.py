"""The comparison tool and the log reader it shares with the tests."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import plotting
from tools import compare, stages
from tools.stages import ROOT, STAGES, StageRun, parse_log


def test_loss_table_has_a_row_per_logged_step_and_the_floor(default_runs: dict[str, StageRun], floor: float) -> None:
    logs = {stage: run.log for stage, run in default_runs.items()}
    header, *rows = compare.loss_table(logs, floor).splitlines()
    assert header.split()[0] == "step" and header.split()[-1] == "floor"
    steps = [int(row.split()[0]) for row in rows]
    assert steps == sorted(set(range(0, 10001, 1000)) | set(range(0, 30001, 3000)))
    # Stage 8 alone logs step 12000, with the degree its forward pass drew.
    stage_8 = logs["fit_ctlflow_wshare.py"]
    row_12000 = rows[steps.index(12000)].split()
    assert row_12000 == ["12000", f"{stage_8.losses[12000]:.7g}", *stage_8.notes[12000].split(), f"{floor:.7g}"]
    assert all(row.split()[-1] == f"{floor:.7g}" for row in rows)


def test_model_table_puts_each_cubic_beside_the_least_squares_one(default_runs: dict[str, StageRun]) -> None:
    logs = {stage: run.log for stage, run in default_runs.items()}
    best = compare.least_squares()
    table = compare.model_table(logs, best).splitlines()
    assert [line.split()[0] for line in table] == ["term", "1", "x", "x^2", "x^3", "x^4", "x^5", "final", "gap"]
    x_row = table[2].split()
    assert float(x_row[-1]) == pytest.approx(best[0][1], rel=1e-5)
    assert [float(cell) for cell in x_row[1:-1]] == pytest.approx([log.cubic[1] for log in logs.values()], rel=1e-5)
    assert table[5].split()[-2:] == [f"{logs['fit_ctlflow_wshare.py'].terms[4].coefficient:.6g}", "?"]


def test_stage_4s_model_is_multiplied_out_into_powers_of_x() -> None:
    a, b, c, d = 0.1, -2.0, 0.05, 0.3
    log = parse_log(f"0 1.0\nResult: y = {a} + {b} * P3({c} + {d} x)\n")
    x = np.linspace(-math.pi, math.pi, 7)
    z = c + d * x
    assert np.polynomial.polynomial.polyval(x, log.cubic) == pytest.approx(a + b * (5 * z**3 - 3 * z) / 2)


def test_a_log_without_a_result_is_refused() -> None:
    with pytest.raises(ValueError, match="not a stage log"):
        parse_log("0 1.0\n1000 0.5\n")


def _short_runs(stage_names: list[str], args: list[str], **options: Any) -> dict[str, StageRun]:
    """compare's run_stages, with short runs and stage 2 at a learning rate that makes it
    diverge and exit. Only compare's name for it is replaced: the suite's default runs,
    started in the background, go on with the real one."""
    runs = {}
    for stage in stage_names:
        extra = ["--learning-rate", "1e30"] if stage == "fit_tensor.py" else []
        runs |= stages.run_stages([stage], [*args, "--steps", "100", *extra], **options)
    return runs


def test_a_failing_stage_is_named_and_the_others_still_shown(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(compare, "run_stages", _short_runs)
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path)
    status = compare.main(["1", "2"])
    captured = capsys.readouterr()
    assert status == 1
    assert "fit_tensor.py failed (exit status 1): step 10: the loss is " in captured.err
    assert "1 numpy" in captured.out and "2 tensor" not in captured.out
    assert (tmp_path / "compare_losses.png").exists()


def test_a_figure_that_cannot_be_saved_is_one_line_after_the_tables(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(compare, "run_stages", _short_runs)
    (tmp_path / "figures").write_text("a file where the folder should be")
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path / "figures")
    assert compare.main(["1"]) == 0
    captured = capsys.readouterr()
    assert "Fitted models" in captured.out
    assert captured.err.splitlines()[-1].startswith("could not draw the figure of the losses: ")


@pytest.mark.parametrize(
    "arguments", [["9"], ["nonsense"], [""], [","], ["--jobs", "0"], ["--bogus"], ["--device", "no-such-device"]]
)
def test_bad_arguments_are_one_line_and_exit_status_2(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        compare.main(arguments)
    assert exit.value.code == 2
    assert len(capsys.readouterr().err.splitlines()) == 1


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from Linux's /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The parent's id is the second field after the name, which may hold spaces.
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry.name))
    return children


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the stage processes in Linux's /proc")
def test_sigterm_stops_every_stage_it_started_with_one_line() -> None:
    # Two stages at once, each many seconds long: the signal comes once both have started.
    tool = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "compare.py"), "1", "8", "--device", "cpu", "--jobs", "2", "--no-figure"],
        env={key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(running := _children(tool.pid)) < 2 and time.monotonic() < deadline and tool.poll() is None:
            time.sleep(0.05)
        tool.send_signal(signal.SIGTERM)
        out, err = tool.communicate(timeout=60)
    finally:
        tool.kill()
    assert len(running) == 2 and not any(_running(pid) for pid in running)
    assert tool.returncode == 128 + signal.SIGTERM
    assert (out, err) == ("", "compare.py: terminated\n")


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1 on Windows")
def test_a_stage_run_that_is_interrupted_stops_its_stage(tmp_path: Path) -> None:
    # A tool waiting for its one stage (as tools/make_readme.py does) hears Ctrl-C: here the
    # process itself, once started, asks for the KeyboardInterrupt, with SIGUSR1.
    pid_file = tmp_path / "pid"
    child = f"import os, signal, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
    child += "os.kill(os.getppid(), signal.SIGUSR1); time.sleep(60)"

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGUSR1, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            stages.StageProcesses().run([sys.executable, "-c", child])
    finally:
        signal.signal(signal.SIGUSR1, before)
    assert not _running(int(pid_file.read_text()))


def test_every_stage_name_form_resolves() -> None:
    from tools.stages import resolve_stages

    assert resolve_stages(["1", "fit_tensor", "autograd", "fit_nn.py", "2"]) == [
        STAGES[0],
        STAGES[1],
        STAGES[2],
        STAGES[4],
    ]


def test_least_squares_cubic_is_the_least_squares_solution() -> None:
    # At the least-squares solution the residual is orthogonal to every column 1, x, x^2, x^3;
    # on points symmetric about 0, sin(x)'s best cubic has no even terms.
    x = np.linspace(-math.pi, math.pi, 2000)
    coefficients, floor = plotting.least_squares_cubic(x, np.sin(x))
    residual = np.polynomial.polynomial.polyval(x, coefficients) - np.sin(x)
    powers = np.vander(x, 4, increasing=True)
    assert np.abs(powers.T @ residual).max() < 1e-9 * np.abs(powers).sum()
    assert coefficients[0] == pytest.approx(0, abs=1e-12) and coefficients[2] == pytest.approx(0, abs=1e-12)
    assert floor == pytest.approx(np.square(residual).sum(), rel=1e-12)
    # Moving any coefficient a little makes the fit worse.
    for power in range(4):
        nudged = coefficients.copy()
        nudged[power] += 1e-4
        assert np.square(np.polynomial.polynomial.polyval(x, nudged) - np.sin(x)).sum() > floor
