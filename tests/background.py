"""The suite's longest runs, which need no test's help, and the queue that makes them in a
process of its own while the tests run."""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Collection, Hashable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

import plotting
from tools import break_it
from tools.stages import StageRun, run_stage_in_process


def default_run(stage: str, folder: Path) -> StageRun:
    """The stage run once with its defaults, on the CPU, whose figures the published run
    gives, from `folder`, as a learner elsewhere would, and without a figure. It runs in
    the process that asks, which has imported torch already: what a stage prints as a
    process of its own the pages quote, and tests/test_readme.py holds these runs to them."""
    # The tests keep the other core busy meanwhile, and two threads with one core between
    # them spin waiting for each other's share of a sum: one costs less CPU time in all.
    torch.set_num_threads(1)
    with contextlib.chdir(folder):
        return run_stage_in_process(stage, ["--no-figure"], device="cpu")


def broken_run(breakage: break_it.Breakage) -> break_it.BrokenRun:
    """The breakage run once on the CPU, where the walkthrough's runs are made: the breakage
    tests and the pages' check read the same run."""
    torch.set_num_threads(1)
    return break_it.run(breakage, device="cpu", in_process=True)


def unbroken(breakage: break_it.Breakage) -> break_it.Breakage:
    """The same stage, flags and expectation, with nothing changed."""
    return dataclasses.replace(breakage, new=breakage.old)


def unbroken_breakages() -> dict[tuple[str, tuple[str, ...]], break_it.Breakage]:
    """By (stage, flags), each stage as it is, once for each set of flags its breakages use."""
    first: dict[tuple[str, tuple[str, ...]], break_it.Breakage] = {}
    for breakage in break_it.BREAKAGES:
        first.setdefault((breakage.stage, breakage.args), unbroken(breakage))
    return first


def ready() -> None:
    """Nothing: a process that runs it has imported this module, and torch with it."""


def _begin_process(parent: int) -> None:
    """Made ready for its runs: the background process leaves Ctrl-C, which a terminal sends
    to every process of the suite, to the tests' process, which then stops it; it ends its
    run by unwinding it (removing its temporary folders) when stopped; and it stops itself
    if the tests' process ends without stopping it (killed, say)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _unwind)
    threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def _unwind(signum: int, frame: object) -> None:
    raise plotting.Stopped(128 + signum)


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)
    # The pool's loop takes the unwound run's end as its result and waits for the next.
    time.sleep(5)
    os._exit(128 + signal.SIGTERM)


class Queue:
    """Runs made one after another, in the order given, in a process of its own, each begun
    when the one before it has ended. A run that the process has not begun when it is needed
    is made by the caller instead, and while the caller waits for one that the process is
    making, it makes the last one still waiting: neither waits for the other while there is
    work left.

    The process is freshly started: a thread of the caller's would see what the tests patch
    in it meanwhile (a tool's stage_command, os.environ), and the runs would be the tests'
    own. One process, with one torch thread: the tests keep the other core busy meanwhile,
    and more processes than cores cost more CPU time in all, not less.
    """

    def __init__(self, runs: Mapping[Hashable, Callable[[], Any]]) -> None:
        self._runs = runs
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._waiting: list[Hashable] = []
        self._begun: dict[Hashable, Future] = {}

    def prepare(self) -> None:
        """Start the process now: it imports torch and the tools, for seconds, while the
        tests are being collected."""
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_begin_process,
            initargs=(os.getpid(),),
        )
        self._pool.submit(ready)

    def start(self, names: Collection[Hashable]) -> None:
        """Begin making the runs named, in the queue's order."""
        if self._pool is None:
            self.prepare()
        self._waiting = [name for name in self._runs if name in names]
        threading.Thread(target=self._feed, daemon=True).start()

    def _feed(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    return
                name = self._waiting.pop(0)
                self._begun[name] = begun = self._pool.submit(self._runs[name])
            # The pool would take the next run as begun before the process is free for it.
            concurrent.futures.wait([begun])

    def result(self, name: Hashable) -> Any:
        """What the run returned. One that the process has not begun is made here, now; while
        the process is still making this one, the caller makes the last one waiting."""
        while True:
            with self._lock:
                begun = self._begun.get(name)
                if begun is None:
                    take = name
                    if name in self._waiting:
                        self._waiting.remove(name)
                elif not begun.done() and self._waiting:
                    take = self._waiting.pop()
                else:
                    return begun.result()
                self._begun[take] = made = Future()
            try:
                made.set_result(self._runs[take]())
            except Exception as error:  # whoever needs this run hears of it
                made.set_exception(error)

    def stop(self) -> None:
        """Begin no more runs, and stop the process: what it is still making no test needs
        (the tests stopped early: -x, Ctrl-C)."""
        with self._lock:
            self._waiting.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in multiprocessing.active_children():
                process.terminate()
                process.join()
