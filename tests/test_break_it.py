"""tools/break_it.py: every breakage applies to today's stage, its broken run goes wrong as it
says, the unbroken stage with the same flags does not, and the command line works.

The runs are made inside the tests' process or the background one beside it, which import
torch once each (see tests/background.py), each stage's unbroken run once per set of flags;
two breakages are run as real processes too, to show that both ways print the same.
"""

from __future__ import annotations

import dataclasses
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from background import broken_run, unbroken

from tools import break_it, break_it_ja
from tools.break_it import BREAKAGES, Breakage, BrokenRun, Diverges, EndsAbove, EndsBelow, FitAbove
from tools.stages import ROOT, STAGES, parse_log

# An unbroken stage that a loss-based breakage is compared with ends this close to the floor.
NEAR = 1.5
BY_KEY = {breakage.key: breakage for breakage in BREAKAGES}


def _key(breakage: Breakage) -> tuple[str, str, tuple[str, ...]]:
    return breakage.stage, break_it.broken_source(breakage), breakage.args


@pytest.fixture(scope="module")
def runs(
    broken_runs: dict[str, BrokenRun], unbroken_runs: dict[tuple[str, tuple[str, ...]], BrokenRun]
) -> dict[tuple[str, str, tuple[str, ...]], BrokenRun]:
    """Runs made so far, by (stage, the text run, flags): each broken copy run once (the
    session's runs, which the pages' check reads too), and each stage unbroken once for each
    set of flags its breakages use."""
    return {_key(run.breakage): run for run in (*broken_runs.values(), *unbroken_runs.values())}


def run_of(breakage: Breakage, cache: dict) -> BrokenRun:
    # On the CPU, as the session's broken runs are, whatever accelerator is there.
    if _key(breakage) not in cache:
        cache[_key(breakage)] = broken_run(breakage)
    return cache[_key(breakage)]


def test_the_catalogue_has_two_breakages_for_every_stage_and_sixteen_in_all() -> None:
    assert len(BREAKAGES) >= 16
    for stage in STAGES:
        assert len([breakage for breakage in BREAKAGES if breakage.stage == stage]) >= 2, stage
    assert len(BY_KEY) == len(BREAKAGES), "a name is used twice in one stage"


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda breakage: breakage.key)
def test_each_breakage_is_a_small_change_told_in_two_or_three_sentences(breakage: Breakage) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", breakage.name)
    assert breakage.old != breakage.new
    # run() adds these itself, so that --device is passed through and no figure is drawn.
    assert not {"--device", "--no-figure"} & set(breakage.args)
    assert 2 <= len(re.findall(r"[.!?](?:\s|$)", breakage.why)) <= 3, breakage.why


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda breakage: breakage.key)
def test_each_breakage_applies_to_todays_stage_exactly_once(breakage: Breakage) -> None:
    assert (ROOT / breakage.stage).read_text(encoding="utf-8").count(breakage.old) == 1
    compile(break_it.broken_source(breakage), breakage.stage, "exec")
    assert break_it.diff(breakage).startswith(f"--- {breakage.stage}\n+++ {breakage.stage} (broken)\n")


def test_a_breakage_whose_text_is_gone_says_so() -> None:
    gone = dataclasses.replace(BREAKAGES[0], old="no stage holds this line\n")
    with pytest.raises(ValueError, match="occurs 0 times"):
        break_it.broken_source(gone)


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda breakage: breakage.key)
def test_the_broken_run_goes_wrong_as_it_says(breakage: Breakage, runs: dict) -> None:
    broken = run_of(breakage, runs)
    assert breakage.expect.holds(broken), (breakage.expect, broken.stdout[-500:], broken.stderr[-500:])


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda breakage: breakage.key)
def test_the_unbroken_stage_with_the_same_flags_does_not(breakage: Breakage, runs: dict) -> None:
    run = run_of(unbroken(breakage), runs)
    assert run.returncode == 0 and run.last_error_line == "", run.stderr[-500:]
    assert not breakage.expect.holds(run)
    # A breakage that the loss tells is told against a stage that reaches the floor; stage 8
    # is still coming down at its last step, even at its defaults.
    if isinstance(breakage.expect, EndsAbove | EndsBelow | FitAbove) and breakage.stage != STAGES[-1]:
        assert parse_log(run.stdout).final_loss < NEAR * break_it.floor(run)


def test_stage_2s_mean_loss_prints_another_number_but_fits_the_same(runs: dict) -> None:
    breakage = BY_KEY["fit_tensor.py:mean-loss"]
    broken, whole = run_of(breakage, runs), run_of(unbroken(breakage), runs)
    assert parse_log(broken.stdout).result == parse_log(whole.stdout).result


def test_stage_5s_mean_loss_prints_a_loss_below_the_floor_from_a_fit_far_above_it(runs: dict) -> None:
    broken = run_of(BY_KEY["fit_nn.py:mean-loss"], runs)
    assert parse_log(broken.stdout).final_loss < break_it.floor(broken) < break_it.fitted_loss(broken)


def test_an_optimizer_made_at_every_step_repeats_one_loss(runs: dict) -> None:
    broken = run_of(BY_KEY["fit_optim.py:optimizer-in-loop"], runs)
    losses = list(parse_log(broken.stdout).losses.values())
    assert len(set(losses[-5:])) == 1


def test_a_diverging_breakage_ends_with_the_stages_own_message(runs: dict) -> None:
    diverging = [breakage for breakage in BREAKAGES if isinstance(breakage.expect, Diverges)]
    run = run_of(diverging[0], runs)
    assert run.returncode == 1 and run.last_error_line.startswith("step ")


def test_device_is_passed_to_a_torch_stage_and_no_figure_is_drawn() -> None:
    numpy_stage, torch_stage = BY_KEY["fit_numpy.py:sign-flipped"], BY_KEY["fit_tensor.py:requires-grad"]
    assert break_it.run_args(torch_stage, "cpu") == (*torch_stage.args, "--no-figure", "--device", "cpu")
    assert break_it.run_args(numpy_stage, "cpu") == (*numpy_stage.args, "--no-figure")
    assert break_it.run_args(torch_stage) == (*torch_stage.args, "--no-figure")


def test_a_run_in_this_process_puts_the_process_back() -> None:
    """Whatever the stage changes, and however it ends: this one fails, as autograd has
    nothing to record with grad mode off."""
    breakage = BY_KEY["fit_autograd.py:grad-set-to-zero"]
    meddling = (
        "import signal\nimport numpy\nsys.argv.append('--changed')\nsys.excepthook = print\n"
        "numpy.seterr(all='raise')\ntorch.set_grad_enabled(False)\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    )
    changed = dataclasses.replace(breakage, old="dtype = torch.float32\n", new=f"dtype = torch.float32\n{meddling}")
    before = (sys.argv[:], sys.excepthook, np.geterr(), torch.is_grad_enabled(), signal.getsignal(signal.SIGINT))
    run = break_it.run(changed, in_process=True)
    assert "does not require grad" in run.last_error_line, run.stderr[-500:]
    assert (sys.argv, sys.excepthook, np.geterr(), torch.is_grad_enabled(), signal.getsignal(signal.SIGINT)) == before


# The next two make their own run in this process, a short one, rather than read the
# session's: they then run while the background process is still busy, not after it.


def test_a_run_in_its_own_process_prints_what_a_run_in_this_one_does() -> None:
    breakage = BY_KEY["fit_numpy.py:sign-flipped"]
    inside, outside = broken_run(breakage), break_it.run(breakage)
    assert (outside.returncode, outside.stdout, outside.last_error_line) == (
        inside.returncode,
        inside.stdout,
        inside.last_error_line,
    )


def test_the_command_line_shows_runs_and_explains_a_breakage_and_leaves_the_stages_alone() -> None:
    """`python tools/break_it.py 4 no-apply`, a real process that runs the broken stage in
    another, prints the diff, the log and last line the run in this process gives, and why."""
    breakage = BY_KEY["fit_newautograd.py:no-apply"]
    files = {name: (ROOT / name).read_bytes() for name in (*STAGES, "plotting.py")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "break_it.py"), "4", breakage.name],
        capture_output=True,
        text=True,
        cwd=ROOT.parent,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert {name: (ROOT / name).read_bytes() for name in files} == files
    inside = broken_run(breakage)
    assert break_it.diff(breakage) in done.stdout
    assert f"error: {inside.last_error_line}\nexit status {inside.returncode}\n" in done.stdout
    assert inside.stdout in done.stdout
    # The DeprecationWarning torch gives for the instance: filtered and shown as Python would.
    assert inside.warnings and all(f"warning: {warning}\n" in done.stdout for warning in inside.warnings)
    assert breakage.why in done.stdout
    assert breakage.command == "python tools/break_it.py 4 no-apply"


def test_the_list_names_every_breakage_under_its_stage(capsys: pytest.CaptureFixture[str]) -> None:
    assert break_it.main([]) == 0
    text = capsys.readouterr().out
    for stage_number, stage in enumerate(STAGES, 1):
        block = text.split(f"Stage {stage_number}, {stage}:\n", 1)[1].split("\n\n", 1)[0]
        names = [line.split()[0] for line in block.splitlines()]
        assert names == [breakage.name for breakage in BREAKAGES if breakage.stage == stage]


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
        ["9"],
        ["nine"],
        ["3,4"],
        ["3", "no-such-breakage"],
        ["1", "no-grad-reset"],
        ["3", "no-grad-reset", "--device", "nope"],
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as end:
        break_it.main(argv)
    assert end.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1, captured.err


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda breakage: breakage.key)
def test_every_why_has_a_japanese_translation_of_its_english_today(breakage: Breakage) -> None:
    english, japanese = break_it_ja.WHY[breakage.key]
    assert english == breakage.why, "the English changed: translate it again in tools/break_it_ja.py"
    assert re.search(r"[\u3040-\u30ff]", japanese)


def test_no_translation_is_left_over() -> None:
    assert set(break_it_ja.WHY) == set(BY_KEY)


def test_a_stage_changed_under_a_breakage_is_one_line_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    breakage = BY_KEY["fit_autograd.py:no-grad-reset"]
    edited = break_it.source(breakage).replace("    a.grad = None\n", "    a.grad = None  # reset\n")
    monkeypatch.setattr(break_it, "source", lambda breakage: edited)
    monkeypatch.setattr(break_it, "run", lambda *args, **kwargs: pytest.fail("the broken copy ran"))
    assert break_it.main(["3", breakage.name]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and "bring it back with `git restore fit_autograd.py`" in captured.err
