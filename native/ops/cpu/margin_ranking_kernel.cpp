#include "margin_ranking_kernel.h"

#include <ATen/Parallel.h>

#include <algorithm>

namespace tl::ops::cpu {
namespace {

template <typename T>
LossOutput run(const at::Tensor& input1, const at::Tensor& input2, const at::Tensor& target,
               const MarginRankingOptions& o, bool needGrad) {
  const int64_t count = input1.numel();
  const T* x1 = input1.data_ptr<T>();
  const T* x2 = input2.data_ptr<T>();
  const T* y = target.data_ptr<T>();
  at::Tensor losses = at::empty_like(input1);
  T* loss = losses.data_ptr<T>();
  at::Tensor grad1, grad2, gradTarget;
  T *g1 = nullptr, *g2 = nullptr, *gy = nullptr;
  if (needGrad) {
    grad1 = at::empty_like(input1);
    grad2 = at::empty_like(input2);
    gradTarget = at::empty_like(target);
    g1 = grad1.data_ptr<T>();
    g2 = grad2.data_ptr<T>();
    gy = gradTarget.data_ptr<T>();
  }
  const double scale = reductionScale(o.reduction, count);
  at::parallel_for(0, count, 65536, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double difference = double(x1[i]) - x2[i];
      const double hinge = o.margin - y[i] * difference;
      loss[i] = static_cast<T>(std::max(hinge, 0.0));
      if (!needGrad) continue;
      const double w = hinge >= 0 ? scale : 0.0;  // clamp_min's convention at the kink
      g1[i] = static_cast<T>(-y[i] * w);
      g2[i] = static_cast<T>(y[i] * w);
      gy[i] = static_cast<T>(-difference * w);
    }
  });
  LossOutput out;
  if (o.reduction == Reduction::None) {
    out.loss = losses;
  } else {
    double total = 0;
    for (int64_t i = 0; i < count; ++i) total += loss[i];
    out.loss = at::scalar_tensor(o.reduction == Reduction::Mean ? total / count : total, input1.options());
  }
  if (needGrad) out.grads = {grad1, grad2, gradTarget};
  return out;
}

}  // namespace

LossOutput marginRankingKernel(const at::Tensor& input1, const at::Tensor& input2,
                               const at::Tensor& target, const MarginRankingOptions& options,
                               bool needGrad) {
  if (input1.scalar_type() == at::kDouble) return run<double>(input1, input2, target, options, needGrad);
  return run<float>(input1, input2, target, options, needGrad);
}

}  // namespace tl::ops::cpu
