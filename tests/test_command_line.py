"""plotting.command_line, the one command line every stage takes: its flags, bad input,
the device, and how a stage's process ends, whatever ends it: a signal, a reader that goes
away, an output stream closed or full, too little memory. And that a stage run inside
another program leaves that program as it was."""

from __future__ import annotations

import os
import re
import runpy
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
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
    # Above the largest float32: torch.optim could not store it in its update.
    ["--learning-rate", "1e39"],
    # More points than any machine's memory holds.
    ["--points", str(10**15)],
    ["--device", "bogus"],
    ["--device", "cuda:99"],
    ["--device", "meta"],
    *([["--device", "cuda"], ["--device", "mps"]] if NO_ACCELERATOR else []),
]


def read(*argv: str, device: str | None = "auto"):
    return plotting.command_line(DOC, steps=300, learning_rate=2e-5, device=device, argv=list(argv))


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


def test_a_bad_stage_args_is_one_line_and_exit_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Called from this test module, not __main__, command_line has no command line of the
    # stage's own and reads STAGE_ARGS, as in a notebook.
    monkeypatch.setenv(plotting.ARGS_VARIABLE, "--steps '20")
    with pytest.raises(SystemExit) as exit:
        plotting.command_line(DOC, steps=300, learning_rate=2e-5)
    assert exit.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{os.path.basename(sys.argv[0])}: error: STAGE_ARGS: No closing quotation"
    ]


def _what_a_program_may_change() -> tuple[object, ...]:
    handlers = [signal.getsignal(getattr(signal, name)) for name in plotting.ENDINGS if hasattr(signal, name)]
    return sys.excepthook, sys.stdout, sys.stderr, np.geterr(), handlers


@pytest.mark.parametrize(
    "run_name, argv, steps",
    [
        # Run as __main__ by a program that sets sys.argv (the benchmark, these tests), a
        # stage reads that.
        ("__main__", ["fit_numpy.py", "--steps", "20"], 20),
        # Imported, it never reads its host's flags, but STAGE_ARGS.
        ("fit_numpy", ["host.py", "--a-flag-of-the-host"], 40),
    ],
)
def test_a_stage_run_inside_another_program_leaves_that_program_as_it_was(
    run_name: str, argv: list[str], steps: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", [*argv, "--no-figure"] if run_name == "__main__" else argv)
    monkeypatch.setenv(plotting.ARGS_VARIABLE, "--steps 40 --no-figure")
    before = _what_a_program_may_change()
    stage = runpy.run_path(str(ROOT / "fit_numpy.py"), run_name=run_name)
    assert stage["args"].steps == steps
    assert _what_a_program_may_change() == before


LONG_RUN = ["--steps", "100000000", "--no-figure"]
# Python's own buffering, which the stage must not rely on, whatever the tests run under.
BUFFERED = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}


def _start(
    args: Sequence[str],
    ignored: Sequence[signal.Signals] = (),
    stage: str = "fit_numpy.py",
    env: dict[str, str] = BUFFERED,
    **options: object,
) -> subprocess.Popen[str]:
    """Start the NumPy stage as a terminal would, whose signal handling (in plotting) every
    stage shares, with SIGINT and SIGHUP at their defaults unless named in `ignored`. The
    tests may run with them ignored (`pytest &` in a script ignores SIGINT, nohup SIGHUP),
    and a child inherits a signal ignored; one its parent catches starts at its default."""
    hearing = [getattr(signal, name) for name in ("SIGINT", "SIGHUP") if hasattr(signal, name)]
    before = {number: signal.getsignal(number) for number in hearing}
    for number in hearing:
        signal.signal(number, signal.SIG_IGN if number in ignored else signal.default_int_handler)
    try:
        streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "stdin": subprocess.DEVNULL, **options}
        return subprocess.Popen([sys.executable, str(ROOT / stage), *args], text=True, env=env, **streams)
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


def _first_line(stage: subprocess.Popen[str]) -> str:
    """The first line of the stage's log, which it writes as soon as it prints it."""
    assert select.select([stage.stdout], [], [], 60)[0], "no line within 60 s: the log waits in a buffer"
    return stage.stdout.readline()


@pytest.mark.parametrize("name", [name for name in plotting.ENDINGS if hasattr(signal, name)])
def test_a_signal_ends_the_stage_with_its_log_kept_one_line_and_the_shells_status(name: str) -> None:
    number = getattr(signal, name)
    stage = _start(LONG_RUN)
    try:
        first_line = _first_line(stage)
        stage.send_signal(number)
        out, err = stage.communicate(timeout=60)
    finally:
        stage.kill()
    assert first_line.startswith("0 ")
    assert stage.returncode == 128 + number
    assert err.splitlines() == [f"fit_numpy.py: {plotting.ENDINGS[name]}"]


def test_ctrl_c_while_torch_is_still_importing_is_one_line_and_status_130(tmp_path: Path) -> None:
    # A stand-in for torch, found first on the path, that says when its import has begun and
    # then takes its time, as torch's own import does for a second or two.
    started = tmp_path / "importing"
    (tmp_path / "torch.py").write_text(f"open({str(started)!r}, 'w').close()\nimport time\ntime.sleep(60)\n")
    stage = _start(["--steps", "10"], stage="fit_tensor.py", env={**BUFFERED, "PYTHONPATH": str(tmp_path)})
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline and stage.poll() is None:
            time.sleep(0.01)
        stage.send_signal(signal.SIGINT)
        out, err = stage.communicate(timeout=60)
    finally:
        stage.kill()
    assert started.exists()
    assert (stage.returncode, out, err) == (130, "", "fit_tensor.py: interrupted\n")


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on Windows")
def test_a_signal_ignored_when_the_stage_starts_stays_ignored() -> None:
    # nohup starts its command with SIGHUP ignored, so that it outlives the terminal.
    stage = _start(LONG_RUN, ignored=[signal.SIGHUP])
    try:
        _first_line(stage)
        stage.send_signal(signal.SIGHUP)
        stage.send_signal(signal.SIGTERM)
        out, err = stage.communicate(timeout=60)
    finally:
        stage.kill()
    assert stage.returncode == 128 + signal.SIGTERM
    assert err.splitlines() == ["fit_numpy.py: terminated"]


def _gone_reader() -> int:
    """The writing end of a pipe whose reader has already left, as in `... | true`."""
    reader, writer = os.pipe()
    os.close(reader)
    return writer


# --help exits 0 however its text went, as argparse ignores a failed write.
@pytest.mark.parametrize("args, status", [(["--help"], 0), (["--steps", "10", "--no-figure"], 1)], ids=str)
def test_a_reader_gone_before_the_first_line_ends_the_stage_quietly(args: list[str], status: int) -> None:
    writer = _gone_reader()
    stage = _start(args, stdout=writer)
    os.close(writer)
    err = stage.communicate(timeout=60)[1]
    assert err == ""
    assert stage.returncode == status


def _start_in_a_shell(command: str, **options: object) -> subprocess.Popen[str]:
    """`sh -c command`, with "$1" Python, "$2" the torch stage fit_tensor.py and "$3" fit_numpy.py."""
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **options}
    return subprocess.Popen(
        ["sh", "-c", command, "sh", sys.executable, str(ROOT / "fit_tensor.py"), str(ROOT / "fit_numpy.py")],
        text=True,
        stdin=subprocess.DEVNULL,
        env=BUFFERED,
        **streams,
    )


def _finished(shell: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    try:
        out, err = shell.communicate(timeout=120)
    finally:
        shell.kill()
    return subprocess.CompletedProcess(shell.args, shell.returncode, out, err)


def _run_in_a_shell(command: str, **options: object) -> subprocess.CompletedProcess[str]:
    return _finished(_start_in_a_shell(command, **options))


def test_the_log_does_not_need_stderr_and_stderr_never_joins_the_log() -> None:
    # A torch stage, which writes its device on stderr before the loop; three at once, as
    # most of each run is importing torch.
    writer = _gone_reader()
    started = [
        _start_in_a_shell('"$1" "$2" --steps 10 --no-figure 2>/dev/full'),
        _start_in_a_shell('"$1" "$2" --steps 10 --no-figure 2>&-'),
        _start_in_a_shell('"$1" "$2" --steps 10 --no-figure', stderr=writer),
    ]
    os.close(writer)
    full, closed, gone = (_finished(shell) for shell in started)
    assert full.returncode == closed.returncode == gone.returncode == 0
    assert full.stdout == closed.stdout == gone.stdout
    assert len(full.stdout.splitlines()) == 12 and full.stdout.splitlines()[-1].startswith("Result: y = ")


def test_a_closed_stdout_is_said_on_stderr_and_the_run_fails() -> None:
    done = _run_in_a_shell('"$1" "$3" --steps 10 --no-figure >&-')
    assert done.returncode == 1
    assert done.stderr == "fit_numpy.py: stdout is closed, so there is nowhere to print the results\n"


def test_a_full_stdout_is_one_line_and_the_run_fails() -> None:
    done = _run_in_a_shell('"$1" "$3" --steps 10 --no-figure >/dev/full')
    assert done.returncode == 1
    assert done.stderr == "fit_numpy.py: [Errno 28] No space left on device\n"


def test_too_little_memory_for_the_points_is_one_line_naming_the_size() -> None:
    # 1 GB of address space: enough for Python and NumPy with one BLAS thread, not for the
    # stage's arrays of 30 million float64 points, which the machine's memory would hold.
    limited = 'ulimit -v 1000000 && OPENBLAS_NUM_THREADS=1 "$1" "$3" --points 30000000 --steps 10 --no-figure'
    done = _run_in_a_shell(limited)
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("fit_numpy.py: not enough memory, try fewer --points: ") and "(30000000,)" in line
