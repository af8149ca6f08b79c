"""The figure every stage draws: from any folder, without a display, and when it cannot be drawn or saved."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import plotting
from tools.stages import ROOT, STAGES


def _copy_of_the_project(tmp_path: Path) -> Path:
    """The stages and plotting.py in a folder of their own, so figures land there."""
    project = tmp_path / "project"
    project.mkdir()
    for name in (*STAGES, "plotting.py"):
        shutil.copy(ROOT / name, project)
    return project


def _run(
    project: Path, stage: str, *args: str, cwd: Path, python: tuple[str, ...] = (), **extra: str
) -> subprocess.CompletedProcess[str]:
    # No display, and no backend chosen for matplotlib: as on a headless machine, unless
    # `extra` sets one.
    # Python's buffering too, as for a learner.
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "MPLBACKEND", "PYTHONUNBUFFERED")}
    env |= extra
    return subprocess.run(
        [sys.executable, *python, str(project / stage), *args],
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


def test_figure_of_a_torch_stage_takes_tensors_that_require_grad(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path)
    x = torch.linspace(-3, 3, 50)
    y_pred = x * torch.ones((), requires_grad=True)
    args = argparse.Namespace(no_figure=False, show=False)
    plotting.save_fit_figure("Stage 5: a title", x, torch.sin(x), y_pred, args)
    assert (tmp_path / "fit_nn.png").read_bytes().startswith(b"\x89PNG")


def test_no_figure_draws_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path)
    x = torch.linspace(-3, 3, 50)
    args = argparse.Namespace(no_figure=True, show=False)
    plotting.save_fit_figure("Stage 2: a title", x, torch.sin(x), x, args)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cause", ["a file where its folder should be", "a backend that does not exist", "python -OO"])
def test_a_figure_that_cannot_be_drawn_is_one_line_and_the_results_stand(tmp_path: Path, cause: str) -> None:
    project = _copy_of_the_project(tmp_path)
    python, extra = (), {}
    if cause == "a file where its folder should be":
        (project / "figures").write_text(cause)
    elif cause == "a backend that does not exist":
        extra["MPLBACKEND"] = "no-such-backend"
    else:
        # -OO removes the docstrings, and with them the stage's name.
        python = ("-OO",)
    done = _run(project, "fit_numpy.py", "--steps", "10", cwd=tmp_path, python=python, **extra)
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1].startswith("Result: y = ")
    [line] = done.stderr.splitlines()
    assert line.startswith("could not draw the figure of this stage: ")
