#!/usr/bin/python3
"""Reference for combineLosses (lib/combine.ts): the gradient of a weighted sum of losses on the
same input, by autograd, in float64.

    /usr/bin/python3 test/parity/combined.py [OUT_FILE]   (default test/parity/training-fixtures/combined.json)

The recipe of source document 000 (softmax + triplet + center, as in Luo et al.'s "Bag of
Tricks" ReID baseline): 0.5 * F.cross_entropy(x, y) + 1.0 * batch-hard triplet (Hermans et al.
2017, margin 0.3; generate.py's reference) + 0.0005 * center loss (KaiyangZhou's formula;
modules.py's reference), all three on the same input x [B, C] so that autograd sums the three
gradient paths. Plus a case with other weights and the soft-margin triplet.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from generate import batch_hard_triplet_loss  # noqa: E402
from modules import center_mean  # noqa: E402


def case(name, seed, weights, margin):
    g = torch.Generator().manual_seed(seed)
    p, k, c = 4, 3, 5
    labels = torch.arange(p).repeat_interleave(k)
    x = torch.randn(p * k, c, generator=g, dtype=torch.float64).requires_grad_(True)
    centers = torch.randn(p, c, generator=g, dtype=torch.float64)
    parts = {
        "ce": F.cross_entropy(x, labels),
        "triplet": batch_hard_triplet_loss(x, labels, margin=margin),
        "center": center_mean(x, labels, centers),
    }
    total = sum(weights[key] * value for key, value in parts.items())
    total.backward()
    return {
        "name": name, "weights": weights, "margin": margin,
        "x": x.detach().reshape(-1).tolist(), "shape": list(x.shape), "labels": labels.tolist(),
        "centers": centers.reshape(-1).tolist(), "numClasses": p,
        "loss": total.item(), "terms": {key: weights[key] * v.item() for key, v in parts.items()},
        "grad": x.grad.reshape(-1).tolist(),
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "training-fixtures", "combined.json")
    cases = [
        case("reid recipe 0.5 ce + 1 triplet + 0.0005 center", 0, {"ce": 0.5, "triplet": 1.0, "center": 0.0005}, 0.3),
        case("2 ce + 0.5 soft triplet + 0.1 center", 1, {"ce": 2.0, "triplet": 0.5, "center": 0.1}, None),
    ]
    with open(out, "w") as f:
        json.dump({"cases": cases}, f)


if __name__ == "__main__":
    main()
