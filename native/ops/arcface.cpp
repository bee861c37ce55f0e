#include "arcface.h"

#include <cmath>

#include "autograd_loss.h"

namespace tl::ops {
namespace {

at::Tensor normalizeRows(const at::Tensor& t) {
  // F.normalize(t, dim=1, eps=1e-12)
  return t / t.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
}

}  // namespace

LossOutput marginSoftmaxLossAutograd(const at::Tensor& input, const at::Tensor& labels, const at::Tensor& weight,
                                     const MarginSoftmaxOptions& o, bool needGrad) {
  const double cosM = std::cos(o.m), sinM = std::sin(o.m);
  const double th = std::cos(M_PI - o.m), mm = std::sin(M_PI - o.m) * o.m;
  const int64_t k = o.subCenters, numClasses = weight.size(0) / k;
  const at::Tensor y = labels.unsqueeze(1);
  return lossWithAutograd({input, weight}, o.reduction, needGrad, [&](const std::vector<at::Tensor>& leaves) {
    at::Tensor cosine = at::matmul(normalizeRows(leaves[0]), normalizeRows(leaves[1]).t());  // [B, C * k]
    if (k > 1) cosine = std::get<0>(cosine.view({input.size(0), numClasses, k}).max(2));
    const at::Tensor target = cosine.gather(1, y);                                           // [B, 1]
    at::Tensor margin = target;
    if (o.kind == MarginKind::Cos) {
      margin = target - o.m;
    } else if (o.kind == MarginKind::Arc) {
      const at::Tensor sine = (1 - target * target).clamp(1e-12, 1).sqrt();
      const at::Tensor phi = target * cosM - sine * sinM;  // cos(theta + m)
      margin = o.easyMargin ? at::where(target > 0, phi, target) : at::where(target > th, phi, target - mm);
    }
    const at::Tensor logits = cosine.scatter(1, y, margin) * o.s;
    if (o.smoothingEpsilon == 0) return at::cross_entropy_loss(logits, labels, {}, atReduction(o.reduction));
    const at::Tensor q = smoothTargets(labels, numClasses, o.smoothingEpsilon, o.label2category, o.spread,
                                       logits.scalar_type());
    return reduce(-(q * logits.log_softmax(1)).sum(1), o.reduction);
  });
}

}  // namespace tl::ops
