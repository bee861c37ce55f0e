// OIM, Online Instance Matching (Xiao et al., "Joint Detection and Identification Feature Learning
// for Person Search", CVPR 2017), as open-reid's / Cysu's person_search OIMLoss:
//   logits = scalar * x . [lut; queue]^T, cross-entropy over the labelled samples (label -1 =
//   unlabelled: no loss term); dL/dx = scalar * (softmax - onehot) . [lut; queue] with the table
//   held constant; then, for each sample in batch order, lut[y] <- momentum * lut[y] +
//   (1 - momentum) * x, renormalised (labelled), or x written into the circular queue (unlabelled,
//   when the queue exists: the paper's extra negatives).
#pragma once
#include <ATen/ATen.h>

#include "loss_output.h"

namespace tl::ops {

struct OimOptions {
  double scalar = 1.0;
  double momentum = 0.5;
  Reduction reduction = Reduction::Mean;
};

// input [B, d], labels int64 [B] in [-1, L), lut [L, d], queue [Q, d] (Q may be 0).
// loss over the labelled samples (0 when there are none); grads: { input }.
LossOutput oimLoss(const at::Tensor& input, const at::Tensor& labels, const at::Tensor& lut, const at::Tensor& queue,
                   const OimOptions& options, bool needGrad);

// The table updates after a training step, in place; returns the queue's next write position.
int64_t oimUpdate(at::Tensor& lut, at::Tensor& queue, int64_t queueHead, const at::Tensor& input,
                  const at::Tensor& labels, double momentum);

}  // namespace tl::ops
