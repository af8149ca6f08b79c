"""tools/exercises.py: each solution passes its check, the stage and a plausible wrong answer fail it, for the reason
the wrong answer gives; the command line lists, starts, checks and leaves the stages alone. Mostly in this process."""

import re
from pathlib import Path

import pytest
from conftest import run_here

from tools import exercises
from tools.exercises import EXERCISES, SOLUTIONS
from tools.stages import ROOT, STAGES, StageRun, least_squares

# A plausible wrong answer to each exercise: its solution with `old` made `new`, and words its check's report says.
WRONG = {
    "fit_numpy.py:exp": ("learning_rate = 3e-6", "learning_rate = 1e-6", "above (allowed: 1e-06)"),
    "fit_numpy.py:mean-loss": ("2.0 * (y_pred - y) / points", "2.0 * (y_pred - y)", "so the fit diverged"),
    "fit_tensor.py:quartic": ("grad_e = (grad_y_pred * x**4)", "grad_e = (grad_y_pred * x**3)", "step 1's differs"),
    "fit_tensor.py:float64": ("points, dtype=dtype,", "points, dtype=torch.float32,", "above (allowed: 1e-09)"),
    "fit_autograd.py:quartic": ("    e.grad = None\n", "", "step 2's differs"),
    "fit_newautograd.py:legendre5": ("- 210 * z**2", "- 70 * z**2", "gradcheck FAILED"),
    "fit_nn.py:degree-5": ("nn.Linear(5, 1)", "nn.Linear(3, 1)", "mat1 and mat2 shapes cannot be multiplied"),
    "fit_nn.py:mean-loss": ("learning_rate = 2e-3", "learning_rate = 1e-6", "step 1000: exact False, close False"),
    "fit_optim.py:momentum": (", momentum=0.9)", ")", "above (allowed: 1e-05)"),
    "fit_custom_nn.py:coefficient-vector": ("nn.Parameter(torch.randn(degree + 1))", "randn(degree + 1)", "empty"),
    "fit_ctlflow_wshare.py:degree-5": ("self.degree = 5", "self.degree = 4", "close False"),
    "fit_ctlflow_wshare.py:separate-weights": ("5: self.f}", "5: self.e}", "close False"),
}


def test_twelve_exercises_one_a_stage_at_least_each_with_a_solution_and_a_wrong_answer() -> None:
    assert len(EXERCISES) >= 12 and {exercise.stage for exercise in EXERCISES} == set(STAGES)
    assert len({exercise.key for exercise in EXERCISES}) == len(EXERCISES) == len(WRONG)
    for exercise in EXERCISES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", exercise.name) and (SOLUTIONS / exercise.file).exists()
        assert 1 <= len(re.findall(r"[.!?](?:\s|$)", exercise.task)) <= 3, exercise.task
    assert "/exercises/" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


@pytest.mark.parametrize("version", ["solution", "stage", "wrong"])
@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda exercise: exercise.key)
def test_the_solution_passes_its_check_and_the_stage_and_a_wrong_answer_fail_it(
    exercise: exercises.Exercise, version: str, tmp_path: Path
) -> None:
    path = SOLUTIONS / exercise.file if version == "solution" else ROOT / exercise.stage
    if version == "wrong":
        old, new, words = WRONG[exercise.key]
        text = (SOLUTIONS / exercise.file).read_text(encoding="utf-8")
        assert text.count(old) == 1, old
        path = tmp_path / exercise.file
        path.write_text(text.replace(old, new), encoding="utf-8")
    passed, lines = exercises.check(exercise, path, run_here)
    report = "\n".join(lines)
    assert passed == (version == "solution"), report
    assert lines[0].startswith(f"$ python {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} --")
    assert lines[-1] == ("PASS: it does what the exercise asks." if passed else f"FAIL: {exercise.hint}")
    assert len(lines) <= 7 and (version != "wrong" or words in report), report


def test_the_list_names_every_exercise_under_its_stage(capsys: pytest.CaptureFixture[str]) -> None:
    assert exercises.main([]) == 0
    text = capsys.readouterr().out
    for number, stage in enumerate(STAGES, 1):
        block = text.split(f"Stage {number}, {stage}:\n", 1)[1].split("\n\n", 1)[0]
        assert re.findall(r"^  (\S+)", block, re.M) == [e.name for e in EXERCISES if e.stage == stage]
    assert text.endswith("check it:  python tools/exercises.py check STAGE NAME\n")


@pytest.mark.parametrize("stage", ["3", "fit_autograd.py", "autograd"])
def test_one_stages_list_is_its_exercises_alone(stage: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert exercises.main([stage]) == 0
    assert re.findall(r"^(Stage \d|  \S+)", capsys.readouterr().out, re.M) == ["Stage 3", "  quartic"]


@pytest.mark.parametrize(
    "argv",
    [
        *(["9"], ["3,4"], ["3", "quartic"], ["start"], ["start", "3"], ["start", "1", "quartic"]),
        *(["check", "nine", "quartic"], ["check", "3", "quartic"], ["--force"], ["3", "--force"], ["3", "--dev"]),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(exercises, "WORK", tmp_path)  # where check finds no file, and start could write one
    with pytest.raises(SystemExit) as end:
        exercises.main(argv)
    captured = capsys.readouterr()
    assert end.value.code == 2 and captured.out == "" and len(captured.err.strip().splitlines()) == 1, captured.err
    assert list(tmp_path.iterdir()) == []


def test_start_copies_the_stage_and_check_runs_the_copy_as_a_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(exercises, "WORK", tmp_path / "exercises")
    files = {name: (ROOT / name).read_bytes() for name in (*STAGES, "plotting.py")}
    copy, plotting = tmp_path / "exercises" / "fit_numpy_mean_loss.py", tmp_path / "exercises" / "plotting.py"
    assert exercises.main(["start", "1", "mean-loss"]) == 0
    assert [copy.read_bytes(), plotting.read_bytes()] == [files["fit_numpy.py"], files["plotting.py"]]
    assert "check it: python tools/exercises.py check 1 mean-loss" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        exercises.main(["start", "1", "mean-loss"])  # the learner's work is never overwritten unasked
    assert exercises.main(["check", "1", "mean-loss"]) == 1
    copy.write_bytes((SOLUTIONS / copy.name).read_bytes())
    assert exercises.main(["check", "1", "mean-loss"]) == 0
    failed, passed = capsys.readouterr().out.split(f"$ python {copy} --steps 500 --no-figure\n")[1:]
    assert "FAIL: " in failed and passed.endswith("PASS: it does what the exercise asks.\n")
    assert exercises.main(["start", "1", "mean-loss", "--force"]) == 0 and copy.read_bytes() == files["fit_numpy.py"]
    assert {name: (ROOT / name).read_bytes() for name in files} == files


def test_the_gradcheck_runs_as_a_process_and_wants_a_function_of_the_learners_own(tmp_path: Path) -> None:
    exercise = next(exercise for exercise in EXERCISES if isinstance(exercise.rule, exercises.Gradcheck))
    (tmp_path / "plotting.py").write_bytes((ROOT / "plotting.py").read_bytes())
    (tmp_path / exercise.file).write_bytes((SOLUTIONS / exercise.file).read_bytes())
    passed, lines = exercises.check(exercise, tmp_path / exercise.file)
    assert passed, "\n".join(lines)
    # The same polynomial, with autograd's backward instead of one written by hand, is no answer.
    text = (
        (tmp_path / exercise.file)
        .read_text(encoding="utf-8")
        .replace("P5 = LegendrePolynomial5.apply", "P5 = lambda z: (63 * z**5 - 70 * z**3 + 15 * z) / 8")
    )
    (tmp_path / exercise.file).write_text(text, encoding="utf-8")
    passed, lines = exercises.check(exercise, tmp_path / exercise.file, run_here)
    assert not passed and "its P5 is not a Function's apply" in lines[1], lines


def test_a_loss_logged_below_the_floor_or_nan_fails_even_from_the_floors_cubic() -> None:
    cubic = " + ".join(f"{c} x^{p}" for p, c in enumerate(least_squares()[0]))
    log = StageRun([], 0, f"0 100.0\n10 {least_squares()[1] / 2}\nResult: y = {cubic}\n", "")
    passed, lines = exercises.Floor(1e-5).judge("fit_optim.py", log)
    assert not passed and "below: no cubic gets that close" in lines[1] and "0 above" in lines[2], lines
    nan = StageRun([], 0, f"0 100.0\n10 nan\nResult: y = {cubic}\n", "")
    passed, lines = exercises.Floor(1e-5).judge("fit_optim.py", nan)
    assert not passed and lines[-1].endswith("to nan: it diverges"), lines
