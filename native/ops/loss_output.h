// What every loss op returns, and the reduction shared by all of them.
#pragma once
#include <ATen/ATen.h>
#include <ATen/core/Reduction.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tl::ops {

enum class Reduction { None, Mean, Sum };

// loss: a 0-dim tensor for Mean/Sum, the per-element losses for None.
// grads: one per differentiable input, in argument order; empty when no gradient was asked.
// With Reduction::None the gradients are those of losses.sum() (an upstream gradient of ones).
// total: the reduced loss as a number (for Reduction::None, the sum of `loss`), set by the fused
// kernels, which then leave `loss` undefined for Mean/Sum: a 0-dim tensor costs more than the
// whole loss on small inputs. Consumers read lossTotal(out).
struct LossOutput {
  LossOutput() = default;
  LossOutput(at::Tensor lossValue, std::vector<at::Tensor> gradients = {})  // NOLINT: {loss, grads}
      : loss(std::move(lossValue)), grads(std::move(gradients)) {}

  at::Tensor loss;
  std::vector<at::Tensor> grads;
  std::optional<double> total;
};

inline at::Tensor reduce(const at::Tensor& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean: return losses.mean();
    case Reduction::Sum: return losses.sum();
    default: return losses;
  }
}

// The same choice as ATen's enum, for the at::*_loss functions.
inline int64_t atReduction(Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean: return at::Reduction::Mean;
    case Reduction::Sum: return at::Reduction::Sum;
    default: return at::Reduction::None;
  }
}

// A reduced loss accumulated in double, as a 0-dim tensor of `options`' dtype. Like PyTorch's
// float arithmetic, a float sum beyond FLT_MAX is +-inf (at::scalar_tensor would throw).
inline at::Tensor scalarLoss(double value, const at::TensorOptions& options) {
  if (options.dtype() == at::kFloat && std::isfinite(value) &&
      std::fabs(value) > static_cast<double>(std::numeric_limits<float>::max())) {
    value = std::copysign(std::numeric_limits<double>::infinity(), value);
  }
  return at::scalar_tensor(value, options);
}

// A fused kernel's loss: `perElement` for Reduction::None (else undefined) and the total, rounded
// as a 0-dim tensor of `dtype` would hold it (float sums beyond FLT_MAX are +-inf, as in PyTorch).
inline void setKernelLoss(LossOutput& out, const at::Tensor& perElement, double total, at::ScalarType dtype) {
  if (dtype == at::kFloat) {
    const bool overflows = std::isfinite(total) && std::fabs(total) > static_cast<double>(std::numeric_limits<float>::max());
    total = overflows ? std::copysign(std::numeric_limits<double>::infinity(), total)
                      : static_cast<double>(static_cast<float>(total));
  }
  out.loss = perElement;
  out.total = total;
}

// The loss as the number a result reports: the reduced loss, or the sum of per-element losses.
inline double lossTotal(const LossOutput& out) {
  if (out.total) return *out.total;
  return out.loss.dim() == 0 ? out.loss.item<double>() : out.loss.sum().item<double>();
}

// d(reduced)/d(losses[i]) for every i: 1/N for the mean, 1 otherwise.
inline double reductionScale(Reduction reduction, int64_t count) {
  return reduction == Reduction::Mean ? 1.0 / static_cast<double>(count) : 1.0;
}

}  // namespace tl::ops
