// Runs a loss written as plain ATen ops through libtorch autograd. This is the reference the
// hand-written backward passes are tested against (and the fallback for losses without one).
#pragma once
#include <functional>

#include "loss_output.h"

namespace tl::ops {

using LossExpression = std::function<at::Tensor(const std::vector<at::Tensor>& inputs)>;

// `inputs` are detached copies made to require grad; `expression` returns the per-element losses
// (before reduction). Gradients are returned for every input.
LossOutput runWithAutograd(const std::vector<at::Tensor>& inputs, Reduction reduction,
                           bool needGrad, const LossExpression& expression);

}  // namespace tl::ops
