"""Shared fixtures: the least-squares floor, every stage's default run, and a stage run
inside the test process."""

from __future__ import annotations

import runpy
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tools import compare
from tools.stages import ROOT, STAGES, StageRun, run_stages


@pytest.fixture(scope="session")
def default_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StageRun]:
    """Every stage run once with its defaults, each as its own process, side by side: on the
    CPU, whose figures the published run gives and the README quotes, from a folder that is not
    the project's, as a learner elsewhere would run them, and without a figure."""
    elsewhere: Path = tmp_path_factory.mktemp("elsewhere")
    return run_stages(STAGES, ["--no-figure"], device="cpu", cwd=elsewhere)


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
        # The stage sets its own excepthook; put Python's back when the test ends.
        monkeypatch.setattr(sys, "excepthook", sys.excepthook)
        return runpy.run_path(str(ROOT / stage), run_name="__main__")

    return run
