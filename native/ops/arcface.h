// ArcFace (Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
// CVPR 2019) as in insightface / ronghuaiyang's ArcMarginProduct and OML's ArcFaceLoss:
//   cos = normalize(x) . normalize(W)^T; on the target class cos(theta + m) =
//   cos*cos(m) - sin*sin(m) with sin = sqrt(clamp(1 - cos^2, 1e-12, 1)); where theta + m > pi
//   (cos <= th = cos(pi - m)) the fallback cos - mm (mm = sin(pi - m) * m), or with easyMargin
//   the plain cos where cos <= 0; logits * s into softmax cross-entropy.
// Gradients by libtorch autograd on these composed ATen ops (w.r.t. the embeddings and W).
#pragma once
#include <ATen/ATen.h>

#include "loss_output.h"

namespace tl::ops {

struct ArcFaceOptions {
  double m = 0.5;
  double s = 64.0;
  bool easyMargin = false;
  Reduction reduction = Reduction::Mean;
};

// input [B, d], labels int64 [B] in [0, C), weight [C, d]. grads: { input, weight }.
LossOutput arcFaceLoss(const at::Tensor& input, const at::Tensor& labels, const at::Tensor& weight,
                       const ArcFaceOptions& options, bool needGrad);

// s * cos(theta) for every class, without the margin: the logits for inference. [B, C]
at::Tensor arcFaceLogits(const at::Tensor& input, const at::Tensor& weight, double s);

}  // namespace tl::ops
