// CPU kernels of the margin-softmax op (margin_softmax.h).
//
// logSumExpRows, the softmax cross-entropy core: one pass per row of a
// contiguous [B, C] logits matrix computes the row's log-sum-exp and, for the backward, overwrites
// the row with gradScale * softmax (no B x C temporaries: at 1024 x 10,000 a fresh buffer costs
// as much as the arithmetic). ATen's logsumexp + sub + exp is the device-generic path.
#pragma once
#include <ATen/ATen.h>

namespace tl::ops::cpu {

// lse [B, 1] (logits' dtype) of each row; with writeSoftmax the logits become
// gradScale * softmax(logits) in place.
at::Tensor logSumExpRows(at::Tensor& logits, bool writeSoftmax, double gradScale);

// The backward of rows / max(||row||, eps), in place on grad [n, d]: per row
// g <- (g - u (u . g)) / ||row|| where ||row|| >= eps, g / eps below, with u the unit rows [n, d]
// and norms [n, 1]. One pass instead of four B x d / C x d temporaries. Float/double, contiguous.
void normalizeRowsBackwardInPlace(at::Tensor& grad, const at::Tensor& unit, const at::Tensor& norms, double eps);

}  // namespace tl::ops::cpu
