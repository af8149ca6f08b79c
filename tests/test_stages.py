"""Every stage, run with no arguments, reaches the floor and reproduces the published log;
each reads as a lesson: its settings in view, its imports its own."""

import ast
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tools.stages import ROOT, STAGES, TORCH_STAGES, StageRun, parse_log, run_stage, settings, stage_command

# How close each stage must come to the least-squares floor, relative to it. The float64
# stage gets there to float64 rounding, the float32 gradient-descent stages to float32
# rounding; RMSprop at a constant rate hovers just above the floor, and stage 8's extra
# x^4 and x^5 terms may take it a little below.
FLOOR_TOLERANCE = {stage: 1e-5 for stage in STAGES} | {
    "fit_numpy.py": 1e-9,
    "fit_optim.py": 0.02,
    "fit_ctlflow_wshare.py": 0.05,
}
# The published run's figures (a write-up that ran these lessons with fixed seeds, as the
# README says): the loss at t = 0 and at the last logged step, where it reached the floor.
PUBLISHED = {
    "fit_numpy.py": (1485660.0264192733, 8.817165410009073),
    "fit_tensor.py": (215799.875, 8.817167282104492),
    "fit_autograd.py": (215799.875, 8.817167282104492),
    "fit_newautograd.py": (461.902587890625, 8.817169189453125),
    "fit_nn.py": (73111.2734375, 8.817168235778809),
    "fit_optim.py": (73111.2734375, None),
    "fit_custom_nn.py": (215799.875, 8.817167282104492),
}
FLOAT32_ROUNDING = 1e-6
DIVERGED = r"step \d+: the loss is (inf|nan), so the fit diverged; try a smaller learning rate"


def _done(run: StageRun) -> StageRun:
    assert run.ok, f"{run.command} failed: {run.error}"
    return run


def _settled_loss(run: StageRun) -> float:
    """The best of the last three logged losses. RMSprop at a constant rate (stage 6) jumps up and down before it
    settles into its back-and-forth, and whether a logged step lands on a jump depends on the order of float32
    sums, which differs between processors; the stages that descend steadily have their last loss as their best."""
    losses = run.log.losses
    return min(losses[step] for step in sorted(losses)[-3:])


@pytest.mark.parametrize("stage", STAGES)
def test_stage_reaches_the_least_squares_floor(stage: str, run: Callable[..., StageRun], floor: float) -> None:
    assert _settled_loss(_done(run(stage))) == pytest.approx(floor, rel=FLOOR_TOLERANCE[stage])


@pytest.mark.parametrize("stage", PUBLISHED)
def test_stage_reproduces_the_published_first_and_last_loss(stage: str, run: Callable[..., StageRun]) -> None:
    first, last = PUBLISHED[stage]
    log = _done(run(stage)).log
    assert log.losses[0] == pytest.approx(first, rel=FLOAT32_ROUNDING)
    assert last is None or log.final_loss == pytest.approx(last, rel=FLOAT32_ROUNDING)


@pytest.mark.parametrize("stage", STAGES)
def test_the_log_lines_up_step_for_step_and_ends_with_the_result(stage: str, run: Callable[..., StageRun]) -> None:
    done = _done(run(stage))
    steps = settings(stage)["steps"]
    assert list(done.log.losses) == list(range(0, steps + 1, steps // 10))
    assert done.stdout.splitlines()[-1] == done.log.result and len(done.stdout.splitlines()) == 12


def test_tensor_autograd_and_custom_module_print_the_same_log(run: Callable[..., StageRun]) -> None:
    # The same four start values and the same arithmetic: autograd's gradients are the
    # hand-derived ones, so only float32 rounding may tell the logs apart.
    reference = _done(run("fit_tensor.py")).log
    for stage in ("fit_autograd.py", "fit_custom_nn.py"):
        log = _done(run(stage)).log
        assert log.losses.keys() == reference.losses.keys()
        for step, loss in log.losses.items():
            assert loss == pytest.approx(reference.losses[step], rel=1e-5), (stage, step)
        assert log.cubic == pytest.approx(reference.cubic, rel=1e-5, abs=1e-6), stage


@pytest.mark.parametrize("stage", TORCH_STAGES)
def test_a_torch_stage_says_which_device_it_chose(stage: str, run: Callable[..., StageRun]) -> None:
    chosen = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else torch.device("cpu")
    assert _done(run(stage)).stderr.splitlines()[0] == f"device: {chosen}"


@pytest.mark.parametrize("stage", STAGES)
def test_two_runs_print_the_same_log(stage: str, run_in_process, capsys: pytest.CaptureFixture[str]) -> None:
    # Both runs share one process, so a generator left unseeded would carry on from where the
    # first run left it, and the second log would differ. Stage 8 draws from torch's and Python's.
    logs = []
    for _ in range(2):
        run_in_process(stage, "--steps", "100")
        logs.append(capsys.readouterr().out)
    assert logs[0] == logs[1]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_stage_stops_when_the_loss_diverges(stage: str, run_in_process) -> None:
    with pytest.raises(SystemExit) as exit:
        run_in_process(stage, "--learning-rate", "1e30", "--steps", "100")
    assert re.fullmatch(DIVERGED, str(exit.value.code))


def test_a_diverging_run_from_the_shell_names_the_step_without_a_traceback() -> None:
    # Ten times the points make the summed loss's gradient ten times larger, and the
    # default rate overshoots, as the reference shows. A real process: its traceback would show.
    done = run_stage("fit_tensor.py", "--points", "20000", "--no-figure")
    assert done.returncode == 1
    assert re.fullmatch(DIVERGED, done.stderr.splitlines()[-1]) and "Traceback" not in done.stderr


def test_each_line_of_the_log_goes_out_as_it_is_printed() -> None:
    # So that a run stopped early, by any signal, has kept its log in a file or a pipe: the
    # first line arrives while the run goes on.
    command = stage_command("fit_numpy.py", "--steps", "1000000", "--no-figure")
    stage = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert stage.stdout.readline().startswith("0 1485660.026")
        assert stage.poll() is None
    finally:
        stage.kill()
        stage.communicate()


@pytest.mark.skipif(not torch.accelerator.is_available(), reason="no accelerator: torch.accelerator finds none")
@pytest.mark.parametrize("stage", TORCH_STAGES)
def test_stage_prints_the_cpus_log_on_the_accelerator(stage: str, run: Callable[..., StageRun]) -> None:
    # The default run is on the accelerator. TF32, which keeps 10 of float32's 23 mantissa
    # bits in a matmul, is off unless the environment switches it on.
    accelerated, cpu = _done(run(stage)), _done(run(stage, "--device", "cpu"))
    if stage == "fit_optim.py":
        assert _settled_loss(accelerated) == pytest.approx(_settled_loss(cpu), rel=FLOOR_TOLERANCE[stage])
    for step, loss in accelerated.log.losses.items():
        if stage != "fit_optim.py" or step == 0:
            assert loss == pytest.approx(cpu.log.losses[step], rel=1e-4), step


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_no_other_stage_and_shares_only_plotting(stage: str) -> None:
    tree = ast.parse((ROOT / stage).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    project = {path.stem for path in ROOT.glob("*.py")} | {"tools", "tests"}
    assert {name.split(".")[0] for name in imported} & project == {"plotting"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_settings_stand_at_the_top_and_the_flags_show_them(stage: str, run_in_process, capsys) -> None:
    # Plain names, each set to its value before the flags are read; the torch stages also
    # choose their device there, in one line.
    lines = (ROOT / stage).read_text(encoding="utf-8").splitlines()
    top = lines[: next(n for n, line in enumerate(lines) if line.startswith("flags = plotting.read_flags("))]
    names = ["points", "steps", "learning_rate", *(["device"] if stage in TORCH_STAGES else [])]
    assert [line.split(" = ")[0] for line in top if re.match(r"\w+ = ", line)] == names
    with pytest.raises(SystemExit) as exit:
        run_in_process(stage, "--help")
    shown = capsys.readouterr().out
    assert exit.value.code == 0 and shown.startswith(f"Stage {STAGES.index(stage) + 1}: ")
    assert all(f"(default: {value})" in shown for value in settings(stage).values())
    assert ("--device" in shown) == (stage in TORCH_STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_the_lesson_starts_on_the_first_screen(stage: str) -> None:
    # The data comes after the docstring, the imports and the settings, within 40 lines.
    lines = (ROOT / stage).read_text(encoding="utf-8").splitlines()
    assert next(number for number, line in enumerate(lines, 1) if "linspace" in line) <= 40


def test_a_bad_flag_from_the_shell_is_one_line_and_exit_status_2() -> None:
    done = run_stage("fit_autograd.py", "--steps", "15")
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("fit_autograd.py: error: argument --steps: must be a positive multiple of 10")


def test_a_run_that_never_ends_is_stopped_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "stuck.py").write_text("print(0, 1.0, flush=True)\nwhile True:\n    pass\n", encoding="utf-8")
    run = run_stage(tmp_path / "stuck.py", timeout=2)
    assert not run.ok and run.stdout == "0 1.0\n" and run.error == "stopped after 2 s, still running"


def test_a_stage_run_reads_what_its_child_prints_whatever_the_locale_would_encode_it_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On Windows Python writes to a pipe in the locale's encoding, cp1252 say, and a path can hold any letter.
    monkeypatch.setenv("PYTHONIOENCODING", "cp1252")
    (tmp_path / "josé.py").write_text("import sys\nprint('é', __file__[-7:])\nsys.exit('µ')\n", encoding="utf-8")
    run = run_stage(tmp_path / "josé.py")
    assert (run.stdout, run.error) == ("é josé.py\n", "µ")


def test_a_log_line_that_is_neither_a_step_and_its_loss_nor_the_result_is_named() -> None:
    with pytest.raises(ValueError, match=r"^the line 'hello' is neither `<step> <loss>` nor `Result: y = \.\.\.`$"):
        parse_log("hello\n0 1.0\nResult: y = 1.0\n")
