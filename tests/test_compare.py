"""tools/compare.py: its tables and figure, a failing stage, its flags, and that it stops its stages."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import plotting
from tools import compare
from tools.stages import ROOT, STAGES, StageRun, stage_command


def test_the_tables_show_every_logged_step_and_every_cubic_beside_the_floor(
    run: Callable[..., StageRun], least_squares_fit: tuple[np.ndarray, float],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    logs, floor = {stage: run(stage).log for stage in STAGES}, least_squares_fit[1]
    header, *rows = compare.loss_table(logs, floor).splitlines()
    assert header.split()[0] == "step" and header.split()[-1] == "floor"
    steps = [int(row.split()[0]) for row in rows]
    assert steps == sorted(set(range(0, 10001, 1000)) | set(range(0, 30001, 3000)))
    # Stage 8 alone logs step 12000, with the degree its forward pass drew.
    stage_8 = logs["fit_ctlflow_wshare.py"]
    row_12000 = ["12000", f"{stage_8.losses[12000]:.7g}", *stage_8.notes[12000].split(), f"{floor:.7g}"]
    assert rows[steps.index(12000)].split() == row_12000
    assert all(row.split()[-1] == f"{floor:.7g}" for row in rows)
    table = compare.model_table(logs, least_squares_fit).splitlines()
    assert [line.split()[0] for line in table] == ["term", "1", "x", "x^2", "x^3", "x^4", "x^5", "final", "gap"]
    x_row = table[2].split()
    assert float(x_row[-1]) == pytest.approx(least_squares_fit[0][1], rel=1e-5)
    assert [float(cell) for cell in x_row[1:-1]] == pytest.approx([log.cubic[1] for log in logs.values()], rel=1e-5)
    assert table[5].split()[-2:] == [f"{stage_8.terms[4].coefficient:.6g}", "?"]
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path)
    compare.draw_losses(logs, floor)
    assert (tmp_path / "compare_losses.png").read_bytes().startswith(b"\x89PNG")


def test_a_failing_stage_is_named_after_the_others_tables_and_the_figure_is_one_line_if_it_cannot_be_saved(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def stage_2_diverges(stage: str, *flags: str, device: str | None = None) -> list[str]:
        return stage_command(stage, *flags, *(["--learning-rate", "1e30"] if stage == STAGES[1] else []))

    monkeypatch.setattr(compare, "stage_command", stage_2_diverges)
    (tmp_path / "figures").write_text("a file where the folder should be")
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path / "figures")
    # A stage named by its number, another by its name.
    assert compare.main(["1", "fit_tensor", "--steps", "20"]) == 1
    out, err = capsys.readouterr()
    assert "1 numpy" in out and "2 tensor" not in out and "Fitted models" in out
    figure, failed = err.splitlines()
    assert figure.startswith("could not draw the figure: ") and "the fit diverged" in failed
    assert failed.startswith("fit_tensor.py failed (exit status 1): step ")


@pytest.mark.parametrize(
    "arguments",
    [["9"], ["nonsense"], [""], [","], ["--bogus"], ["--step", "20"], ["--steps", "15"], ["--device", "bogus"]],
    ids=" ".join,
)
def test_bad_arguments_are_one_line_and_exit_status_2(
    arguments: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compare, "run_side_by_side", lambda *run, **device: pytest.fail(f"{arguments} ran"))
    with pytest.raises(SystemExit) as exit:
        compare.main(arguments)
    err = capsys.readouterr().err
    assert exit.value.code == 2 and err.startswith("compare.py: error: ") and len(err.splitlines()) == 1


def test_a_ctrl_c_while_the_stages_run_stops_every_one(monkeypatch: pytest.MonkeyPatch) -> None:
    started = []

    class Interrupted(subprocess.Popen):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

        def communicate(self, *args: object, **kwargs: object) -> tuple[str, str]:
            raise KeyboardInterrupt

    monkeypatch.setattr(compare, "Popen", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        compare.main(["1", "8"])
    # Each was stopped, none ended by itself (that takes seconds, and ends with status 0).
    assert len(started) == 2 and all(process.returncode not in (None, 0) for process in started)


@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(), reason="needs Linux's /proc")
def test_sigterm_stops_every_stage_it_started(tmp_path: Path) -> None:
    # Run as a learner would, from another folder; two stages that run for minutes.
    command = [sys.executable, str(ROOT / "tools" / "compare.py"), "2", "8", "--steps", "1000000"]
    env = os.environ | {"PYTHONPATH": str(ROOT)}  # this checkout's tools, whichever one pip installed
    tool = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children, deadline, stages = Path(f"/proc/{tool.pid}/task/{tool.pid}/children"), time.monotonic() + 60, []
    while len(stages) < 2 and time.monotonic() < deadline and tool.poll() is None:
        stages = children.read_text().split()
        time.sleep(0.05)
    tool.send_signal(signal.SIGTERM)
    out, err = tool.communicate(timeout=60)
    assert len(stages) == 2 and tool.returncode == -signal.SIGINT and err.endswith("KeyboardInterrupt\n")
    assert not any(Path(f"/proc/{pid}").exists() for pid in stages)
