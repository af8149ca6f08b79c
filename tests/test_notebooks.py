"""Every stage runs as a notebook, cell by cell, in a real Jupyter kernel."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

import plotting
from tools.stages import ROOT, STAGES, parse_log

STEPS = 100
# The cells a learner steps through, by their `# %%` titles; the first is the docstring,
# the imports and the command line.
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


@pytest.mark.parametrize("stage", STAGES)
def test_stage_runs_as_a_notebook_with_its_log_and_figure_inline(
    stage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jupytext, nbclient = _notebook_tools()
    # A copy of the stages, so that the figure lands in the copy's figures/.
    for name in (*STAGES, "plotting.py"):
        shutil.copy(ROOT / name, tmp_path)
    monkeypatch.setenv(plotting.ARGS_VARIABLE, f"--steps {STEPS}")
    notebook = jupytext.read(tmp_path / stage)
    titles = [cell.metadata.get("title") for cell in notebook.cells]
    assert titles == CELLS
    nbclient.NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute()

    def printed(cell: int) -> str:
        outputs = notebook.cells[cell].outputs
        return "".join(output.text for output in outputs if output.output_type == "stream" and output.name == "stdout")

    # The kernel's own arguments did not reach the stage: it ran the steps STAGE_ARGS named,
    # and logged them under the loop's cell.
    assert printed(4).startswith("Result: y = ")
    log = parse_log(printed(3) + printed(4))
    assert list(log.losses) == list(range(0, STEPS + 1, STEPS // 10))
    images = [output for output in notebook.cells[4].outputs if "image/png" in output.get("data", {})]
    assert len(images) == 1
    assert (tmp_path / "figures" / stage.replace(".py", ".png")).read_bytes().startswith(b"\x89PNG")
