// Whether an op may take its fused CPU kernel instead of the ATen + autograd path. Tests turn the
// kernels off for one call (binding option `_referenceKernels: true`) to compare both paths on
// the same inputs; the flag is per thread because a call runs entirely on one thread.
#pragma once
#include <ATen/ATen.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
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

// Kernels that call exp / log per element are scalar code; ATen's vectorized versions win once a
// call has more than this many elements (measured on this project's 2-core VM at 1M elements:
// BCE-with-logits, soft margin and cross-entropy 1.3-3.9x slower fused). Below it, the fused
// kernels' lack of dispatch overhead wins.
constexpr int64_t kScalarMathElements = 65536;
inline bool scalarMathPays(const at::Tensor& input) { return input.numel() <= kScalarMathElements; }

// Where the fused kernels allocate the tensors they return. A synchronous call from JavaScript
// installs an allocator whose memory belongs to fresh JS ArrayBuffers (zero-filled), so that its
// result can view the memory instead of copying it; elsewhere these are at::empty / at::zeros.
using OutputAllocator = std::function<at::Tensor(at::IntArrayRef sizes, const at::TensorOptions& options)>;
inline thread_local const OutputAllocator* outputAllocator = nullptr;

inline at::Tensor outputLike(const at::Tensor& like) {
  return outputAllocator ? (*outputAllocator)(like.sizes(), like.options()) : at::empty_like(like);
}
inline at::Tensor zerosLike(const at::Tensor& like) {  // the JS allocator's memory is zeroed already
  return outputAllocator ? (*outputAllocator)(like.sizes(), like.options()) : at::zeros_like(like);
}
inline at::Tensor outputOfSize(at::IntArrayRef sizes, const at::TensorOptions& options) {
  return outputAllocator ? (*outputAllocator)(sizes, options) : at::empty(sizes, options);
}

class OutputAllocatorScope {
 public:
  explicit OutputAllocatorScope(const OutputAllocator* allocator) : previous_(outputAllocator) {
    outputAllocator = allocator;
  }
  ~OutputAllocatorScope() { outputAllocator = previous_; }
  OutputAllocatorScope(const OutputAllocatorScope&) = delete;
  OutputAllocatorScope& operator=(const OutputAllocatorScope&) = delete;

 private:
  const OutputAllocator* previous_;
};

// Rows per parallel task for a kernel working row by row: about ATen's grain size (32768
// elements), so small inputs stay on the calling thread.
inline int64_t rowsPerTask(int64_t rowLength) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(rowLength, 1)); }

}  // namespace tl::ops
