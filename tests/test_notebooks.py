"""Every stage runs as a notebook, cell by cell, in a real Jupyter kernel, with its settings
changed in its first cell, as a learner would change them."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tools.stages import ROOT, STAGES, parse_log, settings

STEPS = 100
# The cells a learner steps through, by their `# %%` titles; the first holds the docstring, imports and settings.
CELLS = [None, "The data", "The model and its start values", "The training loop", "The result and the figure"]


def _notebook_tools() -> tuple[ModuleType, ModuleType]:
    try:
        import jupytext
        import nbclient
    except ImportError:
        # CI installs the notebook extra, so there a missing package is a failure.
        if os.environ.get("CI"):
            raise
        pytest.skip("the notebook extra is not installed: pip install -e '.[notebook]'")
    return jupytext, nbclient


# One kernel runs every stage in turn: starting one costs more CPU (2.4 s) than a stage's 100 steps. This cell
# gives each stage what a fresh kernel would: an empty namespace, its own folder as the working directory, from
# which it imports its own copy of plotting (so the test sees it writes no figure there), and no figure open. What
# a stage leaves outside the namespace, in torch's settings say, stays; that no stage needs another's leftovers
# is shown by their default runs, each in a process of its own.
FRESH_START = """
import importlib, os, sys
for name, module in list(sys.modules.items()):
    if os.path.dirname(getattr(module, "__file__", None) or "") == os.getcwd():
        del sys.modules[name]
os.chdir({folder!r})
importlib.invalidate_caches()
if "matplotlib.pyplot" in sys.modules:
    sys.modules["matplotlib.pyplot"].close("all")
get_ipython().reset(new_session=True)
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One Jupyter kernel for every stage, started as a notebook's would be, from an empty folder."""
    _, nbclient = _notebook_tools()
    from jupyter_client import AsyncKernelManager

    manager = AsyncKernelManager()
    folder = str(tmp_path_factory.mktemp("kernel"))
    nbclient.util.run_sync(manager.start_kernel)(cwd=folder, extra_arguments=["--HistoryManager.hist_file=:memory:"])
    yield manager
    nbclient.util.run_sync(manager.shutdown_kernel)(now=True)


@pytest.mark.parametrize("stage", STAGES)
def test_stage_runs_as_a_notebook_with_its_log_and_figure_inline(stage: str, tmp_path: Path, kernel: Any) -> None:
    jupytext, nbclient = _notebook_tools()
    from nbformat.v4 import new_code_cell

    # A copy of the stage, beside its plotting.py, where a figure written would land in figures/.
    for name in (stage, "plotting.py"):
        shutil.copy(ROOT / name, tmp_path)
    notebook = jupytext.read(tmp_path / stage)
    assert [cell.metadata.get("title") for cell in notebook.cells] == CELLS
    first, old = notebook.cells[0], f"\nsteps = {settings(stage)['steps']}\n"
    assert old in first.source
    first.source = first.source.replace(old, f"\nsteps = {STEPS}\n")
    notebook.cells.insert(0, new_code_cell(FRESH_START.format(folder=str(tmp_path))))
    try:
        nbclient.NotebookClient(notebook, km=kernel, timeout=300).execute()
    finally:
        del notebook.cells[0]

    def printed(cell: int) -> str:
        outputs = notebook.cells[cell].outputs
        return "".join(output.text for output in outputs if output.output_type == "stream" and output.name == "stdout")

    # The kernel's own arguments did not reach the stage as flags: it ran the steps its
    # settings cell named, and logged them under the loop's cell.
    assert printed(4).startswith("Result: y = ")
    log = parse_log(printed(3) + printed(4))
    assert list(log.losses) == list(range(0, STEPS + 1, STEPS // 10))
    images = [output for output in notebook.cells[4].outputs if "image/png" in output.get("data", {})]
    assert len(images) == 1
    # Shown in the notebook, not written over the project's figures.
    assert not (tmp_path / "figures").exists()
