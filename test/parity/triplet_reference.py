#!/usr/bin/python3
"""Plain-torch references for the miners and the triplet family of torch-losses.

    /usr/bin/python3 test/parity/triplet_reference.py [OUT_DIR]

writes OUT_DIR/miners.json (default test/parity/fixtures/miners/): miner cases (inputs and the
index tuples every miner must return) and batch-hard option cases (loss and gradient). The loss
parity cases (tripletLoss, semiHardTripletLoss, tripletLossOml, tripletLossPlain) are written by
generate.py, which calls LOSS_CASES below.

Semantics reproduced (the code is our own, from the papers and the libraries' documented
behaviour):
- batch hard: Hermans, Beyer & Leibe 2017, "In Defense of the Triplet Loss for Person
  Re-Identification"; an anchor without positives is skipped (pytorch-metric-learning, the
  paper), is its own positive (fast-reid's hard_example_mining, whose positive mask includes the
  diagonal) or refuses the batch (OML); ties split the gradient (torch amax / open-reid's
  per-row max()) or send it to the first index (torch.max(dim), fast-reid, PML).
- semi-hard: FaceNet (Schroff, Kalenichenko & Philbin 2015) as TF-Addons' triplet_semihard_loss
  computes it: per anchor-positive pair the smallest negative distance greater than d_ap, else
  the largest negative distance; the mean over positive pairs of max(d_ap - d_an + margin, 0).
- batch easy-hard, triplet margin, pair margin: pytorch-metric-learning's BatchEasyHardMiner,
  TripletMarginMiner (type_of_triplets, margin), PairMarginMiner (pos_margin, neg_margin).
- all triplets: OML's AllTripletsMiner; n-hard: the k hardest positives x k hardest negatives.
- triplet loss over triplets: PML's TripletMarginLoss (distances indexed from the matrix;
  AvgNonZeroReducer for 'avgNonZero'); OML's TripletLoss / TripletLossPlain (per-pair
  torch.cdist, soft margin when margin is None, here through softplus).
Ties between equal distances go to the lowest index, as torch.argmax / argmin do.
"""
import itertools
import json
import os
import sys

import torch
import torch.nn.functional as F

import generate as g

# ---------------------------------------------------------------- distances


def distances(x, y=None, distance="euclidean", normalize=False):
    """Float64 distances by definition (not the matrix-product form): mining fixtures compare
    index tuples, so they are computed as exactly as possible."""
    if normalize or distance == "cosine":
        x = F.normalize(x, dim=1)
        y = None if y is None else F.normalize(y, dim=1)
    y = x if y is None else y
    if distance == "cosine":
        return 1.0 - x @ y.t()
    if distance == "dot":
        return -(x @ y.t())
    d2 = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    return d2 if distance == "squaredEuclidean" else d2.clamp(min=1e-12).sqrt()


def masks(labels, ref_labels=None):
    """positive[a, j]: same label, not the anchor itself within the batch; negative: other label."""
    ref = labels if ref_labels is None else ref_labels
    positive = labels[:, None] == ref[None, :]
    if ref_labels is None:
        positive.fill_diagonal_(False)
    return positive, labels[:, None] != ref[None, :]


def members(mask_row):
    return [int(j) for j in mask_row.nonzero().flatten()]


def nearest(dist_row, candidates, largest=False):
    """The candidate with the smallest (largest) distance, the lowest index on ties."""
    if not candidates:
        return None
    values = dist_row[candidates]
    return candidates[int(values.argmax() if largest else values.argmin())]


# ---------------------------------------------------------------- miners


def batch_hard(dist, labels, ref_labels=None, no_positive="skip"):
    positive, negative = masks(labels, ref_labels)
    out = []
    for a in range(len(labels)):
        p = nearest(dist[a], members(positive[a]), largest=True)
        n = nearest(dist[a], members(negative[a]))
        if p is None and no_positive == "self":
            p = a
        if p is not None and n is not None:
            out.append((a, p, n))
    return out


def batch_easy_hard(dist, labels, ref_labels=None, pos_strategy="easy", neg_strategy="semihard"):
    positive, negative = masks(labels, ref_labels)
    pos_pairs, neg_pairs = [], []
    for a in range(len(labels)):
        P, Q = members(positive[a]), members(negative[a])
        if pos_strategy == "all":
            pos_pairs += [(a, p) for p in P]
        elif pos_strategy == "semihard":
            hardest_negative = nearest(dist[a], Q)
            if hardest_negative is not None:
                bound = dist[a, hardest_negative]
                p = nearest(dist[a], [p for p in P if dist[a, p] < bound], largest=True)
                pos_pairs += [] if p is None else [(a, p)]
        else:
            p = nearest(dist[a], P, largest=pos_strategy == "hard")
            pos_pairs += [] if p is None else [(a, p)]
        if neg_strategy == "all":
            neg_pairs += [(a, n) for n in Q]
        elif neg_strategy == "semihard":
            easiest_positive = nearest(dist[a], P)
            if easiest_positive is not None:
                bound = dist[a, easiest_positive]
                n = nearest(dist[a], [n for n in Q if dist[a, n] > bound])
                neg_pairs += [] if n is None else [(a, n)]
        else:
            n = nearest(dist[a], Q, largest=neg_strategy == "easy")
            neg_pairs += [] if n is None else [(a, n)]
    return pos_pairs, neg_pairs


def semi_hard(dist, labels, ref_labels=None, fallback="hardest"):
    positive, negative = masks(labels, ref_labels)
    out = []
    for a in range(len(labels)):
        P, Q = members(positive[a]), members(negative[a])
        if not Q:
            continue
        for p in P:
            n = nearest(dist[a], [n for n in Q if dist[a, n] > dist[a, p]])
            if n is None and fallback == "hardest":
                n = nearest(dist[a], Q, largest=True)
            if n is not None:
                out.append((a, p, n))
    return out


def triplet_margin(dist, labels, ref_labels=None, type="all", margin=0.2):
    keep = {
        "all": lambda gap: gap <= margin,
        "hard": lambda gap: gap <= 0,
        "semihard": lambda gap: 0 < gap <= margin,
        "easy": lambda gap: gap > margin,
    }[type]
    positive, negative = masks(labels, ref_labels)
    return [(a, p, n) for a in range(len(labels)) for p in members(positive[a]) for n in members(negative[a])
            if keep(float(dist[a, n] - dist[a, p]))]


def all_triplets(labels, ref_labels=None):
    positive, negative = masks(labels, ref_labels)
    return [(a, p, n) for a in range(len(labels)) for p in members(positive[a]) for n in members(negative[a])]


def n_hard(dist, labels, ref_labels=None, k=1):
    positive, negative = masks(labels, ref_labels)
    out = []
    for a in range(len(labels)):
        P = sorted(members(positive[a]), key=lambda j: (-float(dist[a, j]), j))[:k]
        Q = sorted(members(negative[a]), key=lambda j: (float(dist[a, j]), j))[:k]
        out += [(a, p, n) for p in P for n in Q]
    return out


def pair_margin(dist, labels, ref_labels=None, pos_margin=0.2, neg_margin=0.8):
    positive, negative = masks(labels, ref_labels)
    pos_pairs = [(a, j) for a in range(len(labels)) for j in members(positive[a]) if dist[a, j] > pos_margin]
    neg_pairs = [(a, j) for a in range(len(labels)) for j in members(negative[a]) if dist[a, j] < neg_margin]
    return pos_pairs, neg_pairs


def run_miner(name, dist, labels, ref_labels, options):
    """The reference result in the JS shape: { anchors, positives, negatives } or the pair form."""
    o = dict(options)
    if name == "allTriplets":
        return triplets_json(all_triplets(labels, ref_labels))
    if name in ("batchEasyHard", "pairMargin"):
        if name == "batchEasyHard":
            pos, neg = batch_easy_hard(dist, labels, ref_labels, o.get("posStrategy", "easy"), o.get("negStrategy", "semihard"))
        else:
            pos, neg = pair_margin(dist, labels, ref_labels, o.get("posMargin", 0.2), o.get("negMargin", 0.8))
        return {"anchors1": [a for a, _ in pos], "positives": [p for _, p in pos],
                "anchors2": [a for a, _ in neg], "negatives": [n for _, n in neg]}
    fn = {
        "batchHard": lambda: batch_hard(dist, labels, ref_labels, o.get("noPositive", "skip")),
        "semiHard": lambda: semi_hard(dist, labels, ref_labels, o.get("fallback", "hardest")),
        "tripletMargin": lambda: triplet_margin(dist, labels, ref_labels, o.get("type", "all"), o.get("margin", 0.2)),
        "nHard": lambda: n_hard(dist, labels, ref_labels, o.get("k", 1)),
    }[name]
    return triplets_json(fn())


def triplets_json(triplets):
    return {"anchors": [t[0] for t in triplets], "positives": [t[1] for t in triplets],
            "negatives": [t[2] for t in triplets]}


# ---------------------------------------------------------------- losses


def reduce_triplets(losses, reduction):
    if reduction == "mean":
        return losses.sum() / max(losses.numel(), 1)
    if reduction == "sum":
        return losses.sum()
    if reduction == "avgNonZero":  # PML's AvgNonZeroReducer
        return losses.sum() / (losses.detach() > 0).sum().clamp(min=1)
    return losses


def hinge(d_ap, d_an, margin):
    return F.softplus(d_ap - d_an) if margin is None else F.relu(d_ap - d_an + margin)


def triplet_loss(x, triplets, margin=1.0, distance="euclidean", normalize=False, reduction="mean"):
    """PML's TripletMarginLoss over index triplets, distances read from the (N, N) matrix."""
    dist = g.pairwise_distances(x, distance, normalize)
    a, p, n = (torch.tensor(v, dtype=torch.int64) for v in zip(*triplets)) if triplets else [torch.zeros(0, dtype=torch.int64)] * 3
    return reduce_triplets(hinge(dist[a, p], dist[a, n], margin), reduction)


def semi_hard_triplet_loss(x, labels, margin=1.0, distance="euclidean", normalize=False):
    """TF-Addons' triplet_semihard_loss, vectorised as TF-Addons writes it: for each (a, p) the
    negatives farther than d_ap ("outside"), their minimum, else the anchor's largest negative
    ("inside"); mean over the positive pairs of relu(margin + d_ap - d_an)."""
    dist = g.pairwise_distances(x, distance, normalize)
    positive, negative = masks(labels)
    n = len(labels)
    farther = negative[:, None, :] & (dist[:, None, :] > dist[:, :, None])  # [a, p, n]
    outside = dist[:, None, :].expand(n, n, n).masked_fill(~farther, float("inf")).min(-1).values
    inside = dist.masked_fill(~negative, float("-inf")).max(-1).values[:, None].expand(n, n)
    semi = torch.where(farther.any(-1), outside, inside)
    pairs = positive & negative.any(1, keepdim=True)  # anchors without negatives are left out
    losses = F.relu(dist - semi + margin)[pairs] if margin is not None else F.softplus(dist - semi)[pairs]
    return losses.sum() / max(int(pairs.sum()), 1)


def oml_triplet_loss(anchor, positive, negative, margin=1.0, reduction="mean"):
    """OML's TripletLoss: elementwise torch.cdist distances; margin None is the soft margin."""
    d_ap = torch.cdist(anchor[:, None, :], positive[:, None, :]).view(-1)
    d_an = torch.cdist(anchor[:, None, :], negative[:, None, :]).view(-1)
    losses = hinge(d_ap, d_an, margin)
    return {"mean": losses.mean(), "sum": losses.sum()}.get(reduction, losses)


def batch_hard_variant(x, labels, margin=0.3, no_positive="skip", ties="split", distance="euclidean"):
    """Batch hard with the porting options: 'self' adds the diagonal to the positives of anchors
    without one (fast-reid); 'split' uses amax / amin (the gradient is shared by tied entries),
    'first' max(dim) / min(dim) (all of it to the first index)."""
    dist = g.pairwise_distances(x, distance)
    positive, negative = masks(labels)
    if no_positive == "self":
        positive = positive | (torch.eye(len(labels), dtype=torch.bool) & ~positive.any(1, keepdim=True))
    valid = positive.any(1) & negative.any(1)
    ap = dist.masked_fill(~positive, float("-inf"))
    an = dist.masked_fill(~negative, float("inf"))
    d_ap = ap.amax(1) if ties == "split" else ap.max(1).values
    d_an = an.amin(1) if ties == "split" else an.min(1).values
    zero = torch.zeros(len(labels), dtype=x.dtype)
    losses = torch.where(valid, hinge(torch.where(valid, d_ap, zero), torch.where(valid, d_an, zero), margin), zero)
    return losses.sum() / valid.sum().clamp(min=1)


# ---------------------------------------------------------------- parity cases (generate.py)


def mined_triplets(x, labels, miner, distance="euclidean", normalize=False):
    dist = g.pairwise_distances(x.detach(), distance, normalize)
    name = miner["name"]
    options = {k: v for k, v in miner.items() if k != "name"}
    if name == "allTriplets":
        return all_triplets(labels)
    t = run_miner(name, dist, labels, None, options)
    return list(zip(t["anchors"], t["positives"], t["negatives"]))


def triplet_loss_cases():
    cases = []
    seed = 5000
    # the default miner (all triplets, as PML and OML) first: these options are plain numbers
    for setting in [{}, {"margin": 0.3, "reduction": "sum"}, {"margin": None, "reduction": "avgNonZero"},
                    {"distance": "cosine", "margin": 0.1, "reduction": "none"}]:
        seed += 1
        gen = g.gen(seed)
        labels = g.pk_labels(3, 2, gen)
        x = g.clustered_embeddings(labels, 4, gen, noise=0.9)
        kw = dict(margin=setting.get("margin", 1.0), distance=setting.get("distance", "euclidean"))
        triplets = all_triplets(labels)
        cases.append(g.run_case(g.case_name(setting, miner="default (allTriplets)"), setting, [("embeddings", x), ("labels", labels)],
                                {"embeddings"}, lambda e, l, reduction, t=triplets, kw=kw: triplet_loss(e, t, reduction=reduction, **kw)))
    seed = 5100
    miners = [{"name": "batchHard"}, {"name": "semiHard"}, {"name": "semiHard", "fallback": "skip"},
              {"name": "tripletMargin", "type": "semihard", "margin": 0.5}, {"name": "allTriplets"},
              {"name": "nHard", "k": 2}, {"name": "tripletMargin", "type": "hard"}]
    settings = [{}, {"margin": None}, {"margin": 0.3, "reduction": "avgNonZero"}, {"reduction": "sum", "distance": "cosine"},
                {"reduction": "none", "distance": "squaredEuclidean", "normalize": True}, {"distance": "dot", "margin": 0.5}]
    for miner, setting in itertools.product(miners, settings):
        seed += 1
        gen = g.gen(seed)
        labels = g.pk_labels(3, 3, gen)
        x = g.clustered_embeddings(labels, 5, gen, noise=0.9)
        options = {"miner": miner, **setting}
        kw = dict(margin=setting.get("margin", 1.0), distance=setting.get("distance", "euclidean"),
                  normalize=setting.get("normalize", False))
        triplets = mined_triplets(x, labels, miner, kw["distance"], kw["normalize"])
        cases.append(g.run_case(g.case_name({"miner": miner["name"], **{k: v for k, v in miner.items() if k != "name"}, **setting}),
                                options, [("embeddings", x), ("labels", labels)], {"embeddings"},
                                lambda e, l, reduction, t=triplets, kw=kw: triplet_loss(e, t, reduction=reduction, **kw)))
    # explicit triplets, and a miner that finds nothing (one identity)
    gen = g.gen(seed + 1)
    labels = torch.tensor([0, 0, 1, 1, 2, 2], dtype=torch.int64)
    x = g.clustered_embeddings(labels, 4, gen)
    triplets = [(0, 1, 2), (3, 2, 5), (4, 5, 0), (0, 1, 3)]
    given = {"anchors": [t[0] for t in triplets], "positives": [t[1] for t in triplets], "negatives": [t[2] for t in triplets]}
    for reduction in ["mean", "none", "avgNonZero"]:
        cases.append(g.run_case(g.case_name({"triplets": "explicit", "reduction": reduction}), {"triplets": given, "reduction": reduction},
                                [("embeddings", x), ("labels", labels)], {"embeddings"},
                                lambda e, l, reduction, t=triplets: triplet_loss(e, t, reduction=reduction)))
    one = torch.zeros(4, dtype=torch.int64)
    cases.append(g.run_case("one identity: no triplets", {"miner": {"name": "batchHard"}}, [("embeddings", x[:4]), ("labels", one)],
                            {"embeddings"}, lambda e, l, reduction: triplet_loss(e, [], reduction=reduction)))
    return g.unique_names(cases)


def semi_hard_cases():
    cases = []
    seed = 5300
    for setting in [{}, {"margin": 0.2}, {"margin": 0.5, "distance": "squaredEuclidean"}, {"distance": "cosine", "margin": 0.1},
                    {"normalize": True, "margin": 0.3}, {"margin": None}]:
        for p, k in [(3, 4), (5, 2)]:
            seed += 1
            gen = g.gen(seed)
            labels = g.pk_labels(p, k, gen)
            x = g.clustered_embeddings(labels, 6, gen, noise=1.0)
            kw = dict(margin=setting.get("margin", 1.0), distance=setting.get("distance", "euclidean"),
                      normalize=setting.get("normalize", False))
            cases.append(g.run_case(g.case_name(setting, batch=f"P{p}xK{k}"), setting, [("embeddings", x), ("labels", labels)],
                                    {"embeddings"}, lambda e, l, reduction, kw=kw: semi_hard_triplet_loss(e, l, **kw)))
    gen = g.gen(seed + 1)
    labels = torch.tensor([4, 4, 4, 9, 9, 1], dtype=torch.int64)  # a singleton identity
    x = g.clustered_embeddings(labels, 3, gen)
    cases.append(g.run_case("singleton identity", {}, [("embeddings", x), ("labels", labels)], {"embeddings"},
                            lambda e, l, reduction: semi_hard_triplet_loss(e, l)))
    return g.unique_names(cases)


def oml_cases(stacked):
    cases = []
    seed = 5500
    for margin, reduction in itertools.product([1.0, 0.2, None], g.REDUCTIONS):
        seed += 1
        gen = g.gen(seed)
        a, p, n = (torch.randn(5, 4, generator=gen) for _ in range(3))
        options = {"margin": margin, "reduction": reduction}
        if stacked:
            cases.append(g.run_case(g.case_name(options), options, [("stacked", torch.cat([a, p, n]))], {"stacked"},
                                    lambda s, reduction, m=margin: oml_triplet_loss(*s.chunk(3), margin=m, reduction=reduction)))
        else:
            cases.append(g.run_case(g.case_name(options), options, [("anchor", a), ("positive", p), ("negative", n)],
                                    {"anchor", "positive", "negative"},
                                    lambda x, y, z, reduction, m=margin: oml_triplet_loss(x, y, z, margin=m, reduction=reduction)))
    return g.unique_names(cases)


LOSS_CASES = {
    "tripletLoss": triplet_loss_cases,
    "semiHardTripletLoss": semi_hard_cases,
    "tripletLossOml": lambda: oml_cases(False),
    "tripletLossPlain": lambda: oml_cases(True),
}

# ---------------------------------------------------------------- miner fixtures


def miner_cases():
    cases = []
    gen = g.gen(7100)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 3, 5], dtype=torch.int64)  # 5 is a singleton
    x = g.clustered_embeddings(labels, 4, gen, noise=1.0).double()
    ref_labels = torch.tensor([0, 1, 1, 2, 3, 3, 4, 0], dtype=torch.int64)  # 4: no query has it
    ref = g.clustered_embeddings(ref_labels, 4, gen, noise=1.0).double()
    miners = [
        ("batchHard", {}), ("batchHard", {"noPositive": "self"}),
        ("batchEasyHard", {}), ("batchEasyHard", {"posStrategy": "hard", "negStrategy": "hard"}),
        ("batchEasyHard", {"posStrategy": "semihard", "negStrategy": "hard"}), ("batchEasyHard", {"posStrategy": "all", "negStrategy": "easy"}),
        ("batchEasyHard", {"posStrategy": "easy", "negStrategy": "all"}),
        ("semiHard", {}), ("semiHard", {"fallback": "skip"}),
        ("tripletMargin", {}), ("tripletMargin", {"type": "hard"}), ("tripletMargin", {"type": "semihard", "margin": 0.8}),
        ("tripletMargin", {"type": "easy", "margin": 0.5}),
        ("allTriplets", {}), ("nHard", {"k": 2}), ("nHard", {"k": 5}),
        ("pairMargin", {}), ("pairMargin", {"posMargin": 1.0, "negMargin": 2.5}),
    ]
    for (name, options), distance, normalize, with_ref in itertools.product(
            miners, ["euclidean", "squaredEuclidean", "cosine", "dot"], [False, True], [False, True]):
        if with_ref and options.get("noPositive") == "self":
            continue
        if normalize and distance in ("cosine", "dot") and name != "batchHard":
            continue  # keeps the fixture small
        dist = distances(x, ref if with_ref else None, distance, normalize)
        case = {
            "name": f"{name} {json.dumps(options)} {distance}{' normalize' if normalize else ''}{' ref' if with_ref else ''}",
            "miner": name,
            "options": {**options, "distance": distance, "normalize": normalize},
            "embeddings": "x",  # the shared inputs of the fixture file
            "labels": labels.tolist(),
            "expected": run_miner(name, dist, labels, ref_labels if with_ref else None, options),
        }
        if with_ref:
            case["refEmbeddings"] = "ref"
            case["refLabels"] = ref_labels.tolist()
        cases.append(case)
    shared = {"x": {"data": x.reshape(-1).tolist(), "shape": list(x.shape)},
              "ref": {"data": ref.reshape(-1).tolist(), "shape": list(ref.shape)}}
    # precomputed distances (with ties: integers), within the batch and against a reference set
    d_self = torch.randint(0, 4, (7, 7), generator=gen).double()
    d_self = d_self + d_self.t()
    d_ref = torch.randint(0, 5, (7, 5), generator=gen).double()
    l_self = torch.tensor([1, 1, 2, 2, 2, 3, 3], dtype=torch.int64)
    l_ref = torch.tensor([1, 2, 3, 3, 7], dtype=torch.int64)
    for (name, options), with_ref in itertools.product(miners, [False, True]):
        if with_ref and options.get("noPositive") == "self":
            continue
        dist = d_ref if with_ref else d_self
        opts = {**options, "margin": 1.5} if name == "tripletMargin" else options
        case = {"name": f"{name} {json.dumps(opts)} distances{' ref' if with_ref else ''}", "miner": name, "options": opts,
                "distances": {"data": dist.reshape(-1).tolist(), "shape": list(dist.shape)}, "labels": l_self.tolist(),
                "expected": run_miner(name, dist, l_self, l_ref if with_ref else None, opts)}
        if with_ref:
            case["refLabels"] = l_ref.tolist()
        cases.append(case)
    return shared, cases


def batch_hard_option_cases():
    """Batch-hard porting options: loss and gradient (float64 inputs)."""
    cases = []
    gen = g.gen(7300)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3], dtype=torch.int64)  # 2 has no positive
    x = g.clustered_embeddings(labels, 3, gen).double()
    x[2] = x[1]  # rows 1 and 2 coincide: anchor 0 has two tied hardest positives
    x[7] = x[6] + 0.0
    for no_positive, ties, margin in itertools.product(["skip", "self"], ["split", "first"], [0.3, None]):
        leaf = x.clone().requires_grad_(True)
        loss = batch_hard_variant(leaf, labels, margin, no_positive, ties)
        (grad,) = torch.autograd.grad(loss, leaf)
        cases.append({"name": f"noPositive {no_positive}, ties {ties}, margin {margin}",
                      "options": {"noPositive": no_positive, "ties": ties, "margin": margin},
                      "embeddings": {"data": x.reshape(-1).tolist(), "shape": list(x.shape)}, "labels": labels.tolist(),
                      "loss": float(loss), "grad": grad.reshape(-1).tolist()})
    return cases


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "miners")
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    shared, cases = miner_cases()
    payload = {"torch": torch.__version__, "inputs": shared, "miners": cases, "batchHard": batch_hard_option_cases()}
    with open(os.path.join(out_dir, "miners.json"), "w") as f:
        json.dump(payload, f, separators=(",", ":"))
    print(f"miners: {len(payload['miners'])} cases, batchHard options: {len(payload['batchHard'])}", file=sys.stderr)


if __name__ == "__main__":
    main()
