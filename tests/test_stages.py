"""Every stage, run with no arguments, reaches the floor and reproduces the published log."""

from __future__ import annotations

import ast
import re
import subprocess

import pytest
import torch

from tools.stages import ROOT, STAGES, TORCH_STAGES, StageRun, run_stage, stage_defaults

# How close each stage must come to the least-squares floor, relative to it. The float64
# stage gets there to float64 rounding, the float32 gradient-descent stages to float32
# rounding; RMSprop at a constant rate hovers just above the floor, and stage 8's extra
# x^4 and x^5 terms may take it a little below.
FLOOR_TOLERANCE = {
    "fit_numpy.py": 1e-9,
    "fit_tensor.py": 1e-5,
    "fit_autograd.py": 1e-5,
    "fit_newautograd.py": 1e-5,
    "fit_nn.py": 1e-5,
    "fit_optim.py": 0.02,
    "fit_custom_nn.py": 1e-5,
    "fit_ctlflow_wshare.py": 0.05,
}

# The published run's figures (a write-up that ran these lessons with fixed seeds, as the
# README says): the loss at t = 0 and at the last logged step.
PUBLISHED_START = {
    "fit_numpy.py": 1485660.0264192733,
    "fit_tensor.py": 215799.875,
    "fit_autograd.py": 215799.875,
    "fit_newautograd.py": 461.902587890625,
    "fit_nn.py": 73111.2734375,
    "fit_optim.py": 73111.2734375,
    "fit_custom_nn.py": 215799.875,
}
PUBLISHED_LAST = {
    "fit_numpy.py": 8.817165410009073,
    "fit_tensor.py": 8.817167282104492,
    "fit_autograd.py": 8.817167282104492,
    "fit_newautograd.py": 8.817169189453125,
    "fit_nn.py": 8.817168235778809,
    "fit_custom_nn.py": 8.817167282104492,
}
FLOAT32_ROUNDING = 1e-6


def _succeeded(run: StageRun) -> StageRun:
    assert run.ok, f"{run.stage} failed: {run.error}"
    return run


@pytest.mark.parametrize("stage", STAGES)
def test_two_runs_print_the_same_log(stage: str, run_in_process, capsys: pytest.CaptureFixture[str]) -> None:
    # Both runs share one process, so a generator left unseeded would carry on from where
    # the first run left it, and the second log would differ. Stage 8 draws from two
    # generators, torch's and Python's.
    logs = []
    for _ in range(2):
        run_in_process(stage, "--steps", "100", "--no-figure")
        logs.append(capsys.readouterr().out)
    assert logs[0] == logs[1]


@pytest.mark.parametrize("stage", STAGES)
def test_stage_stops_when_the_loss_diverges(stage: str, run_in_process) -> None:
    with pytest.raises(SystemExit) as exit:
        run_in_process(stage, "--learning-rate", "1e30", "--steps", "100", "--no-figure")
    assert re.fullmatch(r"step \d+: the loss is (inf|nan), .* try a smaller --learning-rate", str(exit.value.code))


def _settled_loss(run: StageRun) -> float:
    """The best of the last three logged losses. RMSprop at a constant rate (stage 6) jumps
    up and down before it settles into its back-and-forth (on some processors, it was
    reported, up to a third above the floor and late in the run), and whether a logged step
    lands on a jump depends on float32 summation order, which differs between CPUs and
    devices; its best of three is at the level it settles at. For the stages that descend
    steadily the best of the last three is the last."""
    losses = run.log.losses
    return min(losses[step] for step in sorted(losses)[-3:])


@pytest.mark.parametrize("stage", STAGES)
def test_stage_reaches_the_least_squares_floor(stage: str, default_runs: dict[str, StageRun], floor: float) -> None:
    assert _settled_loss(_succeeded(default_runs[stage])) == pytest.approx(floor, rel=FLOOR_TOLERANCE[stage])


@pytest.mark.parametrize("stage", PUBLISHED_START)
def test_stage_reproduces_the_published_start_loss(stage: str, default_runs: dict[str, StageRun]) -> None:
    start = _succeeded(default_runs[stage]).log.losses[0]
    assert start == pytest.approx(PUBLISHED_START[stage], rel=FLOAT32_ROUNDING)


@pytest.mark.parametrize("stage", PUBLISHED_LAST)
def test_stage_reproduces_the_published_last_loss(stage: str, default_runs: dict[str, StageRun]) -> None:
    final = _succeeded(default_runs[stage]).log.final_loss
    assert final == pytest.approx(PUBLISHED_LAST[stage], rel=FLOAT32_ROUNDING)


def test_logs_line_up_step_for_step(default_runs: dict[str, StageRun]) -> None:
    for stage in STAGES:
        run = _succeeded(default_runs[stage])
        lines = run.stdout.splitlines()
        last = stage_defaults(stage)["steps"]
        assert list(run.log.losses) == list(range(0, last + 1, last // 10)), stage
        assert len(lines) == 12 and lines[-1] == run.log.result, stage


def test_tensor_autograd_and_custom_module_print_the_same_log(default_runs: dict[str, StageRun]) -> None:
    # The same four start values and the same arithmetic: autograd's gradients are the
    # hand-derived ones, so only float32 rounding may tell the logs apart.
    reference = _succeeded(default_runs["fit_tensor.py"]).log
    for stage in ("fit_autograd.py", "fit_custom_nn.py"):
        log = _succeeded(default_runs[stage]).log
        assert log.losses.keys() == reference.losses.keys()
        for step, loss in log.losses.items():
            assert loss == pytest.approx(reference.losses[step], rel=1e-5), (stage, step)
        assert log.cubic == pytest.approx(reference.cubic, rel=1e-5, abs=1e-6), stage


def test_torch_stages_say_which_device_ran(default_runs: dict[str, StageRun]) -> None:
    for stage in TORCH_STAGES:
        assert _succeeded(default_runs[stage]).stderr.splitlines()[0] == "device: cpu", stage


NO_ACCELERATOR = "no accelerator: torch.accelerator.is_available() is False"
# Full float32 on the accelerator. TF32 matmuls, which the environment can switch on from
# outside (TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1), keep 10 bits of a float32's 23-bit
# mantissa, and the Linear layer of stages 5 and 6 is a matmul. NVIDIA_TF32_OVERRIDE=0
# turns TF32 off in every NVIDIA library.
FULL_FLOAT32 = {"NVIDIA_TF32_OVERRIDE": "0", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "0"}
# How far a stage's log on an accelerator may be from its log on the CPU, relative. The
# same start values and arithmetic, summed in another order, differ by float32 rounding,
# which gradient descent carries along without growing it. RMSprop at a constant rate
# turns such a difference into a different place among its spikes, so stage 6 is
# compared only where it settles.
DEVICE_TOLERANCE = 1e-4


@pytest.mark.skipif(not torch.accelerator.is_available(), reason=NO_ACCELERATOR)
@pytest.mark.parametrize("stage", TORCH_STAGES)
def test_stage_prints_the_cpus_log_on_the_accelerator(
    stage: str, default_runs: dict[str, StageRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in FULL_FLOAT32.items():
        monkeypatch.setenv(variable, value)
    accelerator = torch.accelerator.current_accelerator().type
    run = _succeeded(run_stage(stage, ["--no-figure"], device=accelerator))
    assert run.stderr.startswith(f"device: {accelerator}")
    cpu = _succeeded(default_runs[stage])
    if stage == "fit_optim.py":
        assert run.log.losses[0] == pytest.approx(cpu.log.losses[0], rel=DEVICE_TOLERANCE)
        assert _settled_loss(run) == pytest.approx(_settled_loss(cpu), rel=FLOOR_TOLERANCE[stage])
    else:
        for step, loss in run.log.losses.items():
            assert loss == pytest.approx(cpu.log.losses[step], rel=DEVICE_TOLERANCE), step


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_no_other_stage_and_shares_only_plotting(stage: str) -> None:
    tree = ast.parse((ROOT / stage).read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    project = {path.stem for path in ROOT.glob("*.py")} | {"tools", "tests"}
    assert imported & project == {"plotting"}


@pytest.mark.parametrize("stage", STAGES)
def test_stage_takes_its_command_line_in_one_call_and_shows_its_defaults(
    stage: str, run_in_process, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (ROOT / stage).read_text()
    assert "argparse" not in source and source.count("plotting.command_line(") == 1
    with pytest.raises(SystemExit) as exit:
        run_in_process(stage, "--help")
    assert exit.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"Stage {STAGES.index(stage) + 1}: ")
    defaults = stage_defaults(stage)
    assert f"(default: {defaults['steps']})" in shown and f"(default: {defaults['learning_rate']})" in shown
    assert ("--device" in shown) == (stage in TORCH_STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_the_lesson_starts_on_the_first_screen(stage: str) -> None:
    # The data is the lesson's first line: after the docstring, the imports and the one
    # statement that takes the command line, and no later than line 30.
    lines = (ROOT / stage).read_text().splitlines()
    first = next(number for number, line in enumerate(lines, 1) if "linspace" in line)
    assert first <= 30


def test_divergence_from_the_shell_names_the_step_without_a_traceback(
    diverging_run: subprocess.CompletedProcess[str],
) -> None:
    # Ten times the points make the summed loss's gradient ten times larger, and the
    # default rate overshoots, as the reference shows.
    done = diverging_run
    assert done.returncode == 1
    assert re.fullmatch(r"step \d+: the loss is (inf|nan), .* try a smaller --learning-rate", done.stderr.strip())
