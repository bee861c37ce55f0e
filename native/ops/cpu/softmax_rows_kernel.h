// The softmax cross-entropy core of the margin-softmax op on the CPU: one pass per row of a
// contiguous [B, C] logits matrix computes the row's log-sum-exp and, for the backward, overwrites
// the row with gradScale * softmax (no B x C temporaries: at 1024 x 10,000 a fresh buffer costs
// as much as the arithmetic). ATen's logsumexp + sub + exp is the device-generic path.
#pragma once
#include <ATen/ATen.h>

namespace tl::ops::cpu {

// lse [B, 1] (logits' dtype) of each row; with writeSoftmax the logits become
// gradScale * softmax(logits) in place.
at::Tensor logSumExpRows(at::Tensor& logits, bool writeSoftmax, double gradScale);

}  // namespace tl::ops::cpu
