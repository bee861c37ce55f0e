// Metric-learning losses over a labelled batch of embeddings (person re-identification).
//
// Batch-hard triplet loss (Hermans, Beyer & Leibe 2017, "In Defense of the Triplet Loss for
// Person Re-Identification", arXiv:1703.07737), for embeddings x (N, D) and labels (N):
//   D             the distance matrix of the rows (pairwise_distance.h)
//   d_ap(i)       max D(i, j) over j != i with label j == label i     (hardest positive)
//   d_an(i)       min D(i, j) over j with label j != label i          (hardest negative)
//   loss_i        max(0, d_ap - d_an + margin), or softplus(d_ap - d_an) for the soft margin
// An anchor without a positive or without a negative is not valid: its loss is 0 and it adds
// nothing to the gradient. 'mean' averages over the valid anchors; a batch without any valid
// anchor has loss 0 and zero gradients (never NaN, never an error).
#pragma once
#include <optional>

#include "loss_output.h"
#include "pairwise_distance.h"

namespace tl::ops {

struct BatchHardTripletOptions {
  std::optional<double> margin = 0.3;  // >= 0; nullopt: soft margin, softplus(d_ap - d_an)
  DistanceOptions distance;
  Reduction reduction = Reduction::Mean;
};

// Mining facts of one batch, for monitoring. Means are over the valid anchors, 0 without any.
struct BatchHardStats {
  int64_t validAnchors = 0;
  int64_t anchorsWithoutPositive = 0;
  int64_t anchorsWithoutNegative = 0;
  int64_t activeTriplets = 0;     // valid anchors whose loss is > 0
  double fractionZeroLoss = 0;    // valid anchors whose loss is 0, as a fraction of them
  double meanPositiveDistance = 0;
  double meanNegativeDistance = 0;
};

struct BatchHardTripletOutput {
  LossOutput output;  // loss (N losses for Reduction::None), grads: { embeddings }
  BatchHardStats stats;
};

// Forward with ATen ops and a closed-form backward: each anchor's gradient touches only its
// hardest positive and negative, so the backward pass is O(N D) after the O(N² D) distances.
// Any device.
BatchHardTripletOutput batchHardTripletLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                                            const BatchHardTripletOptions& options, bool needGrad);

// The same loss differentiated by libtorch autograd (the reference the closed form is tested against).
BatchHardTripletOutput batchHardTripletLossReference(const at::Tensor& embeddings, const at::Tensor& labels,
                                                     const BatchHardTripletOptions& options, bool needGrad);

}  // namespace tl::ops
