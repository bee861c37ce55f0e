#include "mlp_projector.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace tl::ops {
namespace {

at::Tensor project(const at::Tensor& input, const std::vector<at::Tensor>& layers) {
  at::Tensor h = input;
  for (size_t i = 0; i + 1 < layers.size(); i += 2) {
    h = at::linear(h, layers[i], layers[i + 1]);
    if (i + 2 < layers.size()) h = at::relu(h);  // no activation after the last layer
  }
  return h;
}

}  // namespace

at::Tensor mlpForward(const at::Tensor& input, const std::vector<at::Tensor>& layers) {
  at::NoGradGuard noGrad;
  return project(input, layers);
}

std::vector<at::Tensor> mlpBackward(const at::Tensor& input, const std::vector<at::Tensor>& layers,
                                    const at::Tensor& gradOutput) {
  torch::autograd::AutoGradMode enable(true);
  std::vector<at::Tensor> leaves{input.detach().requires_grad_()};
  for (const auto& t : layers) leaves.push_back(t.detach().requires_grad_());
  const at::Tensor output = project(leaves[0], std::vector<at::Tensor>(leaves.begin() + 1, leaves.end()));
  return torch::autograd::grad({output}, leaves, {gradOutput}, /*retain_graph=*/false, /*create_graph=*/false);
}

}  // namespace tl::ops
