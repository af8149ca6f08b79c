"""What the READMEs quote is what the code is and prints, in English and in Japanese."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest

from tools import make_readme
from tools.benchmark import markdown_table
from tools.make_readme import ENGLISH, JAPANESE, LANGUAGES
from tools.stages import ROOT, STAGES, StageRun

DEVICES, SIZES = ("cpu", "cuda:0"), (2_000, 20_000)
BY_NAME = {language.readme.name: language for language in LANGUAGES}


@pytest.fixture(scope="module")
def outputs(default_runs: dict[str, StageRun]) -> dict[str, str]:
    """What each stage printed in its default run, and what the diverging run printed."""
    return {stage: run.stdout for stage, run in default_runs.items()} | {"diverging": make_readme.diverging_output()}


@pytest.mark.skipif(shutil.which("diff") is None, reason="the READMEs quote `diff -u`, and diff is not installed")
@pytest.mark.parametrize("name", BY_NAME)
def test_readme_matches_the_code_and_its_output(name: str, outputs: dict[str, str]) -> None:
    language = BY_NAME[name]
    stale = make_readme.stale_parts(language.text(), outputs, language)
    assert stale == [], f"{name} is stale; run python tools/make_readme.py"


@pytest.mark.parametrize("name", BY_NAME)
def test_a_stale_readme_is_caught(name: str, outputs: dict[str, str]) -> None:
    language = BY_NAME[name]
    readme = language.text()
    # A quoted loss off by more than float32 rounding, and a changed line of a quoted diff.
    quoted_log = readme.replace("\n1000 130.9356", "\n1000 130.9456", 1)
    quoted_diff = readme.replace("+import torch\n", "+import torch as th\n", 1)
    assert quoted_log != readme and quoted_diff != readme
    assert "log of fit_tensor.py" in make_readme.stale_parts(quoted_log, outputs, language)
    assert make_readme.stale_parts(quoted_diff, outputs, language) == ["walkthrough"]


def test_every_docstring_has_its_japanese_translation() -> None:
    # tools/readme_ja.py keeps the English each translation was made from.
    assert make_readme.stale_translations() == []


def test_a_changed_docstring_asks_for_a_new_translation(monkeypatch: pytest.MonkeyPatch) -> None:
    english = make_readme.docstring
    monkeypatch.setattr(make_readme, "docstring", lambda stage: (english(stage)[0] + "!", english(stage)[1]))
    assert make_readme.stale_translations() == list(STAGES)


def _outline(readme: str) -> tuple[list[int], list[str]]:
    """A README's heading levels, in order, and its generated blocks' names, in order."""
    prose = re.sub(r"```.*?```", "", readme, flags=re.DOTALL)
    levels = [len(heading) for heading in re.findall(r"^(#+) ", prose, re.MULTILINE)]
    return levels, re.findall(r"<!-- BEGIN GENERATED: (\S+) -->", readme)


def test_both_readmes_have_the_same_sections_and_generated_blocks_in_the_same_order() -> None:
    english, japanese = (_outline(language.text()) for language in (ENGLISH, JAPANESE))
    assert english == japanese and len(english[0]) > 10


def test_each_readme_links_the_other_at_its_top() -> None:
    for language, other in ((ENGLISH, JAPANESE), (JAPANESE, ENGLISH)):
        top = "\n".join(language.text().splitlines()[:5])
        assert f"]({other.readme.name})" in top, language.readme.name


@pytest.mark.parametrize("name", BY_NAME)
def test_every_figure_the_readme_shows_is_there(name: str) -> None:
    readme = BY_NAME[name].text()
    shown = re.findall(r"\]\((figures/[^)]+\.png)\)", readme)
    expected = [f"figures/{stage.replace('.py', '')}.png" for stage in STAGES]
    assert set(expected + ["figures/compare_losses.png", "figures/benchmark_scaling.png"]) <= set(shown)
    for path in shown:
        assert (ROOT / path).read_bytes().startswith(b"\x89PNG"), path


@pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("git") is None, reason="not a git checkout")
def test_every_figure_the_readmes_show_is_committed() -> None:
    shown = {path for language in LANGUAGES for path in re.findall(r"\]\((figures/[^)]+\.png)\)", language.text())}
    tracked = subprocess.run(["git", "ls-files", "figures"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert shown <= set(tracked)


def test_readme_install_is_what_ci_runs() -> None:
    readme = ENGLISH.text()
    ci = (ROOT / ".ci" / "run").read_text()
    install = re.search(r"^pip install -e \S+", ci, re.MULTILINE)
    assert install and f"\n{install[0]}\n" in readme
    assert re.search(r"^pytest(\s+#.*)?$", readme, re.MULTILINE) and "\npytest" in ci


def timed_row(stage: str, device: str, points: int, median: float) -> dict[str, Any]:
    return {"stage": stage, "device": device, "points": points, "valid": True, "error": "", "median_s": median}


def results_of(rows: list[dict[str, Any]], devices: dict[str, str]) -> dict[str, Any]:
    """A results file's contents, made by hand: each row timed at its median, with the machine."""
    rows = [
        {"speedup_over_cpu": None, **row, "min_s": row["median_s"], "max_s": row["median_s"]}
        | {"steps_per_second": 1 / row["median_s"]}
        for row in rows
    ]
    metadata = {"date": "2026-01-02T03:04:05Z", "devices": devices, "torch": "2.9.0", "numpy": "2.3.0"}
    return {"metadata": {**metadata, "torch_threads": 8, "cpu_count": 16}, "rows": rows}


def test_benchmark_section_reports_a_crossover_only_where_it_holds_for_good() -> None:
    times = {2_000: (1.0, 2.0), 20_000: (1.0, 0.5), 200_000: (1.0, 1.5), 2_000_000: (1.0, 0.1)}
    rows = [timed_row("fit_tensor.py", "cpu", points, cpu) for points, (cpu, _) in times.items()]
    rows += [timed_row("fit_tensor.py", "cuda:0", points, gpu) for points, (_, gpu) in times.items()]
    # fit_nn.py wins at both its sizes, fit_optim.py loses at its only one.
    rows += [
        timed_row("fit_nn.py", device, size, 1.0 if device == "cpu" else 0.5) for device in DEVICES for size in SIZES
    ]
    rows += [timed_row("fit_optim.py", device, 2_000, 1.0 if device == "cpu" else 3.0) for device in DEVICES]
    rows += [timed_row("fit_numpy.py", "cpu", points, 1.0) for points in times]
    section = make_readme.benchmark_section(results_of(rows, {"cpu": "Some CPU", "cuda:0": "Some GPU"}), ENGLISH)
    assert section.startswith("Measured 2026-01-02 by `python tools/benchmark.py` on `cpu` (Some CPU), `cuda:0` (")
    assert "torch 2.9.0, 8 torch threads on 16 cores, NumPy 2.3.0." in section.splitlines()[0]
    assert markdown_table(results_of(rows, {})).rstrip() in section
    assert "`cuda:0` on fit_tensor.py overtakes the CPU between 200,000 and 2,000,000 points." in section
    assert "`cuda:0` on fit_nn.py is faster than the CPU at every size measured, from the smallest, 2,000" in section
    assert "`cuda:0` on fit_optim.py does not overtake the CPU up to the largest size measured, 2,000" in section
    assert "torch (stage 2) on the CPU does not overtake NumPy (stage 1) up to the largest size" in section
    assert "still to come" not in section


def test_benchmark_section_says_plainly_that_gpu_numbers_are_still_to_come() -> None:
    rows = [timed_row("fit_numpy.py", "cpu", 2_000, 1.0), timed_row("fit_tensor.py", "cpu", 2_000, 0.5)]
    section = make_readme.benchmark_section(results_of(rows, {"cpu": "Some CPU"}), ENGLISH)
    assert "torch (stage 2) on the CPU is faster than NumPy (stage 1) at every size measured" in section
    assert "**GPU numbers are still to come**: no accelerator took part in this run." in section
    assert "the same command adds its rows for each torch stage and size" in section
