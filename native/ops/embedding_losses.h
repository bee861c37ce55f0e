// Embedding losses of torch.nn besides TripletMarginLoss (triplet_margin.h) and
// MarginRankingLoss (margin_ranking.h).
#pragma once
#include "loss_output.h"

namespace tl::ops {

// loss = x if y == 1, max(0, margin - x) if y == -1. Gradient: input.
LossOutput hingeEmbeddingLoss(const at::Tensor& input, const at::Tensor& target, double margin,
                              Reduction reduction, bool needGrad);

// 1 - cos(x1, x2) if y == 1, max(0, cos(x1, x2) - margin) if y == -1.
// input1/input2 (N, D) or (D); target (N) or (). Gradients: input1, input2.
LossOutput cosineEmbeddingLoss(const at::Tensor& input1, const at::Tensor& input2,
                               const at::Tensor& target, double margin, Reduction reduction,
                               bool needGrad);

// The distance functions TripletMarginWithDistanceLoss offers here.
enum class TripletDistance {
  PairwiseNorm,  // ||x - y + eps||_p (euclidean: p = 2, the PyTorch default; manhattan: p = 1)
  Cosine,        // 1 - cosine_similarity(x, y)
};

struct TripletWithDistanceOptions {
  TripletDistance distance = TripletDistance::PairwiseNorm;
  double p = 2.0;  // for PairwiseNorm
  double eps = 1e-6;  // for PairwiseNorm, as nn.PairwiseDistance
  double margin = 1.0;  // > 0
  bool swap = false;
  Reduction reduction = Reduction::Mean;
};
// Gradients: anchor, positive, negative.
LossOutput tripletMarginWithDistanceLoss(const at::Tensor& anchor, const at::Tensor& positive,
                                         const at::Tensor& negative,
                                         const TripletWithDistanceOptions& options, bool needGrad);

}  // namespace tl::ops
