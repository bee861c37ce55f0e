// Whether an op may take its fused CPU kernel instead of the ATen + autograd path. Tests turn the
// kernels off for one call (binding option `_referenceKernels: true`) to compare both paths on
// the same inputs; the flag is per thread because a call runs entirely on one thread.
#pragma once
#include <ATen/ATen.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <initializer_list>

namespace tl::ops {

inline thread_local bool referenceKernelsOnly = false;

// How many calls the fused kernels have served, so tests can check which path a call took.
inline std::atomic<uint64_t> fusedKernelCalls{0};
inline void countFusedKernelCall() { fusedKernelCalls.fetch_add(1, std::memory_order_relaxed); }

class ReferenceKernelsScope {
 public:
  ReferenceKernelsScope() : previous_(referenceKernelsOnly) { referenceKernelsOnly = true; }
  ~ReferenceKernelsScope() { referenceKernelsOnly = previous_; }
  ReferenceKernelsScope(const ReferenceKernelsScope&) = delete;
  ReferenceKernelsScope& operator=(const ReferenceKernelsScope&) = delete;

 private:
  bool previous_;
};

// The fused kernels read raw float/double memory: every tensor on the CPU, contiguous, of the
// first one's shape and dtype.
inline bool fusedCpuKernelApplies(std::initializer_list<at::Tensor> tensors) {
  if (referenceKernelsOnly) return false;
  const at::Tensor& first = *tensors.begin();
  if (first.scalar_type() != at::kFloat && first.scalar_type() != at::kDouble) return false;
  for (const at::Tensor& t : tensors) {
    if (!t.is_cpu() || !t.is_contiguous() || t.scalar_type() != first.scalar_type() ||
        t.sizes() != first.sizes()) {
      return false;
    }
  }
  return true;
}

// Rows per parallel task for a kernel working row by row: about ATen's grain size (32768
// elements), so small inputs stay on the calling thread.
inline int64_t rowsPerTask(int64_t rowLength) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(rowLength, 1)); }

}  // namespace tl::ops
