"""Show the graph autograd records for a step's loss: the nodes backward() walks, what each
kept for it, and the parameters it reaches.

    python tools/graph.py 3              # stage 3's graph as text, and figures/graph_fit_autograd.png
    python tools/graph.py 8              # two passes that drew different degrees, side by side
    python tools/graph.py 5 --no-figure  # the text only

The stage runs here for ten steps, and each loss it calls backward() on is read first: a changed stage shows a
changed graph. Where the passes differ (stage 8), the first smallest and the first largest graph are shown.
"""

import argparse
import contextlib
import io
import runpy
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import plotting
from tools.stages import one_stage, parse_log, stage_command, stage_number

# What to notice in each stage's graph, for the walkthrough; tests/test_graph.py checks each claim.
GRAPH_NOTES = {
    "fit_autograd.py": "Every operation that used a, b, c or d left a node, named after the backward it will run; "
    "x**2 and x**3 left none, since x does not require grad (the one PowBackward0 is torch.square, exponent 2). Each "
    "MulBackward0 kept only the power of x it multiplied by (other): that is all its coefficient's gradient needs.",
    "fit_newautograd.py": "The new operation is one node, LegendrePolynomial3Backward, holding the one tensor its "
    "forward kept with ctx.save_for_backward; nothing computed inside forward was recorded. b * P3(c + d x) kept "
    "both factors (self=b and other), since both need a gradient, and each one's gradient needs the other.",
    "fit_nn.py": "The linear layer records two nodes: AddmmBackward0, the bias plus the input times the weight, and "
    "TBackward0, the weight transposed for it. Flatten is ViewBackward0, and the loss MseLossBackward0, whose "
    "reduction=2 is torch's code for sum. The leaves are the layer's two Parameters, model.0.weight and model.0.bias; "
    "the features xx need no gradient, and Addmm only saved them (mat1).",
    "fit_ctlflow_wshare.py": "Each pass records a graph of its own. In a degree-5 pass model.e is one leaf reached "
    "along two paths, through e x^4 and through e x^5, and backward() adds the two gradients into its .grad; in a "
    "degree-3 pass e is not in the graph at all, its .grad stays None, and SGD leaves it as it is for that step.",
}


@dataclass(frozen=True)
class Recording:
    stage: str
    # Each pass's graph: its loss's grad_fn, and what each node kept for backward.
    passes: list[tuple[Any, dict[Any, list[tuple[str, Any]]]]]
    # What the log says of each step (stage 8 names the degree it drew), and the stage's globals at its end.
    notes: dict[int, str]
    namespace: dict[str, Any]

    @property
    def names(self) -> list[tuple[Any, str]]:
        """Each tensor the stage holds, once, by its first name: a module's parameter "model.0.weight", or "a"."""
        import torch

        modules = [(name, value) for name, value in self.namespace.items() if isinstance(value, torch.nn.Module)]
        named = [(p, f"{name}.{key}") for name, module in modules for key, p in module.named_parameters()]
        named += [(value, name) for name, value in self.namespace.items() if isinstance(value, torch.Tensor)]
        return [(tensor, name) for n, (tensor, name) in enumerate(named) if all(t is not tensor for t, _ in named[:n])]

    def name(self, tensor: Any) -> str:
        return next((name for held, name in self.names if held is tensor), "tensor")

    def shown(self) -> list[int]:
        """The steps shown: the first of the smallest graphs and the first of the largest (one if all are alike)."""
        sizes = [len(walk(root)) for root, _ in self.passes]
        return sorted({sizes.index(min(sizes)), sizes.index(max(sizes))})

    def title(self, step: int) -> str:
        nodes = f"{len(walk(self.passes[step][0]))} nodes"
        return ", ".join(filter(None, [f"step {step}", self.notes.get(step), nodes]))


def inputs(node: Any) -> list[Any]:
    """The nodes this one passes gradients to; None stands for an input that needs none."""
    return [child for child, _ in node.next_functions if child is not None]


def walk(root: Any) -> list[Any]:
    """Every node under root once, each after every node that leads to it."""
    order: list[Any] = []

    def visit(node: Any) -> None:
        if node not in order:
            for child in inputs(node):
                visit(child)
            order.append(node)

    visit(root)
    return order[::-1]


def paths(root: Any) -> dict[Any, int]:
    """How many paths lead from root to each node: two to a weight used twice."""
    count = dict.fromkeys(walk(root), 0) | {root: 1}
    for node in count:
        for child in inputs(node):
            count[child] += count[node]
    return count


def _saved(node: Any) -> list[tuple[str, Any]]:
    if hasattr(node, "saved_tensors"):  # an autograd.Function of our own: what its forward saved on ctx
        return [(f"saved_tensors[{n}]", tensor) for n, tensor in enumerate(node.saved_tensors)]
    # A None is an input torch chose not to keep, because no gradient needs it.
    values = [(name.removeprefix("_saved_"), getattr(node, name)) for name in dir(node) if name.startswith("_saved_")]
    return [(name, value) for name, value in values if value is not None]


def record(stage: str, device: str = "cpu") -> Recording:
    """Run the stage here for ten steps, keeping the graph of each loss it calls backward() on, if it calls it."""
    import torch

    passes: list[tuple[Any, dict[Any, list[tuple[str, Any]]]]] = []
    backward = torch.Tensor.backward

    # backward() is wrapped to read each graph first: it frees what the nodes saved, and the update after it changes
    # the parameters in place, after which torch refuses to hand out a saved copy of them.
    def keep(loss: Any, *args: Any, **kwargs: Any) -> Any:
        passes.append((loss.grad_fn, {node: _saved(node) for node in walk(loss.grad_fn)}))
        return backward(loss, *args, **kwargs)

    log = io.StringIO()
    argv = stage_command(stage, "--steps", "10", "--no-figure", device=device)[1:]
    with mock.patch.object(sys, "argv", argv), mock.patch.object(torch.Tensor, "backward", keep):
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(io.StringIO()):
            found = runpy.run_path(argv[0], run_name="__main__")
    return Recording(stage, passes, parse_log(log.getvalue()).notes, found)


def describe(recording: Recording, step: int) -> str:
    """A step's graph as an indented tree, each node under the one that passes it its gradient."""
    root, saved = recording.passes[step]
    count, lines = paths(root), []
    leaves = [id(node.variable) for node in count if hasattr(node, "variable")]
    parameters = [(t, name) for t, name in recording.names if t.is_leaf and t.requires_grad]
    missing = ", ".join(name for t, name in parameters if id(t) not in leaves)
    lines.append(f"{recording.title(step)}; leaves {', '.join(name for t, name in parameters if id(t) in leaves)}")
    lines[0] += f"; not in this graph: {missing}" * bool(missing)

    def branch(node: Any, depth: int) -> None:
        kept = [f"{key}={recording.name(v)} {tuple(v.shape)}" if hasattr(v, "shape") else f"{key}={v}"
                for key, v in saved[node]]  # fmt: skip
        line = "  " * depth + type(node).__name__ + "  saved " * bool(kept) + ", ".join(kept)
        if hasattr(node, "variable"):
            line += f" -> {recording.name(node.variable)} {tuple(node.variable.shape)}"
            line += f"  reached along {count[node]} paths: shared" * (count[node] > 1)
        lines.append(line)
        for child in inputs(node):
            branch(child, depth + 1)

    branch(root, 0)
    return "\n".join(lines)


def graph_text(stage: str, device: str = "cpu", recording: Recording | None = None) -> str:
    """What `python tools/graph.py STAGE --no-figure` prints (of `recording`, if given): the same on every machine."""
    recording = recording or record(one_stage(stage), device)
    head = (
        f"Stage {stage_number(recording.stage)}, {recording.stage}: the graph autograd recorded for a step's loss.\n"
        "backward() starts at the loss, at the top, and passes the gradient to the nodes indented under each node.\n"
        "`saved` is what a node kept for backward; AccumulateGrad adds the gradient into a parameter's .grad."
    )
    return "\n\n".join([head, *(describe(recording, step) for step in recording.shown())])


def _layout(root: Any) -> dict[Any, tuple[float, float]]:
    """Where each node goes: the leaves in the bottom row, every other node one row above the highest of the nodes
    it passes gradients to, and above the middle of them, pushed right where it would cover its neighbour."""
    order = walk(root)
    leaves = [node for node in order[::-1] if not inputs(node)]
    x, row = {leaf: (n + 0.5) / len(leaves) for n, leaf in enumerate(leaves)}, dict.fromkeys(leaves, 0)
    for node in order[::-1]:
        if node not in x:
            x[node] = sum(x[child] for child in inputs(node)) / len(inputs(node))
            row[node] = 1 + max(row[child] for child in inputs(node))
    for height in set(row.values()):
        members = sorted((node for node in order[::-1] if row[node] == height), key=x.get)
        for left, right in zip(members, members[1:], strict=False):
            x[right] = max(x[right], x[left] + 0.7 / len(leaves))
    return {node: (x[node], float(row[node])) for node in order}


def draw(recording: Recording) -> Any:
    """A panel per step shown: the loss at the top, the parameters in the bottom row, a shared one in orange."""
    shown = recording.shown()
    figure = plotting.new_figure(False, figsize=(max(9.0, 7.5 * len(shown)), 8), layout="constrained")
    title = f"{recording.stage}: the graph autograd recorded for one step's loss\narrows: the way backward() passes"
    title += " the gradient, from the loss down to the parameters\norange: a parameter reached along several paths"
    figure.suptitle(title, fontsize=10)
    for axes, step in zip(figure.subplots(1, len(shown), squeeze=False)[0], shown, strict=True):
        root = recording.passes[step][0]
        where, count = _layout(root), paths(root)
        for node, (x, y) in where.items():
            for child in inputs(node):
                arrow = {"arrowstyle": "-|>", "color": "tab:orange" if count[child] > 1 else "0.4", "shrinkB": 12}
                axes.annotate("", where[child], (x, y), arrowprops=arrow | {"shrinkA": 12})
            label, color = type(node).__name__, "#deebf7"
            if hasattr(node, "variable"):
                label, color = f"{recording.name(node.variable)} {tuple(node.variable.shape)}", "#c7e9c0"
            if count[node] > 1:
                label, color = f"{label}\n{count[node]} paths: shared", "tab:orange"
            axes.text(x, y, label, ha="center", va="center", fontsize=8, bbox={"boxstyle": "round", "fc": color})
        xs, ys = [x for x, _ in where.values()], [y for _, y in where.values()]
        axes.set(xlim=(min(xs) - 0.1, max(xs) + 0.1), ylim=(-0.5, max(ys) + 0.5), title=recording.title(step))
        axes.axis("off")
    return figure


def save_graph_figure(stage: str, device: str = "cpu", recording: Recording | None = None) -> Path:
    """Draw the stage's graph (of `recording`, if given) and save it as figures/graph_<stage>.png; return that path."""
    recording = recording or record(one_stage(stage), device)
    name = f"graph_{recording.stage.removesuffix('.py')}"
    plotting.save_figure(draw(recording), name)
    return plotting.FIGURES_DIR / f"{name}.png"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        "graph.py", argparse.SUPPRESS, __doc__, allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stage", help="a stage, by number (3-8) or name")
    parser.add_argument("--device", type=plotting.device_flag, default="cpu", help="where it runs (default: cpu)")
    parser.add_argument("--no-figure", dest="figure", action="store_false", help="print the text only")
    args = parser.parse_args(argv)
    try:
        stage = one_stage(args.stage)
    except ValueError as error:
        parser.error(str(error))
    if not (recording := record(stage, str(args.device))).passes:  # an error of the stage's shows with its line
        parser.error(f"{stage} calls no backward(): it works out its gradients by hand; autograd records no graph")
    print(graph_text(stage, recording=recording))
    if args.figure:
        plotting.draw_or_say(save_graph_figure, stage, str(args.device), recording)
    return 0


if __name__ == "__main__":
    sys.exit(main())
