"""What the pages quote is what the code is and prints, in English and in Japanese, and the
README is a page a learner reads to the end."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest

from tools import break_it, make_readme
from tools.benchmark import markdown_table
from tools.make_readme import ENGLISH, JAPANESE, LANGUAGES, PAGES
from tools.stages import ROOT, STAGES, StageRun

DEVICES, SIZES = ("cpu", "cuda:0"), (2_000, 20_000)
BY_SUFFIX = {language.suffix: language for language in LANGUAGES}
ALL_PAGES = [(suffix, page) for suffix in BY_SUFFIX for page in PAGES]
README_LINES = 200


@pytest.fixture(scope="module")
def outputs(default_runs: dict[str, StageRun], diverging_run: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """What each stage printed in its default run, and what the diverging run printed."""
    return {stage: run.stdout for stage, run in default_runs.items()} | {
        "diverging": diverging_run.stdout + diverging_run.stderr
    }


@pytest.fixture(scope="module")
def broken(broken_runs: dict[str, break_it.BrokenRun]) -> dict[str, break_it.BrokenRun]:
    return broken_runs


@pytest.mark.skipif(shutil.which("diff") is None, reason="the pages quote `diff -u`, and diff is not installed")
@pytest.mark.parametrize("suffix", BY_SUFFIX)
def test_pages_match_the_code_and_its_output(
    suffix: str, outputs: dict[str, str], broken: dict[str, break_it.BrokenRun]
) -> None:
    assert make_readme.stale_parts(outputs, broken, BY_SUFFIX[suffix]) == [], "run python tools/make_readme.py"


def _stale_with(
    language: make_readme.Language,
    page: str,
    old: str,
    new: str,
    outputs: dict[str, str],
    broken: dict[str, break_it.BrokenRun],
    monkeypatch: pytest.MonkeyPatch,
) -> list[str]:
    """What stale_parts finds when the page's first `old` reads `new`."""
    text = language.text(page)
    changed = text.replace(old, new, 1)
    assert changed != text, old
    real = make_readme.Language.text
    monkeypatch.setattr(
        make_readme.Language,
        "text",
        lambda self, name: changed if (self, name) == (language, page) else real(self, name),
    )
    try:
        return make_readme.stale_parts(outputs, broken, language)
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("suffix", BY_SUFFIX)
def test_a_stale_page_is_caught(
    suffix: str, outputs: dict[str, str], broken: dict[str, break_it.BrokenRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    language = BY_SUFFIX[suffix]
    walkthrough = "docs/walkthrough.md"
    # A quoted loss off by more than float32 rounding; a changed line of a quoted diff; a
    # broken run's error as it no longer ends; the stage table's rate.
    tensor_log = outputs["fit_tensor.py"].splitlines()[1]
    step, loss = tensor_log.split()
    off = f"{step} {float(loss) * 1.001}"
    assert "log of fit_tensor.py" in _stale_with(language, walkthrough, tensor_log, off, outputs, broken, monkeypatch)
    changed_diff = _stale_with(
        language, walkthrough, "+import torch\n", "+import torch as th\n", outputs, broken, monkeypatch
    )
    assert changed_diff == [f"{walkthrough}: walkthrough"]
    some_error = next(run.last_error_line for run in broken.values() if run.returncode != 0)
    changed_error = _stale_with(language, walkthrough, some_error, some_error + "!", outputs, broken, monkeypatch)
    assert changed_error == [f"{walkthrough}: walkthrough"]
    table = _stale_with(language, "README.md", "| 5e-6 |", "| 5e-7 |", outputs, broken, monkeypatch)
    assert table == ["README.md: stages"]


def test_every_translation_is_current() -> None:
    # tools/readme_ja.py and tools/break_it_ja.py keep the English each translation was made from.
    assert make_readme.stale_translations() == []


def test_a_changed_docstring_asks_for_a_new_translation(monkeypatch: pytest.MonkeyPatch) -> None:
    english = make_readme.docstring
    monkeypatch.setattr(make_readme, "docstring", lambda stage: (english(stage)[0] + "!", english(stage)[1]))
    assert make_readme.stale_translations() == list(STAGES)


def _outline(text: str) -> tuple[list[int], list[str], list[str]]:
    """A page's heading levels, its generated blocks' names and its links, in order."""
    prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    levels = [len(heading) for heading in re.findall(r"^(#+) ", prose, re.MULTILINE)]
    links = [link.replace(".ja.md", ".md") for link in re.findall(r"\]\(([^)#]+)\)", prose)]
    return levels, re.findall(r"<!-- BEGIN GENERATED: (\S+) -->", text), links


@pytest.mark.parametrize("page", PAGES)
def test_both_languages_have_the_same_sections_blocks_and_links(page: str) -> None:
    english, japanese = (_outline(language.text(page)) for language in (ENGLISH, JAPANESE))
    # Each links the other language at its top; the rest is the same page.
    assert english[0] == japanese[0] and english[1] == japanese[1] and english[2][1:] == japanese[2][1:]
    assert len(english[0]) >= 5


@pytest.mark.parametrize(("suffix", "page"), ALL_PAGES)
def test_each_page_links_its_other_language_at_its_top(suffix: str, page: str) -> None:
    language = BY_SUFFIX[suffix]
    other = JAPANESE if language is ENGLISH else ENGLISH
    top = "\n".join(language.text(page).splitlines()[:5])
    assert f"]({other.path(page).name})" in top


@pytest.mark.parametrize(("suffix", "page"), ALL_PAGES)
def test_every_link_and_figure_on_a_page_is_there(suffix: str, page: str) -> None:
    path = BY_SUFFIX[suffix].path(page)
    prose = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    links = [link for link in re.findall(r"\]\(([^)#]+)\)", prose) if "://" not in link]
    assert links
    for link in links:
        assert (path.parent / link).exists(), link
        if link.endswith(".png"):
            assert (path.parent / link).read_bytes().startswith(b"\x89PNG"), link


def test_the_walkthrough_shows_every_stages_figure_and_every_breakage() -> None:
    for language in LANGUAGES:
        text = language.text("docs/walkthrough.md")
        for stage in STAGES:
            assert f"](../figures/{stage.replace('.py', '.png')})" in text, stage
        for breakage in break_it.BREAKAGES:
            assert f"`python tools/break_it.py {STAGES.index(breakage.stage) + 1} {breakage.name}`" in text


@pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("git") is None, reason="not a git checkout")
def test_every_figure_the_pages_show_is_committed() -> None:
    shown = set()
    for language in LANGUAGES:
        for page in PAGES:
            path = language.path(page)
            for link in re.findall(r"\]\(([^)]+\.png)\)", path.read_text(encoding="utf-8")):
                shown.add((path.parent / link).resolve().relative_to(ROOT).as_posix())
    tracked = subprocess.run(["git", "ls-files", "figures"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert shown and shown <= set(tracked)


@pytest.mark.parametrize("suffix", BY_SUFFIX)
def test_the_readme_is_a_page_a_learner_reads_to_the_end(suffix: str) -> None:
    text = BY_SUFFIX[suffix].text("README.md")
    assert len(text.splitlines()) <= README_LINES
    # In order: what the suite is, one picture, the quick start, the stage table, then the
    # walkthrough and the reference linked at the end.
    picture = text.index("](figures/")
    quick_start = text.index("```sh")
    table = text.index("<!-- BEGIN GENERATED: stages -->")
    links = [text.index("](docs/walkthrough"), text.index("](docs/reference")]
    assert picture < quick_start < table < min(links)


def _shell_blocks(text: str) -> list[list[str]]:
    return [block.strip("\n").splitlines() for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL)]


def test_the_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    run_stage_one, pass_the_tests = _shell_blocks(ENGLISH.text("README.md"))[:2]
    assert run_stage_one[-1] == "python fit_numpy.py" and pass_the_tests[-1] == "pytest"
    # Every copyable line is a command of its own, and both start from a fresh machine.
    for block in (run_stage_one, pass_the_tests):
        assert block[0].startswith("python3 -m venv ") and not any("#" in line or "(" in line for line in block)
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    positions = [next(index for index, line in enumerate(ci) if line.endswith(command)) for command in pass_the_tests]
    assert positions == sorted(positions)
    # The Japanese quick start gives the same commands.
    assert _shell_blocks(JAPANESE.text("README.md"))[:2] == [run_stage_one, pass_the_tests]


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


def _setting(stage: str, pattern: str) -> str:
    found = re.search(pattern, (ROOT / stage).read_text())
    return found[0] if found else ""


def test_the_stage_table_names_every_change_a_diff_makes_besides_its_lesson() -> None:
    # Whatever changes from one stage to the next besides the lesson, the table says: a new
    # rate or number of steps, another optimizer or momentum, start values drawn another way.
    settings = {
        "rate": lambda stage: make_readme._rate(make_readme.stage_defaults(stage)["learning_rate"]),
        "steps": lambda stage: f"{make_readme.stage_defaults(stage)['steps']:,}",
        "optimizer": lambda stage: _setting(stage, r"(?<=torch\.optim\.)\w+"),
        "momentum": lambda stage: _setting(stage, r"momentum"),
        "start values": lambda stage: "fixed" if "torch.full(" in (ROOT / stage).read_text() else "random",
    }
    for language in (ENGLISH,):
        for previous, stage in zip(STAGES, STAGES[1:], strict=False):
            text = language.words["also_changes"][stage]
            for name, setting in settings.items():
                if setting(stage) != setting(previous):
                    assert (setting(stage) or setting(previous)) in text, (stage, name)


def test_the_opening_names_what_pytorch_adds_and_every_stages_model() -> None:
    opening = ENGLISH.text("README.md").split("\n\n")[2]
    assert "tensors" in opening and "automatic differentiation" in opening
    # Stages 1 to 7 fit a cubic, stage 8 adds x^4 and x^5 terms: the opening says both.
    assert "cubic" in opening and "x^5" in opening


def test_the_generator_checks_it_can_write_before_it_runs_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a stage ran before the generator knew it could write its pages")

    monkeypatch.setattr(make_readme, "run_stage", must_not_run)
    monkeypatch.setattr(make_readme.os, "access", lambda path, mode: False)
    assert make_readme.main([]) == 1
    assert "cannot write" in capsys.readouterr().err
