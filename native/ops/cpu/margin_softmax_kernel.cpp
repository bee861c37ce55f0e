#include "margin_softmax_kernel.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "vector_math.h"

namespace tl::ops::cpu {
namespace {

// One row: its log-sum-exp, and with writeSoftmax the row becomes gradScale * softmax.
template <typename T>
TL_VECTORIZE T rowLogSumExp(T* row, int64_t width, bool writeSoftmax, double gradScale) {
  T top = row[0];
#pragma omp simd reduction(max : top)
  for (int64_t j = 0; j < width; ++j) top = row[j] > top ? row[j] : top;  // (std::max would not inline here)
  T sum = 0;
  if (writeSoftmax) {
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < width; ++j) {
      const T e = expNonPositive(row[j] - top);
      row[j] = e;
      sum += e;
    }
    const T factor = static_cast<T>(gradScale) / sum;
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) row[j] *= factor;
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < width; ++j) sum += expNonPositive(row[j] - top);
  }
  return top + std::log(sum);
}

template <typename T>
TL_VECTORIZE void rowNormalizeBackward(T* g, const T* u, int64_t width, T norm, T eps) {
  T radial = 0;
  if (norm >= eps) {
#pragma omp simd reduction(+ : radial)
    for (int64_t j = 0; j < width; ++j) radial += g[j] * u[j];
  }
  const T inverse = T(1) / (norm >= eps ? norm : eps);
#pragma omp simd
  for (int64_t j = 0; j < width; ++j) g[j] = (g[j] - u[j] * radial) * inverse;
}

}  // namespace

void normalizeRowsBackwardInPlace(at::Tensor& grad, const at::Tensor& unit, const at::Tensor& norms, double eps) {
  TORCH_CHECK(grad.is_cpu() && grad.is_contiguous() && unit.is_contiguous() && norms.is_contiguous() &&
                  grad.sizes() == unit.sizes() && grad.scalar_type() == unit.scalar_type() &&
                  norms.scalar_type() == grad.scalar_type(),
              "normalizeRowsBackwardInPlace: contiguous CPU tensors of one dtype");
  const int64_t width = grad.size(1);
  AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "normalizeRowsBackwardInPlace", [&] {
    scalar_t* g = grad.data_ptr<scalar_t>();
    const scalar_t* u = unit.data_ptr<scalar_t>();
    const scalar_t* n = norms.data_ptr<scalar_t>();
    at::parallel_for(0, grad.size(0), 16, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        rowNormalizeBackward(g + i * width, u + i * width, width, n[i], static_cast<scalar_t>(eps));
      }
    });
  });
}

at::Tensor logSumExpRows(at::Tensor& logits, bool writeSoftmax, double gradScale) {
  TORCH_CHECK(logits.is_cpu() && logits.is_contiguous() && logits.dim() == 2, "logSumExpRows: contiguous 2-D CPU logits");
  at::Tensor lse = at::empty({logits.size(0), 1}, logits.options());
  const int64_t width = logits.size(1);
  AT_DISPATCH_FLOATING_TYPES(logits.scalar_type(), "logSumExpRows", [&] {
    scalar_t* z = logits.data_ptr<scalar_t>();
    scalar_t* out = lse.data_ptr<scalar_t>();
    at::parallel_for(0, logits.size(0), 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = rowLogSumExp(z + i * width, width, writeSoftmax, gradScale);
    });
  });
  return lse;
}

}  // namespace tl::ops::cpu
