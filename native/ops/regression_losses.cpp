#include "regression_losses.h"

#include "autograd_loss.h"
#include "cpu/pointwise_kernels.h"
#include "kernel_choice.h"
#include "shape_checks.h"

namespace tl::ops {
namespace {

void checkPair(const at::Tensor& input, const at::Tensor& target) {
  requireSameShape("target", target, "input", input);
  requireNonEmpty("input", input);
}

// The ATen + autograd path (devices, mixed layouts, the reference of the fused kernels).
// Input and target are both differentiable in every loss of this file.
LossOutput pairLoss(const at::Tensor& input, const at::Tensor& target, Reduction reduction,
                    bool needGrad, std::function<at::Tensor(const at::Tensor&, const at::Tensor&)> fn) {
  return lossWithAutograd({input, target}, reduction, needGrad,
                          [&fn](const std::vector<at::Tensor>& x) { return fn(x[0], x[1]); });
}

}  // namespace

LossOutput l1Loss(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad) {
  checkPair(input, target);
  if (fusedCpuKernelApplies({input, target})) return cpu::l1Kernel(input, target, reduction, needGrad);
  return pairLoss(input, target, reduction, needGrad, [reduction](const at::Tensor& x, const at::Tensor& y) {
    return at::l1_loss(x, y, atReduction(reduction));
  });
}

LossOutput mseLoss(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad) {
  checkPair(input, target);
  if (fusedCpuKernelApplies({input, target})) return cpu::mseKernel(input, target, reduction, needGrad);
  return pairLoss(input, target, reduction, needGrad, [reduction](const at::Tensor& x, const at::Tensor& y) {
    return at::mse_loss(x, y, atReduction(reduction));
  });
}

LossOutput smoothL1Loss(const at::Tensor& input, const at::Tensor& target, double beta,
                        Reduction reduction, bool needGrad) {
  if (!(beta >= 0)) rangeError("`beta` must be >= 0, got ", beta);
  checkPair(input, target);
  if (fusedCpuKernelApplies({input, target})) return cpu::smoothL1Kernel(input, target, beta, reduction, needGrad);
  return pairLoss(input, target, reduction, needGrad, [=](const at::Tensor& x, const at::Tensor& y) {
    return at::smooth_l1_loss(x, y, atReduction(reduction), beta);
  });
}

LossOutput huberLoss(const at::Tensor& input, const at::Tensor& target, double delta,
                     Reduction reduction, bool needGrad) {
  if (!(delta > 0)) rangeError("`delta` must be > 0, got ", delta);
  checkPair(input, target);
  if (fusedCpuKernelApplies({input, target})) return cpu::huberKernel(input, target, delta, reduction, needGrad);
  return pairLoss(input, target, reduction, needGrad, [=](const at::Tensor& x, const at::Tensor& y) {
    return at::huber_loss(x, y, atReduction(reduction), delta);
  });
}

LossOutput poissonNllLoss(const at::Tensor& input, const at::Tensor& target,
                          const PoissonNllOptions& o, bool needGrad) {
  checkPair(input, target);
  // The Stirling term (full) stays on the autograd path, whose NaN conventions at target <= 1 it keeps.
  if (!o.full && fusedCpuKernelApplies({input, target})) {
    return cpu::poissonNllKernel(input, target, o.logInput, o.eps, o.reduction, needGrad);
  }
  return pairLoss(input, target, o.reduction, needGrad, [o](const at::Tensor& x, const at::Tensor& y) {
    return at::poisson_nll_loss(x, y, o.logInput, o.full, o.eps, atReduction(o.reduction));
  });
}

LossOutput klDivLoss(const at::Tensor& input, const at::Tensor& target, bool logTarget,
                     KlDivReduction reduction, bool needGrad) {
  if (reduction == KlDivReduction::BatchMean) requireDims("input", input, 1, 64);
  const Reduction base = reduction == KlDivReduction::None   ? Reduction::None
                         : reduction == KlDivReduction::Mean ? Reduction::Mean
                                                             : Reduction::Sum;
  checkPair(input, target);
  if (fusedCpuKernelApplies({input, target})) {
    // 'batchmean' is a mean over the batch size: the sum / input.size(0).
    const cpu::PointwiseReduction r = reduction == KlDivReduction::BatchMean
                                          ? cpu::PointwiseReduction{Reduction::Mean, static_cast<double>(input.size(0))}
                                          : cpu::PointwiseReduction{base, static_cast<double>(input.numel())};
    return cpu::klDivKernel(input, target, logTarget, r, needGrad);
  }
  return pairLoss(input, target, base, needGrad, [=](const at::Tensor& x, const at::Tensor& y) {
    at::Tensor loss = at::kl_div(x, y, atReduction(base), logTarget);
    return reduction == KlDivReduction::BatchMean ? loss / static_cast<double>(x.size(0)) : loss;
  });
}

}  // namespace tl::ops
