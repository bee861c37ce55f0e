#include "triplet_margin.h"

#include <cmath>

#include "autograd_loss.h"
#include "cpu/triplet_margin_kernel.h"
#include "shape_checks.h"

namespace tl::ops {
namespace {

void checkInputs(const at::Tensor& anchor, const at::Tensor& positive, const at::Tensor& negative,
                 const TripletMarginOptions& options) {
  requireDims("anchor", anchor, 1, 2);
  requireSameShape("positive", positive, "anchor", anchor);
  requireSameShape("negative", negative, "anchor", anchor);
  requireNonEmpty("anchor", anchor);
  if (!(options.p > 0)) rangeError("`p` must be > 0, got ", options.p);
}

// A p-norm over the last dimension and its gradient with respect to its argument.
struct NormWithGrad {
  at::Tensor norm;      // (...)
  at::Tensor gradient;  // (..., D): d norm / d difference, zero where the norm is zero
};

NormWithGrad pNorm(const at::Tensor& difference, double p, bool needGrad) {
  NormWithGrad out{at::linalg_vector_norm(difference, p, {-1}, /*keepdim=*/false), {}};
  if (!needGrad) return out;
  const at::Tensor norm = out.norm.unsqueeze(-1);
  if (p == 2.0) {
    out.gradient = difference / norm;
  } else if (p == 1.0) {
    out.gradient = difference.sign();
  } else if (std::isinf(p)) {
    // The max-abs entries share the gradient equally, as PyTorch's amax backward does.
    const at::Tensor isMax = (difference.abs() == norm).to(difference.scalar_type());
    out.gradient = difference.sign() * isMax / isMax.sum(-1, /*keepdim=*/true);
  } else {
    out.gradient = difference * difference.abs().pow(p - 2) / norm.pow(p - 1);
    out.gradient.masked_fill_(difference == 0, 0);  // 0 * inf for p < 2; PyTorch gives 0
  }
  // Zero distance (identical embeddings): a finite, zero subgradient instead of 0/0.
  out.gradient.masked_fill_(norm == 0, 0);
  return out;
}

}  // namespace

LossOutput tripletMarginLossGeneric(const at::Tensor& anchor, const at::Tensor& positive,
                             const at::Tensor& negative, const TripletMarginOptions& options,
                             bool needGrad) {
  checkInputs(anchor, positive, negative, options);
  const NormWithGrad ap = pNorm(anchor - positive + options.eps, options.p, needGrad);
  const NormWithGrad an = pNorm(anchor - negative + options.eps, options.p, needGrad);
  at::Tensor negativeDistance = an.norm;
  at::Tensor swapShare;  // 1 where d(p, n) replaced d(a, n), 0.5 on a tie (PyTorch's minimum), else 0
  NormWithGrad pn;
  if (options.swap) {
    pn = pNorm(positive - negative + options.eps, options.p, needGrad);
    negativeDistance = at::minimum(an.norm, pn.norm);
    swapShare = (pn.norm < an.norm).to(pn.norm.scalar_type()) + 0.5 * (pn.norm == an.norm).to(pn.norm.scalar_type());
  }
  const at::Tensor hinge = options.margin + ap.norm - negativeDistance;
  LossOutput out{reduce(hinge.clamp_min(0), options.reduction), {}};
  if (!needGrad) return out;

  // Upstream weight per triplet, broadcast over the feature dimension.
  const at::Tensor weight = (hinge >= 0).to(hinge.scalar_type())
                                .mul_(reductionScale(options.reduction, hinge.numel()))
                                .unsqueeze(-1);
  const at::Tensor gradAp = weight * ap.gradient;
  at::Tensor gradAnchor = gradAp.clone();
  at::Tensor gradPositive = -gradAp;
  at::Tensor gradNegative;
  if (options.swap) {
    const at::Tensor share = swapShare.unsqueeze(-1);
    const at::Tensor gradAn = weight * (1 - share) * an.gradient;
    const at::Tensor gradPn = weight * share * pn.gradient;
    gradAnchor -= gradAn;
    gradPositive -= gradPn;
    gradNegative = gradAn + gradPn;
  } else {
    const at::Tensor gradAn = weight * an.gradient;
    gradAnchor -= gradAn;
    gradNegative = gradAn;
  }
  out.grads = {gradAnchor, gradPositive, gradNegative};
  return out;
}

LossOutput tripletMarginLoss(const at::Tensor& anchor, const at::Tensor& positive, const at::Tensor& negative,
                  const TripletMarginOptions& options, bool needGrad) {
  const bool cpuContiguous = anchor.is_cpu() && positive.is_cpu() && negative.is_cpu() &&
                             anchor.is_contiguous() && positive.is_contiguous() && negative.is_contiguous();
  if (!cpuContiguous) return tripletMarginLossGeneric(anchor, positive, negative, options, needGrad);
  checkInputs(anchor, positive, negative, options);
  return cpu::tripletMarginKernel(anchor, positive, negative, options, needGrad);
}

LossOutput tripletMarginLossReference(const at::Tensor& anchor, const at::Tensor& positive,
                                      const at::Tensor& negative,
                                      const TripletMarginOptions& options, bool needGrad) {
  checkInputs(anchor, positive, negative, options);
  const TripletMarginOptions o = options;
  return lossWithAutograd({anchor, positive, negative}, o.reduction, needGrad,
                          [o](const std::vector<at::Tensor>& x) {
                            return at::triplet_margin_loss(x[0], x[1], x[2], o.margin, o.p, o.eps,
                                                           o.swap, atReduction(o.reduction));
                          });
}

}  // namespace tl::ops
