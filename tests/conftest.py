"""Shared fixtures: the least-squares floor, and every stage's default run.

The default runs are the slow part of the suite (stage 8 alone trains for 30001 steps), so
they start in the background as soon as pytest knows a test needs them, and the rest of
the suite runs meanwhile.
"""

from __future__ import annotations

import runpy
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tools import compare
from tools.stages import ROOT, STAGES, StageRun, run_stages

_background: dict[str, Future[dict[str, StageRun]]] = {}
_elsewhere = tempfile.TemporaryDirectory(prefix="stages-cwd-")


def pytest_collection_finish(session: pytest.Session) -> None:
    if any("default_runs" in getattr(item, "fixturenames", ()) for item in session.items):
        # Run from a folder that is not the project's, as a learner elsewhere would, on the
        # CPU: the published figures are the CPU's, and so are the logs the README quotes.
        pool = ThreadPoolExecutor(max_workers=1)
        _background["runs"] = pool.submit(run_stages, STAGES, ["--no-figure"], device="cpu", cwd=Path(_elsewhere.name))
        pool.shutdown(wait=False)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if "runs" in _background:
        _background["runs"].result()
    _elsewhere.cleanup()


@pytest.fixture(scope="session")
def default_runs() -> dict[str, StageRun]:
    """Every stage run once with its defaults, on the CPU, without a figure, each as its own
    process."""
    return _background["runs"].result()


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
        return runpy.run_path(str(ROOT / stage), run_name="__main__")

    return run
