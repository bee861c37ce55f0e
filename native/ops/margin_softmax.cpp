#include "margin_softmax.h"

#include <cmath>

#include "cpu/margin_softmax_kernel.h"

namespace tl::ops {
namespace {

constexpr double kNormEps = 1e-12;  // F.normalize's eps

struct UnitRows {
  at::Tensor unit;  // rows / max(||row||, eps)
  at::Tensor norm;  // ||row||, [n, 1]
};

// `slot` when it has the shape and options already (a workspace buffer), else a new one there.
at::Tensor reuse(at::Tensor* slot, at::IntArrayRef sizes, const at::TensorOptions& options) {
  if (!slot) return at::empty(sizes, options);
  if (!slot->defined() || slot->sizes() != sizes || slot->options().dtype() != options.dtype() ||
      slot->device() != options.device()) {
    *slot = at::empty(sizes, options);
  }
  return *slot;
}

UnitRows normalizeRows(const at::Tensor& t, at::Tensor* slot = nullptr) {
  at::Tensor norm = t.norm(2, {1}, /*keepdim=*/true);
  at::Tensor unit = reuse(slot, t.sizes(), t.options());
  at::div_out(unit, t, norm.clamp_min(kNormEps));
  return {unit, norm};
}

// d/dv of v / max(||v||, eps) applied to g (overwritten): (g - u (u . g)) / ||v|| where
// ||v|| >= eps (clamp_min passes the gradient there, as torch's does), g / eps below it. Finite
// for zero rows.
at::Tensor normalizeRowsBackward(at::Tensor g, const UnitRows& r) {
  if (g.is_cpu() && g.is_contiguous() && r.unit.is_contiguous()) {
    cpu::normalizeRowsBackwardInPlace(g, r.unit, r.norm.contiguous(), kNormEps);
    return g;
  }
  const at::Tensor radial = (g * r.unit).sum(1, /*keepdim=*/true).mul_(r.norm.ge(kNormEps));
  return g.sub_(r.unit * radial).div_(r.norm.clamp_min(kNormEps));
}

// The target column's margin phi(t) and its derivative dphi/dt, t = cos(theta_y) [B, 1].
std::pair<at::Tensor, at::Tensor> applyMargin(const at::Tensor& t, const MarginSoftmaxOptions& o) {
  if (o.kind == MarginKind::Cos) return {t - o.m, at::ones_like(t)};
  if (o.kind == MarginKind::Plain) return {t, at::ones_like(t)};
  // cos(theta + m) = t cos m - sin(theta) sin m, sin(theta) = sqrt(clamp(1 - t^2, 1e-12, 1)): the
  // clamp keeps t = +-1 (duplicates of a class weight, rounding) finite; its derivative is 0 there.
  const double cosM = std::cos(o.m), sinM = std::sin(o.m);
  const at::Tensor oneMinus = 1 - t * t;
  const at::Tensor sine = oneMinus.clamp(1e-12, 1).sqrt();
  const at::Tensor inRange = oneMinus.ge(1e-12).logical_and_(oneMinus.le(1));
  const at::Tensor phi = t * cosM - sine * sinM;
  const at::Tensor dphi = (t / sine * sinM).mul_(inRange).add_(cosM);
  // Past theta + m > pi, cos(theta + m) would grow again: insightface's fallback t - sin(pi - m) m
  // (monotone), or with easyMargin the plain t where t <= 0.
  const at::Tensor keep = o.easyMargin ? t.gt(0) : t.gt(std::cos(M_PI - o.m));
  const at::Tensor other = o.easyMargin ? t : t - std::sin(M_PI - o.m) * o.m;
  return {at::where(keep, phi, other), at::where(keep, dphi, at::ones_like(t))};
}

}  // namespace

at::Tensor smoothTargets(const at::Tensor& labels, int64_t numClasses, double epsilon, const at::Tensor& categories,
                         SmoothingSpread spread, at::ScalarType dtype) {
  const auto options = at::TensorOptions().dtype(dtype).device(labels.device());
  const at::Tensor y = labels.unsqueeze(1);
  const at::Tensor oneHot = at::zeros({labels.size(0), numClasses}, options).scatter_(1, y, 1.0);
  // support: the classes that share epsilon (all, or the label's category), target included.
  at::Tensor support = categories.defined()
                           ? categories.unsqueeze(0).eq(categories.index_select(0, labels).unsqueeze(1)).to(dtype)
                           : at::ones({labels.size(0), numClasses}, options);
  if (spread == SmoothingSpread::Others) support = support - oneHot;
  const at::Tensor size = support.sum(1, /*keepdim=*/true);
  // A support without classes (one class in the category, 'others') keeps the one-hot.
  const at::Tensor share = at::where(size.gt(0), epsilon / size.clamp_min(1), at::zeros_like(size));
  const at::Tensor kept = at::where(size.gt(0), at::full_like(size, 1 - epsilon), at::ones_like(size));
  return oneHot * kept + support * share;
}

at::Tensor marginSoftmaxLogits(const at::Tensor& input, const at::Tensor& weight, double s, int64_t subCenters) {
  at::NoGradGuard noGrad;
  at::Tensor cosine = at::mm(normalizeRows(input).unit, normalizeRows(weight).unit.t());
  if (subCenters > 1) cosine = std::get<0>(cosine.view({input.size(0), -1, subCenters}).max(2));
  return cosine.mul_(s);
}

LossOutput marginSoftmaxLoss(const at::Tensor& input, const at::Tensor& labels, const at::Tensor& weight,
                             const MarginSoftmaxOptions& o, bool needGrad, MarginSoftmaxWorkspace* workspace) {
  at::NoGradGuard noGrad;
  const int64_t batch = input.size(0);
  const int64_t k = o.subCenters;
  const int64_t numClasses = weight.size(0) / k;
  const UnitRows x = normalizeRows(input);
  const UnitRows w = normalizeRows(weight, workspace ? &workspace->unitWeight : nullptr);

  // s * cos, [B, C * k]: the one big product (s scales the B x d side, not the B x C result)
  at::Tensor logits = reuse(workspace ? &workspace->logits : nullptr, {batch, weight.size(0)}, input.options());
  at::mm_out(logits, x.unit * o.s, w.unit.t());
  at::Tensor nearest;  // the sub-centre each class's max came from
  if (k > 1) std::tie(logits, nearest) = logits.view({batch, numClasses, k}).max(2);

  const at::Tensor y = labels.unsqueeze(1);
  const at::Tensor target = logits.gather(1, y) / o.s;
  const auto [phi, dphi] = applyMargin(target, o);
  logits.scatter_(1, y, phi * o.s);

  // Cross-entropy against q: loss_i = logsumexp_i - sum_j q_ij z_ij; dL/dz = softmax - q.
  const bool smooth = o.smoothingEpsilon > 0;
  at::Tensor q = smooth ? smoothTargets(labels, numClasses, o.smoothingEpsilon, o.label2category, o.spread,
                                        logits.scalar_type())
                        : at::Tensor();
  const at::Tensor expected = smooth ? (q * logits).sum(1, true) : logits.gather(1, y);
  // The backward's factor: the reduction's 1/B times s (dz/dcos).
  const double gradScale = reductionScale(o.reduction, batch) * o.s;
  // With needGrad the logits buffer becomes gradScale * softmax in place.
  at::Tensor lse;
  if (logits.is_cpu() && logits.is_contiguous()) {
    lse = cpu::logSumExpRows(logits, needGrad, gradScale);
  } else {
    lse = logits.logsumexp(1, /*keepdim=*/true);
    if (needGrad) logits.sub_(lse).exp_().mul_(gradScale);
  }
  LossOutput out{reduce((lse - expected).squeeze(1), o.reduction), {}};
  if (!needGrad) return out;

  at::Tensor grad = logits;
  if (smooth) grad.sub_(q.mul_(gradScale));
  else grad.scatter_add_(1, y, at::full_like(target, -gradScale));
  grad.scatter_(1, y, grad.gather(1, y).mul_(dphi));  // through the margin on the target column
  if (k > 1) {
    // max over sub-centres: the gradient goes to the sub-centre that was chosen
    grad = at::zeros({batch, numClasses, k}, grad.options()).scatter_(2, nearest.unsqueeze(2), grad.unsqueeze(2))
               .view({batch, numClasses * k});
  }
  out.grads.push_back(normalizeRowsBackward(at::mm(grad, w.unit), x));
  at::Tensor gradWeight = reuse(workspace ? &workspace->gradWeight : nullptr, weight.sizes(), weight.options());
  out.grads.push_back(normalizeRowsBackward(at::mm_out(gradWeight, grad.t(), x.unit), w));
  return out;
}

}  // namespace tl::ops
