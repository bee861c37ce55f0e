#include "softmax_rows_kernel.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace tl::ops::cpu {
namespace {

// exp(x) for x <= 0 in float, branch-free so that the row loops vectorize: 2^n * p(r) with
// n = round(x / ln 2), r = x - n ln 2 (split in two constants for accuracy), p Cephes' expf
// polynomial (~1 ulp). Below -87.3 (exp < FLT_MIN) it returns 0, as expf underflows.
inline float expNonPositive(float x) {
  const bool under = x < -87.3f;
  x = under ? -87.3f : x;
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return under ? 0.0f : p * scale;
}

inline double expNonPositive(double x) { return std::exp(x); }

template <typename T>
void rows(T* z, T* lse, int64_t count, int64_t width, bool writeSoftmax, double gradScale) {
  at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      T* row = z + i * width;
      T top = row[0];
#pragma omp simd reduction(max : top)
      for (int64_t j = 0; j < width; ++j) top = std::max(top, row[j]);
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
      lse[i] = top + std::log(sum);
    }
  });
}

}  // namespace

at::Tensor logSumExpRows(at::Tensor& logits, bool writeSoftmax, double gradScale) {
  TORCH_CHECK(logits.is_cpu() && logits.is_contiguous() && logits.dim() == 2, "logSumExpRows: contiguous 2-D CPU logits");
  at::Tensor lse = at::empty({logits.size(0), 1}, logits.options());
  AT_DISPATCH_FLOATING_TYPES(logits.scalar_type(), "logSumExpRows", [&] {
    rows<scalar_t>(logits.data_ptr<scalar_t>(), lse.data_ptr<scalar_t>(), logits.size(0), logits.size(1), writeSoftmax,
                   gradScale);
  });
  return lse;
}

}  // namespace tl::ops::cpu
