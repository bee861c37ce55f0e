#include "center_loss.h"

namespace tl::ops {

CenterLossOutput centerLoss(const at::Tensor& input, const at::Tensor& labels, const at::Tensor& centers,
                            CenterFormula formula, bool needGrad) {
  at::NoGradGuard noGrad;
  const int64_t batch = input.size(0);
  const at::Tensor own = centers.index_select(0, labels);  // [B, d]
  const at::Tensor diff = input - own;                     // x_i - c_{y_i}
  const at::Tensor squared = diff.pow(2).sum(1);           // ||x_i - c_{y_i}||^2, [B]
  CenterLossOutput out;
  at::Tensor scale;  // dL/dx_i = scale_i * diff_i
  if (formula == CenterFormula::Mean) {
    out.loss = squared.clamp(1e-12, 1e12).sum() / static_cast<double>(batch);
    // clamp's gradient passes where min <= v <= max (as torch.clamp's backward).
    if (needGrad) scale = (squared.ge(1e-12) & squared.le(1e12)).to(input.scalar_type()).mul_(2.0 / batch).unsqueeze(1);
  } else {
    out.loss = squared.sum() * 0.5;
  }
  if (needGrad) {
    // The centres' gradient and the paper's numerator are the negatives of these: callers
    // index_add_ them with alpha -1 instead of materialising two more [B, d] tensors.
    out.gradInput = scale.defined() ? diff * scale : diff.clone();
    out.diff = diff;
  }
  return out;
}

void paperCenterUpdate(at::Tensor& centers, const at::Tensor& offsetSums, const at::Tensor& counts, double alpha) {
  at::NoGradGuard noGrad;
  centers.sub_(offsetSums / (counts + 1).unsqueeze(1), alpha);
}

}  // namespace tl::ops
