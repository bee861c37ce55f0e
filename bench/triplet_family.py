#!/usr/bin/python3
"""The Python side of bench/triplet-family.js: batch-hard and semi-hard triplet losses written
the two ways Python users write them, forward + backward, and the matrix-product floor.

    /usr/bin/python3 bench/triplet_family.py N D THREADS REPEATS

prints one JSON object of {median, min} microseconds per call. Our own code of the formulas:
- loop: the source document's open-reid TripletLoss (Hermans et al. 2017) - a Python loop over
  the rows taking max / min of the masked row, then MarginRankingLoss; semi-hard the same way,
  one row at a time (FaceNet / TF-Addons semantics).
- vectorised: masked whole-matrix ops as fast-reid's hard_example_mining writes them; semi-hard
  vectorised over the anchor-positive pairs (P x N, since TF-Addons' N x N x N tiling does not
  fit in memory at N = 1024).
- floor: one torch.mm of (N, D) by (D, N).
"""
import json
import sys
import time

import torch
import torch.nn.functional as F


def euclidean(x):
    sq = (x * x).sum(1, keepdim=True)
    return (sq + sq.t() - 2.0 * (x @ x.t())).clamp(min=1e-12).sqrt()


def batch_hard_loop(x, labels, margin=0.3):
    dist = euclidean(x)
    same = labels[:, None] == labels[None, :]
    ap = torch.stack([dist[i][same[i]].max() for i in range(len(labels))])
    an = torch.stack([dist[i][~same[i]].min() for i in range(len(labels))])
    return F.margin_ranking_loss(an, ap, torch.ones_like(an), margin=margin)


def batch_hard_vectorised(x, labels, margin=0.3):
    dist = euclidean(x)
    is_pos = (labels[:, None] == labels[None, :]).float()
    is_neg = 1.0 - is_pos
    ap = (dist * is_pos).max(1).values
    an = (dist * is_neg + is_pos * 1e9).min(1).values
    return F.margin_ranking_loss(an, ap, torch.ones_like(an), margin=margin)


def semi_hard_loop(x, labels, margin=1.0):
    dist = euclidean(x)
    same = labels[:, None] == labels[None, :]
    terms = []
    for i in range(len(labels)):
        positives = same[i].clone()
        positives[i] = False
        negatives = dist[i][~same[i]]
        ap = dist[i][positives]                              # (K,)
        farther = negatives[None, :] > ap[:, None]           # (K, M)
        outside = negatives[None, :].expand_as(farther).masked_fill(~farther, float("inf")).min(1).values
        an = torch.where(farther.any(1), outside, negatives.max().expand_as(ap))
        terms.append(F.relu(ap - an + margin))
    return torch.cat(terms).mean()


def semi_hard_vectorised(x, labels, margin=1.0):
    dist = euclidean(x)
    same = labels[:, None] == labels[None, :]
    negative = ~same
    positive = same & ~torch.eye(len(labels), dtype=torch.bool)
    a, p = positive.nonzero(as_tuple=True)
    ap = dist[a, p]
    rows = dist[a]                                           # (P, N)
    farther = negative[a] & (rows > ap[:, None])
    outside = rows.masked_fill(~farther, float("inf")).min(1).values
    inside = dist.masked_fill(negative.logical_not(), float("-inf")).max(1).values[a]
    return F.relu(ap - torch.where(farther.any(1), outside, inside) + margin).mean()


def timings_us(fn, repeats):
    """{median, min} microseconds per call after two warm-up calls (min: the least disturbed
    call, the better estimate on a shared machine)."""
    fn()
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return {"median": times[len(times) // 2] * 1e6, "min": times[0] * 1e6}


def main():
    n, d, threads, repeats = (int(v) for v in sys.argv[1:5])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    labels = torch.arange(n) // 4  # P x K = 4, the usual ReID batch
    x = torch.randn(n, d)

    def step(loss_fn):
        def run():
            leaf = x.clone().requires_grad_(True)
            loss_fn(leaf, labels).backward()
            return leaf.grad
        return run

    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for name, fn in [("batchHardLoop", batch_hard_loop), ("batchHardVectorised", batch_hard_vectorised),
                     ("semiHardLoop", semi_hard_loop), ("semiHardVectorised", semi_hard_vectorised)]:
        out[name] = timings_us(step(fn), max(3, repeats // 4) if "Loop" in name else repeats)
    out["floor"] = timings_us(lambda: torch.mm(x, x.t()), repeats * 4)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
