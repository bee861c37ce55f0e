#include "oim.h"

namespace tl::ops {

LossOutput oimLoss(const at::Tensor& input, const at::Tensor& labels, const at::Tensor& lut, const at::Tensor& queue,
                   const OimOptions& o, bool needGrad) {
  at::NoGradGuard noGrad;
  const at::Tensor table = queue.size(0) > 0 ? at::cat({lut, queue}) : lut;
  const at::Tensor labelled = labels.ge(0);
  const at::Tensor y = labels.clamp_min(0).unsqueeze(1);  // unlabelled rows are masked out below
  const at::Tensor mask = labelled.unsqueeze(1).to(input.scalar_type());
  at::Tensor logits = at::mm(input, table.t()).mul_(o.scalar);
  const at::Tensor lse = logits.logsumexp(1, /*keepdim=*/true);
  const at::Tensor losses = ((lse - logits.gather(1, y)) * mask).squeeze(1);
  // cross_entropy(ignore_index=-1): the mean over the labelled samples; none labelled gives 0
  const double count = static_cast<double>(labelled.sum().item<int64_t>());
  const double scale = o.reduction == Reduction::Mean ? (count > 0 ? 1.0 / count : 0.0) : 1.0;
  LossOutput out{o.reduction == Reduction::Sum ? losses.sum() : losses.sum() * scale, {}};
  if (!needGrad) return out;
  at::Tensor grad = logits.sub_(lse).exp_();
  grad.scatter_add_(1, y, at::full_like(mask, -1)).mul_(mask).mul_(scale * o.scalar);
  out.grads.push_back(at::mm(grad, table));
  return out;
}

int64_t oimUpdate(at::Tensor& lut, at::Tensor& queue, int64_t queueHead, const at::Tensor& input,
                  const at::Tensor& labels, double momentum) {
  at::NoGradGuard noGrad;
  const at::Tensor cpuLabels = labels.to(at::kCPU);
  const auto* y = cpuLabels.data_ptr<int64_t>();
  const at::Tensor x = input.to(lut.scalar_type());
  // Sample by sample, in batch order (two samples of one identity update its entry twice).
  for (int64_t i = 0; i < x.size(0); ++i) {
    if (y[i] >= 0) {
      at::Tensor row = lut[y[i]];
      row.mul_(momentum).add_(x[i], 1 - momentum);
      row.div_(row.norm().clamp_min(1e-12));  // a zero row stays zero instead of NaN
    } else if (queue.size(0) > 0) {
      queue[queueHead].copy_(x[i]);
      queueHead = (queueHead + 1) % queue.size(0);
    }
  }
  return queueHead;
}

}  // namespace tl::ops
