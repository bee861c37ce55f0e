// TripletMarginLoss (torch.nn.TripletMarginLoss; Balntas et al. 2016 for `swap`):
//   d(x, y) = || x - y + eps ||_p
//   loss_i  = max(0, margin + d(a_i, p_i) - d_neg_i),  d_neg = swap ? min(d(a,n), d(p,n)) : d(a,n)
#pragma once
#include "loss_output.h"

namespace tl::ops {

struct TripletMarginOptions {
  double margin = 1.0;
  double p = 2.0;  // any p > 0, including infinity
  double eps = 1e-6;
  bool swap = false;
  Reduction reduction = Reduction::Mean;
};

// Forward and backward in one call: the fused CPU kernel (cpu/) for contiguous CPU tensors,
// else the device-generic ATen version below. Gradients: anchor, positive, negative.
LossOutput tripletMarginLoss(const at::Tensor& anchor, const at::Tensor& positive,
                             const at::Tensor& negative, const TripletMarginOptions& options,
                             bool needGrad);

// Closed-form backward written with ATen ops, for any device (the CUDA path).
LossOutput tripletMarginLossGeneric(const at::Tensor& anchor, const at::Tensor& positive,
                  const at::Tensor& negative, const TripletMarginOptions& options, bool needGrad);

// The same loss through at::triplet_margin_loss and autograd (test reference).
LossOutput tripletMarginLossReference(const at::Tensor& anchor, const at::Tensor& positive,
                                      const at::Tensor& negative,
                                      const TripletMarginOptions& options, bool needGrad);

}  // namespace tl::ops
