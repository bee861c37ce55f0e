#include "margin_ranking.h"

#include "../common/errors.h"
#include "autograd_loss.h"
#include "cpu/margin_ranking_kernel.h"
#include "shape_checks.h"

namespace tl::ops {

static void checkInputs(const at::Tensor& input1, const at::Tensor& input2,
                        const at::Tensor& target) {
  requireSameShape("input2", input2, "input1", input1);
  requireSameShape("target", target, "input1", input1);
  requireNonEmpty("input1", input1);
}

LossOutput marginRankingLossGeneric(const at::Tensor& input1, const at::Tensor& input2,
                             const at::Tensor& target, const MarginRankingOptions& options,
                             bool needGrad) {
  checkInputs(input1, input2, target);
  const at::Tensor difference = input1 - input2;
  const at::Tensor hinge = options.margin - target * difference;
  LossOutput out{reduce(hinge.clamp_min(0), options.reduction), {}};
  if (!needGrad) return out;
  // clamp_min passes the gradient where hinge >= 0 (PyTorch's convention at the kink).
  const at::Tensor active = (hinge >= 0).to(hinge.scalar_type())
                                .mul_(reductionScale(options.reduction, hinge.numel()));
  at::Tensor gradInput2 = target * active;
  out.grads = {-gradInput2, gradInput2, -(difference * active)};
  return out;
}

LossOutput marginRankingLoss(const at::Tensor& input1, const at::Tensor& input2, const at::Tensor& target,
                  const MarginRankingOptions& options, bool needGrad) {
  const bool cpuContiguous = input1.is_cpu() && input2.is_cpu() && target.is_cpu() &&
                             input1.is_contiguous() && input2.is_contiguous() && target.is_contiguous();
  if (!cpuContiguous) return marginRankingLossGeneric(input1, input2, target, options, needGrad);
  checkInputs(input1, input2, target);
  return cpu::marginRankingKernel(input1, input2, target, options, needGrad);
}

LossOutput marginRankingLossReference(const at::Tensor& input1, const at::Tensor& input2,
                                      const at::Tensor& target,
                                      const MarginRankingOptions& options, bool needGrad) {
  checkInputs(input1, input2, target);
  const MarginRankingOptions o = options;
  return lossWithAutograd({input1, input2, target}, o.reduction, needGrad,
                          [o](const std::vector<at::Tensor>& x) {
                            return reduce((o.margin - x[2] * (x[0] - x[1])).clamp_min(0), o.reduction);
                          });
}

}  // namespace tl::ops
