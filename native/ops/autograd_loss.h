// Runs a loss written as plain ATen ops through libtorch autograd: the implementation of the
// torch.nn losses whose ATen kernels already carry their backward, and the reference that the
// hand-written backward passes (triplet, margin ranking) are tested against.
#pragma once
#include <functional>

#include "loss_output.h"

namespace tl::ops {

// Receives the differentiable inputs (as leaves requiring grad) and returns the loss after the
// reduction (per-element losses for Reduction::None). Constants are captured by the lambda.
using LossExpression = std::function<at::Tensor(const std::vector<at::Tensor>& leaves)>;

// Gradients are returned for every entry of `differentiable` (of loss.sum() for 'none').
LossOutput lossWithAutograd(const std::vector<at::Tensor>& differentiable, Reduction reduction,
                            bool needGrad, const LossExpression& expression);

}  // namespace tl::ops
