"""tools/graph.py shows the graph torch recorded: nodes named as torch names them, a stage's own parameters as leaves,
and in stage 8 a shared weight and a graph that changes with the degree drawn."""

import functools
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

import plotting
from tools import graph
from tools.stages import ROOT

record = functools.cache(graph.record)


def preorder(node: torch.autograd.graph.Node) -> list[torch.autograd.graph.Node]:
    """The nodes under node, read straight from next_functions: a node listed once per path to it."""
    return [node] + [n for child, _ in node.next_functions if child is not None for n in preorder(child)]


def reached(root: torch.autograd.graph.Node) -> Counter[int]:
    return Counter(id(node.variable) for node in preorder(root) if type(node).__name__ == "AccumulateGrad")


@pytest.mark.parametrize("stage", ["fit_autograd.py", "fit_newautograd.py", "fit_nn.py", "fit_custom_nn.py"])
def test_every_pass_reaches_each_of_the_stages_parameters_once_named_as_the_stage_names_it(stage: str) -> None:
    recording, found = record(stage), record(stage).namespace
    if "model" in found:
        parameters = {f"model.{name}": p for name, p in found["model"].named_parameters()}
    else:
        parameters = {k: v for k, v in found.items() if isinstance(v, torch.Tensor) and v.is_leaf and v.requires_grad}
    assert len(recording.passes) == 11 and recording.shown() == [0]
    assert all(reached(root) == Counter(map(id, parameters.values())) for root, _ in recording.passes)
    text = graph.graph_text(stage, recording=recording) + "\n"
    assert all(f"AccumulateGrad -> {name} {tuple(p.shape)}\n" in text for name, p in parameters.items())


@pytest.mark.parametrize("stage", ["fit_autograd.py", "fit_newautograd.py", "fit_nn.py", "fit_ctlflow_wshare.py"])
def test_the_tree_lists_the_nodes_as_torch_names_them_from_the_loss_down(stage: str) -> None:
    recording = record(stage)
    blocks = graph.graph_text(stage, recording=recording).split("\n\n")[1:]
    for step, block in zip(recording.shown(), blocks, strict=True):
        names = [node.name().removeprefix("torch::autograd::") for node in preorder(recording.passes[step][0])]
        assert [line.split()[0] for line in block.splitlines()[1:]] == names


def test_what_the_notes_say_of_stages_3_4_and_5() -> None:
    assert set(graph.GRAPH_NOTES) == {"fit_autograd.py", "fit_newautograd.py", "fit_nn.py", "fit_ctlflow_wshare.py"}
    saved = record("fit_autograd.py").passes[0][1]
    assert [dict(items)["exponent"] for node, items in saved.items() if type(node).__name__ == "PowBackward0"] == [2]
    assert all([key for key, _ in items] == ["other"] for node, items in saved.items() if node.name() == "MulBackward0")
    saved = (recording := record("fit_newautograd.py")).passes[0][1]
    (new,) = [node for node in saved if isinstance(node, torch.autograd.function.BackwardCFunction)]
    assert type(new).__name__ == "LegendrePolynomial3Backward" and len(saved[new]) == 1
    (multiply,) = [items for node, items in saved.items() if graph.inputs(node)[1:] == [new]]
    assert [key for key, _ in multiply] == ["other", "self"] and multiply[1][1] is recording.namespace["b"]
    nodes = {type(node).__name__: items for node, items in record("fit_nn.py").passes[0][1].items()}
    assert set(nodes) == {"MseLossBackward0", "ViewBackward0", "AddmmBackward0", "TBackward0", "AccumulateGrad"}
    assert dict(nodes["AddmmBackward0"])["mat1"] is record("fit_nn.py").namespace["xx"]
    assert dict(nodes["MseLossBackward0"])["reduction"] == torch.nn._reduction.get_enum("sum") == 2


def test_stage_8s_graph_follows_the_degree_and_reaches_the_shared_weight_along_a_path_per_use() -> None:
    recording = record("fit_ctlflow_wshare.py")
    model = recording.namespace["model"]
    passes = [(int(recording.notes[step].split()[1]), root) for step, (root, _) in enumerate(recording.passes)]
    for degree, root in passes:
        assert reached(root) == Counter(map(id, model.parameters())) + Counter({id(model.e): degree - 4})
    sizes = sorted({(degree, len(graph.walk(root))) for degree, root in passes})
    assert [d for d, _ in sizes] == [3, 4, 5] and [n for _, n in sizes] == sorted({n for _, n in sizes})
    assert [passes[step][0] for step in recording.shown()] == [3, 5]
    text = graph.graph_text("8", recording=recording)
    assert "not in this graph: model.e\n" in text and text.count("-> model.e ()  reached along 2 paths: shared") == 2
    # A parameter left out of a pass's graph keeps .grad None, and SGD then leaves it as it is, momentum and all.
    e = torch.nn.Parameter(torch.ones(()))
    optimizer = torch.optim.SGD([e], lr=0.1, momentum=0.9)
    for grad in (torch.ones(()), None):  # a pass that used e, then one that did not
        e.grad = grad
        optimizer.step()
    assert e.item() == pytest.approx(0.9)


def test_the_figure_draws_stage_8s_two_passes_side_by_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plotting, "FIGURES_DIR", tmp_path)
    figure = graph.draw(recording := record("fit_ctlflow_wshare.py"))
    assert [axes.get_title() for axes in figure.axes] == [recording.title(step) for step in recording.shown()]
    assert [t.get_text() for t in figure.axes[1].texts if "shared" in t.get_text()] == ["model.e ()\n2 paths: shared"]
    assert graph.save_graph_figure("8", recording=recording).stat().st_size > 0
    assert list(tmp_path.iterdir()) == [tmp_path / "graph_fit_ctlflow_wshare.png"]


def test_the_command_line_prints_graph_text_from_any_folder(tmp_path: Path) -> None:
    env = os.environ | {"PYTHONPATH": str(ROOT)}  # this checkout's tools, whichever one pip installed
    command = [sys.executable, str(ROOT / "tools" / "graph.py"), "8", "--no-figure"]
    done = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", cwd=tmp_path, env=env)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", graph.graph_text("8") + "\n")


@pytest.mark.parametrize("argv", [["2"], ["9"], ["3,4"], ["3", "--device", "nowhere"]])
def test_bad_input_or_a_stage_with_no_graph_is_one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as end:
        graph.main([*argv, "--no-figure"])
    assert end.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
