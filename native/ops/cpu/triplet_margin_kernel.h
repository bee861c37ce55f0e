// Fused CPU kernel of TripletMarginLoss: one pass per triplet computes the distances, the hinge
// and the gradients, instead of ~25 ATen ops. Used for contiguous CPU float/double inputs.
#pragma once
#include "../triplet_margin.h"

namespace tl::ops::cpu {

LossOutput tripletMarginKernel(const at::Tensor& anchor, const at::Tensor& positive,
                               const at::Tensor& negative, const TripletMarginOptions& options,
                               bool needGrad);

}  // namespace tl::ops::cpu
