// Branch-free float math that GCC vectorizes, shared by the row kernels (margin-softmax
// cross-entropy, cross-entropy).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace tl::ops::cpu {

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

}  // namespace tl::ops::cpu
