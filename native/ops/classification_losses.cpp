#include "classification_losses.h"

#include <ATen/ExpandUtils.h>

#include "autograd_loss.h"
#include "cpu/class_index_kernels.h"
#include "cpu/multilabel_kernels.h"
#include "cpu/pointwise_kernels.h"
#include "kernel_choice.h"
#include "shape_checks.h"

namespace tl::ops {
namespace {

int64_t classCount(const at::Tensor& input) { return input.dim() == 1 ? input.size(0) : input.size(1); }

// The shape class indices must have for `input`: the input's shape without the class dim.
std::vector<int64_t> indexShape(const at::Tensor& input) {
  std::vector<int64_t> shape(input.sizes().begin(), input.sizes().end());
  shape.erase(shape.begin() + (input.dim() == 1 ? 0 : 1));
  return shape;
}

// Index of the first label outside [low, high) and other than `allowed`, or -1. CPU labels are
// scanned directly: for small calls the tensor-op version costs more than the loss itself.
int64_t firstBadLabel(const at::Tensor& flat, int64_t low, int64_t high, std::optional<int64_t> allowed) {
  const auto bad = [&](int64_t label) { return (label < low || label >= high) && (!allowed || label != *allowed); };
  if (flat.is_cpu() && flat.is_contiguous() && flat.scalar_type() == at::kLong) {
    const int64_t* labels = flat.data_ptr<int64_t>();
    for (int64_t i = 0; i < flat.numel(); ++i) {
      if (bad(labels[i])) return i;
    }
    return -1;
  }
  at::Tensor mask = (flat < low) | (flat >= high);
  if (allowed) mask &= flat != *allowed;
  return mask.any().item<bool>() ? mask.nonzero()[0][0].item<int64_t>() : -1;
}

// Reshapes flat labels to `shape`, then checks each is in [low, high) or equals `allowed`.
at::Tensor checkedLabels(const at::Tensor& labels, const std::vector<int64_t>& shape, int64_t low,
                         int64_t high, std::optional<int64_t> allowed, const char* what) {
  int64_t expected = 1;
  for (int64_t s : shape) expected *= s;
  if (labels.numel() != expected) {
    rangeError("`target` must hold ", expected, " ", what, " (shape ", c10::IntArrayRef(shape),
               "), got ", labels.numel());
  }
  // Labels arrive flat (1-d): for (N) targets no reshape is needed (each costs ~1 µs).
  const at::Tensor flat = labels.dim() == 1 ? labels : labels.reshape({-1});
  const int64_t position = firstBadLabel(flat, low, high, allowed);
  if (position >= 0) {
    rangeError("`target[", position, "]` is ", flat[position].item<int64_t>(), "; expected ", what,
               " in [", low, ", ", high, ")", allowed ? " or ignoreIndex " + std::to_string(*allowed) : "");
  }
  return labels.sizes() == c10::IntArrayRef(shape) ? labels : labels.reshape(shape);
}

// Index of the first element outside [0, 1] (NaN counts as outside), or -1. CPU memory is
// scanned directly: for small calls the tensor-op version costs more than the loss itself.
template <typename T>
int64_t firstOutside01(const T* values, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    if (!(values[i] >= T(0) && values[i] <= T(1))) return i;
  }
  return -1;
}

int64_t firstOutside01(const at::Tensor& tensor) {
  if (tensor.is_cpu() && tensor.is_contiguous()) {
    if (tensor.scalar_type() == at::kFloat) return firstOutside01(tensor.data_ptr<float>(), tensor.numel());
    if (tensor.scalar_type() == at::kDouble) return firstOutside01(tensor.data_ptr<double>(), tensor.numel());
  }
  const at::Tensor bad = ~((tensor >= 0) & (tensor <= 1));
  return bad.any().item<bool>() ? bad.reshape({-1}).nonzero()[0][0].item<int64_t>() : -1;
}

void requireWithin01(const char* name, const at::Tensor& tensor, const char* what) {
  const int64_t position = firstOutside01(tensor);
  if (position >= 0) {
    rangeError("`", name, "` must hold ", what, " in [0, 1]; found ",
               tensor.reshape({-1})[position].item<double>(), " at index ", position);
  }
}

void requireClassWeight(const std::optional<at::Tensor>& weight, int64_t classes) {
  if (weight && (weight->dim() != 1 || weight->size(0) != classes)) {
    rangeError("`weight` must have shape [", classes, "] (one per class), got ", weight->sizes());
  }
}

void requireBroadcastable(const char* name, const std::optional<at::Tensor>& t, const at::Tensor& input) {
  if (t && !at::is_expandable_to(t->sizes(), input.sizes())) {
    rangeError("`", name, "` of shape ", t->sizes(), " cannot be broadcast to the input's shape ",
               input.sizes());
  }
}

void requireClassInput(const at::Tensor& input, int64_t maxDims) {
  requireDims("input", input, 1, maxDims);
  requireNonEmpty("input", input);
}

}  // namespace

LossOutput crossEntropyLoss(const at::Tensor& input, const at::Tensor& target,
                            const CrossEntropyOptions& o, bool needGrad) {
  requireClassInput(input, 64);
  const int64_t classes = classCount(input);
  requireClassWeight(o.weight, classes);
  if (!(o.labelSmoothing >= 0 && o.labelSmoothing <= 1)) {
    rangeError("`labelSmoothing` must be in [0, 1], got ", o.labelSmoothing);
  }
  const c10::optional<at::Tensor> weight = o.weight ? c10::optional<at::Tensor>(*o.weight) : c10::nullopt;
  if (target.is_floating_point()) {  // class probabilities
    requireSameShape("target", target, "input", input);
    return lossWithAutograd({input, target}, o.reduction, needGrad, [&](const std::vector<at::Tensor>& x) {
      return at::cross_entropy_loss(x[0], x[1], weight, atReduction(o.reduction), o.ignoreIndex, o.labelSmoothing);
    });
  }
  const at::Tensor labels = checkedLabels(target, indexShape(input), 0, classes, o.ignoreIndex, "class indices");
  const cpu::ClassIndexOptions kernelOptions{o.weight, o.ignoreIndex, o.labelSmoothing, o.reduction};
  if (cpu::classIndexKernelApplies(input, labels, kernelOptions)) {  // vectorized exp: any size
    return cpu::crossEntropyKernel(input, labels, kernelOptions, needGrad);
  }
  return lossWithAutograd({input}, o.reduction, needGrad, [&](const std::vector<at::Tensor>& x) {
    return at::cross_entropy_loss(x[0], labels, weight, atReduction(o.reduction), o.ignoreIndex, o.labelSmoothing);
  });
}

LossOutput nllLoss(const at::Tensor& input, const at::Tensor& target, const NllOptions& o, bool needGrad) {
  requireClassInput(input, 64);
  const int64_t classes = classCount(input);
  requireClassWeight(o.weight, classes);
  const at::Tensor labels = checkedLabels(target, indexShape(input), 0, classes, o.ignoreIndex, "class indices");
  const cpu::ClassIndexOptions kernelOptions{o.weight, o.ignoreIndex, 0.0, o.reduction};
  if (cpu::classIndexKernelApplies(input, labels, kernelOptions)) return cpu::nllKernel(input, labels, kernelOptions, needGrad);
  const c10::optional<at::Tensor> weight = o.weight ? c10::optional<at::Tensor>(*o.weight) : c10::nullopt;
  return lossWithAutograd({input}, o.reduction, needGrad, [&](const std::vector<at::Tensor>& x) {
    return at::nll_loss_nd(x[0], labels, weight, atReduction(o.reduction), o.ignoreIndex);
  });
}

LossOutput bceLoss(const at::Tensor& input, const at::Tensor& target,
                   const std::optional<at::Tensor>& weight, Reduction reduction, bool needGrad) {
  requireSameShape("target", target, "input", input);
  requireNonEmpty("input", input);
  requireWithin01("input", input, "probabilities");
  requireWithin01("target", target, "targets");
  requireBroadcastable("weight", weight, input);
  if (!weight && scalarMathPays(input) && fusedCpuKernelApplies({input, target})) return cpu::bceKernel(input, target, reduction, needGrad);
  const c10::optional<at::Tensor> w = weight ? c10::optional<at::Tensor>(*weight) : c10::nullopt;
  return lossWithAutograd({input, target}, reduction, needGrad, [&](const std::vector<at::Tensor>& x) {
    return at::binary_cross_entropy(x[0], x[1], w, atReduction(reduction));
  });
}

LossOutput bceWithLogitsLoss(const at::Tensor& input, const at::Tensor& target,
                             const std::optional<at::Tensor>& weight,
                             const std::optional<at::Tensor>& posWeight, Reduction reduction,
                             bool needGrad) {
  requireSameShape("target", target, "input", input);
  requireNonEmpty("input", input);
  requireWithin01("target", target, "targets");
  requireBroadcastable("weight", weight, input);
  requireBroadcastable("posWeight", posWeight, input);
  if (!weight && !posWeight && scalarMathPays(input) && fusedCpuKernelApplies({input, target})) {
    return cpu::bceWithLogitsKernel(input, target, reduction, needGrad);
  }
  const c10::optional<at::Tensor> w = weight ? c10::optional<at::Tensor>(*weight) : c10::nullopt;
  const c10::optional<at::Tensor> pw = posWeight ? c10::optional<at::Tensor>(*posWeight) : c10::nullopt;
  return lossWithAutograd({input, target}, reduction, needGrad, [&](const std::vector<at::Tensor>& x) {
    return at::binary_cross_entropy_with_logits(x[0], x[1], w, pw, atReduction(reduction));
  });
}

LossOutput softMarginLoss(const at::Tensor& input, const at::Tensor& target, Reduction reduction,
                          bool needGrad) {
  requireSameShape("target", target, "input", input);
  requireNonEmpty("input", input);
  if (scalarMathPays(input) && fusedCpuKernelApplies({input, target})) return cpu::softMarginKernel(input, target, reduction, needGrad);
  return lossWithAutograd({input}, reduction, needGrad, [&](const std::vector<at::Tensor>& x) {
    return at::soft_margin_loss(x[0], target, atReduction(reduction));
  });
}

LossOutput multiLabelSoftMarginLoss(const at::Tensor& input, const at::Tensor& target,
                                    const std::optional<at::Tensor>& weight, Reduction reduction,
                                    bool needGrad) {
  requireClassInput(input, 2);
  requireSameShape("target", target, "input", input);
  const int64_t classes = input.size(-1);
  requireClassWeight(weight, classes);
  const bool weightFits = !weight || (fusedCpuKernelApplies({*weight}) && weight->scalar_type() == input.scalar_type());
  if (input.dim() == 2 && weightFits && scalarMathPays(input) && fusedCpuKernelApplies({input, target})) {
    return cpu::multiLabelSoftMarginKernel(input, target, weight, reduction, needGrad);
  }
  // torch.nn.functional.multilabel_soft_margin_loss: mean over classes of the weighted
  // binary logistic losses, then the reduction over the batch.
  return lossWithAutograd({input, target}, reduction, needGrad, [&](const std::vector<at::Tensor>& x) {
    at::Tensor loss = -(x[1] * at::log_sigmoid(x[0]) + (1 - x[1]) * at::log_sigmoid(-x[0]));
    if (weight) loss = loss * *weight;
    return reduce(loss.sum(-1) / static_cast<double>(classes), reduction);
  });
}

LossOutput multiLabelMarginLoss(const at::Tensor& input, const at::Tensor& target,
                                Reduction reduction, bool needGrad) {
  requireClassInput(input, 2);
  const std::vector<int64_t> shape(input.sizes().begin(), input.sizes().end());
  const at::Tensor labels = checkedLabels(target, shape, -1, input.size(-1), std::nullopt,
                                          "class indices (or -1 to end the list)");
  if (input.dim() == 2 && fusedCpuKernelApplies({input}) && labels.is_contiguous()) {
    return cpu::multiLabelMarginKernel(input, labels, reduction, needGrad);
  }
  return lossWithAutograd({input}, reduction, needGrad, [&](const std::vector<at::Tensor>& x) {
    return at::multilabel_margin_loss(x[0], labels, atReduction(reduction));
  });
}

LossOutput multiMarginLoss(const at::Tensor& input, const at::Tensor& target,
                           const MultiMarginOptions& o, bool needGrad) {
  requireClassInput(input, 2);
  if (o.p != 1 && o.p != 2) rangeError("`p` must be 1 or 2, got ", o.p);
  const int64_t classes = input.size(-1);
  requireClassWeight(o.weight, classes);
  const at::Tensor labels = checkedLabels(target, indexShape(input), 0, classes, std::nullopt, "class indices");
  const cpu::ClassIndexOptions kernelOptions{o.weight, -1, 0.0, o.reduction};
  if (cpu::classIndexKernelApplies(input, labels, kernelOptions)) {
    return cpu::multiMarginKernel(input, labels, o.p, o.margin, kernelOptions, needGrad);
  }
  const c10::optional<at::Tensor> weight = o.weight ? c10::optional<at::Tensor>(*o.weight) : c10::nullopt;
  return lossWithAutograd({input}, o.reduction, needGrad, [&](const std::vector<at::Tensor>& x) {
    return at::multi_margin_loss(x[0], labels, o.p, o.margin, weight, atReduction(o.reduction));
  });
}

}  // namespace tl::ops
