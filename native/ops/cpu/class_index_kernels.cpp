#include "class_index_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "../kernel_choice.h"
#include "row_losses.h"
#include "vector_math.h"

namespace tl::ops::cpu {
namespace {

// The per-row losses of one call, and where each row's gradient goes.
template <typename T>
struct Rows {
  int64_t n, classes;
  const T* x;           // (N, C) scores
  const int64_t* y;     // (N) labels
  const T* weight;      // (C) or nullptr
  T* grad;              // (N, C) or nullptr
  std::vector<double> loss;   // per row, unscaled
  std::vector<double> rowWeight;  // per row: weight[label], 0 for an ignored row

  Rows(const at::Tensor& input, const at::Tensor& labels, const ClassIndexOptions& o, at::Tensor* gradOut)
      : n(input.size(0)),
        classes(input.size(1)),
        x(input.data_ptr<T>()),
        y(labels.data_ptr<int64_t>()),
        weight(o.weight ? o.weight->data_ptr<T>() : nullptr),
        grad(gradOut ? gradOut->data_ptr<T>() : nullptr),
        loss(n, 0.0),
        rowWeight(n, 0.0) {}

  double classWeight(int64_t c) const { return weight ? static_cast<double>(weight[c]) : 1.0; }
};

double summedRowWeights(const std::vector<double>& rowWeight) {
  double sum = 0;
  for (double w : rowWeight) sum += w;
  return sum;
}

// One row of the cross-entropy: its loss and, given g, its gradient written there. d loss / d x_j
// = (1 - eps) w_t (p_j - [j = t]) + (eps / C) (W p_j - w_j), W the sum of the class weights.
template <typename T>
struct CrossEntropyRow {
  const T* x;
  int64_t classes, target;
  const T* weight;  // (C) or nullptr
  double targetWeight, weightTotal, smoothing, gradScale;

  T classWeight(int64_t c) const { return weight ? weight[c] : T(1); }

  // Whether every score is finite (x - x is 0 then, NaN otherwise): the vectorized version's
  // clamped exp would turn NaN / Inf into 0 where PyTorch propagates them.
  TL_VECTORIZE bool finite() const {
    T check = 0;
#pragma omp simd reduction(+ : check)
    for (int64_t c = 0; c < classes; ++c) check += x[c] - x[c];
    return check == T(0);
  }

  // In T, with the branch-free exp the compiler vectorizes; g first holds exp(x_j - max).
  TL_VECTORIZE double vectorized(T* g) const {
    T top = x[0];
#pragma omp simd reduction(max : top)
    for (int64_t c = 0; c < classes; ++c) top = x[c] > top ? x[c] : top;
    T sum = 0;
    if (g) {
#pragma omp simd reduction(+ : sum)
      for (int64_t c = 0; c < classes; ++c) sum += (g[c] = expNonPositive(x[c] - top));
    } else {
#pragma omp simd reduction(+ : sum)
      for (int64_t c = 0; c < classes; ++c) sum += expNonPositive(x[c] - top);
    }
    const double lse = static_cast<double>(top) + std::log(static_cast<double>(sum));
    double loss = -(1 - smoothing) * targetWeight * (static_cast<double>(x[target]) - lse);
    if (smoothing > 0) {  // (eps / C) * -sum_j w_j logp_j = (eps / C) (W lse - sum_j w_j x_j)
      T weighted = 0;
#pragma omp simd reduction(+ : weighted)
      for (int64_t c = 0; c < classes; ++c) weighted += classWeight(c) * x[c];
      loss += smoothing / static_cast<double>(classes) * (weightTotal * lse - static_cast<double>(weighted));
    }
    if (!g) return loss;
    const T inverseSum = T(1) / sum;
    const T nllFactor = static_cast<T>((1 - smoothing) * targetWeight * gradScale);
    if (smoothing > 0) {
      const T smoothFactor = static_cast<T>(smoothing / static_cast<double>(classes) * gradScale);
      const T total = static_cast<T>(weightTotal);
#pragma omp simd
      for (int64_t c = 0; c < classes; ++c) {
        const T p = g[c] * inverseSum;
        g[c] = nllFactor * p + smoothFactor * (total * p - classWeight(c));
      }
    } else {
#pragma omp simd
      for (int64_t c = 0; c < classes; ++c) g[c] = nllFactor * (g[c] * inverseSum);
    }
    g[target] -= nllFactor;
    return loss;
  }

  // In double with std::exp, for rows holding NaN or Inf (PyTorch's propagation).
  double exact(T* g) const {
    double maxScore = x[0];
    for (int64_t c = 1; c < classes; ++c) maxScore = std::max(maxScore, static_cast<double>(x[c]));
    double expSum = 0;
    for (int64_t c = 0; c < classes; ++c) {
      const double e = std::exp(static_cast<double>(x[c]) - maxScore);
      expSum += e;
      if (g) g[c] = static_cast<T>(e);
    }
    const double lse = maxScore + std::log(expSum);
    double loss = -(1 - smoothing) * targetWeight * (static_cast<double>(x[target]) - lse);
    if (smoothing > 0) {
      double weightedLogp = 0;
      for (int64_t c = 0; c < classes; ++c) weightedLogp += classWeight(c) * (static_cast<double>(x[c]) - lse);
      loss -= smoothing / static_cast<double>(classes) * weightedLogp;
    }
    if (!g) return loss;
    const double nllFactor = (1 - smoothing) * targetWeight * gradScale;
    const double smoothFactor = smoothing / static_cast<double>(classes) * gradScale;
    for (int64_t c = 0; c < classes; ++c) {
      const double p = static_cast<double>(g[c]) / expSum;
      double d = nllFactor * (p - (c == target ? 1.0 : 0.0));
      if (smoothing > 0) d += smoothFactor * (weightTotal * p - classWeight(c));
      g[c] = static_cast<T>(d);
    }
    return loss;
  }
};

template <typename T>
LossOutput crossEntropy(const at::Tensor& input, const at::Tensor& labels, const ClassIndexOptions& o, bool needGrad) {
  at::Tensor grad = needGrad ? outputLike(input) : at::Tensor();
  Rows<T> rows(input, labels, o, needGrad ? &grad : nullptr);
  const int64_t C = rows.classes;
  const double smoothing = o.labelSmoothing;
  double weightTotal = 0;  // sum over classes of the class weights (C without weights)
  for (int64_t c = 0; c < C; ++c) weightTotal += rows.classWeight(c);
  // The mean divides by the summed weights of the rows that count: known before any row is done.
  for (int64_t i = 0; i < rows.n; ++i) {
    if (rows.y[i] != o.ignoreIndex) rows.rowWeight[i] = rows.classWeight(rows.y[i]);
  }
  const double divisor = summedRowWeights(rows.rowWeight);
  const double gradScale = o.reduction == Reduction::Mean ? 1.0 / divisor : 1.0;
  at::parallel_for(0, rows.n, rowsPerTask(C), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t target = rows.y[i];
      T* g = needGrad ? rows.grad + i * C : nullptr;
      if (target == o.ignoreIndex) {
        if (g) std::fill(g, g + C, T(0));
        continue;
      }
      const CrossEntropyRow<T> row{rows.x + i * C, C, target, rows.weight, rows.rowWeight[i], weightTotal, smoothing, gradScale};
      rows.loss[i] = row.finite() ? row.vectorized(g) : row.exact(g);
    }
  });
  LossOutput out;
  setRowLosses<T>(out, rows.loss, o.reduction, divisor, input.options());
  if (needGrad) out.grads = {grad};
  return out;
}

template <typename T>
LossOutput nll(const at::Tensor& input, const at::Tensor& labels, const ClassIndexOptions& o, bool needGrad) {
  at::Tensor grad = needGrad ? zerosLike(input) : at::Tensor();
  Rows<T> rows(input, labels, o, needGrad ? &grad : nullptr);
  for (int64_t i = 0; i < rows.n; ++i) {
    const int64_t target = rows.y[i];
    if (target == o.ignoreIndex) continue;
    rows.rowWeight[i] = rows.classWeight(target);
    rows.loss[i] = -rows.rowWeight[i] * static_cast<double>(rows.x[i * rows.classes + target]);
  }
  const double divisor = summedRowWeights(rows.rowWeight);  // the mean's: summed weights of counted rows
  const double gradScale = o.reduction == Reduction::Mean ? 1.0 / divisor : 1.0;
  LossOutput out;
  setRowLosses<T>(out, rows.loss, o.reduction, divisor, input.options());
  if (!needGrad) return out;
  for (int64_t i = 0; i < rows.n; ++i) {
    if (rows.y[i] == o.ignoreIndex) continue;
    rows.grad[i * rows.classes + rows.y[i]] = static_cast<T>(-rows.rowWeight[i] * gradScale);
  }
  out.grads = {grad};
  return out;
}

template <typename T>
LossOutput multiMargin(const at::Tensor& input, const at::Tensor& labels, int64_t p, double marginValue,
                       const ClassIndexOptions& o, bool needGrad) {
  at::Tensor grad = needGrad ? zerosLike(input) : at::Tensor();
  Rows<T> rows(input, labels, o, needGrad ? &grad : nullptr);
  const int64_t C = rows.classes;
  const T margin = static_cast<T>(marginValue);
  // PyTorch: sum over j != y of max(0, margin - x_y + x_j)^p * w_y, divided by C (in T).
  const T perClass = T(1) / static_cast<T>(C);
  const double gradScale = o.reduction == Reduction::Mean ? 1.0 / static_cast<double>(rows.n) : 1.0;
  at::parallel_for(0, rows.n, rowsPerTask(C), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t target = rows.y[i];
      const T* x = rows.x + i * C;
      const T wt = static_cast<T>(rows.classWeight(target));
      T* g = needGrad ? rows.grad + i * C : nullptr;
      const T step = static_cast<T>(gradScale) * perClass * wt;
      double sum = 0;
      for (int64_t c = 0; c < C; ++c) {
        if (c == target) continue;
        const T z = margin - x[target] + x[c];
        if (!(z > T(0))) continue;  // PyTorch's kink convention: no loss or gradient at z = 0
        sum += static_cast<double>((p == 1 ? z : z * z) * wt);
        if (g) {
          const T d = p == 1 ? step : T(2) * step * z;
          g[c] = d;
          g[target] -= d;
        }
      }
      rows.loss[i] = sum / static_cast<double>(C);
    }
  });
  LossOutput out;
  setRowLosses<T>(out, rows.loss, o.reduction, static_cast<double>(rows.n), input.options());
  if (needGrad) out.grads = {grad};
  return out;
}

template <typename Run>
LossOutput byDtype(const at::Tensor& input, const Run& run) {
  if (input.scalar_type() == at::kDouble) return run(double{});
  return run(float{});
}

}  // namespace

bool classIndexKernelApplies(const at::Tensor& input, const at::Tensor& labels, const ClassIndexOptions& o) {
  if (referenceKernelsOnly || input.dim() != 2 || !input.is_cpu() || !input.is_contiguous()) return false;
  if (input.scalar_type() != at::kFloat && input.scalar_type() != at::kDouble) return false;
  if (!labels.is_cpu() || !labels.is_contiguous() || labels.scalar_type() != at::kLong) return false;
  if (o.weight && (!o.weight->is_cpu() || !o.weight->is_contiguous() ||
                   o.weight->scalar_type() != input.scalar_type())) {
    return false;
  }
  if (o.reduction != Reduction::Mean) return true;
  const int64_t* y = labels.data_ptr<int64_t>();
  return std::any_of(y, y + labels.numel(), [&](int64_t label) { return label != o.ignoreIndex; });
}

LossOutput crossEntropyKernel(const at::Tensor& input, const at::Tensor& labels, const ClassIndexOptions& o, bool needGrad) {
  countFusedKernelCall();
  return byDtype(input, [&](auto zero) { return crossEntropy<decltype(zero)>(input, labels, o, needGrad); });
}

LossOutput nllKernel(const at::Tensor& input, const at::Tensor& labels, const ClassIndexOptions& o, bool needGrad) {
  countFusedKernelCall();
  return byDtype(input, [&](auto zero) { return nll<decltype(zero)>(input, labels, o, needGrad); });
}

LossOutput multiMarginKernel(const at::Tensor& input, const at::Tensor& labels, int64_t p, double margin,
                             const ClassIndexOptions& o, bool needGrad) {
  countFusedKernelCall();
  return byDtype(input, [&](auto zero) { return multiMargin<decltype(zero)>(input, labels, p, margin, o, needGrad); });
}

}  // namespace tl::ops::cpu
