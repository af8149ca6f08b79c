"""The Japanese README's own words: what tools/make_readme.py writes into README.ja.md where it
writes English into README.md. Each stage's docstring is kept beside its translation, as
the English it was translated from, so that make_readme and the tests can tell when a
docstring changes and its translation has not (translate it again, and copy the new
English here).
"""

from typing import Any

WORDS: dict[str, Any] = {
    "table_header": "| # | stage | what it adds | learning rate | steps | diff against the previous stage | changed lines |",
    "first_stage": "(the first stage)",
    "whole_fit": "The whole fit, by hand:",
    "changes": "What changes from stage {number}: `diff -u {previous} {stage}` changes {changed} lines in all; "
    "here it is without the docstrings, quoted above.",
    "prints": "`python {stage}` prints:",
    "figure_alt": "The fit of {stage}: the data, the stage's cubic and the least-squares cubic, with residuals",
    "stopping_short": "At step 2000 stage 1's loss is {loss_2000}, {gap_2000} % above the floor of {floor}; at step "
    "4000 it is {gap_4000} % above it, and by step {reached} it is within a millionth of it.",
    "measured": "Measured {date} by `python tools/benchmark.py` on {devices}: torch {torch}, {threads} torch threads "
    "on {cores} cores, NumPy {numpy}.",
    "columns": (
        "stage",
        "points",
        "device",
        "time per step (median)",
        "min - max",
        "steps per second",
        "speed-up over cpu",
    ),
    "crossovers": "Where the crossovers fall in this table:",
    "numpy": "NumPy (stage 1)",
    "torch_on_cpu": "torch (stage 2) on the CPU",
    "cpu": "the CPU",
    "on_device": "`{device}` on {stage}",
    "overtakes": "{faster} overtakes {slower} between {below:,} and {above:,} points",
    "faster_everywhere": "{faster} is faster than {slower} at every size measured, from the smallest, {smallest:,} "
    "points",
    "never_overtakes": "{faster} does not overtake {slower} up to the largest size measured, {largest:,} points",
    "gpu_to_come": "**GPU numbers are still to come**: no accelerator took part in this run. On one (CUDA, MPS, ...) "
    "the same command adds its rows for each torch stage and size, 20,000,000 points on every device, its speed-up "
    "over the CPU, its line in each panel of the figure, and where it overtakes the CPU.",
}

# stage: ((English title, English paragraphs), (Japanese title, Japanese paragraphs))
DOCSTRINGS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "fit_numpy.py": (
        (
            "fit y = sin(x) with a cubic, every step written out by hand in NumPy",
            "The prediction, the loss and the gradient of the loss with respect to each coefficient\nare all spelled out here, the gradients derived on paper with the chain rule. Each later\nstage hands one of these jobs to PyTorch.",
        ),
        (
            "fit y = sin(x) with a cubic, every step written out by hand in NumPy",
            "The prediction, the loss and the gradient of the loss with respect to each coefficient\nare all spelled out here, the gradients derived on paper with the chain rule. Each later\nstage hands one of these jobs to PyTorch.",
        ),
    ),
    "fit_tensor.py": (
        (
            "the same fit with torch tensors, on the CPU or an accelerator",
            "A tensor is PyTorch's array: NumPy's operations, plus a device it lives on. The gradients\nare still derived by hand, and --device moves the whole computation to an accelerator\nwithout touching the code. Two things change besides the array library: the numbers are\nfloat32, not float64, and the start values come from torch's random generator, not\nNumPy's. So the first loss is not stage 1's, and at the floor the last digits wander.",
        ),
        (
            "the same fit with torch tensors, on the CPU or an accelerator",
            "A tensor is PyTorch's array: NumPy's operations, plus a device it lives on. The gradients\nare still derived by hand, and --device moves the whole computation to an accelerator\nwithout touching the code. Two things change besides the array library: the numbers are\nfloat32, not float64, and the start values come from torch's random generator, not\nNumPy's. So the first loss is not stage 1's, and at the floor the last digits wander.",
        ),
    ),
    "fit_autograd.py": (
        (
            "autograd computes the gradients",
            "Once a tensor requires grad, every operation that uses it records, in its result's\ngrad_fn, how to pass a gradient back. loss.backward() follows those records from the\nloss back to a, b, c and d and adds d(loss)/d(coefficient) to each one's .grad: the chain\nrule of stage 2, done by PyTorch. The start values and the arithmetic are stage 2's, so\nthe log matches stage 2's to float32 rounding.",
        ),
        (
            "autograd computes the gradients",
            "Once a tensor requires grad, every operation that uses it records, in its result's\ngrad_fn, how to pass a gradient back. loss.backward() follows those records from the\nloss back to a, b, c and d and adds d(loss)/d(coefficient) to each one's .grad: the chain\nrule of stage 2, done by PyTorch. The start values and the arithmetic are stage 2's, so\nthe log matches stage 2's to float32 rounding.",
        ),
    ),
    "fit_newautograd.py": (
        (
            "a new autograd operation, with a forward and a backward of our own",
            "Autograd knows the derivative of every built-in operation. A torch.autograd.Function adds\nan operation of our own: its forward computes the result with autograd's recording off,\nso its backward must say how a gradient passes back, from d(loss)/d(result) to\nd(loss)/d(input). Here the operation is the Legendre polynomial P3, and the model is\ny = a + b P3(c + d x). P3 is made of operations autograd could differentiate itself, so\nthis is an illustration: a real Function pays off for an operation torch cannot see into\n(a call to another library, say) or a backward cheaper or more stable than the recorded one.",
        ),
        (
            "a new autograd operation, with a forward and a backward of our own",
            "Autograd knows the derivative of every built-in operation. A torch.autograd.Function adds\nan operation of our own: its forward computes the result with autograd's recording off,\nso its backward must say how a gradient passes back, from d(loss)/d(result) to\nd(loss)/d(input). Here the operation is the Legendre polynomial P3, and the model is\ny = a + b P3(c + d x). P3 is made of operations autograd could differentiate itself, so\nthis is an illustration: a real Function pays off for an operation torch cannot see into\n(a call to another library, say) or a backward cheaper or more stable than the recorded one.",
        ),
    ),
    "fit_nn.py": (
        (
            "torch.nn builds the model and the loss",
            'The cubic is a linear layer: its inputs are the features x, x^2, x^3 of each point, its\nweights are b, c, d and its bias is a. torch.nn.Linear holds those four numbers as\nParameters, tensors that require grad from the start, and draws their start values;\ntorch.nn.MSELoss(reduction="sum") computes the sum of squared errors. The update is still\nwritten by hand.',
        ),
        (
            "torch.nn builds the model and the loss",
            'The cubic is a linear layer: its inputs are the features x, x^2, x^3 of each point, its\nweights are b, c, d and its bias is a. torch.nn.Linear holds those four numbers as\nParameters, tensors that require grad from the start, and draws their start values;\ntorch.nn.MSELoss(reduction="sum") computes the sum of squared errors. The update is still\nwritten by hand.',
        ),
    ),
    "fit_optim.py": (
        (
            "torch.optim does the update",
            "An optimizer holds the model's parameters and knows how to step them: zero_grad() clears\ntheir gradients and step() applies its update rule. This stage uses RMSprop, which divides\neach parameter's step by the root of a running average of its squared gradients; those\nsteps are of about the size of the learning rate, which is why it is so much larger here.\nThe running averages are state the optimizer keeps for each parameter from one step to\nthe next, which is why it is made once, before the loop. At a constant rate RMSprop keeps\nstepping about that far, so it hovers near the floor rather than settling on it.",
        ),
        (
            "torch.optim does the update",
            "An optimizer holds the model's parameters and knows how to step them: zero_grad() clears\ntheir gradients and step() applies its update rule. This stage uses RMSprop, which divides\neach parameter's step by the root of a running average of its squared gradients; those\nsteps are of about the size of the learning rate, which is why it is so much larger here.\nThe running averages are state the optimizer keeps for each parameter from one step to\nthe next, which is why it is made once, before the loop. At a constant rate RMSprop keeps\nstepping about that far, so it hovers near the floor rather than settling on it.",
        ),
    ),
    "fit_custom_nn.py": (
        (
            "a model of our own, as a torch.nn.Module subclass",
            "A Module subclass declares its parameters in __init__ and computes its output in forward.\nHere the parameters are the cubic's four coefficients, each a scalar torch.nn.Parameter,\nand forward is the cubic itself, so the model reads like the formula. torch.optim.SGD does\nthe plain gradient descent step of stages 1 to 5. The start values and the arithmetic are\nstage 2's, so the log matches stage 2's to float32 rounding.",
        ),
        (
            "a model of our own, as a torch.nn.Module subclass",
            "A Module subclass declares its parameters in __init__ and computes its output in forward.\nHere the parameters are the cubic's four coefficients, each a scalar torch.nn.Parameter,\nand forward is the cubic itself, so the model reads like the formula. torch.optim.SGD does\nthe plain gradient descent step of stages 1 to 5. The start values and the arithmetic are\nstage 2's, so the log matches stage 2's to float32 rounding.",
        ),
    ),
    "fit_ctlflow_wshare.py": (
        (
            "Python control flow in forward, and one weight used twice",
            "forward is ordinary Python, run anew at every step, so it can branch and loop. Here each\npass draws at random the degree of the polynomial: the cubic alone, the cubic plus e x^4,\nor the cubic plus e x^4 + e x^5. Autograd records whatever ran, and a weight used in two\nplaces receives the sum of both gradients. The log says which degree each logged loss\ncomes from: a pass with extra terms can fit better than any cubic, so its loss can fall\nbelow the cubic's floor. The x^4 and x^5 terms make the loss far steeper, so the learning\nrate is much smaller; momentum and three times the steps make up for part of that, and at\nstep 30000 the fit is still coming down.",
        ),
        (
            "Python control flow in forward, and one weight used twice",
            "forward is ordinary Python, run anew at every step, so it can branch and loop. Here each\npass draws at random the degree of the polynomial: the cubic alone, the cubic plus e x^4,\nor the cubic plus e x^4 + e x^5. Autograd records whatever ran, and a weight used in two\nplaces receives the sum of both gradients. The log says which degree each logged loss\ncomes from: a pass with extra terms can fit better than any cubic, so its loss can fall\nbelow the cubic's floor. The x^4 and x^5 terms make the loss far steeper, so the learning\nrate is much smaller; momentum and three times the steps make up for part of that, and at\nstep 30000 the fit is still coming down.",
        ),
    ),
}
