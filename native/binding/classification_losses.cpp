// Bindings of the classification losses. Class-index targets are labels (Int32Array |
// BigInt64Array | number[]); probability / binary targets are float tensors.
#include "../ops/classification_losses.h"

#include "loss_call.h"
#include "losses.h"

namespace tl::binding {
namespace {

Napi::Value crossEntropy(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input");
  const bool indices = call.holdsLabels(1);
  const at::Tensor target = indices ? call.labels(1, "target") : call.tensor(1, "target");
  ops::CrossEntropyOptions o;
  o.weight = call.optionalTensor("weight");
  o.ignoreIndex = call.options().integer("ignoreIndex", o.ignoreIndex);
  o.labelSmoothing = call.options().number("labelSmoothing", o.labelSmoothing);
  o.reduction = call.options().reduction();
  const bool needGrad = call.needGrad();
  return call.finish([=] { return ops::crossEntropyLoss(input, target, o, needGrad); }, {"input", "target"});
}

Napi::Value nll(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input");
  const at::Tensor target = call.labels(1, "target");
  ops::NllOptions o;
  o.weight = call.optionalTensor("weight");
  o.ignoreIndex = call.options().integer("ignoreIndex", o.ignoreIndex);
  o.reduction = call.options().reduction();
  const bool needGrad = call.needGrad();
  return call.finish([=] { return ops::nllLoss(input, target, o, needGrad); }, {"input"});
}

Napi::Value bce(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input"), target = call.tensor(1, "target");
  const auto weight = call.optionalTensor("weight");
  const bool needGrad = call.needGrad();
  const ops::Reduction reduction = call.options().reduction();
  return call.finish([=] { return ops::bceLoss(input, target, weight, reduction, needGrad); },
                     {"input", "target"});
}

Napi::Value bceWithLogits(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input"), target = call.tensor(1, "target");
  const auto weight = call.optionalTensor("weight");
  const auto posWeight = call.optionalTensor("posWeight");
  const bool needGrad = call.needGrad();
  const ops::Reduction reduction = call.options().reduction();
  return call.finish([=] { return ops::bceWithLogitsLoss(input, target, weight, posWeight, reduction,
                                            needGrad); },
                     {"input", "target"});
}

Napi::Value softMargin(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input"), target = call.tensor(1, "target");
  const bool needGrad = call.needGrad();
  const ops::Reduction reduction = call.options().reduction();
  return call.finish([=] { return ops::softMarginLoss(input, target, reduction, needGrad); }, {"input"});
}

Napi::Value multiLabelSoftMargin(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input"), target = call.tensor(1, "target");
  const auto weight = call.optionalTensor("weight");
  const bool needGrad = call.needGrad();
  const ops::Reduction reduction = call.options().reduction();
  return call.finish([=] { return ops::multiLabelSoftMarginLoss(input, target, weight, reduction, needGrad); },
                     {"input", "target"});
}

Napi::Value multiLabelMargin(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input");
  const at::Tensor target = call.labels(1, "target");
  const bool needGrad = call.needGrad();
  const ops::Reduction reduction = call.options().reduction();
  return call.finish([=] { return ops::multiLabelMarginLoss(input, target, reduction, needGrad); }, {"input"});
}

Napi::Value multiMargin(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input");
  const at::Tensor target = call.labels(1, "target");
  ops::MultiMarginOptions o;
  o.p = call.options().integer("p", o.p);
  o.margin = call.options().number("margin", o.margin);
  o.weight = call.optionalTensor("weight");
  o.reduction = call.options().reduction();
  const bool needGrad = call.needGrad();
  return call.finish([=] { return ops::multiMarginLoss(input, target, o, needGrad); }, {"input"});
}

}  // namespace

void exportClassificationLosses(Napi::Env env, Napi::Object exports) {
  exportLoss(env, exports, "crossEntropyLoss", crossEntropy);
  exportLoss(env, exports, "nllLoss", nll);
  exportLoss(env, exports, "bceLoss", bce);
  exportLoss(env, exports, "bceWithLogitsLoss", bceWithLogits);
  exportLoss(env, exports, "softMarginLoss", softMargin);
  exportLoss(env, exports, "multiLabelSoftMarginLoss", multiLabelSoftMargin);
  exportLoss(env, exports, "multiLabelMarginLoss", multiLabelMargin);
  exportLoss(env, exports, "multiMarginLoss", multiMargin);
}

}  // namespace tl::binding
