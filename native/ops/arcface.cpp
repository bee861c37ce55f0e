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

at::Tensor arcFaceLogits(const at::Tensor& input, const at::Tensor& weight, double s) {
  at::NoGradGuard noGrad;
  return at::matmul(normalizeRows(input), normalizeRows(weight).t()) * s;
}

LossOutput arcFaceLoss(const at::Tensor& input, const at::Tensor& labels, const at::Tensor& weight,
                       const ArcFaceOptions& o, bool needGrad) {
  const double cosM = std::cos(o.m), sinM = std::sin(o.m);
  const double th = std::cos(M_PI - o.m), mm = std::sin(M_PI - o.m) * o.m;
  const at::Tensor y = labels.unsqueeze(1);
  return lossWithAutograd({input, weight}, o.reduction, needGrad, [&](const std::vector<at::Tensor>& leaves) {
    const at::Tensor cosine = at::matmul(normalizeRows(leaves[0]), normalizeRows(leaves[1]).t());  // [B, C]
    const at::Tensor target = cosine.gather(1, y);                                                 // [B, 1]
    const at::Tensor sine = (1 - target * target).clamp(1e-12, 1).sqrt();
    const at::Tensor phi = target * cosM - sine * sinM;  // cos(theta + m)
    const at::Tensor margin = o.easyMargin ? at::where(target > 0, phi, target)
                                           : at::where(target > th, phi, target - mm);
    const at::Tensor logits = cosine.scatter(1, y, margin) * o.s;
    return at::cross_entropy_loss(logits, labels, {}, atReduction(o.reduction));
  });
}

}  // namespace tl::ops
