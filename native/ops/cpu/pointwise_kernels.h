// Fused CPU kernels of the elementwise losses (input and target of one shape): one pass computes
// each element's loss and its derivatives, already scaled by the reduction, straight into the
// output tensors — no autograd graph, no temporaries, no dispatcher round trips, which is what
// dominates small calls. Callers check fusedCpuKernelApplies() and their argument rules first;
// the ATen + autograd path stays the reference (and the path for every other case).
// The formulas copy PyTorch's own, including its conventions at kinks and for NaN, so results
// match torch.nn.functional to float rounding.
#pragma once
#include "../loss_output.h"

namespace tl::ops::cpu {

// How per-element values become the loss: 'none', 'sum', or a mean over `meanDivisor` elements
// (numel, or the batch size for KLDiv's 'batchmean').
struct PointwiseReduction {
  Reduction reduction;
  double meanDivisor;
};

// grads: {input, target}
LossOutput l1Kernel(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad);
LossOutput mseKernel(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad);
LossOutput smoothL1Kernel(const at::Tensor& input, const at::Tensor& target, double beta, Reduction reduction, bool needGrad);
LossOutput huberKernel(const at::Tensor& input, const at::Tensor& target, double delta, Reduction reduction, bool needGrad);
LossOutput poissonNllKernel(const at::Tensor& input, const at::Tensor& target, bool logInput, double eps, Reduction reduction, bool needGrad);
LossOutput klDivKernel(const at::Tensor& input, const at::Tensor& target, bool logTarget, PointwiseReduction reduction, bool needGrad);
LossOutput bceKernel(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad);
LossOutput bceWithLogitsKernel(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad);
// grads: {input}
LossOutput softMarginKernel(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad);
LossOutput hingeEmbeddingKernel(const at::Tensor& input, const at::Tensor& target, double margin, Reduction reduction, bool needGrad);

}  // namespace tl::ops::cpu
