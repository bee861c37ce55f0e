// Fused CPU kernel of MarginRankingLoss: loss and the three gradients in one elementwise pass.
#pragma once
#include "../margin_ranking.h"

namespace tl::ops::cpu {

LossOutput marginRankingKernel(const at::Tensor& input1, const at::Tensor& input2,
                               const at::Tensor& target, const MarginRankingOptions& options,
                               bool needGrad);

}  // namespace tl::ops::cpu
