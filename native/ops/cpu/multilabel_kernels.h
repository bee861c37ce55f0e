// Fused CPU kernels of the multi-label losses on (N, C) scores: one pass per row for the loss and
// the closed-form gradient, without autograd. Callers check arguments and layouts first.
#pragma once
#include <optional>

#include "../loss_output.h"

namespace tl::ops::cpu {

// target (N, C) in the input's dtype (0 / 1, or soft), weight (C) or none. grads: {input, target}.
LossOutput multiLabelSoftMarginKernel(const at::Tensor& input, const at::Tensor& target,
                                      const std::optional<at::Tensor>& weight, Reduction reduction, bool needGrad);

// labels (N, C) int64: each row's target classes, ended by -1. grads: {input}.
LossOutput multiLabelMarginKernel(const at::Tensor& input, const at::Tensor& labels, Reduction reduction, bool needGrad);

}  // namespace tl::ops::cpu
