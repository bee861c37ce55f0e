#include "margin_softmax_kernel.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace tl::ops::cpu {
namespace {

// GCC keeps loops with float compares and conversions scalar under its default -ftrapping-math;
// these loops raise no floating-point exceptions that anyone reads, so they are compiled without
// it (on these functions only).
#if defined(__GNUC__) && !defined(__clang__)
#define TL_VECTORIZE __attribute__((optimize("no-trapping-math")))
#else
#define TL_VECTORIZE
#endif

// exp(x) for x <= 0 in float, branch-free so that the row loops vectorize: 2^n * p(r) with
// n = round(x / ln 2) (the 1.5 * 2^23 rounding trick), r = x - n ln 2 (ln 2 split in two constants
// for accuracy), p Cephes' expf polynomial (~1 ulp). Below -87.3 (exp < FLT_MIN) it returns 0,
// as expf underflows.
TL_VECTORIZE inline float expNonPositive(float x) {
  const float keep = x >= -87.3f ? 1.0f : 0.0f;
  x = x >= -87.3f ? x : -87.3f;
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n: n + 2^23 + 127 holds n + 127 in its low mantissa bits; shifting them into the exponent
  // field is integer work on the bits, no conversion.
  const float biased = n + 8388735.0f;
  uint32_t bits;
  std::memcpy(&bits, &biased, sizeof bits);
  bits <<= 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale * keep;
}

inline double expNonPositive(double x) { return std::exp(x); }

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
