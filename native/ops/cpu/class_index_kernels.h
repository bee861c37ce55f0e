// Fused CPU kernels of the losses over (N, C) scores with one class index per row:
// cross-entropy (weight, ignoreIndex, label smoothing), NLL and multi-class margin. One pass
// per row computes the loss and the closed-form gradient of the scores, without autograd.
// Callers check the arguments and fusedCpuKernelApplies() first, and pass int64 labels (N) that
// are valid class indices (or ignoreIndex). The ATen + autograd path stays the reference.
#pragma once
#include <optional>

#include "../loss_output.h"

namespace tl::ops::cpu {

struct ClassIndexOptions {
  std::optional<at::Tensor> weight;  // (C), the input's dtype, contiguous
  int64_t ignoreIndex = -100;        // CE / NLL
  double labelSmoothing = 0.0;       // CE
  Reduction reduction = Reduction::Mean;
};

// Whether the kernels below can take this call: a mean over a batch whose every row is
// ignored (0 / 0 in PyTorch, with its own NaN conventions) is left to the reference path.
bool classIndexKernelApplies(const at::Tensor& input, const at::Tensor& labels, const ClassIndexOptions& o);

// grads: {input}
LossOutput crossEntropyKernel(const at::Tensor& input, const at::Tensor& labels, const ClassIndexOptions& o, bool needGrad);
LossOutput nllKernel(const at::Tensor& input, const at::Tensor& labels, const ClassIndexOptions& o, bool needGrad);
// p 1 or 2; ignoreIndex and labelSmoothing unused.
LossOutput multiMarginKernel(const at::Tensor& input, const at::Tensor& labels, int64_t p, double margin,
                             const ClassIndexOptions& o, bool needGrad);

}  // namespace tl::ops::cpu
