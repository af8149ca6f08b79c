"""plotting.read_flags: a flag replaces a stage's setting for one run; a bad one is one line
and exit status 2; reading them, or importing plotting, changes nothing in the process."""

import argparse
import os
import subprocess
import sys
from typing import Any

import pytest
import torch

import plotting

DOC = "Stage 0: a lesson for the tests.\n\nWhat it teaches."
SETTINGS = {"points": 2000, "steps": 10000, "learning_rate": 1e-6}
# Each a wrong value, a value a stage cannot run with, a flag cut short or one that is not there.
BAD = "--steps=15 --steps=0 --steps=ten --points=3 --points=2.5 --learning-rate=0 --learning-rate=-1e-6 "
BAD += "--learning-rate=nan --learning-rate=inf --learning-rate=1e39 --device=no-such-device --step=100 "
BAD += "--learning=1e-3 --no-fig extra"


def read(monkeypatch: pytest.MonkeyPatch, *argv: str, device: Any = "cpu") -> argparse.Namespace:
    monkeypatch.setattr(sys, "argv", ["fit_stage.py", *argv])
    return plotting.read_flags(DOC, **SETTINGS, device=device if device is None else torch.device(device))


def test_without_flags_the_settings_stand(monkeypatch: pytest.MonkeyPatch) -> None:
    flags = read(monkeypatch)
    assert (flags.points, flags.steps, flags.learning_rate, flags.device) == (2000, 10000, 1e-6, torch.device("cpu"))
    assert flags.figure and not flags.show and flags.name == "fit_stage"
    assert flags.title == f"fit_stage.py\n{DOC.splitlines()[0]}"


def test_each_flag_replaces_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["--points", "50", "--steps", "20", "--learning-rate", "0.5", "--device", "cpu", "--no-figure", "--show"]
    flags = read(monkeypatch, *argv)
    assert (flags.points, flags.steps, flags.learning_rate, flags.figure, flags.show) == (50, 20, 0.5, False, True)


@pytest.mark.parametrize("flag", BAD.split())
def test_a_bad_flag_or_value_is_one_line_and_exit_status_2(flag: str, monkeypatch, capsys) -> None:
    with pytest.raises(SystemExit) as exit:
        read(monkeypatch, flag)
    assert exit.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("fit_stage.py: error: ")


def test_help_shows_the_lesson_then_every_flag_with_its_default(monkeypatch, capsys) -> None:
    with pytest.raises(SystemExit) as exit:
        read(monkeypatch, "--help")
    shown = capsys.readouterr().out
    assert exit.value.code == 0 and shown.startswith(DOC)
    for flag, default in [("--points", 2000), ("--steps", 10000), ("--learning-rate", 1e-6), ("--device", "cpu")]:
        assert f"{flag}" in shown and f"(default: {default})" in shown


def test_the_numpy_stage_has_no_device_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not hasattr(read(monkeypatch, device=None), "device")
    with pytest.raises(SystemExit):
        read(monkeypatch, "--device", "cpu", device=None)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is here, so --device cuda is a good value")
def test_a_device_torch_cannot_use_here_is_refused_before_the_run(monkeypatch, capsys) -> None:
    # torch.device("cuda") is a valid name on any machine; only computing there shows it is not.
    with pytest.raises(SystemExit):
        read(monkeypatch, "--device", "cuda")
    assert "'cuda' is not a device torch can use here" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "sysconf"), reason="Python cannot tell this platform's memory (no os.sysconf)")
def test_more_points_than_memory_holds_is_one_line(monkeypatch, capsys) -> None:
    points = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // plotting.BYTES_PER_POINT + 1
    with pytest.raises(SystemExit):
        read(monkeypatch, "--points", str(points))
    assert "need more than this machine's" in capsys.readouterr().err


def test_in_a_jupyter_kernel_the_kernels_arguments_are_not_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/venv/lib/ipykernel_launcher.py", "-f", "/run/kernel-1234.json"])
    flags = plotting.read_flags(DOC, **SETTINGS, device=torch.device("cpu"))
    assert (flags.points, flags.steps, flags.figure, flags.show) == (2000, 10000, False, True)


def test_importing_plotting_and_reading_flags_change_nothing_in_the_process() -> None:
    # Signal handlers, the excepthook, the streams, atexit's list: as Python set them.
    check = """
import atexit, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as Python sets it, even under a shell that ignores it
def state():
    return [signal.getsignal(signal.SIGINT), sys.excepthook, sys.stdout, sys.stderr, atexit._ncallbacks()]
before = state()
import plotting
sys.argv = ["fit_stage.py", "--steps", "20"]
plotting.read_flags("Stage 0: a test.", points=10, steps=10, learning_rate=0.1)
assert state() == before, (before, state())
"""
    folder = plotting.FIGURES_DIR.parent
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=folder)
    assert done.returncode == 0, done.stderr
