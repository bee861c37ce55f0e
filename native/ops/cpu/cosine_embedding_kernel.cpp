#include "cosine_embedding_kernel.h"

#include <ATen/Parallel.h>

#include <vector>

#include "../kernel_choice.h"
#include "row_losses.h"

namespace tl::ops::cpu {
namespace {

template <typename T>
LossOutput run(const at::Tensor& input1, const at::Tensor& input2, const at::Tensor& target, double marginValue,
               Reduction reduction, bool needGrad) {
  const int64_t n = input1.size(0), dim = input1.size(1);
  const T* x1 = input1.data_ptr<T>();
  const T* x2 = input2.data_ptr<T>();
  const T* y = target.data_ptr<T>();
  const T margin = static_cast<T>(marginValue);
  at::Tensor grad1 = needGrad ? outputLike(input1) : at::Tensor();
  at::Tensor grad2 = needGrad ? outputLike(input2) : at::Tensor();
  T* g1 = needGrad ? grad1.data_ptr<T>() : nullptr;
  T* g2 = needGrad ? grad2.data_ptr<T>() : nullptr;
  std::vector<double> losses(n);
  const double scale = reduction == Reduction::Mean ? 1.0 / static_cast<double>(n) : 1.0;
  // PyTorch: cos = x1·x2 / sqrt((|x1|² + 1e-12)(|x2|² + 1e-12)); loss 1 - cos where y = 1,
  // clamp_min(cos - margin, 0) where y = -1 (gradient where cos - margin >= 0), 0 otherwise.
  at::parallel_for(0, n, rowsPerTask(dim), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T* a = x1 + i * dim;
      const T* b = x2 + i * dim;
      T dot = 0, squared1 = 0, squared2 = 0;
      for (int64_t k = 0; k < dim; ++k) {
        dot += a[k] * b[k];
        squared1 += a[k] * a[k];
        squared2 += b[k] * b[k];
      }
      squared1 += static_cast<T>(1e-12);
      squared2 += static_cast<T>(1e-12);
      const T denominator = std::sqrt(squared1 * squared2);
      const T cos = dot / denominator;
      T loss = 0, dLossDCos = 0;
      if (y[i] == T(1)) {
        loss = T(1) - cos;
        dLossDCos = T(-1);
      } else if (y[i] == T(-1)) {
        const T excess = cos - margin;
        loss = excess < T(0) ? T(0) : excess;
        dLossDCos = excess >= T(0) ? T(1) : T(0);
      }
      losses[i] = loss;
      if (!needGrad) continue;
      // d cos / d x1 = x2 / denominator - cos x1 / |x1|², and symmetrically for x2.
      const T c = dLossDCos * static_cast<T>(scale);
      T* ga = g1 + i * dim;
      T* gb = g2 + i * dim;
      for (int64_t k = 0; k < dim; ++k) {
        ga[k] = c * (b[k] / denominator - cos * a[k] / squared1);
        gb[k] = c * (a[k] / denominator - cos * b[k] / squared2);
      }
    }
  });
  LossOutput out;
  setRowLosses<T>(out, losses, reduction, static_cast<double>(n), input1.options());
  if (needGrad) out.grads = {grad1, grad2};
  return out;
}

}  // namespace

LossOutput cosineEmbeddingKernel(const at::Tensor& input1, const at::Tensor& input2, const at::Tensor& target,
                                 double margin, Reduction reduction, bool needGrad) {
  countFusedKernelCall();
  if (input1.scalar_type() == at::kDouble) return run<double>(input1, input2, target, margin, reduction, needGrad);
  return run<float>(input1, input2, target, margin, reduction, needGrad);
}

}  // namespace tl::ops::cpu
