"""Shared fixtures: the least-squares floor, every stage's default run, every breakage's
run and its stage's unbroken run, the diverging run, and a stage run inside the test process.

The runs the fixtures hand out are the suite's longest work, and no test takes part in
them. They start in the background as soon as the tests are collected, and the tests that
read them run last, so that the other tests run meanwhile and both cores stay busy from the
first test to the last.
"""

from __future__ import annotations

import functools
import os
import runpy
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import background
from tools import break_it, compare, make_readme
from tools.stages import ROOT, STAGES, StageRun, stage_command

# The runs in the background keep one core busy, and torch's own threads, two here, would
# then spin waiting for each other's share of a sum: one thread does the tests' in-process
# runs in a third of the CPU time. No test depends on how many threads torch has.
torch.set_num_threads(1)

# A folder that is not the project's, as a learner elsewhere would run the stages from.
_ELSEWHERE = tempfile.TemporaryDirectory(prefix="elsewhere-")
# The runs, each named by the fixture that hands it out and its key there, in the order the
# background process makes them. Each is its own run, so that the tests' process can make
# any the background one has not begun, and neither is left waiting for the other's last
# long run. The longest first: stage 8, with three times the steps, then the other stages'
# default runs, the later (more work at each step) first; the breakages, which the tests
# read first, last, as the tests' process makes them itself if it gets there first.
_RUNS: dict[tuple[str, Any], Callable[[], Any]] = {
    ("default_runs", stage): functools.partial(background.default_run, stage, Path(_ELSEWHERE.name))
    for stage in reversed(STAGES)
}
# The run the reference shows diverging (`python fit_numpy.py --points 20000`), from the
# shell, with every warning an error: the reference quotes what it prints, and its last line
# must be the stage's own message, not a traceback.
_RUNS["diverging_run", None] = functools.partial(
    subprocess.run,
    stage_command("fit_numpy.py", *make_readme.DIVERGING),
    capture_output=True,
    text=True,
    cwd=_ELSEWHERE.name,
    env={**os.environ, "PYTHONWARNINGS": "error"},
    stdin=subprocess.DEVNULL,
    timeout=120,
)
for _breakage in break_it.BREAKAGES:
    _RUNS["broken_runs", _breakage.key] = functools.partial(background.broken_run, _breakage)
for _stage_and_flags, _breakage in background.unbroken_breakages().items():
    _RUNS["unbroken_runs", _stage_and_flags] = functools.partial(background.broken_run, _breakage)
_FIXTURES = {fixture for fixture, _ in _RUNS}
_queue = background.Queue(_RUNS)


def pytest_configure(config: pytest.Config) -> None:
    if not config.option.collectonly:
        _queue.prepare()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the tests that read the runs to the end; a stable sort keeps each group's order."""
    items.sort(key=lambda item: not _FIXTURES.isdisjoint(getattr(item, "fixturenames", ())))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the runs that the selected tests need, unless they are only being listed."""
    if not session.config.option.collectonly:
        needed = {name for item in session.items for name in getattr(item, "fixturenames", ())}
        _queue.start({run for run in _RUNS if run[0] in needed})


def pytest_sessionfinish() -> None:
    _queue.stop()
    _ELSEWHERE.cleanup()


def _results(fixture: str) -> dict[Any, Any]:
    """The fixture's runs, by their keys, each as it ends."""
    return {key: _queue.result((name, key)) for name, key in _RUNS if name == fixture}


@pytest.fixture(scope="session")
def default_runs() -> dict[str, StageRun]:
    runs = _results("default_runs")
    return {stage: runs[stage] for stage in STAGES}


@pytest.fixture(scope="session")
def diverging_run() -> subprocess.CompletedProcess[str]:
    return _queue.result(("diverging_run", None))


@pytest.fixture(scope="session")
def least_squares() -> tuple[np.ndarray, float]:
    """The best cubic through the stages' 2000 points of sin(x), by numpy.linalg.lstsq, and
    its loss: the floor."""
    return compare.least_squares()


@pytest.fixture(scope="session")
def floor(least_squares: tuple[np.ndarray, float]) -> float:
    return least_squares[1]


@pytest.fixture
def run_in_process(monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict]:
    """Run a stage inside the test process, as `python <stage> ARGS` would, and return its
    globals: quick (torch is imported once) and lets a test look at the stage's objects."""

    def run(stage: str, *args: str) -> dict:
        monkeypatch.setattr(sys, "argv", [stage, *args])
        # NumPy quiet about an overflowing loss, as in a stage that is the program being
        # run: its loop reports a diverging loss itself.
        with np.errstate(over="ignore", invalid="ignore"):
            return runpy.run_path(str(ROOT / stage), run_name="__main__")

    return run


@pytest.fixture(scope="session")
def broken_runs() -> dict[str, break_it.BrokenRun]:
    return _results("broken_runs")


@pytest.fixture(scope="session")
def unbroken_runs() -> dict[tuple[str, tuple[str, ...]], break_it.BrokenRun]:
    return _results("unbroken_runs")
