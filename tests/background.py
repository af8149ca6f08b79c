"""The suite's longest runs, which need no test's help: conftest.py has them made in a
process of its own, one after another, as soon as the tests are collected, or here, by the
tests' process, if that one has not begun a run when a test needs it."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import torch

from tools import break_it
from tools.stages import STAGES, StageRun, run_stage_in_process


def default_runs(folder: Path) -> dict[str, StageRun]:
    """Every stage run once with its defaults, on the CPU, whose figures the published run
    gives, from `folder`, as a learner elsewhere would, and without a figure. They run in
    this process, which imports torch once: what a stage prints as a process of its own
    the pages quote, and tests/test_readme.py holds these runs to them."""
    # The tests keep the other core busy meanwhile, and two threads with one core between
    # them spin waiting for each other's share of a sum: one costs less CPU time in all.
    torch.set_num_threads(1)
    with contextlib.chdir(folder):
        return {stage: run_stage_in_process(stage, ["--no-figure"], device="cpu") for stage in STAGES}


def broken_runs() -> dict[str, break_it.BrokenRun]:
    """Every breakage run once on the CPU, where the walkthrough's runs are made, by its key:
    the breakage tests and the pages' check read the same runs."""
    torch.set_num_threads(1)
    return {breakage.key: break_it.run(breakage, device="cpu", in_process=True) for breakage in break_it.BREAKAGES}


def unbroken(breakage: break_it.Breakage) -> break_it.Breakage:
    """The same stage, flags and expectation, with nothing changed."""
    return dataclasses.replace(breakage, new=breakage.old)


def unbroken_runs() -> dict[tuple[str, tuple[str, ...]], break_it.BrokenRun]:
    """Each stage run as it is, on the CPU, once for each set of flags its breakages use, by
    (stage, flags)."""
    torch.set_num_threads(1)
    first = {}
    for breakage in break_it.BREAKAGES:
        first.setdefault((breakage.stage, breakage.args), unbroken(breakage))
    return {key: break_it.run(breakage, device="cpu", in_process=True) for key, breakage in first.items()}
