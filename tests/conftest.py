"""Shared fixtures: a stage's run and a breakage's, each made once a session, and the floor.

pytest-xdist makes a session fixture once in each worker process, so a run is kept in a file
every worker finds: the first to ask makes it under a lock, the others read it. Runs are made
in the worker, which has torch imported already (importing it takes longer than most runs): a
stage installs no handler and rewraps no stream, and the tests that need a real process start one.
"""

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import runpy
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from filelock import FileLock

from tools import break_it
from tools.stages import ROOT, TORCH_STAGES, StageRun, least_squares

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


def run_here(path: Path, *flags: str) -> StageRun:
    """Run a stage's file in this process as `python PATH FLAGS` would, and keep what such a process prints: the log
    on stdout; on stderr its messages, its warnings as Python's filters show them, and if it fails its error's line."""
    stdout, stderr = io.StringIO(), io.StringIO()
    returncode, argv = 0, sys.argv
    sys.argv = [str(path), *flags]
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), warnings.catch_warnings():
        warnings.resetwarnings()
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        warnings.showwarning = lambda message, category, filename, line, *_: stderr.write(
            warnings.formatwarning(message, category, filename, line)
        )
        try:
            runpy.run_path(str(path), run_name="__main__")
        except SystemExit as end:
            if isinstance(end.code, str):
                print(end.code, file=stderr)
            returncode = 1 if isinstance(end.code, str) else end.code or 0
        except Exception as error:
            stderr.write("".join(traceback.format_exception_only(error)))
            returncode = 1
        finally:
            sys.argv = argv
    return StageRun([sys.executable, str(path), *flags], returncode, stdout.getvalue(), stderr.getvalue())


@pytest.fixture(scope="session")
def run(once: Callable) -> Callable[..., StageRun]:
    """run(stage, *flags): a stage's run with these flags and --no-figure, made once a session."""

    def run(stage: str, *flags: str) -> StageRun:
        return once(repr((stage, flags)), lambda: run_here(ROOT / stage, *flags, "--no-figure"))

    return run


@pytest.fixture(scope="session")
def broken(once: Callable, tmp_path_factory: pytest.TempPathFactory) -> Callable[[break_it.Breakage], StageRun]:
    """broken(breakage): the broken copy's run on the CPU with its flags, made once a session."""

    def broken(breakage: break_it.Breakage) -> StageRun:
        def make() -> StageRun:
            path = tmp_path_factory.mktemp("broken") / breakage.stage
            path.write_text(break_it.broken_source(breakage), encoding="utf-8")
            device = ("--device", "cpu") if breakage.stage in TORCH_STAGES else ()
            return run_here(path, *breakage.args, "--no-figure", *device)

        return once(f"break:{breakage.key}", make)

    return broken


@pytest.fixture(scope="session")
def least_squares_fit() -> tuple[np.ndarray, float]:
    """The least-squares cubic's coefficients of 1, x, x^2, x^3 and its loss, the floor."""
    return least_squares()


@pytest.fixture(scope="session")
def floor(least_squares_fit: tuple[np.ndarray, float]) -> float:
    return least_squares_fit[1]


@pytest.fixture
def run_in_process(monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Any]]:
    """run_in_process(stage, *flags): run a stage here with --no-figure and return its globals."""

    def run(stage: str, *flags: str) -> dict[str, Any]:
        monkeypatch.setattr(sys, "argv", [str(ROOT / stage), *flags, "--no-figure"])
        return runpy.run_path(str(ROOT / stage), run_name="__main__")

    return run
