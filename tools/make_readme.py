"""Regenerate the figures and every generated part of the project's pages from the code.

    python tools/make_readme.py          # run every stage and breakage, redraw figures/, rewrite the pages
    python tools/make_readme.py --check  # name the parts of the pages that are stale; change nothing

Three pages, each in English and in Japanese: README.md (README.ja.md), the first page a
learner reads; docs/walkthrough.md, each stage with its diff, its log, its figure and the
ways to break it; docs/reference.md, flags, devices, notebooks, the comparison and the
benchmark. Their prose is written by hand. Between a pair of markers

    <!-- BEGIN GENERATED: name -->
    <!-- END GENERATED: name -->

stands text this script produces, the same parts in both languages from the same runs.
Their words come from ENGLISH_WORDS here and from tools/readme_ja.py for Japanese.
tests/test_readme.py renders the same parts from fresh runs and fails when a page no
longer matches them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# `python tools/<tool>.py` puts tools/ on the path, not the project folder that holds
# plotting.py and the tools package; put it first, so this checkout's code is the one used.
if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import plotting  # noqa: E402

# Before torch is imported (through the benchmark), which takes seconds: a Ctrl-C then ends
# as one later does.
if __name__ == "__main__":
    plotting.run_as_program()

from tools import benchmark, break_it, break_it_ja, compare, readme_ja  # noqa: E402
from tools.stages import ROOT, STAGES, parse_log, run_stage, stage_defaults, stage_number  # noqa: E402

BENCHMARK_RESULTS = ROOT / "figures" / "benchmark_scaling.json"
_BLOCK = re.compile(r"(<!-- BEGIN GENERATED: (\S+) -->\n)(.*?)(<!-- END GENERATED: \2 -->)", re.DOTALL)
# The pages, by the path of their English version; a page's Japanese version ends in .ja.md.
PAGES = ("README.md", "docs/walkthrough.md", "docs/reference.md")


def _source(stage: str) -> list[str]:
    return (ROOT / stage).read_text().splitlines()


def _docstring_length(lines: list[str]) -> int:
    """How many lines the module docstring takes, closing quotes included."""
    return lines.index('"""', 1) + 1


def docstring(stage: str) -> tuple[str, str]:
    """A stage's docstring as (its first line without "Stage N: ", the paragraphs after it)."""
    lines = _source(stage)
    text = "\n".join(lines[: _docstring_length(lines)]).strip('"\n')
    title, _, body = text.partition("\n\n")
    return title.split(": ", 1)[1].rstrip("."), body.strip()


@dataclass(frozen=True)
class Language:
    """One language's pages: the suffix of their file names, the words of their generated
    parts, each stage's docstring as (title, paragraphs) and each breakage's why."""

    suffix: str
    words: Mapping[str, Any]
    docstring: Callable[[str], tuple[str, str]]
    why: Callable[[break_it.Breakage], str]

    def path(self, page: str) -> Path:
        return ROOT / page.replace(".md", self.suffix)

    def text(self, page: str) -> str:
        # UTF-8 whatever the platform's default: the Japanese pages are not ASCII.
        return self.path(page).read_text(encoding="utf-8")


ENGLISH_WORDS: dict[str, Any] = {
    "table_header": "| # | stage | what it adds | learning rate | steps | what else its diff changes, and why |",
    # What each stage's diff changes besides its lesson, and why: the start values, the
    # optimizer and the settings. The rate and the steps stand in their own columns.
    "also_changes": {
        "fit_numpy.py": "The first stage: NumPy's generator, seeded with 0, draws the four start values.",
        "fit_tensor.py": "float32 instead of float64, and start values from torch's generator, so its first "
        "loss is not stage 1's.",
        "fit_autograd.py": "Nothing else: stage 2's start values and rate, so its log is stage 2's to float32 "
        "rounding.",
        "fit_newautograd.py": "Another model, a + b P3(c + d x), started at fixed values near the answer, "
        "(a, b, c, d) = (0, -1, 0, 0.3), instead of at random: from torch's random starts it diverges (see the "
        "walkthrough). The lesson's own rate for this model, 5e-6.",
        "fit_nn.py": "Undoes stage 4: back to the cubic, random starts (torch's seed before the layer draws them) "
        "and the rate 1e-6; so it also reads well against stage 3.",
        "fit_optim.py": "The rate 1e-3, a thousand times larger: RMSprop's step is about the rate itself, not the "
        "rate times the gradient.",
        "fit_custom_nn.py": "Back from RMSprop to plain gradient descent, torch.optim.SGD at 1e-6, with stage 2's "
        "start values, so that its log matches stages 2 and 3.",
        "fit_ctlflow_wshare.py": "SGD with momentum 0.9, the rate 1e-8 and 30,000 steps: x^4 and x^5 make the loss "
        "far steeper, and momentum and three times the steps make up for part of the smaller rate.",
    },
    "first_stage": "(the first stage)",
    "whole_fit": "The whole fit, by hand:",
    "changes": "What changes from stage {number}: `diff -u {previous} {stage}` changes {changed} lines in all; "
    "here it is without the docstrings, quoted above.",
    "prints": "`python {stage}` prints:",
    "figure_alt": "The fit of {stage}: the data, the stage's cubic and the least-squares cubic, with residuals",
    "break_heading": "Break it: {name}",
    "break_intro": "`{command}` runs a copy of {stage} with this change, with `{flags}`:",
    "break_prints": "It prints:",
    "break_status": "and exits with status {status}.",
    "stopping_short": "At step 2000 stage 1's loss is {loss_2000}, {gap_2000} % above the floor of {floor}; at step "
    "4000 it is {gap_4000} % above it, and by step {reached} it is less than a millionth of the floor above it.",
    "measured": "Measured {date} by `python tools/benchmark.py` on {devices}: torch {torch}, {threads} torch threads "
    "on {cores} cores, NumPy {numpy}.",
    "columns": benchmark.COLUMNS,
    "crossovers": "Where the crossovers fall in this table:",
    "numpy": "NumPy (stage 1)",
    "torch_on_cpu": "torch (stage 2) on the CPU",
    "cpu": "the CPU",
    "on_device": "`{device}` on {stage}",
    "overtakes": "{faster} overtakes {slower} between {below:,} and {above:,} points.",
    "faster_everywhere": "{faster} is faster than {slower} at every size measured, from the smallest, {smallest:,} "
    "points.",
    "never_overtakes": "{faster} does not overtake {slower} up to the largest size measured, {largest:,} points.",
    "gpu_to_come": "**GPU numbers are still to come**: no accelerator took part in this run. On one (CUDA, MPS, ...) "
    "the same command adds its rows for each torch stage and size, 20,000,000 points on every device, its speed-up "
    "over the CPU, its line in each panel of the figure, and where it overtakes the CPU.",
}
ENGLISH = Language(".md", ENGLISH_WORDS, docstring, lambda breakage: breakage.why)
JAPANESE = Language(
    ".ja.md",
    readme_ja.WORDS,
    lambda stage: readme_ja.DOCSTRINGS[stage][1],
    lambda breakage: break_it_ja.WHY[breakage.key][1],
)
LANGUAGES = (ENGLISH, JAPANESE)


def stale_translations() -> list[str]:
    """The stages and breakages whose English is no longer what the Japanese was translated from."""
    stale = [stage for stage in STAGES if readme_ja.DOCSTRINGS[stage][0] != docstring(stage)]
    for breakage in break_it.BREAKAGES:
        if break_it_ja.WHY.get(breakage.key, ("",))[0] != breakage.why:
            stale.append(breakage.key)
    return stale


def _diff(old: list[str], new: list[str], old_name: str, new_name: str) -> list[str]:
    """`diff -u` of two texts, as a learner's own diff prints it."""
    if shutil.which("diff") is None:
        raise RuntimeError("the diff command is needed to quote the stage diffs")
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder, "old"), Path(folder, "new")]
        for path, lines in zip(paths, (old, new), strict=True):
            path.write_text("\n".join(lines) + "\n")
        done = subprocess.run(
            ["diff", "-u", "--label", old_name, "--label", new_name, *map(str, paths)], capture_output=True, text=True
        )
    if done.returncode > 1:
        raise RuntimeError(f"diff failed: {done.stderr.strip()}")
    return done.stdout.splitlines()


def lesson_diff(previous: str, stage: str) -> tuple[str, int]:
    """The unified diff from the previous stage, with the docstrings left out (the
    walkthrough quotes them as prose), and how many lines the whole diff adds or removes."""
    old, new = _source(previous), _source(stage)
    changed = sum(1 for line in _diff(old, new, previous, stage)[2:] if line[:1] in "+-")
    # Give the old file the new docstring, so that the diff shows code only; its line
    # numbers shift by the difference in docstring length, which the hunk headers undo.
    shift = _docstring_length(old) - _docstring_length(new)
    old = new[: _docstring_length(new)] + old[_docstring_length(old) :]
    lines = []
    for line in _diff(old, new, previous, stage):
        header = re.match(r"@@ -(\d+)(,\d+)? \+(.*)", line)
        if header:
            line = f"@@ -{int(header.group(1)) + shift}{header.group(2) or ''} +{header.group(3)}"
        lines.append(line)
    return "\n".join(lines), changed


def _rate(rate: float) -> str:
    """A learning rate as the stages write it: 1e-6, not 1e-06."""
    return re.sub(r"\.?0*e([-+])0*(\d)", r"e\1\2", f"{rate:.6e}")


def stage_table(language: Language) -> str:
    rows = [language.words["table_header"], "|---|---|---|--:|--:|---|"]
    for stage in STAGES:
        title, _ = language.docstring(stage)
        defaults = stage_defaults(stage)
        rows.append(
            f"| {stage_number(stage)} | [`{stage}`]({stage}) | {title} | {_rate(defaults['learning_rate'])} "
            f"| {defaults['steps']} | {language.words['also_changes'][stage]} |"
        )
    return "\n".join(rows)


def _fenced(text: str, kind: str = "") -> list[str]:
    return [f"```{kind}", text.rstrip("\n"), "```"]


def breakage_output(run: break_it.BrokenRun) -> str:
    """What a broken run showed: its log on stdout, then the warnings it printed, each once,
    and, if it failed, its error's last line."""
    # Each warning's first sentence, which says what happened: the rest (advice, where in
    # torch's own build it was raised) is worded differently from one torch release to the next.
    shown = [re.sub(r"(?<=\.) .*", "", warning) for warning in run.warnings]
    lines = run.stdout.rstrip("\n").splitlines() + list(dict.fromkeys(shown))
    if run.returncode != 0:
        lines.append(run.last_error_line)
    return "\n".join(lines)


def breakage_section(breakage: break_it.Breakage, run: break_it.BrokenRun, language: Language) -> list[str]:
    words = language.words
    section = [
        f"### {words['break_heading'].format(name=breakage.name)}",
        "",
        words["break_intro"].format(command=run.command, stage=breakage.stage, flags=" ".join(breakage.args)),
        "",
        *_fenced(break_it.diff(breakage), "diff"),
        "",
        words["break_prints"],
        "",
        *_fenced(breakage_output(run)),
        "",
    ]
    if run.returncode != 0:
        section += [words["break_status"].format(status=run.returncode), ""]
    return [*section, language.why(breakage), ""]


def walkthrough(outputs: Mapping[str, str], broken: Mapping[str, break_it.BrokenRun], language: Language) -> str:
    """Every stage: its docstring, its code or its diff against the stage before, what it
    prints, its figure, and what each of its breakages does when run."""
    words = language.words
    sections = []
    for previous, stage in zip((None, *STAGES), STAGES, strict=False):
        title, body = language.docstring(stage)
        section = [f"## {stage_number(stage)}. `{stage}`: {title}", "", body, ""]
        if previous is None:
            code = _source(stage)
            # From the comment above the command line to the Result line.
            start = next(index for index, line in enumerate(code) if line.startswith("args = plotting.command_line("))
            while code[start - 1].startswith("#"):
                start -= 1
            end = next(index for index, line in enumerate(code) if line.startswith('print(f"Result'))
            section += [words["whole_fit"], "", *_fenced("\n".join(code[start : end + 1]), "python"), ""]
        else:
            diff, changed = lesson_diff(previous, stage)
            number = stage_number(previous)
            section += [
                words["changes"].format(number=number, previous=previous, stage=stage, changed=changed),
                "",
                *_fenced(diff, "diff"),
                "",
            ]
        section += [
            words["prints"].format(stage=stage),
            "",
            *_fenced(outputs[stage]),
            "",
            f"![{words['figure_alt'].format(stage=stage)}](../figures/{Path(stage).stem}.png)",
            "",
        ]
        for breakage in break_it.BREAKAGES:
            if breakage.stage == stage:
                section += breakage_section(breakage, broken[breakage.key], language)
        sections.append("\n".join(section).rstrip("\n"))
    return "\n\n".join(sections)


def comparison(outputs: Mapping[str, str]) -> str:
    logs = {stage: parse_log(outputs[stage]) for stage in STAGES}
    best = compare.least_squares()
    return "\n".join(
        [
            "```",
            "Loss at each logged step",
            "",
            compare.loss_table(logs, best[1]),
            "",
            "Fitted models",
            "",
            compare.model_table(logs, best),
            "```",
        ]
    )


def _crossover(slow: Mapping[int, float], fast: Mapping[int, float], names: dict[str, str], words: Mapping) -> str:
    """Where the faster one overtakes the slower for good, from their times by size: it must
    win at that size and at every larger one measured."""
    sizes = sorted(set(slow) & set(fast))
    last_loss = max((index for index, size in enumerate(sizes) if fast[size] >= slow[size]), default=-1)
    if last_loss == len(sizes) - 1:
        return words["never_overtakes"].format(**names, largest=sizes[-1])
    if last_loss < 0:
        return words["faster_everywhere"].format(**names, smallest=sizes[0])
    return words["overtakes"].format(**names, below=sizes[last_loss], above=sizes[last_loss + 1])


def benchmark_section(results: dict[str, Any], language: Language) -> str:
    """What was measured, the table, and where the crossovers fall: torch against NumPy on
    the CPU, and every accelerator against the CPU for each torch stage."""
    words, metadata = language.words, results["metadata"]
    times: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for row in results["rows"]:
        if row["valid"]:
            times[row["stage"], row["device"]][row["points"]] = row["median_s"]
    accelerators = [device for device in metadata["devices"] if device != "cpu"]
    pairs = [(("fit_numpy.py", "cpu"), ("fit_tensor.py", "cpu"), words["numpy"], words["torch_on_cpu"])]
    for device in accelerators:
        for stage in STAGES:
            pairs.append(
                ((stage, "cpu"), (stage, device), words["cpu"], words["on_device"].format(device=device, stage=stage))
            )
    sentences = [
        f"- {_crossover(times[slow], times[fast], {'slower': slower, 'faster': faster}, words)}"
        for slow, fast, slower, faster in pairs
        if times[slow].keys() & times[fast].keys()
    ]
    if not accelerators:
        sentences.append(f"- {words['gpu_to_come']}")
    measured = words["measured"].format(
        date=metadata["date"][:10],
        devices=", ".join(f"`{device}` ({name})" for device, name in metadata["devices"].items()),
        torch=metadata["torch"],
        threads=metadata["torch_threads"],
        cores=metadata["cpu_count"],
        numpy=metadata["numpy"],
    )
    table = benchmark.markdown_table(results, words["columns"]).rstrip("\n")
    return "\n".join([measured, "", table, "", words["crossovers"], "", *sentences])


# Ten times the default points: the run the reference shows diverging at the default rate.
DIVERGING = ("--points", "20000", "--no-figure")


def diverging_output() -> str:
    """What `python fit_numpy.py --points 20000` shows in a terminal: its log, then its message."""
    run = run_stage("fit_numpy.py", DIVERGING)
    return run.stdout + run.stderr


def stopping_short(log_text: str, language: Language) -> str:
    """How far from the floor stage 1 is at step 2000, where the official lessons stop."""
    losses, floor = parse_log(log_text).losses, compare.least_squares()[1]
    gap = {step: 100 * (loss / floor - 1) for step, loss in losses.items()}
    # Reached: within a millionth of the floor, about float32's rounding.
    reached = min(step for step in losses if gap[step] < 1e-4)
    return language.words["stopping_short"].format(
        loss_2000=f"{losses[2000]:.4g}",
        gap_2000=f"{gap[2000]:.0f}",
        floor=f"{floor:.4f}",
        gap_4000=f"{gap[4000]:.2f}",
        reached=reached,
    )


def blocks(
    outputs: Mapping[str, str], broken: Mapping[str, break_it.BrokenRun], language: Language
) -> dict[str, dict[str, str]]:
    """Every generated part of every page, by page and in the order each page shows them,
    from each stage's printed log, the diverging run's output and the broken runs."""
    command = "$ python fit_numpy.py " + " ".join(DIVERGING[:2])
    return {
        "README.md": {
            "stages": stage_table(language),
            "quickstart": "\n".join(_fenced(outputs["fit_numpy.py"])),
            "stopping-short": stopping_short(outputs["fit_numpy.py"], language),
        },
        "docs/walkthrough.md": {"walkthrough": walkthrough(outputs, broken, language)},
        "docs/reference.md": {
            "diverging": "\n".join(_fenced(f"{command}\n{outputs['diverging'].rstrip()}")),
            "comparison": comparison(outputs),
            "benchmark": benchmark_section(json.loads(BENCHMARK_RESULTS.read_text()), language),
        },
    }


# How far a quoted stage log may be from a fresh run's and still count as current, relative
# (and, for a coefficient near zero, absolute). The float32 stages end in the last digits
# the order of their float32 sums leaves them, and that order changes with the processor's
# vector instructions and with how many threads share a sum (tests/test_lessons.py shows
# one sum split in two halves ending in another last digit). Gradient descent carries such a
# difference along without growing it: 1e-5 holds for stages 2 to 5, 7 and 8 between one
# thread and the default, and between the Intel and AMD processors these pages were made
# on. RMSprop (stage 6) at a constant rate ends in a back-and-forth, and there the same
# difference moves where a logged step lands: between those runs its losses differed by up
# to 0.8 % (8.8793 and 8.9519 at step 2000), and each coefficient ends where one step of
# about the rate (1e-3) puts it, on one side of the best cubic or the other: between two
# Intel Xeons and an AMD EPYC its coefficients differed by up to 1.00001e-3. So its log is
# held to 1 % and its coefficients to two such steps, 2e-3. The NumPy stage sums in float64
# on one thread. A changed stage moves its log far more than any of these.
LOG_TOLERANCE = {stage: 1e-5 for stage in STAGES} | {"fit_numpy.py": 1e-9, "fit_optim.py": 1e-2}
COEFFICIENT_TOLERANCE = {stage: 1e-5 for stage in STAGES} | {"fit_numpy.py": 1e-9, "fit_optim.py": 2e-3}


def _quoted_logs(page: str, language: Language) -> dict[str, str]:
    """Each stage's log as the walkthrough quotes it, under its words["prints"] line."""
    prints = re.escape(language.words["prints"]).replace(re.escape("{stage}"), r"(fit_\w+\.py)")
    return dict(re.findall(prints + r"\n\n```\n(.*?)\n```", page, re.DOTALL))


def same_log(quoted: str, fresh: str, stage: str) -> bool:
    """Whether a quoted log and a fresh one agree within the stage's tolerances."""
    old, new = parse_log(quoted), parse_log(fresh)
    loss, coefficient = LOG_TOLERANCE[stage], COEFFICIENT_TOLERANCE[stage]
    return (
        old.losses.keys() == new.losses.keys()
        and all(math.isclose(old.losses[step], new.losses[step], rel_tol=loss) for step in old.losses)
        and [term.power for term in old.terms] == [term.power for term in new.terms]
        and all(
            math.isclose(a.coefficient, b.coefficient, rel_tol=coefficient, abs_tol=coefficient)
            for a, b in zip(old.terms, new.terms, strict=True)
        )
        and old.notes == new.notes
    )


def _rounded(text: str) -> str:
    """The text with every number of five or more digits rounded to 4 significant ones: the
    diverging run's float64 sums and the broken runs' float32 ones may end differently on
    another processor; the stage logs the pages quote are held to LOG_TOLERANCE instead."""
    return re.sub(r"\b(?=(?:\d\.?){5})\d+\.\d+(?:e[-+]\d+)?", lambda number: f"{float(number[0]):.4g}", text)


def stale_parts(
    outputs: Mapping[str, str], broken: Mapping[str, break_it.BrokenRun], language: Language = ENGLISH
) -> list[str]:
    """What in a language's pages no longer matches the code and these fresh runs: each
    stage whose quoted log is further from its fresh one than its tolerance allows, then
    each generated part that differs from what the quoted logs and the fresh runs give."""
    pages = {page: language.text(page) for page in PAGES}
    quoted = _quoted_logs(pages["docs/walkthrough.md"], language)
    if quoted.keys() != set(STAGES):
        return ["docs/walkthrough.md: walkthrough"]
    stale = [f"log of {stage}" for stage in STAGES if not same_log(quoted[stage], outputs[stage], stage)]
    # The generated parts are rendered from the logs the page quotes, which the check above
    # holds to the fresh ones, so that rounding alone does not make a part stale.
    generated = blocks({**quoted, "diverging": outputs["diverging"]}, broken, language)
    for page, parts in generated.items():
        current = {match[1]: _rounded(match[2]) for match in _BLOCK.findall(pages[page])}
        stale += [f"{page}: {name}" for name, text in parts.items() if current.get(name) != _rounded(text + "\n")]
    return stale


def fill(page: str, generated: Mapping[str, str], name: str) -> str:
    """The page with the text between each pair of markers replaced by its generated part."""
    found = {match[1] for match in _BLOCK.findall(page)}
    missing = set(generated) - found
    if missing:
        raise ValueError(f"{name} lacks the markers for {', '.join(sorted(missing))}")
    return _BLOCK.sub(lambda match: f"{match[1]}{generated[match[2]]}\n{match[4]}", page)


def broken_runs() -> dict[str, break_it.BrokenRun]:
    """Every breakage run on the CPU, each as its own process, by its key ("stage:name")."""
    return {breakage.key: break_it.run(breakage, device="cpu") for breakage in break_it.BREAKAGES}


def unwritable(paths: list[Path]) -> list[Path]:
    """The paths among these that this process could not write."""
    return [path for path in paths if not os.access(path if path.exists() else path.parent, os.W_OK)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only say whether the pages are up to date")
    args = parser.parse_args(argv)

    untranslated = stale_translations()
    for key in untranslated:
        plotting.say(f"the English of {key} changed: translate it again in tools/readme_ja.py or tools/break_it_ja.py")
    pages = [language.path(page) for language in LANGUAGES for page in PAGES]
    # Find out now, not after two minutes of runs, that the pages or figures cannot be written.
    blocked = [] if args.check else unwritable([*pages, ROOT / "figures", *sorted((ROOT / "figures").glob("*.png"))])
    for path in blocked:
        plotting.say(f"cannot write {path}")
    if untranslated or blocked:
        return 1
    # One stage at a time, each with torch's default threads: what a learner's plain
    # `python fit_x.py` prints. With --check, nothing is written, not even a figure.
    runs = {stage: run_stage(stage, ["--no-figure"] if args.check else [], device="cpu") for stage in STAGES}
    failed = [run for run in runs.values() if not run.ok]
    for run in failed:
        plotting.say(f"{run.stage} failed: {run.error}")
    if failed:
        return 1
    outputs = {stage: run.stdout for stage, run in runs.items()} | {"diverging": diverging_output()}
    broken = broken_runs()
    if args.check:
        stale = {language.suffix: stale_parts(outputs, broken, language) for language in LANGUAGES}
        for suffix, parts in stale.items():
            names = ", ".join(page.replace(".md", suffix) for page in PAGES)
            print(
                f"{names}: stale ({'; '.join(parts)}): run python tools/make_readme.py"
                if parts
                else f"{names}: up to date"
            )
        return 1 if any(stale.values()) else 0
    logs = {stage: parse_log(outputs[stage]) for stage in STAGES}
    compare.draw_losses(logs, compare.least_squares()[1])
    for language in LANGUAGES:
        for page, parts in blocks(outputs, broken, language).items():
            path = language.path(page)
            path.write_text(fill(language.text(page), parts, path.name), encoding="utf-8", newline="\n")
            print(f"wrote {path.relative_to(ROOT)}")
    print("and the figures in figures/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
