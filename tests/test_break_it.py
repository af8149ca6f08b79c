"""tools/break_it.py: each breakage applies to today's stage, its broken run goes wrong as it says and the unbroken
stage with the same flags does not; the command line lists, shows and explains. Runs: once a session, on the CPU."""

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tools import break_it
from tools.break_it import BREAKAGES, DIVERGES, Breakage, Ends
from tools.stages import ROOT, STAGES, TORCH_STAGES, StageRun, least_squares

# An unbroken stage that a loss-based breakage is compared with ends this close to the floor.
NEAR = 1.5
BY_KEY = {breakage.key: breakage for breakage in BREAKAGES}
each_breakage = pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda breakage: breakage.key)


@pytest.fixture(scope="session")
def unbroken(run: Callable) -> Callable[[Breakage], StageRun]:
    """unbroken(breakage): the stage itself, run on the CPU with the breakage's flags."""
    cpu = {stage: ("--device", "cpu") if stage in TORCH_STAGES else () for stage in STAGES}
    return lambda breakage: run(breakage.stage, *breakage.args, *cpu[breakage.stage])


def test_every_stage_has_at_least_two_breakages_each_named_once() -> None:
    for stage in STAGES:
        assert len([breakage for breakage in BREAKAGES if breakage.stage == stage]) >= 2, stage
    assert len(BY_KEY) == len(BREAKAGES), "a name is used twice in one stage"


@each_breakage
def test_each_breakage_is_a_small_change_to_todays_stage_told_in_two_or_three_sentences(breakage: Breakage) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", breakage.name)
    assert (ROOT / breakage.stage).read_text(encoding="utf-8").count(breakage.old) == 1 and breakage.old != breakage.new
    compile(break_it.broken_source(breakage), breakage.stage, "exec")
    assert break_it.diff(breakage).startswith(f"--- {breakage.stage}\n+++ {breakage.stage} (broken)\n@@ ")
    # run() adds --no-figure and --device itself; the floor is taken on the stage's own points.
    assert not {"--device", "--no-figure", "--points"} & set(breakage.args)
    assert 2 <= len(re.findall(r"[.!?](?:\s|$)", breakage.why)) <= 3, breakage.why


@each_breakage
def test_the_broken_run_goes_wrong_as_it_says(breakage: Breakage, broken: Callable) -> None:
    run = broken(breakage)
    assert breakage.expect.holds(run, breakage.stage), (breakage.expect, run.stdout[-500:], run.stderr[-500:])


@each_breakage
def test_the_unbroken_stage_with_the_same_flags_does_not(breakage: Breakage, unbroken: Callable) -> None:
    run = unbroken(breakage)
    assert run.ok, run.stderr[-500:]
    assert not breakage.expect.holds(run, breakage.stage)
    # A breakage that the loss tells is told against a stage that reaches the floor; stage 8
    # is still coming down at its last step, even at its defaults.
    if isinstance(breakage.expect, Ends) and breakage.stage != STAGES[-1]:
        assert run.log.final_loss < NEAR * least_squares()[1]


def test_stage_2s_mean_loss_prints_another_number_but_fits_the_same(broken: Callable, unbroken: Callable) -> None:
    breakage = BY_KEY["fit_tensor.py:mean-loss"]
    assert broken(breakage).log.result == unbroken(breakage).log.result


def test_stage_5s_mean_loss_prints_a_loss_below_the_floor_from_a_fit_far_above_it(broken: Callable) -> None:
    run = broken(BY_KEY["fit_nn.py:mean-loss"])
    assert Ends("below", 1).holds(run, "fit_nn.py") and Ends("above", 100, fitted=True).holds(run, "fit_nn.py")


def test_an_optimizer_made_at_every_step_repeats_one_loss(broken: Callable) -> None:
    losses = list(broken(BY_KEY["fit_optim.py:optimizer-in-loop"]).log.losses.values())
    assert len(set(losses[-5:])) == 1


def test_a_diverging_breakage_ends_with_the_stages_own_message(broken: Callable) -> None:
    for breakage in (breakage for breakage in BREAKAGES if breakage.expect == DIVERGES):
        run = broken(breakage)
        assert run.returncode == 1 and re.fullmatch(r"step \d+: the loss is (inf|nan), so the fit .*", run.error)


def test_the_command_line_shows_runs_and_explains_a_breakage_from_any_folder_and_leaves_the_stages_alone(
    broken: Callable, tmp_path: Path
) -> None:
    breakage = BY_KEY["fit_newautograd.py:no-apply"]
    files = {name: (ROOT / name).read_bytes() for name in (*STAGES, "plotting.py")}
    command = [sys.executable, str(ROOT / "tools" / "break_it.py"), "4", breakage.name, "--device", "cpu"]
    env = os.environ | {"PYTHONPATH": str(ROOT)}  # this checkout's tools, whichever one pip installed
    done = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert {name: (ROOT / name).read_bytes() for name in files} == files
    run = broken(breakage)
    assert f"$ python fit_newautograd.py {' '.join(run.command[2:])} " in done.stdout  # --device cpu passed on
    assert break_it.diff(breakage) in done.stdout
    assert run.stdout in done.stdout and f"error: {run.error}\nexit status 1\n" in done.stdout
    # The DeprecationWarning torch gives for the instance, without the file and line it names.
    assert break_it.warnings(run) and all(f"warning: {w}\n" in done.stdout for w in break_it.warnings(run))
    assert breakage.why in done.stdout
    assert breakage.command == "python tools/break_it.py 4 no-apply"


def test_the_list_names_every_breakage_under_its_stage(capsys: pytest.CaptureFixture[str]) -> None:
    assert break_it.main([]) == 0
    text = capsys.readouterr().out
    for number, stage in enumerate(STAGES, 1):
        block = text.split(f"Stage {number}, {stage}:\n", 1)[1].split("\n\n", 1)[0]
        assert [line.split()[0] for line in block.splitlines()] == [b.name for b in BREAKAGES if b.stage == stage]


@pytest.mark.parametrize("stage", ["3", "fit_autograd.py", "fit_autograd", "autograd"])
def test_one_stages_list_is_a_line_per_breakage_that_starts_with_its_name(
    stage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert break_it.main([stage]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [b.name for b in BREAKAGES if b.stage == "fit_autograd.py"]


@pytest.mark.parametrize(
    "argv",
    [
        *(["9"], ["nine"], ["3,4"], ["3", "no-such-breakage"], ["1", "no-grad-reset"]),
        *(["3", "no-grad-reset", "--steps", "10"], ["3", "no-grad-reset", "--dev", "cpu"]),
        ["3", "no-grad-reset", "--device", "nope"],
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as end:
        break_it.main(argv)
    assert end.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1, captured.err


def test_a_stage_changed_under_a_breakage_is_one_line_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = dataclasses.replace(BY_KEY["fit_autograd.py:no-grad-reset"], old="    a.grad = None  # reset\n")
    monkeypatch.setattr(break_it, "BREAKAGES", (gone,))
    monkeypatch.setattr(break_it, "run", lambda *args, **kwargs: pytest.fail("the broken copy ran"))
    with pytest.raises(SystemExit) as end:
        break_it.main(["3", gone.name])
    captured = capsys.readouterr()
    assert end.value.code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and "fit_autograd.py:no-grad-reset: its old text occurs 0 " in captured.err
