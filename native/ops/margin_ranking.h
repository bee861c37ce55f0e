// MarginRankingLoss: loss_i = max(0, -y_i * (x1_i - x2_i) + margin)   (torch.nn.MarginRankingLoss)
#pragma once
#include "loss_output.h"

namespace tl::ops {

struct MarginRankingOptions {
  double margin = 0.0;
  Reduction reduction = Reduction::Mean;
};

// Forward and backward in one call: the fused CPU kernel (cpu/) for contiguous CPU tensors,
// else the device-generic ATen version below. Gradients: input1, input2, target.
LossOutput marginRankingLoss(const at::Tensor& input1, const at::Tensor& input2,
                             const at::Tensor& target, const MarginRankingOptions& options,
                             bool needGrad);

// Closed-form backward written with ATen ops, for any device (the CUDA path).
LossOutput marginRankingLossGeneric(const at::Tensor& input1, const at::Tensor& input2,
                  const at::Tensor& target, const MarginRankingOptions& options, bool needGrad);

// The same loss composed from ATen ops and differentiated by autograd (test reference).
LossOutput marginRankingLossReference(const at::Tensor& input1, const at::Tensor& input2,
                                      const at::Tensor& target,
                                      const MarginRankingOptions& options, bool needGrad);

}  // namespace tl::ops
