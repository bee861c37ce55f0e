#include "margin_ranking_kernel.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <functional>

#include "../kernel_choice.h"

namespace tl::ops::cpu {
namespace {

// One chunk of elements; the flags are template parameters so that each variant's loop has no
// branches and vectorizes (the arithmetic is in T, like PyTorch's; the sum is in double).
template <typename T, bool kPerElement, bool kGrad>
double chunk(int64_t begin, int64_t end, const T* x1, const T* x2, const T* y, T margin, T scale,
             T* loss, T* g1, T* g2, T* gy) {
  double partial = 0;
#pragma omp simd reduction(+ : partial)
  for (int64_t i = begin; i < end; ++i) {
    const T difference = x1[i] - x2[i];
    const T hinge = margin - y[i] * difference;
    const T value = hinge < T(0) ? T(0) : hinge;  // NaN stays NaN, as clamp_min keeps it
    partial += value;
    if constexpr (kPerElement) loss[i] = value;
    if constexpr (kGrad) {
      const T w = hinge >= T(0) ? scale : T(0);  // clamp_min's convention at the kink
      g1[i] = -y[i] * w;
      g2[i] = y[i] * w;
      gy[i] = -difference * w;
    }
  }
  return partial;
}

template <typename T>
LossOutput run(const at::Tensor& input1, const at::Tensor& input2, const at::Tensor& target,
               const MarginRankingOptions& o, bool needGrad) {
  const int64_t count = input1.numel();
  const T* x1 = input1.data_ptr<T>();
  const T* x2 = input2.data_ptr<T>();
  const T* y = target.data_ptr<T>();
  // Per-element losses are stored only for reduction 'none'; otherwise each chunk sums its own.
  const bool perElement = o.reduction == Reduction::None;
  at::Tensor losses = perElement ? outputLike(input1) : at::Tensor();
  T* loss = perElement ? losses.data_ptr<T>() : nullptr;
  at::Tensor grad1, grad2, gradTarget;
  T *g1 = nullptr, *g2 = nullptr, *gy = nullptr;
  if (needGrad) {
    grad1 = outputLike(input1);
    grad2 = outputLike(input2);
    gradTarget = outputLike(target);
    g1 = grad1.data_ptr<T>();
    g2 = grad2.data_ptr<T>();
    gy = gradTarget.data_ptr<T>();
  }
  const T scale = static_cast<T>(reductionScale(o.reduction, count));
  const T margin = static_cast<T>(o.margin);
  const auto body = [&](int64_t begin, int64_t end, double partial) {
    if (perElement && needGrad) return partial + chunk<T, true, true>(begin, end, x1, x2, y, margin, scale, loss, g1, g2, gy);
    if (perElement) return partial + chunk<T, true, false>(begin, end, x1, x2, y, margin, scale, loss, g1, g2, gy);
    if (needGrad) return partial + chunk<T, false, true>(begin, end, x1, x2, y, margin, scale, loss, g1, g2, gy);
    return partial + chunk<T, false, false>(begin, end, x1, x2, y, margin, scale, loss, g1, g2, gy);
  };
  const double total = at::parallel_reduce(0, count, 32768, 0.0, body, std::plus<double>());
  LossOutput out;
  setKernelLoss(out, losses, o.reduction == Reduction::Mean ? total / count : total, input1.scalar_type());
  if (needGrad) out.grads = {grad1, grad2, gradTarget};
  return out;
}

}  // namespace

LossOutput marginRankingKernel(const at::Tensor& input1, const at::Tensor& input2,
                               const at::Tensor& target, const MarginRankingOptions& options,
                               bool needGrad) {
  countFusedKernelCall();
  if (input1.scalar_type() == at::kDouble) return run<double>(input1, input2, target, options, needGrad);
  return run<float>(input1, input2, target, options, needGrad);
}

}  // namespace tl::ops::cpu
