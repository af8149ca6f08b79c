"""Shared fixtures: a stage's run, made once a session however many tests read it, and the
least-squares floor.

The tests run in parallel, on a process per core (pytest-xdist's `-n auto`, set in
pyproject.toml). A session fixture is made once in each such process, so a run that several
tests read is kept in a file that every process finds, as pytest-xdist's documentation
shows: the first process to ask makes it, under a lock, and the others read it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import runpy
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from filelock import FileLock

from tools.stages import ROOT, StageRun, least_squares, run_stage

# One torch thread in every process the tests start, and in their own: the processes share
# the cores, and torch's threads would otherwise wait on each other. A sum split otherwise
# ends in other last digits; every check on a float32 log allows for that.
os.environ["OMP_NUM_THREADS"] = "1"


@pytest.fixture(scope="session")
def once(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, Callable[[], StageRun]], StageRun]:
    """once(key, make): the StageRun make() returns, made once for the whole session."""
    folder = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        # Each worker has a folder of its own in the session's one.
        folder = folder.parent

    def once(key: str, make: Callable[[], StageRun]) -> StageRun:
        path = folder / f"run-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
        with FileLock(f"{path}.lock"):
            if not path.exists():
                path.write_text(json.dumps(dataclasses.asdict(make())), encoding="utf-8")
            return StageRun(**json.loads(path.read_text(encoding="utf-8")))

    return once


@pytest.fixture(scope="session")
def run(once: Callable, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., StageRun]:
    """run(stage, *flags): a stage's run with these flags and --no-figure, as its own process
    from a folder that is not the project's, made once a session."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")

    def run(stage: str, *flags: str) -> StageRun:
        return once(repr((stage, flags)), lambda: run_stage(stage, *flags, "--no-figure", cwd=elsewhere))

    return run


@pytest.fixture(scope="session")
def least_squares_fit() -> tuple[np.ndarray, float]:
    """The least-squares cubic's coefficients of 1, x, x^2, x^3 and its loss, the floor."""
    return least_squares()


@pytest.fixture(scope="session")
def floor(least_squares_fit: tuple[np.ndarray, float]) -> float:
    return least_squares_fit[1]


@pytest.fixture
def run_in_process(monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Any]]:
    """run_in_process(stage, *flags): run a stage in the test's process, as `python fit_x.py
    FLAGS --no-figure` would, and return its globals: the tensors, model and optimizer it
    ended with. What it prints goes to pytest's capture."""

    def run(stage: str, *flags: str) -> dict[str, Any]:
        monkeypatch.setattr(sys, "argv", [str(ROOT / stage), *flags, "--no-figure"])
        return runpy.run_path(str(ROOT / stage), run_name="__main__")

    return run
