"""A stage's figure: saved in the project's figures/ from any folder, with or without a
display; a figure that cannot be drawn or saved is one line, and the results stand."""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import plotting
from tools.stages import ROOT

PNG = b"\x89PNG"
X = torch.linspace(-3, 3, 50)


def _flags(**options: bool) -> argparse.Namespace:
    return argparse.Namespace(**({"figure": True, "show": False} | options), name="fit_test", title="Stage 0: a test")


def _run_a_copy(
    tmp_path: Path, *flags: str, python: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a copy of stage 1, beside a copy of plotting.py, from another folder, for 10 steps.
    The environment is this one less any display or backend, plus `env`: each test chooses."""
    (tmp_path / "project").mkdir(exist_ok=True)
    for name in ("fit_numpy.py", "plotting.py"):
        shutil.copy(ROOT / name, tmp_path / "project")
    kept = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "MPLBACKEND")} | (env or {})
    command = [sys.executable, *python, str(tmp_path / "project" / "fit_numpy.py"), "--steps", "10", *flags]
    return subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, env=kept, stdin=subprocess.DEVNULL, timeout=120
    )


@pytest.mark.parametrize("display", [None, ":99"], ids=["no display", "a display that is not there"])
def test_the_figure_is_saved_beside_plotting_from_any_folder_with_no_window(tmp_path: Path, display) -> None:
    # Saving draws without a window, so no display is needed and none is opened, on any platform.
    done = _run_a_copy(tmp_path, env={"DISPLAY": display} if display else {})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "project" / "figures" / "fit_numpy.png").read_bytes().startswith(PNG)
    assert not (tmp_path / "figures").exists()


def test_show_with_no_display_says_so_and_saves_the_figure(tmp_path: Path) -> None:
    # Agg, matplotlib's backend for files only, is what it falls back to where there is no display.
    done = _run_a_copy(tmp_path, "--show", env={"MPLBACKEND": "Agg"})
    assert done.returncode == 0 and "no display to show the figure on" in done.stderr
    assert (tmp_path / "project" / "figures" / "fit_numpy.png").read_bytes().startswith(PNG)


def test_a_figure_of_tensors_moved_to_the_cpu_and_detached_is_saved(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path)
    y_pred = X * torch.ones((), requires_grad=True)
    plotting.save_fit_figure(X.cpu(), torch.sin(X).cpu(), y_pred.detach().cpu(), _flags())
    assert (tmp_path / "fit_test.png").read_bytes().startswith(PNG)


def test_no_figure_draws_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path)
    plotting.save_fit_figure(X, torch.sin(X), X, _flags(figure=False))
    assert list(tmp_path.iterdir()) == []


def test_a_figure_that_cannot_be_saved_is_one_line(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "figures").write_text("not a folder")
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path / "figures")
    plotting.save_fit_figure(X, torch.sin(X), X, _flags())
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("could not draw the figure: ")


def test_a_backend_that_does_not_exist_is_one_line_after_the_results(tmp_path: Path) -> None:
    # Only a figure to be shown needs a backend.
    done = _run_a_copy(tmp_path, "--show", env={"MPLBACKEND": "no-such-backend"})
    assert done.returncode == 0 and done.stdout.splitlines()[-1].startswith("Result: y = ")
    assert [line for line in done.stderr.splitlines() if "figure" in line][-1].startswith("could not draw the figure")


def test_without_docstrings_the_figure_is_still_saved_under_the_stages_name(tmp_path: Path) -> None:
    # python -OO removes the docstrings; the title falls back to the file's name.
    done = _run_a_copy(tmp_path, python=("-OO",))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "project" / "figures" / "fit_numpy.png").read_bytes().startswith(PNG)
