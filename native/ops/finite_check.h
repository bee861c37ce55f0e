// The metric-learning losses refuse embeddings with NaN or +-Inf (a RangeError naming the
// argument and the first bad row) unless the caller opts in with `allowNonFinite: true`:
// one non-finite row would otherwise turn every mined distance, and the loss, into NaN.
#pragma once
#include <ATen/ATen.h>

#include "../common/errors.h"

namespace tl::ops {

template <typename T>
bool allFinite(const T* values, int64_t count) {
  T check = 0;  // x - x is 0 for finite x and NaN for NaN / Inf: one branch-free pass
#pragma omp simd reduction(+ : check)
  for (int64_t i = 0; i < count; ++i) check += values[i] - values[i];
  return check == T(0);
}

inline void requireFinite(const char* name, const at::Tensor& values, bool allowNonFinite) {
  if (allowNonFinite || values.numel() == 0) return;
  if (values.is_cpu() && values.is_contiguous()) {  // the common case, without four tensor ops
    if (values.scalar_type() == at::kFloat && allFinite(values.data_ptr<float>(), values.numel())) return;
    if (values.scalar_type() == at::kDouble && allFinite(values.data_ptr<double>(), values.numel())) return;
  }
  const at::Tensor finite = at::isfinite(values);
  if (finite.all().item<bool>()) return;
  // Report the first offending row (or element, for 1-d input) so users can find it.
  const at::Tensor rowOk = values.dim() > 1 ? finite.flatten(1).all(1) : finite;
  const int64_t row = rowOk.logical_not().nonzero().select(1, 0)[0].item<int64_t>();
  rangeError("`", name, "` contains NaN or Inf (", values.dim() > 1 ? "row " : "element ", row,
             "); pass `allowNonFinite: true` to compute anyway");
}

}  // namespace tl::ops
