"""PyTorch side of the parameter-module rows of `npm run bench` (imported by bench/reference.py).

Cases (bench/modules.js sends them; each step is one forward+backward, gradients of the input
and of the module's parameters, `.grad = None` first):

- centerLoss, impl "distmat": the center loss as source document 000 and KaiyangZhou's
  deep-person-reid CenterLoss write it (Wen et al., ECCV 2016): the B x C distance matrix
  ||x||^2 + ||c||^2 - 2 x.c (addmm), masked to each row's own class, clamped to [1e-12, 1e12],
  summed and divided by B. Its cost grows with C.
- arcface, impl "torch": ArcFace (Deng et al., CVPR 2019) composed from torch ops as insightface's
  ArcMarginProduct / OML's ArcFaceLoss do: normalize, linear, the target's cos(theta + m) with
  the th / mm fallback, one-hot blend, * s, cross_entropy.
- arcface, impl "floor": one (B x d) @ (d x C) torch.mm: the least a forward can cost (the
  forward+backward needs three such products).
"""
import math

import torch
import torch.nn.functional as F


def center_loss_distmat(x, labels, centers):
    batch, num_classes = x.size(0), centers.size(0)
    distmat = torch.pow(x, 2).sum(dim=1, keepdim=True).expand(batch, num_classes) + \
        torch.pow(centers, 2).sum(dim=1, keepdim=True).expand(num_classes, batch).t()
    distmat = torch.addmm(distmat, x, centers.t(), beta=1, alpha=-2)
    classes = torch.arange(num_classes, dtype=torch.long)
    mask = labels.unsqueeze(1).expand(batch, num_classes).eq(classes.expand(batch, num_classes))
    dist = distmat * mask.float()
    return dist.clamp(min=1e-12, max=1e12).sum() / batch


def arcface_torch(x, labels, weight, m=0.5, s=64.0):
    cosine = F.linear(F.normalize(x), F.normalize(weight))
    sine = torch.sqrt((1.0 - cosine * cosine).clamp(1e-12, 1))
    phi = cosine * math.cos(m) - sine * math.sin(m)
    phi = torch.where(cosine > math.cos(math.pi - m), phi, cosine - math.sin(math.pi - m) * m)
    one_hot = torch.zeros_like(cosine).scatter_(1, labels.view(-1, 1), 1.0)
    logits = (one_hot * phi + (1.0 - one_hot) * cosine) * s
    return F.cross_entropy(logits, labels)


def make_step(case, seed):
    gen = torch.Generator().manual_seed(seed)
    b, d, c = case["batch"], case["dim"], case["classes"]
    x = torch.randn(b, d, generator=gen)
    labels = torch.randint(0, c, (b,), generator=gen)
    param = torch.randn(c, d, generator=gen)
    impl = case["impl"]
    if impl == "floor":
        return lambda: torch.mm(x, param.t())
    x.requires_grad_()
    param.requires_grad_()
    fn = {"distmat": center_loss_distmat, "torch": arcface_torch}[impl]

    def step():
        x.grad = None
        param.grad = None
        fn(x, labels, param).backward()

    step()
    return step
