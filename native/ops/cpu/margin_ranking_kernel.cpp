#include "margin_ranking_kernel.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <functional>

namespace tl::ops::cpu {
namespace {

template <typename T>
LossOutput run(const at::Tensor& input1, const at::Tensor& input2, const at::Tensor& target,
               const MarginRankingOptions& o, bool needGrad) {
  const int64_t count = input1.numel();
  const T* x1 = input1.data_ptr<T>();
  const T* x2 = input2.data_ptr<T>();
  const T* y = target.data_ptr<T>();
  // Per-element losses are stored only for reduction 'none'; otherwise each chunk sums its own.
  const bool perElement = o.reduction == Reduction::None;
  at::Tensor losses = perElement ? at::empty_like(input1) : at::Tensor();
  T* loss = perElement ? losses.data_ptr<T>() : nullptr;
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
  const double margin = o.margin;
  const double total = at::parallel_reduce(
      0, count, 32768, 0.0,
      [&](int64_t begin, int64_t end, double partial) {
        for (int64_t i = begin; i < end; ++i) {
          const double difference = double(x1[i]) - x2[i];
          const double hinge = margin - y[i] * difference;
          const double value = std::max(hinge, 0.0);
          partial += value;
          if (loss) loss[i] = static_cast<T>(value);
          if (g1) {
            const double w = hinge >= 0 ? scale : 0.0;  // clamp_min's convention at the kink
            g1[i] = static_cast<T>(-y[i] * w);
            g2[i] = static_cast<T>(y[i] * w);
            gy[i] = static_cast<T>(-difference * w);
          }
        }
        return partial;
      },
      std::plus<double>());
  LossOutput out;
  out.loss = perElement ? losses
                        : scalarLoss(o.reduction == Reduction::Mean ? total / count : total, input1.options());
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
