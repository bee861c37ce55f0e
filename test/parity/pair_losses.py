#!/usr/bin/python3
"""Plain-torch references of the pair and list losses, and their parity fixtures.

generate.py includes these generators, so `npx torch-losses parity`, test/parity.test.ts and
`/usr/bin/python3 test/parity/generate.py [OUT_DIR] --only circleLoss,...` run them.

Every reference loops over the anchors of a labelled batch and writes each loss the way its paper
does (no masks shared with the addon's vectorised code). Ordered pairs (i, j), i != j: positive
when labels agree, negative otherwise. An anchor takes part when it has a positive and a negative;
the others contribute 0, and a batch without any such anchor has loss 0 with zero gradients.

- contrastiveLoss: Hadsell, Chopra & LeCun, CVPR 2006, "Dimensionality Reduction by Learning an
  Invariant Mapping", in pytorch-metric-learning's (PML) ContrastiveLoss form: relu(d - posMargin)
  per positive pair, relu(negMargin - d) per negative pair.
- circleLoss: Sun et al., CVPR 2020, "Circle Loss: A Unified Perspective of Pair Similarity
  Optimization", eq. 4 and 6 (pairwise form, self-paced weights detached), as PML's CircleLoss.
- multiSimilarityLoss: Wang et al., CVPR 2019, "Multi-Similarity Loss with General Pair Weighting
  for Deep Metric Learning", eq. 7 (loss) and eq. 5-6 (pair mining with epsilon).
- ntXentLoss: Chen et al., ICML 2020 (SimCLR) NT-Xent, labelled as in PML's NTXentLoss: one term
  per positive pair, the denominator holds that positive and the anchor's negatives.
- supConLoss: Khosla et al., NeurIPS 2020, "Supervised Contrastive Learning", L_out (eq. 2).
- liftedStructureLoss: Song et al., CVPR 2016, "Deep Metric Learning via Lifted Structured Feature
  Embedding", eq. 4 (J_ij over both rows' negatives, 1/(2|P|) sum max(0, J)^2); `generalized`:
  Hermans et al. 2017's generalisation (PML GeneralizedLiftedStructureLoss).
- surrogatePrecisionLoss: Patel, Tolias & Matas, CVPR 2022, "Recall@k Surrogate Loss with Large
  Batches and Similarity Mixup", eq. 6-8 read as Precision@k, as OML's SurrogatePrecision
  (`includeSelf`: OML's own formula, with the query in its gallery and k + 1).

Reductions: 'none' per-anchor losses; 'sum'; 'mean' over the loss's terms (pairs or anchors);
'avgNonZero' (PML's AvgNonZeroReducer): per group of terms, the mean of those > 0, summed.
"""
import itertools

import torch
import torch.nn.functional as F

from generate import case_name, gen, pairwise_distances, pk_labels, clustered_embeddings, run_case, unique_names

REDUCTIONS = ["mean", "sum", "none", "avgNonZero"]


def similarities(x, distance="cosine", normalize=False):
    """s_ij: cos(x_i, x_j) for 'cosine', x_i.x_j for 'dot' (after F.normalize with `normalize`)."""
    u = F.normalize(x, dim=1) if normalize or distance == "cosine" else x
    return u @ u.t()


def pair_masks(labels):
    n = len(labels)
    same = labels[:, None] == labels[None, :]
    positive = same & ~torch.eye(n, dtype=torch.bool)
    negative = ~same
    return positive, negative, positive.any(1), negative.any(1)


class Anchors:
    """Collects, anchor by anchor, the loss, its terms (by group) and the facts the stats report."""

    def __init__(self, x, labels, values, similarity):
        self.positive, self.negative, self.has_positive, self.has_negative = pair_masks(labels)
        self.valid = self.has_positive & self.has_negative
        self.values, self.similarity = values.detach().double(), similarity
        self.n = len(labels)
        self.zero = x.sum() * 0  # keeps the graph (and dtype) for anchors without a loss
        self.losses = [self.zero] * self.n
        self.groups = {}
        self.used_positive = torch.zeros(self.n, self.n, dtype=torch.bool)
        self.used_negative = torch.zeros(self.n, self.n, dtype=torch.bool)
        self.active = 0

    def add(self, i, loss, terms, positives, negatives, active=None):
        """Anchor i takes part: its loss, {group: 1-d terms}, the pair indices it used, and the
        number of its pairs whose term is > 0 (default: all its pairs when its loss is > 0)."""
        self.losses[i] = loss
        for group, t in terms.items():
            self.groups.setdefault(group, []).append(t.reshape(-1))
        self.used_positive[i, positives] = True
        self.used_negative[i, negatives] = True
        if active is None:
            active = (len(positives) + len(negatives)) if float(loss) > 0 else 0
        self.active += int(active)

    def reduce(self, reduction):
        per_anchor = torch.stack(self.losses)
        groups = [torch.cat(g) for g in self.groups.values()]
        if reduction == "none":
            return per_anchor
        if reduction == "sum":
            return per_anchor.sum()
        if reduction == "mean":
            return per_anchor.sum() / max(sum(len(g) for g in groups), 1)
        total = self.zero
        for g in groups:
            total = total + g.sum() / max(int((g > 0).sum()), 1)
        return total

    def stats(self):
        valid = [i for i in range(self.n) if self.used_positive[i].any() or self.used_negative[i].any()]
        zero = sum(1 for i in valid if float(self.losses[i]) <= 0)
        kind = "Similarity" if self.similarity else "Distance"
        pos, neg = self.values[self.used_positive], self.values[self.used_negative]
        return {
            "validAnchors": len(valid),
            "anchorsWithoutPositive": int((~self.has_positive).sum()),
            "anchorsWithoutNegative": int((~self.has_negative).sum()),
            "positivePairs": len(pos),
            "negativePairs": len(neg),
            "activePairs": self.active,
            "fractionZeroLoss": zero / len(valid) if valid else 0.0,
            f"meanPositive{kind}": float(pos.sum()) / len(pos) if len(pos) else 0.0,
            f"meanNegative{kind}": float(neg.sum()) / len(neg) if len(neg) else 0.0,
        }


def indices(mask_row):
    return mask_row.nonzero().reshape(-1).tolist()


def contrastive(x, labels, posMargin=0.0, negMargin=1.0, distance="euclidean", normalize=False):
    d = pairwise_distances(x, distance, normalize)
    a = Anchors(x, labels, d, similarity=False)
    for i in range(a.n):
        if not a.valid[i]:
            continue
        p, q = indices(a.positive[i]), indices(a.negative[i])
        pos = F.relu(d[i, p] - posMargin)
        neg = F.relu(negMargin - d[i, q])
        active = int((pos > 0).sum() + (neg > 0).sum())
        a.add(i, pos.sum() + neg.sum(), {"pos": pos, "neg": neg}, p, q, active)
    return a


def circle(x, labels, m=0.25, gamma=256.0, distance="cosine", normalize=False):
    s = similarities(x, distance, normalize)
    a = Anchors(x, labels, s, similarity=True)
    for i in range(a.n):
        if not a.valid[i]:
            continue
        p, q = indices(a.positive[i]), indices(a.negative[i])
        sp, sn = s[i, p], s[i, q]
        alpha_p = F.relu(1 + m - sp).detach()  # [O_p - s_p]+, O_p = 1 + m
        alpha_n = F.relu(sn + m).detach()      # [s_n - O_n]+, O_n = -m
        logit_p = -gamma * alpha_p * (sp - (1 - m))  # delta_p = 1 - m
        logit_n = gamma * alpha_n * (sn - m)         # delta_n = m
        loss = F.softplus(torch.logsumexp(logit_n, 0) + torch.logsumexp(logit_p, 0))
        a.add(i, loss, {"anchor": loss}, p, q)
    return a


def log_one_plus_sum_exp(logits):
    """log(1 + sum(e^logits)), stably: the 1 is a zero logit."""
    return torch.logsumexp(torch.cat([logits.new_zeros(1), logits]), 0)


def multi_similarity(x, labels, alpha=2.0, beta=50.0, base=0.5, mining=True, epsilon=0.1, distance="cosine",
                     normalize=False):
    s = similarities(x, distance, normalize)
    a = Anchors(x, labels, s, similarity=True)
    for i in range(a.n):
        if not a.valid[i]:
            continue
        p, q = indices(a.positive[i]), indices(a.negative[i])
        if mining:
            sp, sn = s[i, p].detach(), s[i, q].detach()
            q_kept = [k for k, v in zip(q, sn) if v > sp.min() - epsilon]  # eq. 5
            p_kept = [j for j, v in zip(p, sp) if v < sn.max() + epsilon]  # eq. 6
            if not p_kept or not q_kept:
                continue
            p, q = p_kept, q_kept
        loss = (log_one_plus_sum_exp(-alpha * (s[i, p] - base)) / alpha
                + log_one_plus_sum_exp(beta * (s[i, q] - base)) / beta)
        a.add(i, loss, {"anchor": loss}, p, q)
    return a


def nt_xent(x, labels, temperature=0.07, distance="cosine", normalize=False):
    s = similarities(x, distance, normalize)
    a = Anchors(x, labels, s, similarity=True)
    for i in range(a.n):
        if not a.valid[i]:
            continue
        p, q = indices(a.positive[i]), indices(a.negative[i])
        z = s[i] / temperature
        # -log(e^z_j / (e^z_j + sum_n e^z_n)) = log(1 + e^{lse_n - z_j}), written as the softplus it is
        terms = torch.stack([F.softplus(torch.logsumexp(z[q], 0) - z[j]) for j in p])
        a.add(i, terms.sum(), {"pair": terms}, p, q, int((terms > 0).sum()))
    return a


def sup_con(x, labels, temperature=0.1, distance="cosine", normalize=False):
    s = similarities(x, distance, normalize)
    a = Anchors(x, labels, s, similarity=True)
    for i in range(a.n):
        if not a.valid[i]:
            continue
        p, q = indices(a.positive[i]), indices(a.negative[i])
        z = s[i] / temperature
        log_prob = z - torch.logsumexp(z[sorted(p + q)], 0)  # A(i): every other row
        loss = -log_prob[p].mean()
        a.add(i, loss, {"anchor": loss}, p, q)
    return a


def lifted_structure(x, labels, posMargin=0.0, negMargin=1.0, generalized=False, distance="euclidean",
                     normalize=False):
    d = pairwise_distances(x, distance, normalize)
    a = Anchors(x, labels, d, similarity=False)
    for i in range(a.n):
        if not a.valid[i]:
            continue
        p, q = indices(a.positive[i]), indices(a.negative[i])
        if generalized:
            loss = F.relu(torch.logsumexp(d[i, p] - posMargin, 0) + torch.logsumexp(negMargin - d[i, q], 0))
            a.add(i, loss, {"anchor": loss}, p, q)
            continue
        terms = []
        for j in p:
            qj = indices(a.negative[j])
            J = torch.logsumexp(torch.cat([negMargin - d[i, q], negMargin - d[j, qj]]), 0) + d[i, j] - posMargin
            terms.append(F.relu(J) ** 2 / 2)
        terms = torch.stack(terms)
        a.add(i, terms.sum(), {"pair": terms}, p, q, int((terms > 0).sum()))
    return a


def surrogate_precision(x, labels, k=1, temperature1=1.0, temperature2=0.01, includeSelf=False,
                        distance="euclidean", normalize=False):
    n = len(labels)
    d = pairwise_distances(x, distance, normalize).masked_fill(torch.eye(n, dtype=torch.bool), 0)
    a = Anchors(x, labels, d, similarity=False)
    for i in range(n):
        if not a.valid[i]:
            continue
        p, q = indices(a.positive[i]), indices(a.negative[i])
        before = torch.sigmoid((d[i][:, None] - d[i][None, :]) / temperature2)  # [j, a]: a ranked before j
        if includeSelf:
            # OML: the query is a relevant gallery item too, k + 1, and a = j counts sigmoid(0).
            relevant, k_eff = p + [i], k + 1
            rank = before.sum(1)
        else:
            relevant, k_eff = p, k
            keep = torch.ones(n, n, dtype=torch.bool)
            keep[:, i] = False
            keep.fill_diagonal_(False)
            rank = 1 + (before * keep).sum(1)
        precision = torch.sigmoid((k_eff - rank[relevant]) / temperature1).sum() / min(len(relevant), k_eff)
        loss = 1 - precision
        a.add(i, loss, {"anchor": loss}, p, q)
    return a


REFERENCES = {
    "contrastiveLoss": contrastive,
    "circleLoss": circle,
    "multiSimilarityLoss": multi_similarity,
    "ntXentLoss": nt_xent,
    "supConLoss": sup_con,
    "liftedStructureLoss": lifted_structure,
    "surrogatePrecisionLoss": surrogate_precision,
}

# Option sets per loss (each also runs with every reduction on a P x K batch).
OPTIONS = {
    "contrastiveLoss": [{}, {"posMargin": 0.2, "negMargin": 2.0}, {"distance": "squaredEuclidean", "negMargin": 3.0},
                        {"distance": "cosine", "negMargin": 0.8}, {"normalize": True, "negMargin": 1.2}],
    # gamma 256 with 'sum' / 'none' gives gradients of ~300 whose float32 rounding (~1e-4) is above
    # the tolerance of the small entries: those reductions run with a smaller gamma.
    "circleLoss": [{"gamma": 32.0}, {}, {"m": 0.4, "gamma": 80.0}, {"distance": "dot", "normalize": True, "gamma": 32.0}],
    "multiSimilarityLoss": [{}, {"mining": False}, {"alpha": 1.0, "beta": 20.0, "base": 0.3, "epsilon": 0.3},
                            {"mining": False, "distance": "dot", "normalize": True}],
    "ntXentLoss": [{}, {"temperature": 0.5}, {"distance": "dot", "normalize": True, "temperature": 0.2}],
    "supConLoss": [{}, {"temperature": 0.5}, {"distance": "dot", "normalize": True, "temperature": 0.07}],
    "liftedStructureLoss": [{}, {"posMargin": 0.2, "negMargin": 2.0}, {"generalized": True},
                            {"generalized": True, "distance": "cosine", "negMargin": 0.5}],
    "surrogatePrecisionLoss": [{"k": 1}, {"k": 2, "temperature1": 0.5, "temperature2": 0.1},
                               {"k": 3, "includeSelf": True}, {"k": 2, "distance": "cosine", "temperature2": 0.05}],
}

# The options without a default, for the cases that use the defaults.
REQUIRED = {"surrogatePrecisionLoss": {"k": 2}}

# Batches that are not P x K, and degenerate ones (each with the default options).
DEGENERATE = [
    ("singleton identity", [0, 0, 0, 1, 1, 1, 2]),
    ("unequal K, negative ids", [-5, -5, 9, 9, 9, 4, 4]),
    ("all one identity", [3, 3, 3, 3]),
    ("all distinct", [0, 1, 2, 3]),
]


def cases_for(loss, seed):
    reference = REFERENCES[loss]
    options_list = OPTIONS[loss]
    cases = []

    def add(labels, dim, options, note, g):
        x = clustered_embeddings(labels, dim, g, spread=0.8)
        kwargs = {k: v for k, v in options.items() if k != "reduction"}
        case = run_case(case_name(options, batch=note), options, [("embeddings", x), ("labels", labels)],
                        {"embeddings"}, lambda e, l, reduction: reference(e, l, **kwargs).reduce(reduction))
        case["stats"] = reference(x, labels, **kwargs).stats()
        cases.append(case)

    for i, options in enumerate(options_list):
        for reduction in (REDUCTIONS if i == 0 else ["mean", "avgNonZero" if i % 2 else "sum"]):
            seed += 1
            g = gen(seed)
            add(pk_labels(3, 3, g, ids=[7, 2, 11]), 4, {**options, "reduction": reduction}, "P3xK3", g)
    for note, labels in DEGENERATE:
        seed += 1
        g = gen(seed)
        add(torch.tensor(labels, dtype=torch.int64), 4, {**REQUIRED.get(loss, {}), "reduction": "mean"}, note, g)
    return unique_names(cases)


GENERATORS = {loss: (lambda loss=loss, seed=seed: cases_for(loss, seed))
              for loss, seed in zip(REFERENCES, itertools.count(5100, 100))}

