#include "autograd_loss.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace tl::ops {

LossOutput lossWithAutograd(const std::vector<at::Tensor>& differentiable, Reduction reduction,
                            bool needGrad, const LossExpression& expression) {
  if (!needGrad) {
    at::NoGradGuard noGrad;
    return {expression(differentiable), {}};
  }
  torch::autograd::AutoGradMode enable(true);
  std::vector<at::Tensor> leaves;
  leaves.reserve(differentiable.size());
  for (const auto& input : differentiable) leaves.push_back(input.detach().requires_grad_(true));
  const at::Tensor loss = expression(leaves);
  const at::Tensor root = reduction == Reduction::None ? loss.sum() : loss;
  auto grads = torch::autograd::grad({root}, leaves, /*grad_outputs=*/{}, /*retain_graph=*/false,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) grads[i] = at::zeros_like(differentiable[i]);
  }
  return {loss.detach(), std::move(grads)};
}

}  // namespace tl::ops
