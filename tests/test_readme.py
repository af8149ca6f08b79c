"""What the README quotes is what the code is and prints."""

from __future__ import annotations

import math
import re
import shutil
import subprocess

import pytest

from tools import make_readme
from tools.stages import ROOT, STAGES, StageRun


def _same_to_float_rounding(line: str, other: str) -> bool:
    """Equal, word for word, but for numbers that agree to float32 rounding: the README's
    logs were printed on one machine, and float32 sums may end differently on another."""
    words, others = line.split(), other.split()
    if len(words) != len(others):
        return False
    for word, other_word in zip(words, others, strict=True):
        if word == other_word:
            continue
        try:
            if not math.isclose(float(word), float(other_word), rel_tol=1e-5, abs_tol=1e-7):
                return False
        except ValueError:
            return False
    return True


@pytest.mark.skipif(shutil.which("diff") is None, reason="the README quotes `diff -u`, and diff is not installed")
def test_readme_matches_the_code_and_its_output(default_runs: dict[str, StageRun]) -> None:
    outputs = {stage: run.stdout for stage, run in default_runs.items()}
    readme = (ROOT / "README.md").read_text().splitlines()
    expected = make_readme.fill((ROOT / "README.md").read_text(), make_readme.blocks(outputs)).splitlines()
    stale = [
        f"line {number}: README has {line!r}, the code gives {wanted!r}"
        for number, (line, wanted) in enumerate(zip(readme, expected, strict=False), start=1)
        if not _same_to_float_rounding(line, wanted)
    ]
    assert len(readme) == len(expected) and not stale, (
        "README.md is stale; run python tools/make_readme.py\n" + "\n".join(stale[:5])
    )


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


def test_readme_quick_start_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install -e ".[test]"' in readme and 'pip install -e ".[test]"' in ci
    assert "\npytest\n" in readme and "\npytest" in ci
