#!/usr/bin/python3
"""Reference fixtures for the stateful modules (lib/modules/), written by Python PyTorch.

    /usr/bin/python3 test/parity/modules.py [OUT_FILE]     (default test/parity/fixtures/modules/modules.json)

- optimizers: 10 steps of torch.optim.SGD / Adam / AdamW on seeded parameters with a seeded,
  fixed sequence of gradients (the learning rate changes after step 5, as setLearningRate does).
- centerLoss: plain torch references of the center loss (Wen et al., "A Discriminative Feature
  Learning Approach for Deep Face Recognition", ECCV 2016):
  * formula 'mean': KaiyangZhou's deep-person-reid CenterLoss (torchreid/losses/center_loss.py),
    the formula of the source document 000_959bdab34140b30b.txt: the B x C distance matrix
    ||x||^2 + ||c||^2 - 2 x.c, each row's own-class entry clamped to [1e-12, 1e12], summed and
    divided by the batch size;
  * formula 'paper': 1/2 sum_i ||x_i - c_{y_i}||^2;
  * the loss is multiplied by lossWeight; after backward the centres' gradient is rescaled by
    1/lossWeight and SGD(lr=0.5) steps (KaiyangZhou's training recipe);
  * update 'paper': c_j -= alpha * sum_{i: y_i = j} (c_j - x_i) / (1 + n_j) (the paper's eq. 4).
- arcFace: ArcFace (Deng et al., CVPR 2019) as insightface's ArcMarginProduct (ronghuaiyang's
  arcface-pytorch port) and OML's ArcFaceLoss: cos = normalize(x) @ normalize(W).T,
  sine = sqrt(clamp(1 - cos^2, 1e-12, 1)) (the clamp keeps the gradient finite at cos = +-1),
  phi = cos(theta + m) on the target class, falling back to cos - mm (mm = sin(pi - m) * m) where
  cos <= th = cos(pi - m), or to cos where cos <= 0 with easy_margin; cross_entropy(s * logits).
  Gradients w.r.t. x and W by autograd.
- marginSoftmax: the fused family against references written here in plain torch:
  * ArcFace as above, plus OML's label smoothing (oml/functional/label_smoothing.py semantics:
    (1 - eps) one-hot + eps / n over all classes, or over the target's category when
    label2category is given; fast-reid's eps / (C - 1) to the other classes as 'others') and
    cross-entropy against the smoothed targets;
  * CosFace (Wang et al., CVPR 2018; pytorch-metric-learning's CosFaceLoss): s * (cos - m);
  * Sub-center ArcFace (Deng et al., ECCV 2020; insightface's layout: weight [C * k, d], cosine
    viewed [B, C, k], max over k), then ArcFace;
  * NormalizedSoftmax (Zhai & Wu, BMVC 2019; pytorch-metric-learning): cross_entropy(cos / T);
  * ArcFaceLossWithMLP (OML): Linear -> ReLU -> Linear projector, then ArcFace;
  each with loss, gradients w.r.t. input and every parameter, logits, and 10 steps of
  torch.optim.SGD(momentum 0.9) on the weights (a new batch each step).
- labelSmoothing: OML's label_smoothing, with and without categories, and fast-reid's spread.
- oim: OIM (Xiao et al., CVPR 2017) as open-reid's OIMLoss (reid/loss/oim.py) and person_search's
  circular queue for unlabelled samples (label -1 here): logits = scalar * x @ [lut; queue].T,
  cross_entropy(ignore_index=-1), dL/dx with the table constant, then per sample in batch order
  lut[y] = momentum * lut[y] + (1 - momentum) * x, lut[y] /= ||lut[y]||, or queue[head] = x.
  Three consecutive training calls from a fixed table.
- randn: torch.randn(numClasses, featDim) after torch.manual_seed(seed) (the centres' init).
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def flat(t):
    return t.detach().reshape(-1).tolist()


OPTIMIZERS = [
    ("sgd", {"type": "sgd", "lr": 0.1}),
    ("sgd momentum dampening weightDecay", {"type": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weightDecay": 1e-2}),
    ("sgd nesterov", {"type": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("adam defaults", {"type": "adam"}),
    ("adam weightDecay amsgrad betas", {"type": "adam", "lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "weightDecay": 0.1, "amsgrad": True}),
    ("adamw defaults", {"type": "adamw"}),
    ("adamw amsgrad", {"type": "adamw", "lr": 0.02, "weightDecay": 0.05, "amsgrad": True}),
]


def torch_optimizer(params, o):
    if o["type"] == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o.get("momentum", 0), dampening=o.get("dampening", 0),
                               weight_decay=o.get("weightDecay", 0), nesterov=o.get("nesterov", False))
    cls = torch.optim.Adam if o["type"] == "adam" else torch.optim.AdamW
    kw = {"lr": o.get("lr", 1e-3), "betas": tuple(o.get("betas", (0.9, 0.999))), "eps": o.get("eps", 1e-8),
          "amsgrad": o.get("amsgrad", False)}
    if "weightDecay" in o:
        kw["weight_decay"] = o["weightDecay"]
    return cls(params, **kw)


def optimizer_cases():
    cases = []
    for name, o in OPTIMIZERS:
        g = torch.Generator().manual_seed(11)
        w = torch.randn(3, 4, generator=g).requires_grad_()
        b = torch.randn(4, generator=g).requires_grad_()
        init = {"w": {"data": flat(w), "shape": [3, 4]}, "b": {"data": flat(b), "shape": [4]}}
        opt = torch_optimizer([w, b], o)
        grads = []
        for step in range(10):
            if step == 5:
                for group in opt.param_groups:
                    group["lr"] = group["lr"] * 0.5
            gw, gb = torch.randn(3, 4, generator=g), torch.randn(4, generator=g)
            grads.append({"w": flat(gw), "b": flat(gb)})
            w.grad, b.grad = gw.clone(), gb.clone()
            opt.step()
        cases.append({"name": name, "optimizer": o, "init": init, "grads": grads,
                      "final": {"w": flat(w), "b": flat(b)}})
    return cases


def center_mean(x, labels, centers):
    """KaiyangZhou's CenterLoss.forward (the source document's formula), without its bugs."""
    batch_size, num_classes = x.size(0), centers.size(0)
    distmat = torch.pow(x, 2).sum(dim=1, keepdim=True).expand(batch_size, num_classes) + \
        torch.pow(centers, 2).sum(dim=1, keepdim=True).expand(num_classes, batch_size).t()
    distmat = torch.addmm(distmat, x, centers.t(), beta=1, alpha=-2)
    classes = torch.arange(num_classes).long()
    mask = labels.unsqueeze(1).expand(batch_size, num_classes).eq(classes.expand(batch_size, num_classes))
    dist = distmat * mask.float()
    # one entry per row survives the mask: clamp those (the reference clamps all, then sums the
    # masked-out 1e-12s too; here only the own-class distances, as the source document does)
    own = dist.sum(dim=1).clamp(min=1e-12, max=1e+12)
    return own.sum() / batch_size


def center_paper(x, labels, centers):
    return 0.5 * (x - centers[labels]).pow(2).sum()


def center_cases():
    cases = []
    for formula in ["mean", "paper"]:
        for loss_weight in [1.0, 0.0005]:
            g = torch.Generator().manual_seed(5 if formula == "mean" else 6)
            num_classes, feat_dim, batch = 7, 5, 9
            centers = torch.randn(num_classes, feat_dim, generator=g)
            x = torch.randn(batch, feat_dim, generator=g)
            labels = torch.tensor([0, 3, 3, 6, 1, 0, 3, 2, 6])
            c = centers.clone().requires_grad_()
            xi = x.clone().requires_grad_()
            fn = center_mean if formula == "mean" else center_paper
            loss = loss_weight * fn(xi, labels, c)
            loss.backward()
            c.grad *= 1.0 / loss_weight  # KaiyangZhou's recipe
            center_grad = c.grad.clone()
            opt = torch.optim.SGD([c], lr=0.5)
            opt.step()
            # the paper's update rule from the same batch (alpha 0.5)
            alpha = 0.5
            delta = torch.zeros_like(centers)
            counts = torch.zeros(num_classes)
            for i in range(batch):
                delta[labels[i]] += centers[labels[i]] - x[i]
                counts[labels[i]] += 1
            paper = centers - alpha * delta / (1 + counts).unsqueeze(1)
            cases.append({
                "name": f"formula {formula}, lossWeight {loss_weight}",
                "options": {"numClasses": num_classes, "featDim": feat_dim, "formula": formula, "lossWeight": loss_weight},
                "centers": flat(centers), "input": flat(x), "inputShape": [batch, feat_dim], "labels": labels.tolist(),
                "loss": loss.item(), "gradInput": flat(xi.grad), "gradCenters": flat(center_grad),
                "centersAfterSgd": flat(c), "alpha": alpha, "centersAfterPaperUpdate": flat(paper),
            })
    return cases


def arcface_reference(x, labels, weight, m, s, easy_margin, reduction):
    import math
    import torch.nn.functional as F
    cosine = F.linear(F.normalize(x), F.normalize(weight))
    one_hot = torch.zeros_like(cosine).scatter_(1, labels.view(-1, 1), 1.0)
    target = (cosine * one_hot).sum(dim=1, keepdim=True)
    sine = torch.sqrt((1.0 - target * target).clamp(1e-12, 1))
    phi = target * math.cos(m) - sine * math.sin(m)
    if easy_margin:
        phi = torch.where(target > 0, phi, target)
    else:
        phi = torch.where(target > math.cos(math.pi - m), phi, target - math.sin(math.pi - m) * m)
    logits = (one_hot * phi + (1.0 - one_hot) * cosine) * s
    return F.cross_entropy(logits, labels, reduction=reduction)


def arcface_cases():
    cases = []
    for name, opts in [("defaults (m 0.5, s 64)", {}), ("easyMargin", {"easyMargin": True}),
                       ("m 0.3, s 30, sum", {"m": 0.3, "s": 30.0, "reduction": "sum"})]:
        g = torch.Generator().manual_seed(21)
        num_classes, in_features = 6, 4
        weight = torch.randn(num_classes, in_features, generator=g)
        x = torch.randn(6, in_features, generator=g)
        labels = torch.tensor([0, 2, 5, 2, 1, 4])
        x[3] = -2 * weight[2]   # theta + m > pi: the fallback (cos - mm, or cos with easyMargin)
        x[4] = 3 * weight[1]    # cos = 1: sqrt(1 - cos^2) clamped, finite gradients
        xi, wi = x.clone().requires_grad_(), weight.clone().requires_grad_()
        loss = arcface_reference(xi, labels, wi, opts.get("m", 0.5), opts.get("s", 64.0), opts.get("easyMargin", False),
                                 opts.get("reduction", "mean"))
        loss.backward()
        cases.append({"name": name, "options": {"numClasses": num_classes, "inFeatures": in_features, **opts},
                      "weight": flat(weight), "input": flat(x), "inputShape": [6, in_features], "labels": labels.tolist(),
                      "loss": loss.item(), "gradInput": flat(xi.grad), "gradWeight": flat(wi.grad),
                      "logits": flat(F_logits(x, weight, opts.get("s", 64.0)))})
    torch.manual_seed(3)
    w = torch.empty(5, 7)
    torch.nn.init.xavier_uniform_(w)
    return {"cases": cases, "init": {"seed": 3, "numClasses": 5, "inFeatures": 7, "weight": flat(w)}}


def F_logits(x, weight, s):
    import torch.nn.functional as F
    return F.linear(F.normalize(x), F.normalize(weight)) * s


def smooth_targets(labels, num_classes, eps, categories=None, spread="all"):
    """OML's label_smoothing (spread 'all') and fast-reid's eps / (n - 1) (spread 'others')."""
    one_hot = torch.nn.functional.one_hot(labels, num_classes).double()
    if categories is None:
        support = torch.ones_like(one_hot)
    else:
        support = (categories[labels].unsqueeze(1) == categories.unsqueeze(0)).double()
    if spread == "others":
        support = support - one_hot
    n = support.sum(1, keepdim=True)
    q = one_hot * (1 - eps) + support * eps / n.clamp(min=1)
    return torch.where(n > 0, q, one_hot)


def margin_logits(x, labels, weight, o):
    import math
    import torch.nn.functional as F
    kind, k = o.get("kind", "arcface"), o.get("subCenters", 1)
    cosine = F.linear(F.normalize(x), F.normalize(weight))
    if k > 1:
        cosine = cosine.view(x.shape[0], -1, k).max(dim=2)[0]
    one_hot = torch.zeros_like(cosine).scatter_(1, labels.view(-1, 1), 1.0)
    target = (cosine * one_hot).sum(dim=1, keepdim=True)
    if kind == "cosface":
        phi, s = target - o.get("m", 0.35), o.get("s", 64.0)
    elif kind == "normsoftmax":
        phi, s = target, 1.0 / o.get("temperature", 0.05)
    else:
        m, s = o.get("m", 0.5), o.get("s", 64.0)
        sine = torch.sqrt((1.0 - target * target).clamp(1e-12, 1))
        phi = target * math.cos(m) - sine * math.sin(m)
        if o.get("easyMargin", False):
            phi = torch.where(target > 0, phi, target)
        else:
            phi = torch.where(target > math.cos(math.pi - m), phi, target - math.sin(math.pi - m) * m)
    return (one_hot * phi + (1.0 - one_hot) * cosine) * s, cosine * s


def margin_loss(x, labels, weight, o):
    logits, _ = margin_logits(x, labels, weight, o)
    eps = o.get("smoothingEpsilon", 0.0)
    cats = o.get("label2category")
    q = smooth_targets(labels, logits.shape[1], eps, None if cats is None else torch.tensor(cats),
                       o.get("smoothingSpread", "all")).to(logits.dtype)
    losses = -(q * logits.log_softmax(1)).sum(1)
    reduction = o.get("reduction", "mean")
    return losses if reduction == "none" else losses.sum() if reduction == "sum" else losses.mean()


MARGIN_CASES = [
    ("ArcFaceLoss", "arcface smoothing 0.1", {"smoothingEpsilon": 0.1}),
    ("ArcFaceLoss", "arcface smoothing 0.2 in categories", {"smoothingEpsilon": 0.2, "label2category": [0, 0, 1, 1, 1, 2]}),
    ("ArcFaceLoss", "arcface smoothing 0.2 others (fast-reid), sum", {"smoothingEpsilon": 0.2, "smoothingSpread": "others", "reduction": "sum"}),
    ("ArcFaceLoss", "arcface easyMargin m 0.3 s 30", {"easyMargin": True, "m": 0.3, "s": 30.0}),
    ("CosFaceLoss", "cosface defaults", {"kind": "cosface"}),
    ("CosFaceLoss", "cosface m 0.2 s 16 smoothing in categories", {"kind": "cosface", "m": 0.2, "s": 16.0, "smoothingEpsilon": 0.1, "label2category": [0, 1, 0, 1, 0, 1]}),
    ("SubCenterArcFaceLoss", "subcenter k 3", {"subCenters": 3}),
    ("SubCenterArcFaceLoss", "subcenter k 2 m 0.2 s 10", {"subCenters": 2, "m": 0.2, "s": 10.0}),
    ("NormalizedSoftmaxLoss", "normsoftmax defaults", {"kind": "normsoftmax"}),
    ("NormalizedSoftmaxLoss", "normsoftmax temperature 0.5 smoothing", {"kind": "normsoftmax", "temperature": 0.5, "smoothingEpsilon": 0.3}),
    ("ArcFaceLossWithMLP", "arcface with MLP [7, 5]", {"mlpFeatures": [7, 5], "s": 16.0}),
]


def module_options(o):
    """The module's options: `kind` picks the class, the rest passes through."""
    return {key: value for key, value in o.items() if key != "kind"}


def margin_cases():
    cases = []
    for module, name, o in MARGIN_CASES:
        g = torch.Generator().manual_seed(31)
        num_classes, in_features, batch = 6, 4, 8
        k = o.get("subCenters", 1)
        layers = []
        features = in_features
        for width in o.get("mlpFeatures", []):
            layers += [torch.randn(width, features, generator=g) * 0.5, torch.randn(width, generator=g) * 0.1]
            features = width
        weight = torch.randn(num_classes * k, features, generator=g)
        batches = []
        for step in range(10):
            x = torch.randn(batch, in_features, generator=g)
            labels = torch.randint(0, num_classes, (batch,), generator=g)
            if step == 0 and not layers:
                labels[:3] = torch.tensor([2, 1, 4])
                x[0] = -2 * weight[2 * k]     # theta + m > pi for ArcFace (cos = -1 for k = 1)
                x[1] = 3 * weight[1 * k]      # cos = 1: the clamp keeps the gradient finite
            batches.append((x, labels))
        params = [t.clone().requires_grad_() for t in layers + [weight]]
        opt = torch.optim.SGD(params, lr=0.05, momentum=0.9)
        first = None
        for step, (x, labels) in enumerate(batches):
            opt.zero_grad()
            xi = x.clone().requires_grad_()
            h = xi
            for i in range(0, len(layers), 2):
                h = torch.nn.functional.linear(h, params[i], params[i + 1])
                if i + 2 < len(layers):
                    h = torch.relu(h)
            loss = margin_loss(h, labels, params[-1], o)
            loss.backward()
            if step == 0:
                names = [f"mlp.{i // 2}.{'weight' if i % 2 == 0 else 'bias'}" for i in range(len(layers))] + ["weight"]
                first = {"loss": loss.item(), "gradInput": flat(xi.grad),
                         "gradParams": {n: flat(p.grad) for n, p in zip(names, params)},
                         "logits": flat(margin_logits(h.detach(), labels, params[-1].detach(), o)[1])}
            opt.step()
        names = [f"mlp.{i // 2}.{'weight' if i % 2 == 0 else 'bias'}" for i in range(len(layers))] + ["weight"]
        init = {n: {"data": flat(t), "shape": list(t.shape)} for n, t in zip(names, layers + [weight])}
        cases.append({"module": module, "name": name,
                      "options": {"numClasses": num_classes, "inFeatures": in_features, **module_options(o)},
                      "init": init, "inputShape": [batch, in_features],
                      "batches": [{"input": flat(x), "labels": labels.tolist()} for x, labels in batches],
                      **first, "final": {n: flat(p) for n, p in zip(names, params)}})
    return cases


def label_smoothing_cases():
    labels = torch.tensor([0, 3, 5, 2])
    cats = torch.tensor([0, 0, 1, 1, 1, 2])
    out = []
    for eps, categories, spread in [(0.2, None, "all"), (0.1, cats, "all"), (0.3, None, "others"), (0.2, cats, "others")]:
        out.append({"labels": labels.tolist(), "numClasses": 6, "epsilon": eps,
                    "categories": None if categories is None else categories.tolist(), "spread": spread,
                    "targets": flat(smooth_targets(labels, 6, eps, categories, spread).float())})
    return out


def oim_cases():
    import torch.nn.functional as F
    cases = []
    for name, o in [("scalar 10, queue 3", {"scalar": 10.0, "momentum": 0.5, "queueSize": 3}),
                    ("defaults, sum", {"reduction": "sum"}),
                    ("momentum 0.9, scalar 30, queue 2", {"scalar": 30.0, "momentum": 0.9, "queueSize": 2})]:
        g = torch.Generator().manual_seed(41)
        num_classes, feat_dim, batch = 5, 4, 6
        lut = F.normalize(torch.randn(num_classes, feat_dim, generator=g))
        queue = torch.zeros(o.get("queueSize", 0), feat_dim)
        init = {"lut": {"data": flat(lut), "shape": [num_classes, feat_dim]}}
        if queue.shape[0]:
            queue = F.normalize(torch.randn(queue.shape[0], feat_dim, generator=g))
            init["queue"] = {"data": flat(queue), "shape": list(queue.shape)}
        head = 0
        steps = []
        scalar, momentum = o.get("scalar", 1.0), o.get("momentum", 0.5)
        for step in range(3):
            x = F.normalize(torch.randn(batch, feat_dim, generator=g))
            labels = torch.tensor([[0, 2, -1, 2, 4, -1], [1, -1, 3, 3, 0, -1], [-1, 4, 4, 1, 2, 0]][step])
            xi = x.clone().requires_grad_()
            table = torch.cat([lut, queue]) if queue.shape[0] else lut
            logits = scalar * xi @ table.t()
            loss = F.cross_entropy(logits, labels, ignore_index=-1, reduction=o.get("reduction", "mean"))
            loss.backward()
            steps.append({"input": flat(x), "labels": labels.tolist(), "loss": loss.item(), "gradInput": flat(xi.grad)})
            for xr, y in zip(x, labels.tolist()):
                if y >= 0:
                    lut[y] = momentum * lut[y] + (1 - momentum) * xr
                    lut[y] /= lut[y].norm()
                elif queue.shape[0]:
                    queue[head] = xr
                    head = (head + 1) % queue.shape[0]
        cases.append({"name": name, "options": {"numClasses": num_classes, "featDim": feat_dim, **o}, "init": init,
                      "inputShape": [batch, feat_dim], "steps": steps, "lut": flat(lut), "queue": flat(queue)})
    return cases


def randn_cases():
    out = []
    for seed, shape in [(0, [4, 3]), (7, [10, 20]), (123, [33, 17])]:
        torch.manual_seed(seed)
        out.append({"seed": seed, "shape": shape, "data": flat(torch.randn(*shape))})
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "fixtures", "modules", "modules.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    data = {"torch": torch.__version__, "optimizers": optimizer_cases(), "centerLoss": center_cases(),
            "randn": randn_cases(), "arcFace": arcface_cases(), "marginSoftmax": margin_cases(),
            "labelSmoothing": label_smoothing_cases(), "oim": oim_cases()}
    with open(out, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main()
