#include "triplet_margin_kernel.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <functional>
#include <cmath>
#include <limits>

#include "../kernel_choice.h"

namespace tl::ops::cpu {
namespace {

// The p of the distance decides both loops; a template per kind keeps the inner loops free of
// branches so that they vectorize (`omp simd` needs -fopenmp-simd, set by the build).
enum class NormKind { L1, L2, Inf, General };

// ||x - y + eps||_p of one row; for p = inf also how many entries reach the maximum.
struct RowNorm {
  double value = 0;
  double maxCount = 1;
};

template <NormKind K, typename T>
RowNorm rowNorm(const T* x, const T* y, int64_t dim, T eps, double p) {
  RowNorm out;
  if constexpr (K == NormKind::Inf) {
    T m = 0;
    int64_t nans = 0;  // max() would drop NaN; PyTorch's amax propagates it
#pragma omp simd reduction(max : m) reduction(+ : nans)
    for (int64_t j = 0; j < dim; ++j) {
      const T v = std::abs(x[j] - y[j] + eps);
      m = std::max(m, v);
      nans += v != v;
    }
    int64_t count = 0;
#pragma omp simd reduction(+ : count)
    for (int64_t j = 0; j < dim; ++j) count += std::abs(x[j] - y[j] + eps) == m;
    out.value = nans ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(m);
    out.maxCount = static_cast<double>(count);
  } else {
    double acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t j = 0; j < dim; ++j) {
      const double v = static_cast<double>(x[j] - y[j] + eps);
      if constexpr (K == NormKind::L2) acc += v * v;
      if constexpr (K == NormKind::L1) acc += std::abs(v);
      if constexpr (K == NormKind::General) acc += std::pow(std::abs(v), p);
    }
    if constexpr (K == NormKind::L2) out.value = std::sqrt(acc);
    if constexpr (K == NormKind::L1) out.value = acc;
    if constexpr (K == NormKind::General) out.value = std::pow(acc, 1.0 / p);
  }
  return out;
}

// weight * d||v||_p / dv for one entry; zero when the norm is zero (identical inputs).
template <NormKind K, typename T>
inline T normGrad(T v, const RowNorm& norm, T weight, double p) {
  if constexpr (K == NormKind::L2) return v * weight;  // weight already divided by the norm
  if constexpr (K == NormKind::L1) return weight * static_cast<T>((v > 0) - (v < 0));
  if constexpr (K == NormKind::Inf) {
    return std::abs(v) == static_cast<T>(norm.value) ? weight * static_cast<T>((v > 0) - (v < 0)) : T(0);
  }
  if constexpr (K == NormKind::General) {
    // v |v|^(p-2) -> 0 as v -> 0 for p > 1; PyTorch also gives 0 at v = 0 for p < 2.
    // sign(v) |v|^(p-1) in double: v * |v|^(p-2) in T overflows for huge |v| when p < 1.
    if (v == 0) return T(0);
    const double magnitude = std::pow(std::abs(double(v)), p - 1);
    return static_cast<T>(double(weight) * (v > 0 ? magnitude : -magnitude));
  }
}

// Folds the per-row factors of normGrad into one weight: w/d (L2), w/count (Inf), w/d^(p-1).
template <NormKind K>
double rowWeight(double w, const RowNorm& norm, double p) {
  if (w == 0 || norm.value == 0) return 0;
  if constexpr (K == NormKind::L2) return w / norm.value;
  if constexpr (K == NormKind::Inf) return w / norm.maxCount;
  if constexpr (K == NormKind::General) return w / std::pow(norm.value, p - 1);
  return w;
}

// Processes rows [begin, end); stores per-row losses when `loss` is given; returns their sum.
template <NormKind K, typename T>
double tripletRows(int64_t begin, int64_t end, int64_t dim, const T* a, const T* p, const T* n,
                   const TripletMarginOptions& o, double scale, T* loss, T* ga, T* gp, T* gn) {
  const T eps = static_cast<T>(o.eps);
  double total = 0;
  for (int64_t i = begin; i < end; ++i) {
    const T* ai = a + i * dim;
    const T* pi = p + i * dim;
    const T* ni = n + i * dim;
    const RowNorm ap = rowNorm<K>(ai, pi, dim, eps, o.p);
    const RowNorm an = rowNorm<K>(ai, ni, dim, eps, o.p);
    RowNorm pn;
    bool swapped = false;
    if (o.swap) {
      pn = rowNorm<K>(pi, ni, dim, eps, o.p);
      swapped = pn.value < an.value;
    }
    const double hinge = o.margin + ap.value - (swapped ? pn.value : an.value);
    total += std::max(hinge, 0.0);
    if (loss != nullptr) loss[i] = static_cast<T>(std::max(hinge, 0.0));
    if (ga == nullptr) continue;
    // clamp_min passes the gradient where hinge >= 0 (PyTorch's convention at the kink).
    const double w = hinge >= 0 ? scale : 0.0;
    // With swap, the negative term's weight goes to d(p, n), to d(a, n), or half to each on a
    // tie, as the backward of PyTorch's minimum splits it.
    const double swapShare = !o.swap ? 0.0 : swapped ? 1.0 : (pn.value == an.value ? 0.5 : 0.0);
    const T wAp = static_cast<T>(rowWeight<K>(w, ap, o.p));
    const T wAn = static_cast<T>(rowWeight<K>(w * (1 - swapShare), an, o.p));
    const T wPn = static_cast<T>(rowWeight<K>(w * swapShare, pn, o.p));
    T* gai = ga + i * dim;
    T* gpi = gp + i * dim;
    T* gni = gn + i * dim;
#pragma omp simd
    for (int64_t j = 0; j < dim; ++j) {
      const T gAp = normGrad<K>(ai[j] - pi[j] + eps, ap, wAp, o.p);
      const T gAn = normGrad<K>(ai[j] - ni[j] + eps, an, wAn, o.p);
      const T gPn = swapShare > 0 ? normGrad<K>(pi[j] - ni[j] + eps, pn, wPn, o.p) : T(0);
      gai[j] = gAp - gAn;
      gpi[j] = -gAp - gPn;
      gni[j] = gAn + gPn;
    }
  }
  return total;
}

template <typename T>
LossOutput run(const at::Tensor& anchor, const at::Tensor& positive, const at::Tensor& negative,
               const TripletMarginOptions& o, bool needGrad) {
  const int64_t dim = anchor.size(-1);
  const int64_t rows = anchor.dim() == 1 ? 1 : anchor.size(0);
  const bool perElement = o.reduction == Reduction::None;
  at::Tensor losses = perElement ? outputOfSize({rows}, anchor.options()) : at::Tensor();
  at::Tensor gradA, gradP, gradN;
  if (needGrad) {
    gradA = outputLike(anchor);
    gradP = outputLike(positive);
    gradN = outputLike(negative);
  }
  const auto ptr = [](at::Tensor& t) { return t.defined() ? t.data_ptr<T>() : nullptr; };
  const T* a = anchor.data_ptr<T>();
  const T* p = positive.data_ptr<T>();
  const T* n = negative.data_ptr<T>();
  T *loss = ptr(losses), *ga = ptr(gradA), *gp = ptr(gradP), *gn = ptr(gradN);
  const double scale = reductionScale(o.reduction, rows);
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(dim, 1));
  const double total = at::parallel_reduce(
      0, rows, grain, 0.0,
      [&](int64_t begin, int64_t end, double partial) {
        if (o.p == 2) return partial + tripletRows<NormKind::L2>(begin, end, dim, a, p, n, o, scale, loss, ga, gp, gn);
        if (o.p == 1) return partial + tripletRows<NormKind::L1>(begin, end, dim, a, p, n, o, scale, loss, ga, gp, gn);
        if (std::isinf(o.p)) return partial + tripletRows<NormKind::Inf>(begin, end, dim, a, p, n, o, scale, loss, ga, gp, gn);
        return partial + tripletRows<NormKind::General>(begin, end, dim, a, p, n, o, scale, loss, ga, gp, gn);
      },
      std::plus<double>());

  LossOutput out;
  const at::Tensor perRow = perElement && anchor.dim() == 1 ? losses.reshape({}) : losses;
  setKernelLoss(out, perRow, o.reduction == Reduction::Mean ? total / rows : total, anchor.scalar_type());
  if (needGrad) out.grads = {gradA, gradP, gradN};
  return out;
}

}  // namespace

LossOutput tripletMarginKernel(const at::Tensor& anchor, const at::Tensor& positive,
                               const at::Tensor& negative, const TripletMarginOptions& options,
                               bool needGrad) {
  countFusedKernelCall();
  if (anchor.scalar_type() == at::kDouble) return run<double>(anchor, positive, negative, options, needGrad);
  return run<float>(anchor, positive, negative, options, needGrad);
}

}  // namespace tl::ops::cpu
