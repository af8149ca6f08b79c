"""What the README quotes is what the code is and prints."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tools import make_readme
from tools.stages import ROOT, STAGES, StageRun


@pytest.mark.skipif(shutil.which("diff") is None, reason="the README quotes `diff -u`, and diff is not installed")
def test_readme_matches_the_code_and_its_output(default_runs: dict[str, StageRun]) -> None:
    outputs = {stage: run.stdout for stage, run in default_runs.items()} | {"diverging": make_readme.diverging_output()}
    stale = make_readme.stale_parts((ROOT / "README.md").read_text(), outputs)
    assert stale == [], "README.md is stale; run python tools/make_readme.py"


def test_a_stale_readme_is_caught(default_runs: dict[str, StageRun]) -> None:
    outputs = {stage: run.stdout for stage, run in default_runs.items()} | {"diverging": make_readme.diverging_output()}
    readme = (ROOT / "README.md").read_text()
    # A quoted loss off by more than float32 rounding, and a changed line of a quoted diff.
    quoted_log = readme.replace("\n1000 130.9356", "\n1000 130.9456", 1)
    quoted_diff = readme.replace("+import torch\n", "+import torch as th\n", 1)
    assert quoted_log != readme and quoted_diff != readme
    assert "log of fit_tensor.py" in make_readme.stale_parts(quoted_log, outputs)
    assert make_readme.stale_parts(quoted_diff, outputs) == ["walkthrough"]


def test_every_figure_the_readme_shows_is_there() -> None:
    readme = (ROOT / "README.md").read_text()
    shown = re.findall(r"\]\((figures/[^)]+\.png)\)", readme)
    expected = [f"figures/{stage.replace('.py', '')}.png" for stage in STAGES]
    assert set(expected + ["figures/compare_losses.png", "figures/benchmark_scaling.png"]) <= set(shown)
    for path in shown:
        assert (ROOT / path).read_bytes().startswith(b"\x89PNG"), path


@pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("git") is None, reason="not a git checkout")
def test_every_figure_the_readme_shows_is_committed() -> None:
    shown = re.findall(r"\]\((figures/[^)]+\.png)\)", (ROOT / "README.md").read_text())
    tracked = subprocess.run(["git", "ls-files", "figures"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert set(shown) <= set(tracked)


def test_readme_install_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    install = re.search(r"^pip install -e \S+", ci, re.MULTILINE)
    assert install and f"\n{install[0]}\n" in readme
    assert re.search(r"^pytest(\s+#.*)?$", readme, re.MULTILINE) and "\npytest" in ci
