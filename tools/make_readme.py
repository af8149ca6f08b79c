"""Regenerate the figures and every generated part of the pages from the code and its runs.

    python tools/make_readme.py          # run every stage and breakage, redraw figures/, rewrite the pages
    python tools/make_readme.py --check  # name the stale parts of the pages; change nothing

The pages (PAGES, and each in Japanese as .ja.md) are written by hand except between the
markers `<!-- BEGIN GENERATED: name -->` and `<!-- END GENERATED: name -->`. The English
there is WORDS, ALSO_CHANGES, the stages' docstrings and the breakages' whys; its Japanese
is in TRANSLATIONS, keyed by a hash of the English, so a changed English text has none.
A part is stale where it differs from what the code makes of fresh runs by more than float
rounding (TOLERANCE) in a number a run printed, or by anything elsewhere.
"""

import argparse
import difflib
import hashlib
import itertools
import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from tools import benchmark, break_it, compare, exercises, graph, stages
from tools.stages import ROOT, STAGES, StageLog, StageRun, stage_number

PAGES = ("README.md", "docs/walkthrough.md", "docs/reference.md")
TRANSLATIONS = ROOT / "docs" / "translations.ja.json"
BLOCK = re.compile(r"(<!-- BEGIN GENERATED: (\S+) -->\n)(.*?)(<!-- END GENERATED: \2 -->)", re.DOTALL)
# A number standing alone (12, -0.5, 1e-06), not the 3 of P3 or float32.
NUMBER = re.compile(r"(?<![\w.])([-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?)(?![\w.])")
# What the reference shows diverging: ten times the points at the default rate, on the CPU.
DIVERGING = ("fit_tensor.py", "--points", "20000")
# The benchmark's results the reference quotes: this machine's CPU, and a GPU's (figures/<name>.png draws each).
BENCHMARKS = ("benchmark_scaling.json", "benchmark_h200.json")

# How far a decimal number a run printed may be from a fresh run's, relative or (near 0) absolute, for the losses and
# for the Result line's coefficients; words and whole numbers must be equal. Against the runs that made the pages
# (Intel Xeon, AVX-512), with ATEN_CPU_CAPABILITY=default or avx2, OMP_NUM_THREADS=1 and NumPy without AVX-512, stage 1
# (float64) moved by 3e-16 (a coefficient near 0 by 1e-18), the float32 stages by 2.4e-7, their broken runs, which carry
# each step's rounding as they swing or diverge, by 4.2e-6. RMSprop (stage 6) ends going back and forth by about its
# rate, 1e-3, so rounding moves where a logged step lands: in 48 runs (those above, and the rate moved by 1e-7 to 9e-6)
# its loss at step 2000 lay between 8.865 and 8.991 (1.4 %), and its coefficients ended 1e-3 apart.
TOLERANCE = {stage: (1e-5, 1e-5) for stage in STAGES} | {"fit_numpy.py": (1e-9, 1e-9), "fit_optim.py": (2e-2, 2e-3)}
# A broken run: at least 1e-4, but stage 1's float64 needs no more than its own.
BROKEN = {stage: max(pair, (1e-4, 1e-4)) for stage, pair in TOLERANCE.items()} | {"fit_numpy.py": (1e-9, 1e-9)}

WORDS = {
    "table_header": "| # | stage | what it adds | learning rate | steps | what else its diff changes, and why |",
    "whole_fit": "The whole fit, by hand:",
    "changes": "What changes from stage {number}: `diff -u {previous} {stage}` changes {changed} lines in all; "
    "here it is without the docstrings, quoted above.",
    "prints": "`python {stage}` prints:",
    "figure_alt": "The fit of {stage}: the data, the stage's cubic and the least-squares cubic, with residuals",
    "graph_heading": "The graph autograd records",
    "graph_prints": "`python tools/graph.py {number}` prints the graph autograd recorded for one step's loss, and "
    "draws it in `figures/graph_{name}.png`:",
    "graph_alt": "The graph autograd recorded for {stage}: the loss at the top, the parameters in the bottom row",
    "exercises_heading": "Exercises",
    "exercise": "- **{name}**: {task} Start with `{start}`; check with `{check}`.",
    "break_heading": "Break it: {name}",
    "break_intro": "`{command}` runs a copy of {stage} with this change, with `{flags}`:",
    "break_prints": "It prints:",
    "break_status": "and exits with status {status}.",
    "stopping_short": "At step 2000 stage 1's loss is {loss_2000}, {gap_2000} % above the floor of {floor}; at step "
    "4000 it is {gap_4000} % above it, and by step {reached} it is less than a millionth of the floor above it.",
    "measured": "Measured {date} by `python tools/benchmark.py` on {devices}: torch {torch}, {threads} torch threads "
    "on {cores} cores, NumPy {numpy}.",
    "crossovers": "Where the crossovers fall in this table:",
    "numpy": "NumPy (stage 1)",
    "torch_on_cpu": "torch (stage 2) on the CPU",
    "cpu": "the CPU",
    "on_device": "`{device}` on {stage}",
    "overtakes": "{faster} overtakes {slower} between {below:,} and {above:,} points.",
    "faster_everywhere": "{faster} is faster than {slower} at every size measured, from the smallest, {smallest:,} "
    "points.",
    "never_overtakes": "{faster} does not overtake {slower} up to the largest size measured, {largest:,} points.",
    "gpu_elsewhere": "No accelerator took part in this run; the next section shows one that did.",
    "speedups": "How many times faster a step of each torch stage (numbered as in the README) ran on `{device}` "
    "than on the CPU, by points fitted:",
    "gpu_default": "On an NVIDIA H200, at the stages' 2000 points, a step took {gpu_low:.2f} to {gpu_high:.2f} ms "
    "against {cpu_low:.2f} to {cpu_high:.2f} ms on that machine's CPU: launching each small operation on the GPU "
    "costs more than the arithmetic. The GPU pulled ahead of the CPU from {first:,} points for some stages and from "
    "{every:,} for all seven, and at {largest:,} points it was {fast_low:.0f} to {fast_high:.0f} times faster.",
}
# What each stage's diff changes besides its lesson (its rate and steps have columns of their own), and why.
ALSO_CHANGES = {
    "fit_numpy.py": "The first stage: NumPy's generator, seeded with 0, draws the four start values.",
    "fit_tensor.py": "float32 instead of float64, and start values from torch's generator, so its first loss is not "
    "stage 1's.",
    "fit_autograd.py": "Nothing else: stage 2's start values and rate, so its log is stage 2's to float32 rounding.",
    "fit_newautograd.py": "Another model, a + b P3(c + d x), started at fixed values near the answer, (a, b, c, d) = "
    "(0, -1, 0, 0.3), instead of at random: from torch's random starts it diverges (see the walkthrough). The "
    "lesson's own rate for this model, 5e-6.",
    "fit_nn.py": "Undoes stage 4: back to the cubic, random starts (torch's seed before the layer draws them) and the "
    "rate 1e-6; so it also reads well against stage 3.",
    "fit_optim.py": "The rate 1e-3, a thousand times larger: RMSprop's step is about the rate itself, not the rate "
    "times the gradient.",
    "fit_custom_nn.py": "Back from RMSprop to plain gradient descent, torch.optim.SGD at 1e-6, with stage 2's start "
    "values, so that its log matches stages 2 and 3.",
    "fit_ctlflow_wshare.py": "SGD with momentum 0.9, the rate 1e-8 and 30,000 steps, the official lesson's own: x^4 "
    "and x^5 make the loss far steeper, and momentum and three times the steps make up for part of the smaller rate.",
}

# A generated part, as pieces of text, each with the tolerance of its decimal numbers (None: exact).
Piece = tuple[str, float | None]


def exact(*lines: str) -> list[Piece]:
    return [("".join(f"{line}\n" for line in lines), None)]


def printed(text: str, tolerance: tuple[float, float]) -> list[Piece]:
    """What a run printed, fenced: its losses held to the first tolerance, the Result line to the second."""
    lines = [(f"{line}\n", tolerance[line.startswith("Result: ")]) for line in text.splitlines()]
    return exact("```") + lines + exact("```")


def source(stage: str) -> tuple[list[str], int]:
    """A stage's lines, and how many of them its docstring takes."""
    lines = (ROOT / stage).read_text(encoding="utf-8").splitlines()
    return lines, lines.index('"""', 1) + 1


def docstring(stage: str) -> tuple[str, str]:
    """A stage's docstring as (its first line without "Stage N: ", the paragraphs after it)."""
    lines, length = source(stage)
    title, _, body = "\n".join(lines[:length]).strip('"\n').partition("\n\n")
    return title.split(": ", 1)[1].rstrip("."), body.strip()


def english_texts() -> list[str]:
    """Every English text the Japanese pages translate, each once."""
    docstrings = [text for stage in STAGES for text in docstring(stage)]
    whys = [breakage.why for breakage in break_it.BREAKAGES]
    notes = [*graph.GRAPH_NOTES.values(), *(exercise.task for exercise in exercises.EXERCISES)]
    return list(
        dict.fromkeys([*WORDS.values(), *ALSO_CHANGES.values(), *benchmark.COLUMNS, *docstrings, *whys, *notes])
    )


def text_key(english: str) -> str:
    """The key of an English text's translation: a short hash of its words, however wrapped."""
    return hashlib.sha256(" ".join(english.split()).encode()).hexdigest()[:12]


def translations() -> dict[str, str]:
    return json.loads(TRANSLATIONS.read_text(encoding="utf-8"))


def translation_problems(texts: list[str], japanese: Mapping[str, str]) -> list[str]:
    """Each English text with no Japanese, then each Japanese text whose English is gone."""
    keys = {text_key(text): text for text in texts}
    missing = [f"no Japanese for {text!r}: add it as {key!r}" for key, text in keys.items() if key not in japanese]
    left = [f"{key!r}: {text!r} translates no English text now" for key, text in japanese.items() if key not in keys]
    return [f"{TRANSLATIONS.relative_to(ROOT).as_posix()}: {problem}" for problem in missing + left]


# Each language's text for an English one, by the suffix of its pages' names.
LANGUAGES: dict[str, Callable[[str], str]] = {".md": str, ".ja.md": lambda english: translations()[text_key(english)]}


def page_path(page: str, suffix: str) -> Path:
    return ROOT / page.replace(".md", suffix)


def read_pages(suffix: str) -> dict[str, str]:
    return {page: page_path(page, suffix).read_text(encoding="utf-8") for page in PAGES}


def lesson_diff(previous: str, stage: str) -> tuple[str, int]:
    """The diff from the previous stage without the docstrings (quoted as prose), and how many lines it all changes."""
    (old, old_length), (new, new_length) = source(previous), source(stage)
    changed = sum(line[:1] in "+-" for line in list(difflib.unified_diff(old, new, lineterm=""))[2:])
    # Diff the old code under the new docstring, so that only code differs, then give the hunks the old file's lines.
    diff = "\n".join(difflib.unified_diff(new[:new_length] + old[old_length:], new, previous, stage, lineterm=""))
    return re.sub(r"(?m)^@@ -(\d+)", lambda hunk: f"@@ -{int(hunk[1]) + old_length - new_length}", diff), changed


def stage_table(translate: Callable[[str], str]) -> list[Piece]:
    rows = [translate(WORDS["table_header"]), "|---|---|---|--:|--:|---|"]
    for stage in STAGES:
        # The rate as the stages write it: 1e-6, not 1e-06.
        rate = re.sub(r"\.?0*e([-+])0*(\d)", r"e\1\2", f"{stages.settings(stage)['learning_rate']:.6e}")
        cells = [f"[`{stage}`]({stage})", translate(docstring(stage)[0]), rate, str(stages.settings(stage)["steps"])]
        rows.append(f"| {stage_number(stage)} | {' | '.join(cells)} | {translate(ALSO_CHANGES[stage])} |")
    return exact(*rows)


def breakage_section(breakage: break_it.Breakage, run: StageRun, translate: Callable[[str], str]) -> list[Piece]:
    """The change, what the broken run showed (its log, each warning once, its error if it failed) and why."""
    flags = " ".join(breakage.args)
    intro = translate(WORDS["break_intro"]).format(command=breakage.command, stage=breakage.stage, flags=flags)
    pieces = exact("", f"### {translate(WORDS['break_heading']).format(name=breakage.name)}", "", intro, "")
    pieces += exact("```diff", break_it.diff(breakage).rstrip("\n"), "```", "", translate(WORDS["break_prints"]), "")
    # A warning's first sentence says what happened; the rest (advice, where it was raised) changes between releases.
    warnings = dict.fromkeys(re.sub(r"(?<=\.) .*", "", warning) for warning in break_it.warnings(run))
    shown = [*run.stdout.splitlines(), *warnings, *([] if run.ok else [run.error])]
    pieces += printed("\n".join(shown), BROKEN[breakage.stage])
    status = [] if run.ok else [translate(WORDS["break_status"]).format(status=run.returncode), ""]
    return pieces + exact("", *status, translate(breakage.why))


def walkthrough(runs: Mapping[str, StageRun], translate: Callable[[str], str]) -> list[Piece]:
    """Every stage: its docstring, its code or its diff, what it prints, its figure, the graph autograd records (for
    GRAPH_NOTES' stages), what its breakages do, and its exercises."""
    pieces: list[Piece] = []
    for previous, stage in zip((None, *STAGES), STAGES, strict=False):
        title, body = docstring(stage)
        heading = f"## {stage_number(stage)}. `{stage}`: {translate(title)}"
        pieces += exact(*([""] if previous else []), heading, "", translate(body), "")
        if previous is None:
            # The code after the imports, to the Result line.
            code = source(stage)[0]
            start = code.index("import plotting") + 2
            end = next(index for index, line in enumerate(code) if line.startswith('print(f"Result'))
            pieces += exact(translate(WORDS["whole_fit"]), "", "```python", *code[start : end + 1], "```", "")
        else:
            diff, changed = lesson_diff(previous, stage)
            words = {"number": stage_number(previous), "previous": previous, "stage": stage, "changed": changed}
            pieces += exact(translate(WORDS["changes"]).format(**words), "", "```diff", diff, "```", "")
        pieces += exact(translate(WORDS["prints"]).format(stage=stage), "")
        pieces += printed(runs[stage].stdout, TOLERANCE[stage])
        pieces += exact("", f"![{translate(WORDS['figure_alt']).format(stage=stage)}](../figures/{stage[:-3]}.png)")
        if stage in graph.GRAPH_NOTES:
            words = {"number": stage_number(stage), "name": stage[:-3], "stage": stage}
            pieces += exact("", f"### {translate(WORDS['graph_heading'])}", "", translate(graph.GRAPH_NOTES[stage]), "")
            pieces += exact(translate(WORDS["graph_prints"]).format(**words), "", "```")
            pieces += exact(runs[f"graph:{stage}"].stdout.rstrip("\n"), "```", "")
            pieces += exact(f"![{translate(WORDS['graph_alt']).format(**words)}](../figures/graph_{stage[:-3]}.png)")
        for breakage in (breakage for breakage in break_it.BREAKAGES if breakage.stage == stage):
            pieces += breakage_section(breakage, runs[breakage.key], translate)
        pieces += exact("", f"### {translate(WORDS['exercises_heading'])}", "")
        for exercise in (exercise for exercise in exercises.EXERCISES if exercise.stage == stage):
            commands = {"start": exercise.command("start"), "check": exercise.command("check")}
            pieces += exact(
                translate(WORDS["exercise"]).format(name=exercise.name, task=translate(exercise.task), **commands)
            )
    return pieces


def benchmark_section(results: dict[str, Any], translate: Callable[[str], str], speedups: bool = False) -> str:
    """What was measured, the table, and where the crossovers fall: torch against NumPy on the CPU, and every
    accelerator against the CPU for each torch stage. One overtakes the other where it wins at that size and above."""
    metadata, words = results["metadata"], {name: translate(text) for name, text in WORDS.items()}
    times = {(row["stage"], row["device"], row["points"]): row["median_s"] for row in results["rows"] if row["valid"]}
    accelerators = [device for device in metadata["devices"] if device != "cpu"]
    pairs = [(("fit_numpy.py", "cpu"), ("fit_tensor.py", "cpu"), words["numpy"], words["torch_on_cpu"])]
    for device, stage in itertools.product(accelerators, STAGES):
        on_device = words["on_device"].format(device=device, stage=stage)
        pairs.append(((stage, "cpu"), (stage, device), words["cpu"], on_device))
    sentences = []
    for slow, fast, slower, faster in pairs:
        sizes = sorted(key[2] for key in times if key[:2] == fast and (*slow, key[2]) in times)
        # The last size at which the faster one still loses: after it, it wins at every size.
        last = max((n for n, size in enumerate(sizes) if times[(*fast, size)] >= times[(*slow, size)]), default=-1)
        kind = "never_overtakes" if last == len(sizes) - 1 else "faster_everywhere" if last < 0 else "overtakes"
        if sizes:
            names = {"faster": faster, "slower": slower, "smallest": sizes[0], "largest": sizes[-1]}
            above = sizes[min(last + 1, len(sizes) - 1)]
            sentences.append(f"- {words[kind].format(**names, below=sizes[last], above=above)}")
    sentences += [] if accelerators else [f"- {words['gpu_elsewhere']}"]
    devices = ", ".join(f"`{device}` ({name})" for device, name in metadata["devices"].items())
    when = {"date": metadata["date"][:10], "threads": metadata["torch_threads"], "cores": metadata["cpu_count"]}
    table = benchmark.markdown_table(results, [translate(column) for column in benchmark.COLUMNS])
    if speedups:
        caption = words["speedups"].format(device=accelerators[0])
        table = f"{caption}\n\n{benchmark.speedup_table(results, accelerators[0], translate(benchmark.COLUMNS[1]))}"
    measured = words["measured"].format(**{**metadata, **when, "devices": devices})
    return "\n".join([measured, "", table.rstrip("\n"), "", words["crossovers"], "", *sentences])


def gpu_at_default(results: dict[str, Any], translate: Callable[[str], str]) -> str:
    """What the README says a learner with a GPU will see, from a benchmark run on one: how long a torch stage's step
    takes at the default size on each device, and from what size the GPU wins, for some stages and for all."""
    rows = [row for row in results["rows"] if row["valid"] and row["stage"] != STAGES[0]]
    default, gpu = stages.settings(STAGES[0])["points"], list(results["metadata"]["devices"])[1]
    steps = {
        device: [row["median_s"] * 1e3 for row in rows if (row["device"], row["points"]) == (device, default)]
        for device in ("cpu", gpu)
    }
    speedups: dict[int, list[float]] = {}
    for row in rows:
        if row["device"] == gpu:
            speedups.setdefault(row["points"], []).append(row["speedup_over_cpu"])
    # The largest size at which every torch stage ran.
    largest = max(size for size, measured in speedups.items() if len(measured) == len(STAGES) - 1)
    words = {"gpu_low": min(steps[gpu]), "gpu_high": max(steps[gpu]), "largest": largest}
    words |= {"cpu_low": min(steps["cpu"]), "cpu_high": max(steps["cpu"])}
    words |= {"first": min(size for size, measured in speedups.items() if max(measured) > 1)}
    words |= {"every": min(size for size, measured in speedups.items() if min(measured) > 1)}
    words |= {"fast_low": min(speedups[largest]), "fast_high": max(speedups[largest])}
    return translate(WORDS["gpu_default"]).format(**words)


def blocks(runs: Mapping[str, StageRun], logs: Mapping[str, StageLog], translate: Callable[[str], str]) -> dict:
    """Every generated part of every page as pieces, by page and in page order, from the runs and the stages' logs."""
    fit, losses = stages.least_squares(), logs["fit_numpy.py"].losses
    floor = fit[1]
    # Stage 1's gap to the floor at step 2000, where the official lessons stop, and when within float32's rounding.
    gap = {step: 100 * (loss / floor - 1) for step, loss in losses.items()}
    short = {"loss_2000": f"{losses[2000]:.4g}", "gap_2000": f"{gap[2000]:.0f}", "gap_4000": f"{gap[4000]:.2f}"}
    short |= {"floor": f"{floor:.4f}", "reached": min(step for step in losses if gap[step] < 1e-4)}
    # As a terminal shows it: the device line the stage writes first on stderr, its log, its last words.
    diverging = runs["diverging"]
    terminal = [f"$ python {' '.join(DIVERGING)}", diverging.stderr.splitlines()[0], diverging.stdout.rstrip("\n")]
    tables = ["Loss at each logged step", "", compare.loss_table(logs, floor), "", "Fitted models", ""]
    results, on_gpu = (json.loads((ROOT / "figures" / name).read_text(encoding="utf-8")) for name in BENCHMARKS)
    return {
        "README.md": {
            "quickstart": printed(runs["fit_numpy.py"].stdout, TOLERANCE["fit_numpy.py"]),
            "stages": stage_table(translate),
            "stopping-short": exact(translate(WORDS["stopping_short"]).format(**short)),
            "gpu": exact(gpu_at_default(on_gpu, translate)),
        },
        "docs/walkthrough.md": {"walkthrough": walkthrough(runs, translate)},
        "docs/reference.md": {
            "diverging": printed("\n".join([*terminal, diverging.error]), TOLERANCE[DIVERGING[0]]),
            "comparison": exact("```", *tables, compare.model_table(logs, fit), "```"),
            "benchmark": exact(benchmark_section(results, translate)),
            "gpu-benchmark": exact(benchmark_section(on_gpu, translate, speedups=True)),
        },
    }


def first_difference(page: str, pieces: list[Piece]) -> int | None:
    """The line, from 1, where a page's part first differs from the pieces by more than their numbers' tolerance."""
    fresh, quoted = NUMBER.split("".join(text for text, _ in pieces)), NUMBER.split(page)
    tolerances = [tolerance for text, tolerance in pieces for _ in NUMBER.finditer(text)]
    for index, (old, new) in enumerate(itertools.zip_longest(quoted, fresh)):
        # The numbers stand at the odd places: two decimals may differ within their tolerance.
        tolerance = tolerances[index // 2] if index % 2 and old is not None and new is not None else None
        decimals = tolerance is not None and re.search("[.e]", old) and re.search("[.e]", new)
        if old != new and not (decimals and math.isclose(float(old), float(new), rel_tol=tolerance, abs_tol=tolerance)):
            return "".join(quoted[:index]).count("\n") + 1
    return None


def stale_parts(pages: Mapping[str, str], runs: Mapping[str, StageRun], suffix: str) -> list[str]:
    """Each part of a language's pages (texts by English name) that these runs make stale, and its first stale line."""
    # The parts made from the stages' logs use the logs the walkthrough quotes, which its own check holds to the fresh
    # runs, so that rounding alone cannot tip a table's digit. Each WORDS["prints"] opens with `python fit_x.py`.
    quoted = dict(re.findall(r"\n`python (fit_\w+\.py)`[^\n]*\n\n```\n(.*?)```", pages[PAGES[1]], re.DOTALL))
    try:
        logs = {stage: stages.parse_log(quoted[stage]) for stage in STAGES}
    except (KeyError, ValueError):  # The walkthrough is stale then, and these parts are held to the runs.
        logs = {stage: runs[stage].log for stage in STAGES}
    stale = []
    for page, parts in blocks(runs, logs, LANGUAGES[suffix]).items():
        current = {match[2]: match[3] for match in BLOCK.finditer(pages[page])}
        for name, pieces in parts.items():
            line = first_difference(current[name], pieces) if name in current else 0
            if line is not None:
                path = page_path(page, suffix).relative_to(ROOT).as_posix()
                stale.append(f"{path}: {name} is stale from its line {line}: run python tools/make_readme.py")
    return stale


def fill(page: str, generated: Mapping[str, list[Piece]], name: str) -> str:
    """The page with the text between each pair of markers replaced by its generated part."""
    if missing := set(generated) - {match[2] for match in BLOCK.finditer(page)}:
        raise ValueError(f"{name} lacks the markers for {', '.join(sorted(missing))}")
    return BLOCK.sub(lambda match: match[1] + "".join(text for text, _ in generated[match[2]]) + match[4], page)


def fresh_runs(figures: bool) -> dict[str, StageRun]:
    """Every stage (drawing its figure if asked), the diverging run, every breakage and the graphs
    of stages 3 to 8 (drawing theirs), on the CPU: by stage, by key, and by "graph:" and stage."""
    no_figure = [] if figures else ["--no-figure"]
    jobs = {stage: partial(stages.run_stage, stage, *no_figure) for stage in STAGES}
    jobs |= {"diverging": partial(stages.run_stage, *DIVERGING, "--no-figure")}
    jobs |= {breakage.key: partial(break_it.run, breakage) for breakage in break_it.BREAKAGES}
    # Every stage that autograd records a graph for draws one; the walkthrough shows GRAPH_NOTES' stages.
    jobs |= {f"graph:{stage}": partial(stages.run_stage, "tools/graph.py", stage, *no_figure) for stage in STAGES[2:]}
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        return dict(zip(jobs, pool.map(lambda job: job(device="cpu"), jobs.values()), strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only name the parts of the pages that are stale")
    check = parser.parse_args(argv).check
    problems = translation_problems(english_texts(), translations())
    runs = {} if problems else fresh_runs(figures=not check)
    # A breakage or the diverging run fails on purpose; a stage or a graph may not.
    must_end_well = [*STAGES, *(f"graph:{stage}" for stage in STAGES[2:])]
    problems += [f"{key} failed: {runs[key].error}" for key in must_end_well if runs and not runs[key].ok]
    if check and not problems:
        problems = [part for suffix in LANGUAGES for part in stale_parts(read_pages(suffix), runs, suffix)]
    if problems or check:
        print("\n".join(problems) or "the pages are up to date", file=sys.stderr if problems else sys.stdout)
        return 1 if problems else 0
    logs = {stage: runs[stage].log for stage in STAGES}
    compare.draw_losses(logs, stages.least_squares()[1])
    for name in BENCHMARKS:
        benchmark.draw_figure(json.loads((ROOT / "figures" / name).read_text(encoding="utf-8")), name[:-5])
    for suffix, translate in LANGUAGES.items():
        for page, parts in blocks(runs, logs, translate).items():
            path = page_path(page, suffix)
            path.write_text(fill(path.read_text(encoding="utf-8"), parts, path.name), encoding="utf-8", newline="\n")
    print("wrote the generated parts of the pages, in both languages, and the figures in figures/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
