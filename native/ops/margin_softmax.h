// The margin-softmax family as one fused op with a closed-form backward:
//   ArcFace (Deng et al., CVPR 2019):            target logit s * cos(theta + m)
//   CosFace (Wang et al., CVPR 2018):            target logit s * (cos(theta) - m)
//   Sub-center ArcFace (Deng et al., ECCV 2020): cos = max over k sub-centres, then ArcFace
//   NormalizedSoftmax (Zhai & Wu, BMVC 2019):    logits cos / temperature (s = 1 / temperature)
// Forward: normalise rows of x and W, one [B, d] x [d, C*k] product, (max over sub-centres),
// margin on the target column, scale, softmax cross-entropy against a (smoothed) target
// distribution. Backward: dL/dlogits = softmax - q, through the margin's derivative on the target
// column, then two products and the normalisation's Jacobian. Nothing else of size B x C is kept.
// The autograd composition in arcface.cpp is the reference the tests compare this with.
#pragma once
#include <ATen/ATen.h>

#include "loss_output.h"

namespace tl::ops {

enum class MarginKind {
  Arc,     // cos(theta + m), th / mm fallback or easyMargin
  Cos,     // cos(theta) - m
  Plain,   // cos(theta) (NormalizedSoftmax)
};

// How label smoothing spreads epsilon (issue 4's conventions):
enum class SmoothingSpread {
  All,     // eps / n over every class of the row's support, the target included (torch, torchreid, OML)
  Others,  // eps / (n - 1) over the other classes, the target keeps 1 - eps (fast-reid)
};

struct MarginSoftmaxOptions {
  MarginKind kind = MarginKind::Arc;
  double m = 0.5;
  double s = 64.0;
  bool easyMargin = false;
  int64_t subCenters = 1;      // k: weight has numClasses * k rows, class c's at c*k .. c*k+k-1
  double smoothingEpsilon = 0.0;
  SmoothingSpread spread = SmoothingSpread::All;
  at::Tensor label2category;   // int64 [numClasses], or undefined: smoothing over all classes
  Reduction reduction = Reduction::Mean;
};

// Buffers a caller (a module) keeps between calls: at B x C floats a fresh buffer costs more in
// page faults than the arithmetic on it. Reused when the shapes match, replaced otherwise. The
// gradient w.r.t. the weight then lives in gradWeight: use it before the next call.
struct MarginSoftmaxWorkspace {
  at::Tensor logits;      // [B, C * k]
  at::Tensor unitWeight;  // [C * k, d]
  at::Tensor gradWeight;  // [C * k, d]
};

// input [B, d], labels int64 [B] in [0, C), weight [C * k, d] (checked by the caller).
// grads: { input, weight } (of the summed per-sample losses for Reduction::None).
LossOutput marginSoftmaxLoss(const at::Tensor& input, const at::Tensor& labels, const at::Tensor& weight,
                             const MarginSoftmaxOptions& options, bool needGrad,
                             MarginSoftmaxWorkspace* workspace = nullptr);

// s * cos(theta) (max over sub-centres) for every class, without the margin: [B, C].
at::Tensor marginSoftmaxLogits(const at::Tensor& input, const at::Tensor& weight, double s, int64_t subCenters);

// The smoothed one-hot targets [B, numClasses] in `dtype`: 1 - eps on the label plus eps spread over
// the row's support (every class, or the classes of the label's category when `categories` [C] is
// defined) as `spread` says. A support of one class keeps the plain one-hot.
at::Tensor smoothTargets(const at::Tensor& labels, int64_t numClasses, double epsilon, const at::Tensor& categories,
                         SmoothingSpread spread, at::ScalarType dtype);

}  // namespace tl::ops
