// Pointwise regression losses of torch.nn, on an input and a target of the same shape.
// Gradients: input, target (PyTorch differentiates both).
#pragma once
#include "loss_output.h"

namespace tl::ops {

LossOutput l1Loss(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad);
LossOutput mseLoss(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad);
// beta >= 0; beta = 0 is the L1 loss.
LossOutput smoothL1Loss(const at::Tensor& input, const at::Tensor& target, double beta,
                        Reduction reduction, bool needGrad);
// delta > 0.
LossOutput huberLoss(const at::Tensor& input, const at::Tensor& target, double delta,
                     Reduction reduction, bool needGrad);

struct PoissonNllOptions {
  bool logInput = true;
  bool full = false;  // add the Stirling term for target > 1
  double eps = 1e-8;
  Reduction reduction = Reduction::Mean;
};
LossOutput poissonNllLoss(const at::Tensor& input, const at::Tensor& target,
                          const PoissonNllOptions& options, bool needGrad);

// KLDiv adds 'batchmean' (sum / batch size) to the reductions.
enum class KlDivReduction { None, Mean, Sum, BatchMean };
LossOutput klDivLoss(const at::Tensor& input, const at::Tensor& target, bool logTarget,
                     KlDivReduction reduction, bool needGrad);

}  // namespace tl::ops
