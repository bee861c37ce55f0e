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
#include <string>

#include "loss_output.h"
#include "miners.h"
#include "pairwise_distance.h"

namespace tl::ops {

// Where the gradient of a tied max / min goes: shared evenly by the tied entries (torch's
// amax / full max(), open-reid) or all to the first one (torch.max(dim): fast-reid, PML).
enum class Ties { Split, First };

struct BatchHardTripletOptions {
  std::optional<double> margin = 0.3;  // >= 0; nullopt: soft margin, softplus(d_ap - d_an)
  DistanceOptions distance;
  Reduction reduction = Reduction::Mean;
  NoPositive noPositive = NoPositive::Skip;  // Self: d_ap = D(a, a) (fast-reid); Error: RangeError (OML)
  Ties ties = Ties::Split;
  bool allowNonFinite = false;
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
  // Losses over explicit triplets: how many (the means above are then over the triplets, and
  // validAnchors counts the distinct anchors); -1 for batch-hard (one triplet per valid anchor).
  int64_t triplets = -1;
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

// The device-generic ATen version (what CUDA runs), without the CPU kernels of cpu/metric_kernels.h.
BatchHardTripletOutput batchHardTripletLossGeneric(const at::Tensor& embeddings, const at::Tensor& labels,
                                                   const BatchHardTripletOptions& options, bool needGrad);

// The same loss differentiated by libtorch autograd (the reference the closed form is tested against).
BatchHardTripletOutput batchHardTripletLossReference(const at::Tensor& embeddings, const at::Tensor& labels,
                                                     const BatchHardTripletOptions& options, bool needGrad);

// ---------------------------------------------------------------- triplet losses over triplets
//
// loss_t = max(0, d(a_t, p_t) - d(a_t, n_t) + margin), or softplus(d_ap - d_an) for margin null,
// for triplets given by the caller or mined from the batch by any triplet miner (miners.h).
// Distances come from the same matrix the miners read; the backward is closed-form and touches
// only the 2T mined pairs (O(T D) after the O(N² D) matrix).

// mean / sum / none as torch; avgNonZero: the sum over the triplets with a loss > 0 divided by
// their number (pytorch-metric-learning's AvgNonZeroReducer). Every one is 0 without triplets.
enum class TripletReduction { None, Mean, Sum, AvgNonZero };

TripletReduction parseTripletReduction(const std::string& name);

struct TripletLossOptions {
  std::optional<double> margin = 1.0;  // torch.nn.TripletMarginLoss's default
  DistanceOptions distance;
  TripletReduction reduction = TripletReduction::Mean;
  bool allowNonFinite = false;
};

struct TripletLossOutput {
  LossOutput output;  // reduction None: one loss per triplet
  BatchHardStats stats;
};

// `triplets` (anchors, positives, negatives: int64 row indices) when given, else `miner`'s.
TripletLossOutput tripletLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                              const std::optional<MinedIndices>& triplets, const MinerOptions& miner,
                              const TripletLossOptions& options, bool needGrad);

// Without the CPU kernels (what CUDA runs).
TripletLossOutput tripletLossGeneric(const at::Tensor& embeddings, const at::Tensor& labels,
                                     const std::optional<MinedIndices>& triplets, const MinerOptions& miner,
                                     const TripletLossOptions& options, bool needGrad);

// The same through libtorch autograd on the composed ops (what the closed form is tested against).
TripletLossOutput tripletLossReference(const at::Tensor& embeddings, const at::Tensor& labels,
                                       const std::optional<MinedIndices>& triplets, const MinerOptions& miner,
                                       const TripletLossOptions& options, bool needGrad);

// TF-Addons' triplet_semihard_loss: for every anchor-positive pair the nearest negative farther
// than the positive, else the anchor's farthest negative; the mean over the pairs of
// max(d_ap - d_an + margin, 0). Fused: the mining runs in one O(N² log K) pass over the matrix.
TripletLossOutput semiHardTripletLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                                      const TripletLossOptions& options, bool needGrad);

// OML's TripletLoss on rows: anchor, positive, negative (B, D), Euclidean ||x - y|| computed
// directly (zero distance: zero gradient), reduction mean / sum / none. Grads: a, p, n.
TripletLossOutput tripletLossOnRows(const at::Tensor& anchor, const at::Tensor& positive, const at::Tensor& negative,
                                    std::optional<double> margin, Reduction reduction, bool allowNonFinite,
                                    bool needGrad);

// OML's TripletLossPlain: the rows of `stacked` (3B, D) are [anchors; positives; negatives].
TripletLossOutput tripletLossPlain(const at::Tensor& stacked, std::optional<double> margin, Reduction reduction,
                                   bool allowNonFinite, bool needGrad);

}  // namespace tl::ops
