// Shape preconditions shared by the loss ops; they raise tl::Error (RangeError in JS) that
// names the argument, the expected and the actual value.
#pragma once
#include <ATen/ATen.h>

#include "../common/errors.h"

namespace tl::ops {

inline void requireSameShape(const char* name, const at::Tensor& tensor, const char* otherName,
                             const at::Tensor& other) {
  if (tensor.sizes() != other.sizes()) {
    rangeError("`", name, "` must have the shape of `", otherName, "` ", other.sizes(), ", got ",
               tensor.sizes());
  }
}

inline void requireNonEmpty(const char* name, const at::Tensor& tensor) {
  if (tensor.numel() == 0) rangeError("`", name, "` is empty (shape ", tensor.sizes(), ")");
}

inline void requireDims(const char* name, const at::Tensor& tensor, int64_t minDim,
                        int64_t maxDim) {
  if (tensor.dim() < minDim || tensor.dim() > maxDim) {
    rangeError("`", name, "` must have ", minDim, minDim == maxDim ? "" : " to ",
               minDim == maxDim ? "" : std::to_string(maxDim), " dimensions, got shape ",
               tensor.sizes());
  }
}

}  // namespace tl::ops
