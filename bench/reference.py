#!/usr/bin/env python3
"""PyTorch side of `npm run bench`: times forward+backward of the cases bench/run.js sends.

Spawned by bench/run.js as `/usr/bin/python3 bench/reference.py --threads K`; speaks JSON lines.
First line out: {"torch": version, "python": version, "threads": k, "interop_threads": j}
(or {"error": "..."} and exit status 3 when torch cannot be imported). Then, per line in:

    {"op": "prepare", "case": {id, loss, inputs, options}, "impl": optional, "seed": s, "timing": {...}}
        -> makes the case's step and warms it up: {"perCall": seconds, "iters": n}
    {"op": "batch", "batchNs": ns}  -> one time-boxed batch of the prepared step: {"us", "n"}
    {"op": "case", ...same as prepare}  -> the whole protocol on its own:
        {"us": median, "min_us", "batches_us": [...], "batch_iters": [...], "warmup_iters"}
    {"op": "matmul", "n": N, "d": D, "seed": s, "timing": {...}}
        -> the same, for one torch.mm((N, D), (D, N))
    {"op": "quit"}

and a request that fails answers {"error": "..."} and the server goes on. bench/run.js uses
prepare/batch to alternate with the addon batch by batch, so that both sides time a case under
the same machine load.

Each iteration of a case: the inputs' .grad set to None, loss = torch.nn.functional.<loss>(...)
(batch-hard: batch_hard_triplet_loss below, plain torch ops), loss.backward(). Inputs are made
once, with requires_grad where bench/cases.js says, from the same distributions as the addon's
inputs (not the same numbers). Gradients stay in torch: the addon pays for a copy into JS arrays
that PyTorch does not. The timing protocol is bench/timing.js's, line for line.
"""
import json
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except Exception as error:  # ImportError, or a broken install
    print(json.dumps({"error": f"cannot import torch: {error}"}), flush=True)
    sys.exit(3)


# --- inputs -------------------------------------------------------------------------------

def multilabel(shape):
    """Row i: classes 7i % C and (7i + 1) % C, then -1, then zeros (as bench/inputs.js)."""
    n, c = shape
    out = torch.zeros(n, c, dtype=torch.int64)
    rows = torch.arange(n)
    out[:, 0] = (7 * rows) % c
    out[:, 1] = (7 * rows + 1) % c
    if c > 2:
        out[:, 2] = -1
    return out


def make_input(spec, gen):
    shape, kind = spec["shape"], spec["kind"]
    if kind == "randn":
        t = torch.randn(shape, generator=gen)
    elif kind == "uniform":
        t = torch.rand(shape, generator=gen)
    elif kind == "sign":
        t = torch.randint(0, 2, shape, generator=gen).float() * 2 - 1
    elif kind == "binary":
        t = torch.randint(0, 2, shape, generator=gen).float()
    elif kind == "logprob":
        t = torch.log(1 - torch.rand(shape, generator=gen))
    elif kind == "labels":
        return torch.randint(0, spec["classes"], shape, generator=gen)
    elif kind == "multilabel":
        return multilabel(shape)
    elif kind == "identities":
        return torch.arange(shape[0]) // 4
    else:
        raise ValueError(f"unknown input kind {kind}")
    return t.requires_grad_(bool(spec["grad"]))


# --- losses ---------------------------------------------------------------------------------

def batch_hard_triplet_loss_formula(x, labels, margin=0.3):
    """The same loss with the distance matrix written out as most ReID code bases do (open-reid,
    reid-strong-baseline): sqrt(clamp(|x|^2 + |y|^2 - 2 x.y, 1e-12)). Timed as a second PyTorch
    reference (impl "formula")."""
    sq = (x * x).sum(1, keepdim=True)
    dist = torch.addmm(sq + sq.t(), x, x.t(), beta=1, alpha=-2).clamp_min(1e-12).sqrt()
    return hardest_and_margin(dist, labels, margin)


def batch_hard_triplet_loss(x, labels, margin=0.3):
    """Batch-hard triplet loss (Hermans et al. 2017) in plain torch ops. The distance matrix is
    torch.cdist, which for more than 25 rows computes sqrt(max(|x|^2 + |y|^2 - 2 x.y, 1e-30)) with
    one matrix product, like the addon: at N=4096 it is ~1.7x faster forward+backward than
    writing that formula out in torch ops (the elementwise passes over N x N dominate), so PyTorch
    gets its faster form. Anchors without a positive or a negative are left out of the mean."""
    return hardest_and_margin(torch.cdist(x, x), labels, margin)


def hardest_and_margin(dist, labels, margin):
    """Hardest positive and negative per anchor, then the mean hinge over the valid anchors."""
    n = dist.shape[0]
    same = labels[:, None] == labels[None, :]
    pos = same & ~torch.eye(n, dtype=torch.bool)
    neg = ~same
    d_ap = dist.masked_fill(~pos, float("-inf")).max(1).values
    d_an = dist.masked_fill(~neg, float("inf")).min(1).values
    valid = pos.any(1) & neg.any(1)
    return F.relu(d_ap - d_an + margin)[valid].mean()


def loss_fn(loss, o, impl=None):
    """The PyTorch call for an addon loss name and its options (the addon's option names)."""
    if impl not in (None, "formula") or (impl == "formula" and loss != "batchHardTripletLoss"):
        raise ValueError(f"reference.py has no implementation {impl!r} of {loss}")
    if impl == "formula":
        return lambda x, t: batch_hard_triplet_loss_formula(x, t, margin=o.get("margin", 0.3))
    r = o.get("reduction", "mean")
    calls = {
        "l1Loss": lambda x, y: F.l1_loss(x, y, reduction=r),
        "mseLoss": lambda x, y: F.mse_loss(x, y, reduction=r),
        "smoothL1Loss": lambda x, y: F.smooth_l1_loss(x, y, reduction=r, beta=o.get("beta", 1.0)),
        "huberLoss": lambda x, y: F.huber_loss(x, y, reduction=r, delta=o.get("delta", 1.0)),
        "poissonNllLoss": lambda x, y: F.poisson_nll_loss(
            x, y, log_input=o.get("logInput", True), full=o.get("full", False),
            eps=o.get("eps", 1e-8), reduction=r),
        "klDivLoss": lambda x, y: F.kl_div(x, y, reduction=r, log_target=o.get("logTarget", False)),
        "crossEntropyLoss": lambda x, t: F.cross_entropy(
            x, t, reduction=r, ignore_index=o.get("ignoreIndex", -100),
            label_smoothing=o.get("labelSmoothing", 0.0)),
        "nllLoss": lambda x, t: F.nll_loss(x, t, reduction=r, ignore_index=o.get("ignoreIndex", -100)),
        "bceLoss": lambda x, y: F.binary_cross_entropy(x, y, reduction=r),
        "bceWithLogitsLoss": lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=r),
        "softMarginLoss": lambda x, y: F.soft_margin_loss(x, y, reduction=r),
        "multiLabelSoftMarginLoss": lambda x, y: F.multilabel_soft_margin_loss(x, y, reduction=r),
        "multiLabelMarginLoss": lambda x, t: F.multilabel_margin_loss(x, t, reduction=r),
        "multiMarginLoss": lambda x, t: F.multi_margin_loss(
            x, t, p=o.get("p", 1), margin=o.get("margin", 1.0), reduction=r),
        "hingeEmbeddingLoss": lambda x, y: F.hinge_embedding_loss(x, y, margin=o.get("margin", 1.0), reduction=r),
        "cosineEmbeddingLoss": lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=o.get("margin", 0.0), reduction=r),
        "tripletMarginWithDistanceLoss": lambda a, p, n: F.triplet_margin_with_distance_loss(
            a, p, n, margin=o.get("margin", 1.0), swap=o.get("swap", False), reduction=r),
        "marginRankingLoss": lambda a, b, y: F.margin_ranking_loss(a, b, y, margin=o.get("margin", 0.0), reduction=r),
        "tripletMarginLoss": lambda a, p, n: F.triplet_margin_loss(
            a, p, n, margin=o.get("margin", 1.0), p=o.get("p", 2.0), eps=o.get("eps", 1e-6),
            swap=o.get("swap", False), reduction=r),
        "batchHardTripletLoss": lambda x, t: batch_hard_triplet_loss(x, t, margin=o.get("margin", 0.3)),
    }
    if loss not in calls:
        raise ValueError(f"reference.py has no PyTorch call for {loss}")
    if loss == "tripletMarginWithDistanceLoss" and o.get("distance", "euclidean") != "euclidean":
        raise ValueError("reference.py: only the euclidean distance is wired for tripletMarginWithDistanceLoss")
    if loss == "batchHardTripletLoss" and (o.get("distance", "euclidean") != "euclidean" or o.get("margin", 0.3) is None):
        raise ValueError("reference.py: batch-hard is wired for the euclidean distance and a hard margin only")
    return calls[loss]


def make_step(case, seed, impl=None):
    gen = torch.Generator().manual_seed(seed)
    inputs = [make_input(spec, gen) for spec in case["inputs"]]
    differentiable = [t for t in inputs if t.requires_grad]
    fn = loss_fn(case["loss"], case.get("options", {}), impl)

    def step():
        for t in differentiable:
            t.grad = None
        loss = fn(*inputs)
        loss.backward()

    step()
    return step


def make_matmul(n, d, seed):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=gen)
    b = torch.randn(d, n, generator=gen)
    return lambda: torch.mm(a, b)


# --- timing (bench/timing.js's protocol) --------------------------------------------------

def batch_count(timing, seconds_per_call):
    batch_seconds = timing["targetSeconds"] / timing["batches"]
    if seconds_per_call <= batch_seconds:
        return timing["batches"]
    return max(timing["minBatches"], min(timing["batches"], math.floor(timing["maxCaseSeconds"] / seconds_per_call)))


def warm_up(step, timing):
    clock = time.perf_counter_ns
    iters, start = 0, clock()
    while True:
        step()
        iters += 1
        if clock() - start >= timing["warmupSeconds"] * 1e9:
            break
    return {"perCall": (clock() - start) / 1e9 / iters, "iters": iters}


def run_batch(step, batch_ns):
    clock = time.perf_counter_ns
    n, t0 = 0, clock()
    while True:
        step()
        n += 1
        if clock() - t0 >= batch_ns:
            break
    return {"us": (clock() - t0) / n / 1e3, "n": n}


def measure(step, timing):
    warm = warm_up(step, timing)
    batch_ns = timing["targetSeconds"] * 1e9 / timing["batches"]
    batches = [run_batch(step, batch_ns) for _ in range(batch_count(timing, warm["perCall"]))]
    batch_us = [b["us"] for b in batches]
    return {
        "us": statistics.median(batch_us),
        "min_us": min(batch_us),
        "batches_us": batch_us,
        "batch_iters": [b["n"] for b in batches],
        "warmup_iters": warm["iters"],
    }


# --- server ---------------------------------------------------------------------------------

prepared = {"step": None}


def answer(request):
    op = request.get("op")
    seed = int(request.get("seed", 0))
    if op == "prepare":
        prepared["step"] = None  # free the previous case's tensors first
        prepared["step"] = make_step(request["case"], seed, request.get("impl"))
        return warm_up(prepared["step"], request["timing"])
    if op in ("prepareModule", "batchModule"):  # the parameter modules' rows (bench/modules.js)
        import modules_reference
        slot = request["slot"]
        if op == "prepareModule":
            prepared[slot] = None
            prepared[slot] = modules_reference.make_step(request["case"], seed)
            return warm_up(prepared[slot], request["timing"])
        return run_batch(prepared[slot], float(request["batchNs"]))
    if op == "batch":
        if prepared["step"] is None:
            raise ValueError("batch before prepare")
        return run_batch(prepared["step"], float(request["batchNs"]))
    prepared["step"] = None
    if op == "case":
        return measure(make_step(request["case"], seed, request.get("impl")), request["timing"])
    if op == "matmul":
        return measure(make_matmul(int(request["n"]), int(request["d"]), seed), request["timing"])
    raise ValueError(f"unknown op {op}")


def main():
    threads = None
    if "--threads" in sys.argv:
        threads = int(sys.argv[sys.argv.index("--threads") + 1])
        torch.set_num_threads(threads)
    print(json.dumps({
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
    }), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get("op") == "quit":
            break
        try:
            reply = answer(request)
        except Exception as error:  # one bad case must not end the run
            reply = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
