// Fused CPU kernel of CosineEmbeddingLoss on (N, D) pairs: per row one pass for the dot product
// and both squared norms, the loss, and the closed-form gradients of both inputs.
#pragma once
#include "../loss_output.h"

namespace tl::ops::cpu {

// input1, input2 (N, D) contiguous, target (N) in the inputs' dtype. grads: {input1, input2}.
LossOutput cosineEmbeddingKernel(const at::Tensor& input1, const at::Tensor& input2, const at::Tensor& target,
                                 double margin, Reduction reduction, bool needGrad);

}  // namespace tl::ops::cpu
