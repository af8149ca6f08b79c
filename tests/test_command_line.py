"""plotting.command_line, the one command line every stage takes: its flags, bad input,
the device, and how a run ends when it is interrupted or its reader goes away."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import plotting
from tools.stages import ROOT

DOC = "Stage 0: a lesson for the tests.\n\nWhat it teaches."
NO_ACCELERATOR = not torch.accelerator.is_available()

BAD_ARGUMENTS = [
    ["--bogus"],
    ["--points"],
    ["--points", "many"],
    ["--points", "3"],
    ["--steps", "15"],
    ["--steps", "0"],
    ["--steps", "-10"],
    ["--learning-rate", "fast"],
    ["--learning-rate", "0"],
    ["--learning-rate", "-1e-6"],
    ["--learning-rate", "nan"],
    ["--learning-rate", "inf"],
    ["--device", "bogus"],
    ["--device", "cuda:99"],
    ["--device", "meta"],
    *([["--device", "cuda"], ["--device", "mps"]] if NO_ACCELERATOR else []),
]


def read(*argv: str, device: str | None = "auto"):
    return plotting.command_line(DOC, steps=300, learning_rate=2e-5, device=device, argv=list(argv))


@pytest.fixture(autouse=True)
def keep_the_process_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    # command_line installs an excepthook for the whole process; the tests put it back.
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)


def test_defaults_are_the_stages_own() -> None:
    args = read()
    assert (args.points, args.steps, args.learning_rate) == (plotting.POINTS, 300, 2e-5)
    assert not args.no_figure and not args.show
    assert isinstance(args.device, torch.device)


def test_flags_set_every_value() -> None:
    args = read("--points", "50", "--steps", "20", "--learning-rate", "1e-3", "--no-figure", "--show")
    assert (args.points, args.steps, args.learning_rate, args.no_figure, args.show) == (50, 20, 1e-3, True, True)


def test_help_shows_the_lesson_then_every_flag_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        read("--help")
    assert exit.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(DOC)
    for flag, default in [("--points", "2000"), ("--steps", "300"), ("--learning-rate", "2e-05"), ("--device", "auto")]:
        # The flag and its metavar, then its help, which ends with the stage's default.
        assert re.search(rf"^  {flag} [A-Z]+\s+\S[^\n]*(\n\s+[^\n-][^\n]*)*\(default: {default}\)", shown, re.M), flag
    for flag in ["--no-figure", "--show"]:
        assert re.search(rf"^  {flag}\s+\S+ \S+", shown, re.MULTILINE), flag


def test_the_numpy_stage_has_no_device_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert not hasattr(read(device=None), "device")
    with pytest.raises(SystemExit) as exit:
        read("--device", "cpu", device=None)
    assert exit.value.code == 2
    assert "unrecognized arguments: --device cpu" in capsys.readouterr().err


@pytest.mark.parametrize("arguments", BAD_ARGUMENTS, ids=" ".join)
def test_bad_input_is_one_line_and_exit_status_2(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        read(*arguments)
    assert exit.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and ": error: " in captured.err


def test_auto_is_the_accelerator_or_else_the_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    expected = "cpu" if NO_ACCELERATOR else torch.accelerator.current_accelerator().type
    assert read("--device", "auto").device.type == expected
    assert capsys.readouterr().err.startswith(f"device: {expected}")


def test_the_cpu_is_always_there_and_named_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert read("--device", "cpu").device == torch.device("cpu")
    assert capsys.readouterr().err == "device: cpu\n"


def test_auto_asks_whether_an_accelerator_is_there_before_which_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # torch 2.6 documents that current_accelerator() raises where there is no accelerator;
    # later releases return None. "auto" must end on the CPU under either.
    def raises() -> torch.device:
        raise RuntimeError("no accelerator")

    monkeypatch.setattr(torch.accelerator, "is_available", lambda: False)
    monkeypatch.setattr(torch.accelerator, "current_accelerator", raises)
    assert plotting.usable_device("auto") == torch.device("cpu")


def test_usable_device_refuses_a_device_that_holds_no_numbers() -> None:
    # "meta" tensors have shapes but no values, so nothing could be fitted there.
    with pytest.raises(ValueError, match="'meta' is not a device torch can use here"):
        plotting.usable_device("meta")


def _headless_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "MPLBACKEND")}
    return {**env, **extra}


def test_a_pipe_closed_early_ends_the_stage_quietly(tmp_path: Path) -> None:
    # Unbuffered, the stage writes each line as it logs it, so once head has its three
    # lines and leaves, the next line meets a closed pipe.
    errors = tmp_path / "stderr.txt"
    command = f"'{sys.executable}' '{ROOT / 'fit_numpy.py'}' --steps 1000 --no-figure 2>'{errors}' | head -3"
    done = subprocess.run(
        command, shell=True, capture_output=True, text=True, env=_headless_env(PYTHONUNBUFFERED="1"), timeout=120
    )
    assert len(done.stdout.splitlines()) == 3
    assert errors.read_text() == ""


def test_ctrl_c_ends_the_stage_with_one_line_and_status_130() -> None:
    stage = subprocess.Popen(
        [sys.executable, str(ROOT / "fit_numpy.py"), "--steps", "100000000", "--no-figure"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_headless_env(PYTHONUNBUFFERED="1"),
    )
    try:
        first_line = stage.stdout.readline()  # the loop has started
        stage.send_signal(signal.SIGINT)
        out, err = stage.communicate(timeout=60)
    finally:
        stage.kill()
    assert first_line.startswith("0 ")
    assert stage.returncode == 130
    assert err.splitlines() == ["fit_numpy.py: interrupted"]


def test_outside_a_kernel_the_command_line_is_read_though_jupyter_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Starting a kernel for the notebook tests loads ipykernel into this process too; only
    # a process that is a kernel reads STAGE_ARGS.
    pytest.importorskip("ipykernel")
    monkeypatch.setattr(sys, "argv", ["fit_tensor.py", "--steps", "20"])
    monkeypatch.setenv(plotting.ARGS_VARIABLE, "--steps 40")
    args = plotting.command_line(DOC, steps=300, learning_rate=2e-5)
    assert args.steps == 20 and not args.show
