// The functional margin-softmax loss (F.marginSoftmaxLoss: the fused op, or its autograd
// reference) and F.labelSmoothing, plus the option reading the modules share.
#include <cmath>

#include "../common/errors.h"
#include "../ops/arcface.h"
#include "errors.h"
#include "loss_call.h"
#include "margin_options.h"

namespace tl::binding {

ops::SmoothingSpread readSmoothingSpread(const OptionReader& options) {
  const std::string spread = options.text("smoothingSpread", "all");
  if (spread != "all" && spread != "others") rangeError("`smoothingSpread` must be 'all' or 'others', got '", spread, "'");
  return spread == "all" ? ops::SmoothingSpread::All : ops::SmoothingSpread::Others;
}

at::Tensor readCategories(const OptionReader& options, const char* key, int64_t numClasses) {
  const JsArg* arg = options.tensorArg(key);
  if (!arg) return at::Tensor();
  const at::Tensor categories = arg->labels(key);
  if (categories.dim() != 1 || categories.size(0) != numClasses) {
    rangeError("`", key, "` must hold one category per class (", numClasses, " entries), got ", categories.numel());
  }
  return categories;
}

ops::MarginSoftmaxOptions readMarginSoftmaxOptions(const OptionReader& options, const std::string& kind,
                                                   int64_t numClasses, const c10::Device& device) {
  ops::MarginSoftmaxOptions o;
  if (kind == "arcface") {
    o.kind = ops::MarginKind::Arc;
    o.m = options.number("m", 0.5);
    if (!(o.m >= 0 && o.m <= M_PI / 2)) rangeError("`m` must be in [0, pi/2] (radians), got ", o.m);
  } else if (kind == "cosface") {
    o.kind = ops::MarginKind::Cos;
    o.m = options.number("m", 0.35);
    if (!(o.m >= 0)) rangeError("`m` must be >= 0, got ", o.m);
  } else if (kind == "normsoftmax") {
    o.kind = ops::MarginKind::Plain;
    o.m = 0;
  } else {
    rangeError("`kind` must be 'arcface', 'cosface' or 'normsoftmax', got '", kind, "'");
  }
  if (kind == "normsoftmax") {
    const double temperature = options.number("temperature", 0.05);
    if (!(temperature > 0)) rangeError("`temperature` must be > 0, got ", temperature);
    o.s = 1.0 / temperature;
  } else {
    o.s = options.number("s", 64.0);
    if (!(o.s > 0)) rangeError("`s` must be > 0, got ", o.s);
  }
  o.easyMargin = options.flag("easyMargin", false);
  o.subCenters = options.integer("subCenters", 1);
  if (o.subCenters < 1) rangeError("`subCenters` must be a positive integer, got ", o.subCenters);
  o.smoothingEpsilon = options.number("smoothingEpsilon", 0.0);
  if (!(o.smoothingEpsilon >= 0 && o.smoothingEpsilon < 1)) {
    rangeError("`smoothingEpsilon` must be in [0, 1), got ", o.smoothingEpsilon);
  }
  o.spread = readSmoothingSpread(options);
  o.label2category = readCategories(options, "label2category", numClasses);
  if (o.label2category.defined()) o.label2category = o.label2category.to(device);
  o.reduction = options.reduction();
  return o;
}

namespace {

// marginSoftmaxLoss(input [B, d], labels [B], weight [C * k, d], { kind, m, s, ... }): the fused op,
// or (fused false: binding.reference) its autograd composition.
Napi::Value marginSoftmaxLoss(const Napi::CallbackInfo& info, bool fused) {
    LossCall call(info, 3);
    const at::Tensor input = call.tensor(0, "input");
    const at::Tensor labels = call.labels(1, "labels");
    const at::Tensor weight = call.tensor(2, "weight");
    const OptionReader& options = call.options();
    if (input.dim() != 2) rangeError("`input` must be 2-D [batch, features], got ", input.dim(), "-D");
    if (weight.dim() != 2 || weight.size(1) != input.size(1)) {
      rangeError("`weight` must be [numClasses * subCenters, ", input.size(1), "], got ", weight.sizes());
    }
    const std::string kind = options.text("kind", "arcface");
    const int64_t k = options.integer("subCenters", 1);
    if (k < 1 || weight.size(0) % k != 0) rangeError("`weight` has ", weight.size(0), " rows: not a multiple of `subCenters` = ", k);
    const int64_t numClasses = weight.size(0) / k;
    const ops::MarginSoftmaxOptions o = readMarginSoftmaxOptions(options, kind, numClasses, call.device());
    if (input.size(0) == 0) rangeError("`input` is empty (batch size 0)");
    if (labels.dim() != 1 || labels.size(0) != input.size(0)) {
      rangeError("`labels` must hold ", input.size(0), " class indices (one per row of `input`), got ", labels.numel());
    }
    if (labels.lt(0).logical_or(labels.ge(numClasses)).any().item<bool>()) {
      rangeError("`labels` must be class indices in [0, ", numClasses, ")");
    }
    const bool needGrad = call.needGrad();
    return call.finish(
        [=] {
          return fused ? ops::marginSoftmaxLoss(input, labels, weight, o, needGrad)
                       : ops::marginSoftmaxLossAutograd(input, labels, weight, o, needGrad);
        },
        {"input", "weight"});
}

// labelSmoothing(labels [B], { numClasses, epsilon, categories, smoothingSpread }) -> { data, shape }
Napi::Value labelSmoothing(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const JsArg labelsArg = JsArg::read(info[0]);
    const OptionReader options(info[1]);
    const at::Tensor labels = labelsArg.labels("y");
    const int64_t numClasses = options.integer("numClasses", 0);
    if (numClasses <= 0) rangeError("`numClasses` must be a positive integer, got ", numClasses);
    const double epsilon = options.number("epsilon", 0.2);
    if (!(epsilon >= 0 && epsilon < 1)) rangeError("`epsilon` must be in [0, 1), got ", epsilon);
    if (labels.dim() != 1) rangeError("`y` must be 1-D, got ", labels.dim(), "-D");
    if (labels.lt(0).logical_or(labels.ge(numClasses)).any().item<bool>()) {
      rangeError("`y` must be class indices in [0, ", numClasses, ")");
    }
    const at::Tensor categories = readCategories(options, "categories", numClasses);
    const at::Tensor q = ops::smoothTargets(labels, numClasses, epsilon, categories, readSmoothingSpread(options), at::kFloat);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("data", typedArrayFromTensor(info.Env(), q));
    Napi::Array shape = Napi::Array::New(info.Env(), 2);
    shape.Set(0u, static_cast<double>(q.size(0)));
    shape.Set(1u, static_cast<double>(numClasses));
    out.Set("shape", shape);
    return out;
  });
}

}  // namespace

void exportMarginLosses(Napi::Env env, Napi::Object exports) {
  exportLoss(env, exports, "marginSoftmaxLoss", [](const Napi::CallbackInfo& i) { return marginSoftmaxLoss(i, true); });
  // The autograd composition the fused op is tested against.
  const Napi::Value existing = exports.Get("reference");
  Napi::Object reference = existing.IsObject() ? existing.As<Napi::Object>() : Napi::Object::New(env);
  exportLoss(env, reference, "marginSoftmaxLoss", [](const Napi::CallbackInfo& i) { return marginSoftmaxLoss(i, false); });
  exports.Set("reference", reference);
  exports.Set("labelSmoothing", Napi::Function::New(env, labelSmoothing, "labelSmoothing"));
}

}  // namespace tl::binding
