// The margin-softmax losses (ArcFace, CosFace, sub-center ArcFace, NormalizedSoftmax; see
// margin_softmax.h) composed from plain ATen ops and differentiated by libtorch autograd, as
// insightface's ArcMarginProduct / OML's ArcFaceLoss write ArcFace:
//   cos = normalize(x) . normalize(W)^T (max over sub-centres); on the target class
//   cos(theta + m) = cos*cos(m) - sin*sin(m) with sin = sqrt(clamp(1 - cos^2, 1e-12, 1)), where
//   theta + m > pi (cos <= th = cos(pi - m)) the fallback cos - mm (mm = sin(pi - m) * m), or with
//   easyMargin the plain cos where cos <= 0; logits * s into cross-entropy against the (smoothed)
//   targets.
// This is the reference the fused op (margin_softmax.cpp) is tested against; the functional form
// reaches it with { implementation: 'autograd' }.
#pragma once
#include <ATen/ATen.h>

#include "loss_output.h"
#include "margin_softmax.h"

namespace tl::ops {

// Same contract as marginSoftmaxLoss. grads: { input, weight }.
LossOutput marginSoftmaxLossAutograd(const at::Tensor& input, const at::Tensor& labels, const at::Tensor& weight,
                                     const MarginSoftmaxOptions& options, bool needGrad);

}  // namespace tl::ops
