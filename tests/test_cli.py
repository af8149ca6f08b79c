"""The flags, the device choice, bad input and the figure, for every stage."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import plotting
from tools.stages import ROOT, STAGES, TORCH_STAGES

FLAGS = ["--points", "--steps", "--learning-rate", "--no-figure", "--show"]
NO_ACCELERATOR = not torch.accelerator.is_available()

BAD_ARGUMENTS = [
    ["--bogus"],
    ["--points", "many"],
    ["--points", "3"],
    ["--steps", "15"],
    ["--steps", "0"],
    ["--learning-rate", "-1e-6"],
    ["--learning-rate", "nan"],
    ["--learning-rate", "inf"],
]


@pytest.mark.parametrize("stage", STAGES)
def test_help_explains_every_flag(stage: str, run_in_process, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        run_in_process(stage, "--help")
    assert exit.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"Stage {STAGES.index(stage) + 1}: ")
    for flag in FLAGS + (["--device"] if stage in TORCH_STAGES else []):
        # The flag, perhaps its metavar, then words of help on the same line or the next.
        assert re.search(rf"^  {flag}( [A-Z]+)?(\s{{2,}}|\n\s+)\S+ \S+", shown, re.MULTILINE), flag


@pytest.mark.parametrize("arguments", BAD_ARGUMENTS, ids=" ".join)
@pytest.mark.parametrize("stage", STAGES)
def test_bad_input_is_one_line_and_exit_status_2(
    stage: str, arguments: list[str], run_in_process, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        run_in_process(stage, *arguments, "--no-figure")
    assert exit.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and ": error: " in captured.err


@pytest.mark.parametrize("device", ["bogus", "cuda:99"] + (["cuda"] if NO_ACCELERATOR else []))
@pytest.mark.parametrize("stage", TORCH_STAGES)
def test_a_device_that_is_not_there_is_an_error(
    stage: str, device: str, run_in_process, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        run_in_process(stage, "--device", device, "--no-figure")
    assert exit.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{stage}: error: argument --device: {device!r} is not a device torch can use here"
    ]


@pytest.mark.parametrize("stage", TORCH_STAGES)
def test_auto_device_is_the_accelerator_or_else_the_cpu(
    stage: str, run_in_process, capsys: pytest.CaptureFixture[str]
) -> None:
    run_in_process(stage, "--device", "auto", "--steps", "10", "--no-figure")
    expected = "cpu" if NO_ACCELERATOR else torch.accelerator.current_accelerator().type
    assert capsys.readouterr().err.splitlines()[0].split(":")[:2] == ["device", f" {expected}"]


def _copy_of_the_project(tmp_path: Path) -> Path:
    """The stages and plotting.py in a folder of their own, so figures land there."""
    project = tmp_path / "project"
    project.mkdir()
    for name in (*STAGES, "plotting.py"):
        shutil.copy(ROOT / name, project)
    return project


def _run(project: Path, stage: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No display, and no backend chosen for matplotlib: as on a headless machine.
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "MPLBACKEND")}
    return subprocess.run(
        [sys.executable, str(project / stage), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_figure_is_written_next_to_the_stage_from_any_folder_without_a_display(tmp_path: Path) -> None:
    # --show asks for a window; with no display there is none to open, and the run must
    # neither wait nor fail, and still save the figure beside the stage, not in the cwd.
    project = _copy_of_the_project(tmp_path)
    done = _run(project, "fit_numpy.py", "--steps", "10", "--show", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no display to show the figure on" in done.stderr
    assert (project / "figures" / "fit_numpy.png").read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "figures").exists()


def test_figure_of_a_torch_stage_takes_tensors_on_any_device_with_gradients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path)
    x = torch.linspace(-3, 3, 50)
    y_pred = x * torch.ones((), requires_grad=True)
    path = plotting.save_fit_figure("fit_nn.py", "Stage 5: a title", x, torch.sin(x), y_pred)
    assert path == tmp_path / "fit_nn.png" and path.read_bytes().startswith(b"\x89PNG")


def test_a_figure_that_cannot_be_saved_is_reported_and_the_results_stand(tmp_path: Path) -> None:
    project = _copy_of_the_project(tmp_path)
    (project / "figures").write_text("a file where the folder should be")
    done = _run(project, "fit_numpy.py", "--steps", "10", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1].startswith("Result: y = ")
    assert "could not save the figure" in done.stderr
    assert "Traceback" not in done.stderr


def test_divergence_from_the_shell_names_the_step_without_a_traceback(tmp_path: Path) -> None:
    # The rate the README suggests trying.
    done = _run(ROOT, "fit_numpy.py", "--learning-rate", "1e-3", "--steps", "1000", "--no-figure", cwd=tmp_path)
    assert done.returncode == 1
    assert re.fullmatch(
        r"step \d+: the loss is (inf|nan), .* try a smaller --learning-rate", done.stderr.splitlines()[-1]
    )
    assert "Traceback" not in done.stderr
