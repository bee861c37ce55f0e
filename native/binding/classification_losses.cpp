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
  return call.result(ops::crossEntropyLoss(input, target, o, call.needGrad()), {"input", "target"});
}

Napi::Value nll(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input");
  const at::Tensor target = call.labels(1, "target");
  ops::NllOptions o;
  o.weight = call.optionalTensor("weight");
  o.ignoreIndex = call.options().integer("ignoreIndex", o.ignoreIndex);
  o.reduction = call.options().reduction();
  return call.result(ops::nllLoss(input, target, o, call.needGrad()), {"input"});
}

Napi::Value bce(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input"), target = call.tensor(1, "target");
  const auto weight = call.optionalTensor("weight");
  return call.result(ops::bceLoss(input, target, weight, call.options().reduction(), call.needGrad()),
                     {"input", "target"});
}

Napi::Value bceWithLogits(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input"), target = call.tensor(1, "target");
  const auto weight = call.optionalTensor("weight");
  const auto posWeight = call.optionalTensor("posWeight");
  return call.result(ops::bceWithLogitsLoss(input, target, weight, posWeight, call.options().reduction(),
                                            call.needGrad()),
                     {"input", "target"});
}

Napi::Value softMargin(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input"), target = call.tensor(1, "target");
  return call.result(ops::softMarginLoss(input, target, call.options().reduction(), call.needGrad()), {"input"});
}

Napi::Value multiLabelSoftMargin(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input"), target = call.tensor(1, "target");
  const auto weight = call.optionalTensor("weight");
  return call.result(ops::multiLabelSoftMarginLoss(input, target, weight, call.options().reduction(), call.needGrad()),
                     {"input", "target"});
}

Napi::Value multiLabelMargin(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input");
  const at::Tensor target = call.labels(1, "target");
  return call.result(ops::multiLabelMarginLoss(input, target, call.options().reduction(), call.needGrad()), {"input"});
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
  return call.result(ops::multiMarginLoss(input, target, o, call.needGrad()), {"input"});
}

}  // namespace

void exportClassificationLosses(Napi::Env env, Napi::Object exports) {
  exportFunction(env, exports, "crossEntropyLoss", crossEntropy);
  exportFunction(env, exports, "nllLoss", nll);
  exportFunction(env, exports, "bceLoss", bce);
  exportFunction(env, exports, "bceWithLogitsLoss", bceWithLogits);
  exportFunction(env, exports, "softMarginLoss", softMargin);
  exportFunction(env, exports, "multiLabelSoftMarginLoss", multiLabelSoftMargin);
  exportFunction(env, exports, "multiLabelMarginLoss", multiLabelMargin);
  exportFunction(env, exports, "multiMarginLoss", multiMargin);
}

}  // namespace tl::binding
