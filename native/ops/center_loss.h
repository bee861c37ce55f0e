// Center loss (Wen et al., "A Discriminative Feature Learning Approach for Deep Face
// Recognition", ECCV 2016) with closed-form gradients. Only the B centres of the batch's labels
// are gathered (index_select): the cost is O(B * d) whatever the number of classes, where the
// common reference builds a B x C distance matrix.
#pragma once
#include <ATen/ATen.h>

namespace tl::ops {

enum class CenterFormula {
  // sum_i clamp(||x_i - c_{y_i}||^2, 1e-12, 1e12) / B (KaiyangZhou's center loss, the source
  // document's formula)
  Mean,
  // 1/2 sum_i ||x_i - c_{y_i}||^2 (the paper's L_C)
  Paper,
};

struct CenterLossOutput {
  at::Tensor loss;         // 0-dim
  at::Tensor gradInput;    // dL/dx, [B, d] (undefined without needGrad); dL/dc_{y_i} = -gradInput
  at::Tensor diff;         // x_i - c_{y_i}, [B, d]: the paper's update's numerator is -diff
};

// input [B, d], labels int64 [B] in [0, C) (checked by the caller), centers [C, d].
CenterLossOutput centerLoss(const at::Tensor& input, const at::Tensor& labels, const at::Tensor& centers,
                            CenterFormula formula, bool needGrad);

// The paper's update: c_j -= alpha * sum_{i: y_i = j} (c_j - x_i) / (1 + n_j), from the
// accumulated numerators `offsetSums` [C, d] and counts n_j `counts` [C]. In place.
void paperCenterUpdate(at::Tensor& centers, const at::Tensor& offsetSums, const at::Tensor& counts, double alpha);

}  // namespace tl::ops
