// The MLP projector of OML's ArcFaceLossWithMLP (torchvision.ops.MLP without norm / dropout):
// Linear -> ReLU -> ... -> Linear, trained with the loss behind it. Forward without autograd; the
// backward recomputes the (small) projector under autograd and pulls the loss's gradient w.r.t.
// its output through it.
#pragma once
#include <ATen/ATen.h>

#include <vector>

namespace tl::ops {

// layers: { weight0 [out0, in], bias0 [out0], weight1, bias1, ... }.
at::Tensor mlpForward(const at::Tensor& input, const std::vector<at::Tensor>& layers);

// { d/dinput, d/dweight0, d/dbias0, ... } of <mlpForward(input, layers), gradOutput>.
std::vector<at::Tensor> mlpBackward(const at::Tensor& input, const std::vector<at::Tensor>& layers,
                                    const at::Tensor& gradOutput);

}  // namespace tl::ops
