#include "multilabel_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "../kernel_choice.h"
#include "row_losses.h"

namespace tl::ops::cpu {
namespace {

template <typename T>
T logSigmoid(T x) {  // log(1 / (1 + exp(-x))) without overflow
  return std::min(x, T(0)) - std::log1p(std::exp(-std::abs(x)));
}

template <typename T>
LossOutput softMargin(const at::Tensor& input, const at::Tensor& target, const std::optional<at::Tensor>& weight,
                      Reduction reduction, bool needGrad) {
  const int64_t n = input.size(0), classes = input.size(1);
  const T* x = input.data_ptr<T>();
  const T* y = target.data_ptr<T>();
  const T* w = weight ? weight->data_ptr<T>() : nullptr;
  at::Tensor gradInput = needGrad ? outputLike(input) : at::Tensor();
  at::Tensor gradTarget = needGrad ? outputLike(target) : at::Tensor();
  T* gx = needGrad ? gradInput.data_ptr<T>() : nullptr;
  T* gy = needGrad ? gradTarget.data_ptr<T>() : nullptr;
  // loss_i = mean over classes of -w_c (y log sigmoid(x) + (1 - y) log sigmoid(-x));
  // d/dx = w_c (sigmoid(x) - y) / C, d/dy = w_c (log sigmoid(-x) - log sigmoid(x)) / C.
  const T perClass = T(1) / static_cast<T>(classes);
  const T scale = static_cast<T>(reduction == Reduction::Mean ? 1.0 / static_cast<double>(n) : 1.0) * perClass;
  std::vector<double> losses(n);
  at::parallel_for(0, n, rowsPerTask(classes), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      double sum = 0;
      for (int64_t c = 0; c < classes; ++c) {
        const int64_t k = i * classes + c;
        const T wc = w ? w[c] : T(1);
        const T logP = logSigmoid(x[k]), logQ = logSigmoid(-x[k]);
        sum += static_cast<double>(-wc * (y[k] * logP + (T(1) - y[k]) * logQ));
        if (needGrad) {
          gx[k] = wc * (std::exp(logP) - y[k]) * scale;
          gy[k] = wc * (logQ - logP) * scale;
        }
      }
      losses[i] = sum / static_cast<double>(classes);
    }
  });
  LossOutput out;
  setRowLosses<T>(out, losses, reduction, static_cast<double>(n), input.options());
  if (needGrad) out.grads = {gradInput, gradTarget};
  return out;
}

template <typename T>
LossOutput margin(const at::Tensor& input, const at::Tensor& labels, Reduction reduction, bool needGrad) {
  const int64_t n = input.size(0), classes = input.size(1);
  const T* x = input.data_ptr<T>();
  const int64_t* targets = labels.data_ptr<int64_t>();
  at::Tensor grad = needGrad ? zerosLike(input) : at::Tensor();
  T* g = needGrad ? grad.data_ptr<T>() : nullptr;
  // PyTorch: for each listed target j (up to the first -1; a repeated one counts again) and each
  // class k not listed, max(0, 1 - (x_j - x_k)); the row's sum / C. No gradient at z = 0.
  const T step = static_cast<T>(reduction == Reduction::Mean ? 1.0 / static_cast<double>(n * classes)
                                                             : 1.0 / static_cast<double>(classes));
  std::vector<double> losses(n);
  at::parallel_for(0, n, rowsPerTask(classes), [&](int64_t begin, int64_t end) {
    std::vector<char> isTarget(classes);
    for (int64_t i = begin; i < end; ++i) {
      const T* row = x + i * classes;
      const int64_t* rowTargets = targets + i * classes;
      std::fill(isTarget.begin(), isTarget.end(), 0);
      for (int64_t t = 0; t < classes && rowTargets[t] >= 0; ++t) isTarget[rowTargets[t]] = 1;
      T sum = 0;
      for (int64_t t = 0; t < classes && rowTargets[t] >= 0; ++t) {
        const int64_t j = rowTargets[t];
        for (int64_t k = 0; k < classes; ++k) {
          if (isTarget[k]) continue;
          const T z = T(1) - row[j] + row[k];
          if (!(z > T(0))) continue;
          sum += z;
          if (g) {
            g[i * classes + j] -= step;
            g[i * classes + k] += step;
          }
        }
      }
      losses[i] = static_cast<double>(sum / static_cast<T>(classes));
    }
  });
  LossOutput out;
  setRowLosses<T>(out, losses, reduction, static_cast<double>(n), input.options());
  if (needGrad) out.grads = {grad};
  return out;
}

}  // namespace

LossOutput multiLabelSoftMarginKernel(const at::Tensor& input, const at::Tensor& target,
                                      const std::optional<at::Tensor>& weight, Reduction reduction, bool needGrad) {
  countFusedKernelCall();
  if (input.scalar_type() == at::kDouble) return softMargin<double>(input, target, weight, reduction, needGrad);
  return softMargin<float>(input, target, weight, reduction, needGrad);
}

LossOutput multiLabelMarginKernel(const at::Tensor& input, const at::Tensor& labels, Reduction reduction, bool needGrad) {
  countFusedKernelCall();
  if (input.scalar_type() == at::kDouble) return margin<double>(input, labels, reduction, needGrad);
  return margin<float>(input, labels, reduction, needGrad);
}

}  // namespace tl::ops::cpu
