"""Regenerate the figures and every generated part of README.md and README.ja.md from the code.

    python tools/make_readme.py          # run every stage, redraw figures/, rewrite both READMEs
    python tools/make_readme.py --check  # name the parts of the READMEs that are stale; change nothing

The READMEs' prose is written by hand. Between a pair of markers

    <!-- BEGIN GENERATED: name -->
    <!-- END GENERATED: name -->

stands text this script produces, the same parts in both from the same runs: the stage
table, the quoted diffs and logs of the walkthrough, the comparison tables and the
benchmark. Their words come from ENGLISH here and from tools/readme_ja.py for Japanese.
tests/test_readme.py renders the same parts from fresh runs and fails when a README no
longer matches them.
"""

from __future__ import annotations

import argparse
import json
import math
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

from tools import benchmark, compare, readme_ja  # noqa: E402
from tools.stages import ROOT, STAGES, parse_log, run_stage, run_stages, stage_defaults, stage_number  # noqa: E402

BENCHMARK_RESULTS = ROOT / "figures" / "benchmark_scaling.json"
_BLOCK = re.compile(r"(<!-- BEGIN GENERATED: (\S+) -->\n)(.*?)(<!-- END GENERATED: \2 -->)", re.DOTALL)


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
    """One README: its file, the words of its generated parts, and each stage's docstring
    as (title, paragraphs) in its language."""

    readme: Path
    words: Mapping[str, Any]
    docstring: Callable[[str], tuple[str, str]]

    def text(self) -> str:
        # UTF-8 whatever the platform's default: the Japanese README is not ASCII.
        return self.readme.read_text(encoding="utf-8")


ENGLISH_WORDS: dict[str, Any] = {
    "table_header": "| # | stage | what it adds | learning rate | steps | diff against the previous stage "
    "| changed lines |",
    "first_stage": "(the first stage)",
    "whole_fit": "The whole fit, by hand:",
    "changes": "What changes from stage {number}: `diff -u {previous} {stage}` changes {changed} lines in all; "
    "here it is without the docstrings, quoted above.",
    "prints": "`python {stage}` prints:",
    "figure_alt": "The fit of {stage}: the data, the stage's cubic and the least-squares cubic, with residuals",
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
ENGLISH = Language(ROOT / "README.md", ENGLISH_WORDS, docstring)
JAPANESE = Language(ROOT / "README.ja.md", readme_ja.WORDS, lambda stage: readme_ja.DOCSTRINGS[stage][1])
LANGUAGES = (ENGLISH, JAPANESE)


def stale_translations() -> list[str]:
    """The stages whose docstring is no longer the English that tools/readme_ja.py translates."""
    return [stage for stage in STAGES if readme_ja.DOCSTRINGS[stage][0] != docstring(stage)]


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
    rows = [language.words["table_header"], "|---|---|---|---|---|---|---|"]
    for previous, stage in zip((None, *STAGES), STAGES, strict=False):
        title, _ = language.docstring(stage)
        command, changed = language.words["first_stage"], ""
        if previous is not None:
            command = f"`diff -u {previous} {stage}`"
            changed = str(lesson_diff(previous, stage)[1])
        defaults = stage_defaults(stage)
        rows.append(
            f"| {stage_number(stage)} | [`{stage}`]({stage}) | {title} | {_rate(defaults['learning_rate'])} "
            f"| {defaults['steps']} | {command} | {changed} |"
        )
    return "\n".join(rows)


def walkthrough(outputs: Mapping[str, str], language: Language) -> str:
    words = language.words
    sections = []
    for previous, stage in zip((None, *STAGES), STAGES, strict=False):
        title, body = language.docstring(stage)
        section = [f"### {stage_number(stage)}. `{stage}`: {title}", "", body, ""]
        if previous is None:
            code = _source(stage)
            # From the comment above the command line to the Result line.
            start = next(index for index, line in enumerate(code) if line.startswith("args = plotting.command_line("))
            while code[start - 1].startswith("#"):
                start -= 1
            end = next(index for index, line in enumerate(code) if line.startswith('print(f"Result'))
            section += [words["whole_fit"], "", "```python", *code[start : end + 1], "```", ""]
        else:
            diff, changed = lesson_diff(previous, stage)
            number = stage_number(previous)
            section += [
                words["changes"].format(number=number, previous=previous, stage=stage, changed=changed),
                "",
                "```diff",
                diff,
                "```",
                "",
            ]
        section += [
            words["prints"].format(stage=stage),
            "",
            "```",
            outputs[stage].rstrip("\n"),
            "```",
            "",
            f"![{words['figure_alt'].format(stage=stage)}](figures/{Path(stage).stem}.png)",
        ]
        sections.append("\n".join(section))
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


# Ten times the default points: the run the README shows diverging at the default rate.
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


def blocks(outputs: Mapping[str, str], language: Language) -> dict[str, str]:
    """Every generated part of a README, in the order it shows them, from each stage's
    printed output (stdout) and the output of the diverging run."""
    command = "$ python fit_numpy.py " + " ".join(DIVERGING[:2])
    return {
        "stages": stage_table(language),
        "quickstart": "```\n" + outputs["fit_numpy.py"].rstrip("\n") + "\n```",
        "stopping-short": stopping_short(outputs["fit_numpy.py"], language),
        "walkthrough": walkthrough(outputs, language),
        "diverging": f"```\n{command}\n{outputs['diverging'].rstrip()}\n```",
        "comparison": comparison(outputs),
        "benchmark": benchmark_section(json.loads(BENCHMARK_RESULTS.read_text()), language),
    }


# How far the numbers a stage prints may move from one machine to another: float32 sums end
# differently with other vector instructions, which the float32 stages carry along at
# rounding level. RMSprop (stage 6) at a constant rate jumps up and down before it settles
# (here by up to 16 % above the floor; on some processors, it was reported, up to a third
# and for longer), and where a logged step lands among the jumps moves with that rounding,
# so its quoted log is held only to that band. Everything else must match exactly.
LOG_TOLERANCE = {stage: 1e-5 for stage in STAGES} | {"fit_numpy.py": 1e-9, "fit_optim.py": 0.35}


def _quoted_logs(readme: str, language: Language) -> dict[str, str]:
    """Each stage's log as the walkthrough quotes it, under its words["prints"] line."""
    prints = re.escape(language.words["prints"]).replace(re.escape("{stage}"), r"(fit_\w+\.py)")
    return dict(re.findall(prints + r"\n\n```\n(.*?)\n```", readme, re.DOTALL))


def _same_log(quoted: str, fresh: str, tolerance: float) -> bool:
    old, new = parse_log(quoted), parse_log(fresh)
    return (
        old.losses.keys() == new.losses.keys()
        and all(math.isclose(old.losses[step], new.losses[step], rel_tol=tolerance) for step in old.losses)
        and [term.power for term in old.terms] == [term.power for term in new.terms]
        and all(
            math.isclose(a.coefficient, b.coefficient, rel_tol=tolerance, abs_tol=tolerance)
            for a, b in zip(old.terms, new.terms, strict=True)
        )
        and old.notes == new.notes
    )


def stale_parts(readme: str, outputs: Mapping[str, str], language: Language = ENGLISH) -> list[str]:
    """What in a README no longer matches the code and these fresh stage outputs: each
    generated part that differs from what the logs it quotes give, and each stage whose
    quoted log is further from its fresh one than LOG_TOLERANCE allows."""
    quoted = _quoted_logs(readme, language)
    if quoted.keys() != set(STAGES):
        return ["walkthrough"]
    stale = [
        f"log of {stage}" for stage in STAGES if not _same_log(quoted[stage], outputs[stage], LOG_TOLERANCE[stage])
    ]
    current = {match[1]: _rounded(match[2]) for match in _BLOCK.findall(readme)}
    generated = blocks({**quoted, "diverging": outputs["diverging"]}, language)
    return stale + [name for name, text in generated.items() if current.get(name) != _rounded(text + "\n")]


def _rounded(text: str) -> str:
    """The text with every long decimal rounded to 10 digits: the diverging run's float64
    sums may end differently on another CPU, and the other blocks quote the README's own logs."""
    return re.sub(r"\d+\.\d{6,}(?:e[-+]\d+)?", lambda number: f"{float(number[0]):.10g}", text)


def fill(readme: str, generated: Mapping[str, str], name: str = "README.md") -> str:
    """The README with the text between each pair of markers replaced by its generated part."""
    found = {match[1] for match in _BLOCK.findall(readme)}
    missing = set(generated) - found
    if missing:
        raise ValueError(f"{name} lacks the markers for {', '.join(sorted(missing))}")
    return _BLOCK.sub(lambda match: f"{match[1]}{generated[match[2]]}\n{match[4]}", readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only say whether the READMEs are up to date")
    args = parser.parse_args(argv)

    # With --check, nothing is written: not the README, not the figures.
    runs = run_stages(STAGES, ["--no-figure"] if args.check else [], device="cpu")
    failed = [run for run in runs.values() if not run.ok]
    for run in failed:
        print(f"{run.stage} failed: {run.error}", file=sys.stderr)
    untranslated = stale_translations()
    for stage in untranslated:
        print(f"the docstring of {stage} changed: translate it again in tools/readme_ja.py", file=sys.stderr)
    if failed or untranslated:
        return 1
    outputs = {stage: run.stdout for stage, run in runs.items()} | {"diverging": diverging_output()}
    if args.check:
        stale = {language.readme.name: stale_parts(language.text(), outputs, language) for language in LANGUAGES}
        for name, parts in stale.items():
            print(
                f"{name} is stale ({', '.join(parts)}): run python tools/make_readme.py"
                if parts
                else f"{name} is up to date"
            )
        return 1 if any(stale.values()) else 0
    logs = {stage: parse_log(outputs[stage]) for stage in STAGES}
    compare.draw_losses(logs, compare.least_squares()[1])
    for language in LANGUAGES:
        text = fill(language.text(), blocks(outputs, language), language.readme.name)
        language.readme.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {language.readme.relative_to(ROOT)}")
    print("and the figures in figures/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
