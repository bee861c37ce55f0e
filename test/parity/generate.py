#!/usr/bin/python3
"""Parity fixtures for torch-losses, written by Python PyTorch.

Each case: seeded float32 inputs, the options (camelCase, as the JS API names them), and what
torch.nn.functional computes for them: the reduced loss, the per-element losses (reduction
'none') and the gradient of every input (of losses.sum() for reduction 'none').

    /usr/bin/python3 test/parity/generate.py [OUT_DIR] [--only LOSS,...]

OUT_DIR defaults to test/parity/fixtures. The jest suite compares the addon with these files and,
when Python torch is present, with a fresh run of this script (`npx torch-losses parity` too).

Reference semantics:
- marginRankingLoss: torch.nn.functional.margin_ranking_loss
- tripletMarginLoss: torch.nn.functional.triplet_margin_loss (swap: Balntas et al., BMVC 2016)
- l1Loss: torch.nn.functional.l1_loss
- mseLoss: torch.nn.functional.mse_loss
- smoothL1Loss: torch.nn.functional.smooth_l1_loss (beta 0 is l1_loss)
- huberLoss: torch.nn.functional.huber_loss
- poissonNllLoss: torch.nn.functional.poisson_nll_loss (full: Stirling term where target > 1)
- klDivLoss: torch.nn.functional.kl_div (log_target; 'batchmean' divides the sum by input.size(0))
- crossEntropyLoss: torch.nn.functional.cross_entropy (class indices or class probabilities;
  weighted 'mean' divides by the summed weights of the non-ignored targets)
- nllLoss: torch.nn.functional.nll_loss
- bceLoss: torch.nn.functional.binary_cross_entropy
- bceWithLogitsLoss: torch.nn.functional.binary_cross_entropy_with_logits (pos_weight per class)
- softMarginLoss: torch.nn.functional.soft_margin_loss
- multiLabelSoftMarginLoss: torch.nn.functional.multilabel_soft_margin_loss
- multiLabelMarginLoss: torch.nn.functional.multilabel_margin_loss (targets end at the first -1)
- multiMarginLoss: torch.nn.functional.multi_margin_loss
- hingeEmbeddingLoss: torch.nn.functional.hinge_embedding_loss
- cosineEmbeddingLoss: torch.nn.functional.cosine_embedding_loss
- tripletMarginWithDistanceLoss: torch.nn.functional.triplet_margin_with_distance_loss with
  distance_function torch.nn.PairwiseDistance(p=2 | 1 | p, eps) for 'euclidean' | 'manhattan' |
  'pnorm', 1 - cosine_similarity(x, y, dim=-1) for 'cosine', PairwiseDistance() when unset
- batchHardTripletLoss: batch_hard_triplet_loss below, plain torch written from Hermans, Beyer &
  Leibe 2017 ("In Defense of the Triplet Loss for Person Re-Identification", arXiv:1703.07737);
  its cases also record `stats`, which test/metric-losses.test.ts checks
"""
import argparse
import itertools
import json
import math
import os
import sys
import warnings

import torch
import torch.nn.functional as F


def encode_number(x):
    """JSON has no infinities or NaN: they travel as strings."""
    if isinstance(x, float) and (math.isinf(x) or math.isnan(x)):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    return x


def tensor_json(name, t):
    """An input: float32 data, or class labels (int64, written with "dtype")."""
    out = {"name": name, "shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}
    if t.dtype == torch.int64:
        out["dtype"] = "int64"
    return out


def option_json(v):
    """An option value: numbers (infinities as strings), strings, booleans, or a tensor as {data, shape}."""
    if isinstance(v, torch.Tensor):
        return {"data": v.detach().reshape(-1).tolist(), "shape": list(v.shape)}
    return encode_number(v)


def run_case(name, options, inputs, differentiable, fn):
    """One fixture case. `inputs` is [(name, tensor)] in the JS call order, `differentiable` the
    names whose gradients are recorded, `fn(*leaves, reduction)` the torch reference.

    `loss` is what the reduced call itself returns (weighted means, ignore_index and KL 'batchmean'
    are not a plain mean of the per-element losses); for reduction 'none' it is losses.sum().
    """
    leaves = [t.clone().requires_grad_(n in differentiable) for n, t in inputs]
    reduction = options.get("reduction", "mean")
    losses = fn(*leaves, reduction="none")
    reduced = fn(*leaves, reduction=reduction)
    root = reduced.sum() if reduction == "none" else reduced
    loss = root
    for value in (float(loss), *(losses.detach().reshape(-1).tolist())):
        if not math.isfinite(value):
            raise ValueError(f"case {name!r}: non-finite loss {value}")
    grads = torch.autograd.grad(root, [l for l in leaves if l.requires_grad])
    grad_names = [n for n, _ in inputs if n in differentiable]
    for n, g in zip(grad_names, grads):
        if not torch.isfinite(g).all():
            raise ValueError(f"case {name!r}: non-finite gradient of {n}")
    return {
        "name": name,
        "options": {k: option_json(v) for k, v in options.items()},
        "inputs": [tensor_json(n, t) for n, t in inputs],
        "loss": float(loss),
        "losses": losses.detach().reshape(-1).tolist() if reduction == "none" else None,
        "grad": {n: g.reshape(-1).tolist() for n, g in zip(grad_names, grads)},
    }


def margin_ranking_cases():
    cases = []
    for shape, margin, reduction in itertools.product([(16,), ()], [0.0, 0.5, 2.0], ["none", "mean", "sum"]):
        g = torch.Generator().manual_seed(len(cases) + 1)
        x1 = torch.randn(shape, generator=g)
        x2 = torch.randn(shape, generator=g)
        y = torch.randint(0, 2, shape, generator=g).float() * 2 - 1
        options = {"margin": margin, "reduction": reduction}
        cases.append(run_case(
            f"shape={list(shape)} margin={margin} reduction={reduction}", options,
            [("input1", x1), ("input2", x2), ("target", y)], {"input1", "input2", "target"},
            lambda a, b, t, reduction: F.margin_ranking_loss(a, b, t, margin=margin, reduction=reduction)))
    return cases


def triplet_margin_cases():
    grid = [dict(p=p, swap=swap, reduction=r, margin=1.0, eps=1e-6, shape=(8, 5))
            for p, swap, r in itertools.product([2.0, 1.0, 3.0, float("inf")], [False, True], ["none", "mean", "sum"])]
    grid += [
        dict(p=2.0, swap=False, reduction="mean", margin=0.3, eps=1e-6, shape=(8, 5)),
        dict(p=2.0, swap=True, reduction="mean", margin=5.0, eps=0.0, shape=(8, 5)),
        dict(p=0.5, swap=False, reduction="sum", margin=1.0, eps=1e-6, shape=(8, 5)),
        dict(p=2.0, swap=False, reduction="mean", margin=1.0, eps=1e-3, shape=(5,)),
        dict(p=1.0, swap=True, reduction="none", margin=2.0, eps=1e-6, shape=(32, 3)),
    ]
    cases = []
    for i, c in enumerate(grid):
        g = torch.Generator().manual_seed(100 + i)
        a, p, n = (torch.randn(c["shape"], generator=g) for _ in range(3))
        options = {"margin": c["margin"], "p": c["p"], "eps": c["eps"], "swap": c["swap"], "reduction": c["reduction"]}
        name = " ".join(f"{k}={v}" for k, v in {**options, "shape": list(c["shape"])}.items())
        cases.append(run_case(
            name, options, [("anchor", a), ("positive", p), ("negative", n)], {"anchor", "positive", "negative"},
            lambda a, p, n, reduction: F.triplet_margin_loss(
                a, p, n, margin=c["margin"], p=c["p"], eps=c["eps"], swap=c["swap"], reduction=reduction)))
    return cases


REDUCTIONS = ["none", "mean", "sum"]


def case_name(options, **extra):
    """'k=v ...' of the options (a tensor option shows its shape) and any extra facts."""
    parts = []
    for k, v in {**options, **extra}.items():
        if isinstance(v, torch.Tensor):
            v = list(v.shape)
        elif isinstance(v, tuple):
            v = list(v)
        parts.append(f"{k}={v}")
    return " ".join(parts)


def unique_names(cases):
    seen = {}
    for c in cases:
        n = seen.get(c["name"], 0)
        seen[c["name"]] = n + 1
        if n:
            c["name"] = f"{c['name']} #{n + 1}"
    return cases


def gen(seed):
    return torch.Generator().manual_seed(seed)


def signs(shape, g):
    """Random +-1 float targets."""
    return torch.randint(0, 2, shape, generator=g).float() * 2 - 1


# ---------------------------------------------------------------- regression


def pointwise_cases(seed, torch_fn, param=None, values=(None,)):
    """input/target float pairs, every reduction, gradients of both."""
    cases = []
    shapes = [(4, 5), (6,), ()]
    grid = [(s, v, r) for v in values for s in shapes for r in REDUCTIONS]
    for i, (shape, value, reduction) in enumerate(grid):
        g = gen(seed + i)
        x = torch.randn(shape, generator=g) * 1.5
        y = torch.randn(shape, generator=g) * 1.5
        options = {} if param is None else {param: value}
        options["reduction"] = reduction
        kwargs = {} if param is None else {param: value}
        cases.append(run_case(
            case_name(options, shape=shape), options, [("input", x), ("target", y)], {"input", "target"},
            lambda a, b, reduction, kw=kwargs: torch_fn(a, b, reduction=reduction, **kw)))
    return cases


def l1_cases():
    return pointwise_cases(1000, F.l1_loss)


def mse_cases():
    return pointwise_cases(1100, F.mse_loss)


def smooth_l1_cases():
    return pointwise_cases(1200, F.smooth_l1_loss, "beta", (0.0, 0.5, 1.0, 2.0))


def huber_cases():
    return pointwise_cases(1300, F.huber_loss, "delta", (0.5, 1.0, 2.0))


def poisson_nll_cases():
    """Targets are Poisson samples (0, 1 and > 1). With full=True, torch's Stirling term has a NaN
    target-gradient at target 0 (0 * log 0 in its backward), so those cases record only the input
    gradient; the full=True cases with strictly positive targets record both."""
    grid = [dict(logInput=li, full=fu, eps=1e-8, zeros=True) for li in (True, False) for fu in (False, True)]
    grid += [dict(logInput=li, full=True, eps=1e-8, zeros=False) for li in (True, False)]
    grid += [dict(logInput=False, full=False, eps=0.1, zeros=True)]
    cases = []
    for i, (c, reduction) in enumerate(itertools.product(grid, REDUCTIONS)):
        g = gen(1400 + i)
        shape = (4, 5)
        if c["logInput"]:
            x = torch.randn(shape, generator=g) * 0.5
        else:
            x = torch.rand(shape, generator=g) + 0.1
        y = torch.poisson(torch.full(shape, 2.0), generator=g)
        if not c["zeros"]:
            y = y.clamp(min=0.5)  # keeps 1s and values > 1, turns 0s into 0.5
        options = {"logInput": c["logInput"], "full": c["full"], "eps": c["eps"], "reduction": reduction}
        differentiable = {"input"} if c["full"] and c["zeros"] else {"input", "target"}
        cases.append(run_case(
            case_name(options, shape=shape, targetZeros=c["zeros"]), options, [("input", x), ("target", y)],
            differentiable,
            lambda a, b, reduction, c=c: F.poisson_nll_loss(
                a, b, log_input=c["logInput"], full=c["full"], eps=c["eps"], reduction=reduction)))
    return cases


def kl_div_cases():
    grid = [(shape, lt, r) for shape in [(4, 5), (3, 4, 2)] for lt in (False, True)
            for r in ["none", "mean", "sum", "batchmean"]]
    cases = []
    for i, (shape, log_target, reduction) in enumerate(grid):
        g = gen(1500 + i)
        x = F.log_softmax(torch.randn(shape, generator=g), dim=1)
        t = torch.randn(shape, generator=g)
        y = F.log_softmax(t, dim=1) if log_target else F.softmax(t, dim=1)
        options = {"logTarget": log_target, "reduction": reduction}

        def fn(a, b, reduction, log_target=log_target):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # reduction='mean' warns that it is not the KL divergence
                return F.kl_div(a, b, reduction=reduction, log_target=log_target)

        cases.append(run_case(case_name(options, shape=shape), options, [("input", x), ("target", y)],
                              {"input", "target"}, fn))
    return cases


# ---------------------------------------------------------------- classification


def class_labels(shape, num_classes, g, ignore=None, fraction=0.3):
    """int64 labels in [0, C); with `ignore`, about `fraction` of them set to it (never all)."""
    y = torch.randint(0, num_classes, shape, generator=g)
    if ignore is not None and y.numel() > 1:
        mask = torch.rand(shape, generator=g) < fraction
        mask.view(-1)[0] = False
        y[mask] = ignore
    return y


CE_SHAPES = [(6, 5), (4, 5, 3), (2, 4, 3, 2), (5,)]


def cross_entropy_cases():
    cases = []
    seed = 1600
    # class-index targets
    variants = [
        dict(),
        dict(weight=True),
        dict(ignoreIndex=1),
        dict(ignoreIndex=-100, setIgnored=True),
        dict(labelSmoothing=0.1),
        dict(weight=True, labelSmoothing=0.1),
        dict(weight=True, ignoreIndex=-100, setIgnored=True, labelSmoothing=0.1),
        dict(weight=True, ignoreIndex=2, labelSmoothing=0.2),
    ]
    for shape, v, reduction in itertools.product(CE_SHAPES, variants, REDUCTIONS):
        seed += 1
        g = gen(seed)
        C = shape[0] if len(shape) == 1 else shape[1]
        x = torch.randn(shape, generator=g)
        label_shape = () if len(shape) == 1 else (shape[0],) + shape[2:]
        ignore = v.get("ignoreIndex")
        if len(shape) == 1:
            y = torch.randint(0, C, (), generator=g)
            if ignore is not None:
                # a lone ignored label gives 0/0 under 'mean'; keep it for 'none' and 'sum' only
                y = torch.tensor((ignore if reduction != "mean" else (ignore + 1) % C) if ignore >= 0
                                 else (ignore if reduction != "mean" else 0))
        else:
            y = class_labels(label_shape, C, g, ignore if v.get("setIgnored") else None)
            if ignore is not None and ignore >= 0:
                y.view(-1)[1] = ignore  # make sure the ignored class occurs
        options = {}
        if v.get("weight"):
            options["weight"] = torch.rand(C, generator=g) + 0.2
        if ignore is not None:
            options["ignoreIndex"] = ignore
        if "labelSmoothing" in v:
            options["labelSmoothing"] = v["labelSmoothing"]
        options["reduction"] = reduction
        cases.append(run_case(
            case_name(options, shape=shape, target="indices"), options, [("input", x), ("target", y)], {"input"},
            lambda a, b, reduction, o=options: F.cross_entropy(
                a, b, weight=o.get("weight"), ignore_index=o.get("ignoreIndex", -100),
                label_smoothing=o.get("labelSmoothing", 0.0), reduction=reduction)))
    # class-probability targets
    variants = [dict(), dict(weight=True), dict(labelSmoothing=0.1), dict(weight=True, labelSmoothing=0.1)]
    for shape, v, reduction in itertools.product(CE_SHAPES, variants, REDUCTIONS):
        seed += 1
        g = gen(seed)
        C = shape[0] if len(shape) == 1 else shape[1]
        class_dim = 0 if len(shape) == 1 else 1
        x = torch.randn(shape, generator=g)
        y = F.softmax(torch.randn(shape, generator=g), dim=class_dim)
        options = {}
        if v.get("weight"):
            options["weight"] = torch.rand(C, generator=g) + 0.2
        if "labelSmoothing" in v:
            options["labelSmoothing"] = v["labelSmoothing"]
        options["reduction"] = reduction
        cases.append(run_case(
            case_name(options, shape=shape, target="probabilities"), options, [("input", x), ("target", y)],
            {"input", "target"},
            lambda a, b, reduction, o=options: F.cross_entropy(
                a, b, weight=o.get("weight"), label_smoothing=o.get("labelSmoothing", 0.0), reduction=reduction)))
    return unique_names(cases)


def nll_cases():
    variants = [dict(), dict(weight=True), dict(ignoreIndex=1), dict(ignoreIndex=-100, setIgnored=True),
                dict(weight=True, ignoreIndex=-100, setIgnored=True), dict(weight=True, ignoreIndex=3)]
    cases = []
    for i, (shape, v, reduction) in enumerate(itertools.product([(6, 5), (4, 5, 3)], variants, REDUCTIONS)):
        g = gen(1900 + i)
        C = shape[1]
        x = F.log_softmax(torch.randn(shape, generator=g), dim=1)
        ignore = v.get("ignoreIndex")
        y = class_labels((shape[0],) + shape[2:], C, g, ignore if v.get("setIgnored") else None)
        if ignore is not None and ignore >= 0:
            y.view(-1)[1] = ignore
        options = {}
        if v.get("weight"):
            options["weight"] = torch.rand(C, generator=g) + 0.2
        if ignore is not None:
            options["ignoreIndex"] = ignore
        options["reduction"] = reduction
        cases.append(run_case(
            case_name(options, shape=shape), options, [("input", x), ("target", y)], {"input"},
            lambda a, b, reduction, o=options: F.nll_loss(
                a, b, weight=o.get("weight"), ignore_index=o.get("ignoreIndex", -100), reduction=reduction)))
    return unique_names(cases)


def bce_cases():
    shape = (4, 5)
    grid = itertools.product([None, "C", "full"], ["hard", "soft"], REDUCTIONS)
    cases = []
    for i, (weight, kind, reduction) in enumerate(grid):
        g = gen(2000 + i)
        x = torch.sigmoid(torch.randn(shape, generator=g) * 1.5)
        y = torch.randint(0, 2, shape, generator=g).float() if kind == "hard" else torch.rand(shape, generator=g)
        options = {}
        if weight:
            options["weight"] = torch.rand(shape[1:] if weight == "C" else shape, generator=g) + 0.2
        options["reduction"] = reduction
        cases.append(run_case(
            case_name(options, shape=shape, target=kind), options, [("input", x), ("target", y)], {"input", "target"},
            lambda a, b, reduction, o=options: F.binary_cross_entropy(a, b, weight=o.get("weight"), reduction=reduction)))
    # unbatched
    for i, reduction in enumerate(REDUCTIONS):
        g = gen(2100 + i)
        x = torch.sigmoid(torch.randn(6, generator=g))
        y = torch.rand(6, generator=g)
        options = {"reduction": reduction}
        cases.append(run_case(
            case_name(options, shape=(6,), target="soft"), options, [("input", x), ("target", y)], {"input", "target"},
            lambda a, b, reduction: F.binary_cross_entropy(a, b, reduction=reduction)))
    return cases


def bce_with_logits_cases():
    shape = (4, 5)
    weights = [(None, False), ("C", False), (None, True), ("full", True)]
    cases = []
    for i, ((weight, pos), kind, reduction) in enumerate(itertools.product(weights, ["hard", "soft"], REDUCTIONS)):
        g = gen(2200 + i)
        x = torch.randn(shape, generator=g) * 2
        y = torch.randint(0, 2, shape, generator=g).float() if kind == "hard" else torch.rand(shape, generator=g)
        options = {}
        if weight:
            options["weight"] = torch.rand(shape[1:] if weight == "C" else shape, generator=g) + 0.2
        if pos:
            options["posWeight"] = torch.rand(shape[1], generator=g) * 3 + 0.1
        options["reduction"] = reduction
        cases.append(run_case(
            case_name(options, shape=shape, target=kind), options, [("input", x), ("target", y)], {"input", "target"},
            lambda a, b, reduction, o=options: F.binary_cross_entropy_with_logits(
                a, b, weight=o.get("weight"), pos_weight=o.get("posWeight"), reduction=reduction)))
    return cases


def soft_margin_cases():
    cases = []
    for i, (shape, reduction) in enumerate(itertools.product([(4, 5), (6,)], REDUCTIONS)):
        g = gen(2300 + i)
        x = torch.randn(shape, generator=g) * 2
        y = signs(shape, g)
        options = {"reduction": reduction}
        cases.append(run_case(
            case_name(options, shape=shape), options, [("input", x), ("target", y)], {"input"},
            lambda a, b, reduction: F.soft_margin_loss(a, b, reduction=reduction)))
    return cases


def multilabel_soft_margin_cases():
    shape = (4, 5)
    cases = []
    for i, (weighted, reduction) in enumerate(itertools.product([False, True], REDUCTIONS)):
        g = gen(2400 + i)
        x = torch.randn(shape, generator=g) * 2
        y = torch.randint(0, 2, shape, generator=g).float()
        options = {}
        if weighted:
            options["weight"] = torch.rand(shape[1], generator=g) + 0.2
        options["reduction"] = reduction
        cases.append(run_case(
            case_name(options, shape=shape), options, [("input", x), ("target", y)], {"input", "target"},
            lambda a, b, reduction, o=options: F.multilabel_soft_margin_loss(
                a, b, weight=o.get("weight"), reduction=reduction)))
    return cases


def multilabel_targets(rows, C, g, counts=None, garbage=False):
    """Each row: k distinct class indices, then -1 padding (then, with `garbage`, indices after the -1)."""
    y = torch.full((rows, C), -1, dtype=torch.int64)
    for r in range(rows):
        k = counts[r] if counts else int(torch.randint(1, C, (), generator=g))
        y[r, :k] = torch.randperm(C, generator=g)[:k]
        if garbage and k + 1 < C:
            y[r, k + 1:] = torch.randint(0, C, (C - k - 1,), generator=g)
    return y


def multilabel_margin_cases():
    C = 5
    layouts = [
        ("random", (4, C), None, False),
        ("k=0..C", (6, C), [0, 1, 2, 3, 4, 5], False),   # an all-padding row and a row with every class
        ("after-padding-ignored", (4, C), [1, 2, 1, 0], True),
        ("unbatched", (C,), None, False),
    ]
    cases = []
    for i, ((label, shape, counts, garbage), reduction) in enumerate(itertools.product(layouts, REDUCTIONS)):
        g = gen(2500 + i)
        x = torch.randn(shape, generator=g)
        rows = shape[0] if len(shape) == 2 else 1
        y = multilabel_targets(rows, C, g, [min(k, C) for k in counts] if counts else None, garbage)
        if len(shape) == 1:
            y = y[0]
        options = {"reduction": reduction}
        cases.append(run_case(
            case_name(options, shape=shape, target=label), options, [("input", x), ("target", y)], {"input"},
            lambda a, b, reduction: F.multilabel_margin_loss(a, b, reduction=reduction)))
    return cases


def multi_margin_cases():
    C = 5
    grid = [((6, C), p, m, w, r) for p in (1, 2) for m in (1.0, 0.5) for w in (False, True) for r in REDUCTIONS]
    grid += [((C,), p, 1.0, w, r) for p, w in [(1, False), (2, True)] for r in REDUCTIONS]
    cases = []
    for i, (shape, p, margin, weighted, reduction) in enumerate(grid):
        g = gen(2600 + i)
        x = torch.randn(shape, generator=g)
        y = torch.randint(0, C, (shape[0],) if len(shape) == 2 else (), generator=g)
        options = {"p": p, "margin": margin}
        if weighted:
            options["weight"] = torch.rand(C, generator=g) + 0.2
        options["reduction"] = reduction
        cases.append(run_case(
            case_name(options, shape=shape), options, [("input", x), ("target", y)], {"input"},
            lambda a, b, reduction, o=options: F.multi_margin_loss(
                a, b.reshape(-1) if a.dim() == 1 else b, p=o["p"], margin=o["margin"], weight=o.get("weight"),
                reduction=reduction)))
    return cases


# ---------------------------------------------------------------- embeddings


def hinge_embedding_cases():
    cases = []
    for i, (shape, margin, reduction) in enumerate(itertools.product([(4, 5), (6,)], [1.0, 0.5, 2.0], REDUCTIONS)):
        g = gen(2700 + i)
        x = torch.randn(shape, generator=g).abs() * 1.5
        y = signs(shape, g)
        options = {"margin": margin, "reduction": reduction}
        cases.append(run_case(
            case_name(options, shape=shape), options, [("input", x), ("target", y)], {"input"},
            lambda a, b, reduction, margin=margin: F.hinge_embedding_loss(a, b, margin=margin, reduction=reduction)))
    return cases


def cosine_embedding_cases():
    cases = []
    for i, (shape, margin, reduction) in enumerate(itertools.product([(6, 4), (4,)], [0.0, 0.5, -0.2], REDUCTIONS)):
        g = gen(2800 + i)
        x1 = torch.randn(shape, generator=g)
        x2 = torch.randn(shape, generator=g)
        if len(shape) == 2:
            y = signs(shape[:1], g)
            y[0], y[1] = 1.0, -1.0
        else:
            y = torch.tensor(-1.0 if i % 2 else 1.0)
        options = {"margin": margin, "reduction": reduction}
        cases.append(run_case(
            case_name(options, shape=shape), options, [("input1", x1), ("input2", x2), ("target", y)],
            {"input1", "input2"},
            lambda a, b, t, reduction, margin=margin: F.cosine_embedding_loss(a, b, t, margin=margin, reduction=reduction)))
    return cases


def distance_function(distance, p=2.0, eps=1e-6):
    """The torch distance the JS `distance` option names; None is PairwiseDistance() (the default)."""
    if distance is None:
        return None
    if distance == "cosine":
        # dim=-1 rather than F.cosine_similarity's dim=1 so that unbatched (D) inputs work; same for (N, D)
        return lambda x, y: 1.0 - F.cosine_similarity(x, y, dim=-1)
    norm = {"euclidean": 2.0, "manhattan": 1.0, "pnorm": p}[distance]
    return torch.nn.PairwiseDistance(p=norm, eps=eps)


def triplet_with_distance_cases():
    grid = [dict(distance=d, swap=s, reduction=r, shape=(6, 4))
            for d in [None, "euclidean", "manhattan", "cosine", "pnorm"] for s in (False, True) for r in REDUCTIONS]
    grid += [dict(distance=d, swap=s, reduction=r, shape=(4,))
             for d, s in [(None, False), ("manhattan", True), ("cosine", False), ("pnorm", True)] for r in REDUCTIONS]
    grid += [
        dict(distance="euclidean", eps=1e-3, margin=0.5, swap=False, reduction="mean", shape=(6, 4)),
        dict(distance="euclidean", eps=0.0, margin=2.0, swap=True, reduction="sum", shape=(6, 4)),
        dict(distance="pnorm", p=1.5, eps=1e-4, margin=1.0, swap=False, reduction="none", shape=(6, 4)),
        dict(distance="cosine", margin=0.3, swap=True, reduction="mean", shape=(6, 4)),
        dict(distance="manhattan", eps=1e-6, margin=3.0, swap=False, reduction="mean", shape=(8, 3)),
    ]
    cases = []
    for i, c in enumerate(grid):
        g = gen(2900 + i)
        a, pos, neg = (torch.randn(c["shape"], generator=g) for _ in range(3))
        options = {}
        if c["distance"] is not None:
            options["distance"] = c["distance"]
        p = c.get("p", 3.0) if c["distance"] == "pnorm" else None
        if p is not None:
            options["p"] = p
        eps = c.get("eps", 1e-6)
        if "eps" in c:
            options["eps"] = eps
        margin = c.get("margin", 1.0)
        options.update(margin=margin, swap=c["swap"], reduction=c["reduction"])
        dist = distance_function(c["distance"], p, eps)
        cases.append(run_case(
            case_name(options, shape=c["shape"]), options, [("anchor", a), ("positive", pos), ("negative", neg)],
            {"anchor", "positive", "negative"},
            lambda x, y, z, reduction, dist=dist, margin=margin, swap=c["swap"]: F.triplet_margin_with_distance_loss(
                x, y, z, distance_function=dist, margin=margin, swap=swap, reduction=reduction)))
    return cases

# ---------------------------------------------------------------- metric learning


def pairwise_distances(x, distance="euclidean", normalize=False):
    """(N, N) distances between the rows of x, from one matrix product (as open-reid's TripletLoss):
      euclidean         sqrt(clamp(|x_i|^2 + |x_j|^2 - 2 x_i.x_j, min=1e-12))
      squaredEuclidean  clamp(|x_i|^2 + |x_j|^2 - 2 x_i.x_j, min=0)
      cosine            1 - n_i.n_j with n = F.normalize(x) (so `normalize` changes nothing)
      dot               -x_i.x_j (a larger similarity is a smaller distance)
    `normalize` L2-normalises the rows first (F.normalize, eps 1e-12)."""
    u = F.normalize(x, dim=1) if normalize or distance == "cosine" else x
    if distance in ("euclidean", "squaredEuclidean"):
        sq = (u * u).sum(1)
        d2 = sq[:, None] + sq[None, :] - 2.0 * (u @ u.t())
        return d2.clamp(min=1e-12).sqrt() if distance == "euclidean" else d2.clamp(min=0)
    similarity = u @ u.t()
    return 1.0 - similarity if distance == "cosine" else -similarity


def batch_hard_triplet_loss(x, labels, margin=0.3, distance="euclidean", normalize=False, reduction="mean",
                            with_stats=False):
    """Batch-hard triplet loss of Hermans, Beyer & Leibe 2017, "In Defense of the Triplet Loss for
    Person Re-Identification" (arXiv:1703.07737), the "Batch Hard" loss: for every anchor a,
        max(0, margin + max_{p: y_p = y_a, p != a} D(a, p) - min_{n: y_n != y_a} D(a, n)),
    and with margin None the paper's soft margin, softplus(d_ap - d_an) = ln(1 + exp(.)),
    computed stably by F.softplus.

    Batches that are not P x K: an anchor without a positive or without a negative is not valid.
    Its loss is 0 and it adds nothing to the gradient; 'mean' averages over the valid anchors and
    a batch without any valid anchor has loss 0 with zero gradients.
    """
    dist = pairwise_distances(x, distance, normalize)
    n = x.shape[0]
    same = labels[:, None] == labels[None, :]
    positive = same & ~torch.eye(n, dtype=torch.bool)
    negative = ~same
    has_positive, has_negative = positive.any(1), negative.any(1)
    valid = has_positive & has_negative
    zero = torch.zeros(n, dtype=x.dtype)
    d_ap = torch.where(valid, dist.masked_fill(~positive, float("-inf")).max(1).values, zero)
    d_an = torch.where(valid, dist.masked_fill(~negative, float("inf")).min(1).values, zero)
    if margin is None:
        losses = F.softplus(d_ap - d_an)
    else:
        losses = F.relu(d_ap - d_an + margin)
    losses = torch.where(valid, losses, zero)
    if reduction == "mean":
        loss = losses.sum() / valid.sum().clamp(min=1)
    elif reduction == "sum":
        loss = losses.sum()
    else:
        loss = losses
    if not with_stats:
        return loss
    valid_count = int(valid.sum())
    active = int((valid & (losses > 0)).sum())
    stats = {
        "validAnchors": valid_count,
        "anchorsWithoutPositive": int((~has_positive).sum()),
        "anchorsWithoutNegative": int((~has_negative).sum()),
        "activeTriplets": active,
        "fractionZeroLoss": (valid_count - active) / valid_count if valid_count else 0.0,
        "meanPositiveDistance": float(d_ap.double().sum()) / valid_count if valid_count else 0.0,
        "meanNegativeDistance": float(d_an.double().sum()) / valid_count if valid_count else 0.0,
    }
    return loss, stats


def clustered_embeddings(labels, dim, g, spread=1.0, noise=0.6):
    """One random center per identity plus noise, so that some anchors are easy (zero loss)."""
    ids = sorted(set(labels.tolist()))
    centers = {i: torch.randn(dim, generator=g) * spread for i in ids}
    return torch.stack([centers[int(l)] for l in labels]) + noise * torch.randn(len(labels), dim, generator=g)


def pk_labels(p, k, g, ids=None):
    """P identities x K images each, shuffled; identity ids need not be 0..P-1."""
    ids = ids if ids is not None else list(range(p))
    labels = torch.tensor([ids[i] for i in range(p) for _ in range(k)], dtype=torch.int64)
    return labels[torch.randperm(p * k, generator=g)]


def batch_hard_triplet_cases():
    cases = []
    seed = 3100

    def add(labels, dim, options, note, g, spread=1.0):
        x = clustered_embeddings(labels, dim, g, spread)
        kwargs = dict(margin=options.get("margin", 0.3), distance=options.get("distance", "euclidean"),
                      normalize=options.get("normalize", False))
        case = run_case(
            case_name(options, batch=note), options, [("embeddings", x), ("labels", labels)], {"embeddings"},
            lambda e, l, reduction, kw=kwargs: batch_hard_triplet_loss(e, l, reduction=reduction, **kw))
        case["stats"] = batch_hard_triplet_loss(x, labels, reduction=options.get("reduction", "mean"),
                                                with_stats=True, **kwargs)[1]
        cases.append(case)

    # P x K batches: every margin, distance and reduction
    for margin, distance, reduction in itertools.product([0.3, 1.0, None], DISTANCES, REDUCTIONS):
        seed += 1
        g = gen(seed)
        add(pk_labels(4, 3, g, ids=[7, 3, 12, 0]), 6, {"margin": margin, "distance": distance, "reduction": reduction},
            "P4xK3", g)
    # normalised embeddings, defaults left out, margin 0
    for options in [
        {"normalize": True},
        {"normalize": True, "margin": None, "reduction": "sum"},
        {"normalize": True, "distance": "squaredEuclidean", "margin": 0.5},
        {"normalize": True, "distance": "dot", "margin": 0.2, "reduction": "none"},
        {"normalize": True, "distance": "cosine", "margin": 0.1},
        {"normalize": False, "distance": "euclidean", "margin": 0.0},
        {},
    ]:
        seed += 1
        g = gen(seed)
        add(pk_labels(3, 4, g), 5, options, "P3xK4", g)
    # batches that are not P x K, and degenerate ones
    degenerate = [
        ("singleton identity", [0, 0, 0, 1, 1, 1, 2]),
        ("unequal K, negative ids", [-5, -5, 9, 9, 9, 9, 4, 4, 4]),
        ("all one identity", [3, 3, 3, 3, 3]),
        ("all distinct", [0, 1, 2, 3, 4]),
        ("one row", [0]),
        ("two singletons and a pair", [0, 1, 2, 2]),
    ]
    for (note, labels), margin, reduction in itertools.product(degenerate, [0.3, None], REDUCTIONS):
        seed += 1
        g = gen(seed)
        add(torch.tensor(labels, dtype=torch.int64), 4, {"margin": margin, "reduction": reduction}, note, g)
    return unique_names(cases)


DISTANCES = ["euclidean", "squaredEuclidean", "cosine", "dot"]


GENERATORS = {
    "marginRankingLoss": margin_ranking_cases,
    "tripletMarginLoss": triplet_margin_cases,
    "l1Loss": l1_cases,
    "mseLoss": mse_cases,
    "smoothL1Loss": smooth_l1_cases,
    "huberLoss": huber_cases,
    "poissonNllLoss": poisson_nll_cases,
    "klDivLoss": kl_div_cases,
    "crossEntropyLoss": cross_entropy_cases,
    "nllLoss": nll_cases,
    "bceLoss": bce_cases,
    "bceWithLogitsLoss": bce_with_logits_cases,
    "softMarginLoss": soft_margin_cases,
    "multiLabelSoftMarginLoss": multilabel_soft_margin_cases,
    "multiLabelMarginLoss": multilabel_margin_cases,
    "multiMarginLoss": multi_margin_cases,
    "hingeEmbeddingLoss": hinge_embedding_cases,
    "cosineEmbeddingLoss": cosine_embedding_cases,
    "tripletMarginWithDistanceLoss": triplet_with_distance_cases,
    "batchHardTripletLoss": batch_hard_triplet_cases,
    "marginSoftmaxLoss": lambda: margin_softmax_cases(),  # defined below
}

# The pair and list losses: references and cases in pair_losses.py, which imports the helpers above
# (as the module `generate`; only the script run adds them, so the import is not circular).
if __name__ == "__main__":
    import pair_losses
    GENERATORS.update(pair_losses.GENERATORS)


# The triplet family over miners (tripletLoss, semiHardTripletLoss, tripletLossOml,
# tripletLossPlain): references and cases in triplet_reference.py (TF-Addons, OML, PML), which
# imports this module, hence the import at call time.
def _triplet_family(loss):
    def cases():
        import triplet_reference
        return triplet_reference.LOSS_CASES[loss]()
    return cases


GENERATORS.update({loss: _triplet_family(loss) for loss in
                   ["tripletLoss", "semiHardTripletLoss", "tripletLossOml", "tripletLossPlain"]})


def margin_softmax_cases():
    """F.marginSoftmaxLoss (ArcFace / CosFace / sub-center / NormalizedSoftmax with label smoothing):
    the plain-torch reference margin_loss of test/parity/modules.py (insightface, OML, PML)."""
    from modules import margin_loss
    cases = []
    for options in [{}, {"easyMargin": True, "reduction": "sum"}, {"smoothingEpsilon": 0.1, "reduction": "none"},
                    {"kind": "cosface", "smoothingEpsilon": 0.2, "smoothingSpread": "others"},
                    {"subCenters": 3, "m": 0.3, "s": 30.0}, {"kind": "normsoftmax", "temperature": 0.1}]:
        g = gen(17)
        k = options.get("subCenters", 1)
        x, w = torch.randn(6, 4, generator=g), torch.randn(5 * k, 4, generator=g)
        labels = torch.tensor([0, 1, 4, 2, 3, 1])
        fn = lambda a, b, reduction: margin_loss(a, labels, b, {**options, "reduction": reduction})
        cases.append(run_case(case_name(options) or "arcface defaults", options, [("input", x), ("labels", labels), ("weight", w)],
                              {"input", "weight"}, lambda a, _y, b, reduction: fn(a, b, reduction)))
    return unique_names(cases)


def main():
    parser = argparse.ArgumentParser(description="Write parity fixtures computed by PyTorch.")
    parser.add_argument("out_dir", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
    parser.add_argument("--only", help="comma-separated loss names (default: all)")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for loss, generate in GENERATORS.items():
        if only and loss not in only:
            continue
        payload = {"loss": loss, "torch": torch.__version__, "cases": generate()}
        with open(os.path.join(args.out_dir, f"{loss}.json"), "w") as f:
            json.dump(payload, f, separators=(",", ":"))
        print(f"{loss}: {len(payload['cases'])} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
