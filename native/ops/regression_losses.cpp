#include "regression_losses.h"

#include "autograd_loss.h"
#include "shape_checks.h"

namespace tl::ops {
namespace {

void checkPair(const at::Tensor& input, const at::Tensor& target) {
  requireSameShape("target", target, "input", input);
  requireNonEmpty("input", input);
}

// Input and target are both differentiable in every loss of this file.
LossOutput pairLoss(const at::Tensor& input, const at::Tensor& target, Reduction reduction,
                    bool needGrad, std::function<at::Tensor(const at::Tensor&, const at::Tensor&)> fn) {
  checkPair(input, target);
  return lossWithAutograd({input, target}, reduction, needGrad,
                          [&fn](const std::vector<at::Tensor>& x) { return fn(x[0], x[1]); });
}

}  // namespace

LossOutput l1Loss(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad) {
  return pairLoss(input, target, reduction, needGrad, [reduction](const at::Tensor& x, const at::Tensor& y) {
    return at::l1_loss(x, y, atReduction(reduction));
  });
}

LossOutput mseLoss(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad) {
  return pairLoss(input, target, reduction, needGrad, [reduction](const at::Tensor& x, const at::Tensor& y) {
    return at::mse_loss(x, y, atReduction(reduction));
  });
}

LossOutput smoothL1Loss(const at::Tensor& input, const at::Tensor& target, double beta,
                        Reduction reduction, bool needGrad) {
  if (!(beta >= 0)) rangeError("`beta` must be >= 0, got ", beta);
  return pairLoss(input, target, reduction, needGrad, [=](const at::Tensor& x, const at::Tensor& y) {
    return at::smooth_l1_loss(x, y, atReduction(reduction), beta);
  });
}

LossOutput huberLoss(const at::Tensor& input, const at::Tensor& target, double delta,
                     Reduction reduction, bool needGrad) {
  if (!(delta > 0)) rangeError("`delta` must be > 0, got ", delta);
  return pairLoss(input, target, reduction, needGrad, [=](const at::Tensor& x, const at::Tensor& y) {
    return at::huber_loss(x, y, atReduction(reduction), delta);
  });
}

LossOutput poissonNllLoss(const at::Tensor& input, const at::Tensor& target,
                          const PoissonNllOptions& o, bool needGrad) {
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
  return pairLoss(input, target, base, needGrad, [=](const at::Tensor& x, const at::Tensor& y) {
    at::Tensor loss = at::kl_div(x, y, atReduction(base), logTarget);
    return reduction == KlDivReduction::BatchMean ? loss / static_cast<double>(x.size(0)) : loss;
  });
}

}  // namespace tl::ops
