// The row-wise fused kernels' common ending: per-row losses (accumulated in double) to the
// LossOutput — the per-row tensor for Reduction::None, in the kernel's output memory — and the
// total: their sum, or the sum / meanDivisor for the mean.
#pragma once
#include <vector>

#include "../kernel_choice.h"
#include "../loss_output.h"

namespace tl::ops::cpu {

template <typename T>
void setRowLosses(LossOutput& out, const std::vector<double>& losses, Reduction reduction, double meanDivisor,
                  const at::TensorOptions& options) {
  at::Tensor perRow;
  if (reduction == Reduction::None) {
    perRow = outputOfSize({static_cast<int64_t>(losses.size())}, options);
    T* values = perRow.data_ptr<T>();
    for (size_t i = 0; i < losses.size(); ++i) values[i] = static_cast<T>(losses[i]);
  }
  double total = 0;
  for (double l : losses) total += l;
  setKernelLoss(out, perRow, reduction == Reduction::Mean ? total / meanDivisor : total, options.dtype().toScalarType());
}

}  // namespace tl::ops::cpu
