#include "embedding_losses.h"

#include "autograd_loss.h"
#include "cpu/cosine_embedding_kernel.h"
#include "cpu/pointwise_kernels.h"
#include "kernel_choice.h"
#include "shape_checks.h"
#include "triplet_margin.h"

namespace tl::ops {

LossOutput hingeEmbeddingLoss(const at::Tensor& input, const at::Tensor& target, double margin,
                              Reduction reduction, bool needGrad) {
  requireSameShape("target", target, "input", input);
  requireNonEmpty("input", input);
  if (fusedCpuKernelApplies({input, target})) return cpu::hingeEmbeddingKernel(input, target, margin, reduction, needGrad);
  return lossWithAutograd({input}, reduction, needGrad, [&](const std::vector<at::Tensor>& x) {
    return at::hinge_embedding_loss(x[0], target, margin, atReduction(reduction));
  });
}

LossOutput cosineEmbeddingLoss(const at::Tensor& input1, const at::Tensor& input2,
                               const at::Tensor& target, double margin, Reduction reduction,
                               bool needGrad) {
  requireDims("input1", input1, 1, 2);
  requireSameShape("input2", input2, "input1", input1);
  requireNonEmpty("input1", input1);
  const int64_t pairs = input1.dim() == 2 ? input1.size(0) : 1;
  if (target.numel() != pairs || target.dim() != input1.dim() - 1) {
    rangeError("`target` must have shape ", input1.dim() == 2 ? "[" + std::to_string(pairs) + "]" : "[]",
               " (one label per pair), got ", target.sizes());
  }
  if (input1.dim() == 2 && fusedCpuKernelApplies({input1, input2}) && fusedCpuKernelApplies({target}) &&
      target.scalar_type() == input1.scalar_type()) {
    return cpu::cosineEmbeddingKernel(input1, input2, target, margin, reduction, needGrad);
  }
  return lossWithAutograd({input1, input2}, reduction, needGrad, [&](const std::vector<at::Tensor>& x) {
    return at::cosine_embedding_loss(x[0], x[1], target, margin, atReduction(reduction));
  });
}

LossOutput tripletMarginWithDistanceLoss(const at::Tensor& anchor, const at::Tensor& positive,
                                         const at::Tensor& negative,
                                         const TripletWithDistanceOptions& o, bool needGrad) {
  requireDims("anchor", anchor, 1, 2);
  requireSameShape("positive", positive, "anchor", anchor);
  requireSameShape("negative", negative, "anchor", anchor);
  requireNonEmpty("anchor", anchor);
  if (!(o.margin > 0)) rangeError("`margin` must be > 0, got ", o.margin);
  if (o.distance == TripletDistance::PairwiseNorm && !(o.p > 0)) rangeError("`p` must be > 0, got ", o.p);
  if (o.distance == TripletDistance::PairwiseNorm && anchor.dim() == 2 && !referenceKernelsOnly) {
    // With a p-norm distance this is F.triplet_margin_loss, step for step: take its fused kernel.
    return tripletMarginLoss(anchor, positive, negative,
                             TripletMarginOptions{o.margin, o.p, o.eps, o.swap, o.reduction}, needGrad);
  }
  const auto distance = [&o](const at::Tensor& x, const at::Tensor& y) {
    if (o.distance == TripletDistance::Cosine) return 1.0 - at::cosine_similarity(x, y, -1, 1e-8);
    return at::pairwise_distance(x, y, o.p, o.eps, false);
  };
  // torch.nn.functional.triplet_margin_with_distance_loss, step by step.
  return lossWithAutograd({anchor, positive, negative}, o.reduction, needGrad,
                          [&](const std::vector<at::Tensor>& x) {
                            const at::Tensor positiveDistance = distance(x[0], x[1]);
                            at::Tensor negativeDistance = distance(x[0], x[2]);
                            if (o.swap) negativeDistance = at::min(negativeDistance, distance(x[1], x[2]));
                            return reduce(at::clamp_min(o.margin + positiveDistance - negativeDistance, 0),
                                          o.reduction);
                          });
}

}  // namespace tl::ops
