// Classification losses of torch.nn. Inputs are logits / log-probabilities / probabilities of
// shape (C), (N, C) or (N, C, d1, ...) as each loss allows; class indices are int64.
#pragma once
#include <optional>

#include "loss_output.h"

namespace tl::ops {

struct CrossEntropyOptions {
  std::optional<at::Tensor> weight;  // (C)
  int64_t ignoreIndex = -100;
  double labelSmoothing = 0.0;  // in [0, 1]
  Reduction reduction = Reduction::Mean;
};
// `target`: class indices (int64, the input's shape without the class dimension) or class
// probabilities (float, the input's shape). Gradients: input, and target for probabilities.
LossOutput crossEntropyLoss(const at::Tensor& input, const at::Tensor& target,
                            const CrossEntropyOptions& options, bool needGrad);

struct NllOptions {
  std::optional<at::Tensor> weight;
  int64_t ignoreIndex = -100;
  Reduction reduction = Reduction::Mean;
};
// Gradient: input.
LossOutput nllLoss(const at::Tensor& input, const at::Tensor& target, const NllOptions& options,
                   bool needGrad);

// input: probabilities in [0, 1]; target in [0, 1]; weight broadcastable to input.
// Gradients: input, target.
LossOutput bceLoss(const at::Tensor& input, const at::Tensor& target,
                   const std::optional<at::Tensor>& weight, Reduction reduction, bool needGrad);

// input: logits; target in [0, 1]; weight broadcastable to input; posWeight to the class dim.
// Gradients: input, target.
LossOutput bceWithLogitsLoss(const at::Tensor& input, const at::Tensor& target,
                             const std::optional<at::Tensor>& weight,
                             const std::optional<at::Tensor>& posWeight, Reduction reduction,
                             bool needGrad);

// target: 1 or -1, the input's shape. Gradient: input.
LossOutput softMarginLoss(const at::Tensor& input, const at::Tensor& target, Reduction reduction,
                          bool needGrad);

// input (N, C) or (C); target in {0, 1}, same shape; weight (C). Gradients: input, target.
LossOutput multiLabelSoftMarginLoss(const at::Tensor& input, const at::Tensor& target,
                                    const std::optional<at::Tensor>& weight, Reduction reduction,
                                    bool needGrad);

// input (N, C) or (C); target int64 of the same shape: class indices, ended by -1.
// Gradient: input.
LossOutput multiLabelMarginLoss(const at::Tensor& input, const at::Tensor& target,
                                Reduction reduction, bool needGrad);

struct MultiMarginOptions {
  int64_t p = 1;  // 1 or 2
  double margin = 1.0;
  std::optional<at::Tensor> weight;  // (C)
  Reduction reduction = Reduction::Mean;
};
// input (N, C) or (C); target (N) or () class indices. Gradient: input.
LossOutput multiMarginLoss(const at::Tensor& input, const at::Tensor& target,
                           const MultiMarginOptions& options, bool needGrad);

}  // namespace tl::ops
