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
"""
import argparse
import itertools
import json
import math
import os
import sys

import torch
import torch.nn.functional as F


def encode_number(x):
    """JSON has no infinities or NaN: they travel as strings."""
    if isinstance(x, float) and (math.isinf(x) or math.isnan(x)):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    return x


def tensor_json(name, t):
    return {"name": name, "shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


def run_case(name, options, inputs, differentiable, fn):
    leaves = [t.clone().requires_grad_(name in differentiable) for name, t in inputs]
    losses = fn(*leaves, reduction="none")
    reduction = options.get("reduction", "mean")
    loss = {"mean": losses.mean(), "sum": losses.sum(), "none": losses.sum()}[reduction]
    reduced = fn(*leaves, reduction=reduction)
    root = reduced.sum() if reduction == "none" else reduced
    grads = torch.autograd.grad(root, [l for l in leaves if l.requires_grad])
    grad_names = [n for n, _ in inputs if n in differentiable]
    return {
        "name": name,
        "options": {k: encode_number(v) for k, v in options.items()},
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


GENERATORS = {
    "marginRankingLoss": margin_ranking_cases,
    "tripletMarginLoss": triplet_margin_cases,
}


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
