#include "autograd_reference.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace tl::ops {

LossOutput runWithAutograd(const std::vector<at::Tensor>& inputs, Reduction reduction,
                           bool needGrad, const LossExpression& expression) {
  if (!needGrad) {
    at::NoGradGuard noGrad;
    return {reduce(expression(inputs), reduction), {}};
  }
  torch::autograd::AutoGradMode enable(true);
  std::vector<at::Tensor> leaves;
  leaves.reserve(inputs.size());
  for (const auto& input : inputs) leaves.push_back(input.detach().requires_grad_(true));
  at::Tensor losses = expression(leaves);
  at::Tensor reduced = reduce(losses, reduction);
  at::Tensor root = reduction == Reduction::None ? losses.sum() : reduced;
  auto grads = torch::autograd::grad({root}, leaves, /*grad_outputs=*/{}, /*retain_graph=*/false,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) grads[i] = at::zeros_like(inputs[i]);
  }
  return {reduced.detach(), std::move(grads)};
}

}  // namespace tl::ops
