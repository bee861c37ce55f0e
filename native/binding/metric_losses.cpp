// Bindings of the metric-learning losses (ops/metric_losses.h): the batch-hard triplet loss and
// the triplet losses over mined or given triplets, with their mining facts as `stats`, and the
// distance matrix they mine (F.pairwiseDistance).
#include "../ops/metric_losses.h"
#include <memory>

#include "loss_call.h"
#include "losses.h"
#include "../common/errors.h"
#include "metric_options.h"

namespace tl::binding {

ops::DistanceOptions distanceOptions(const OptionReader& options) {
  ops::DistanceOptions o;
  o.distance = ops::parseDistance(options.text("distance", "euclidean"));
  o.normalize = options.flag("normalize", o.normalize);
  return o;
}

std::optional<double> marginOption(const OptionReader& options, double fallback) {
  if (options.isNull("margin")) return std::nullopt;  // soft margin
  return options.number("margin", fallback);
}

Napi::Object statsObject(Napi::Env env, const ops::BatchHardStats& s) {
  Napi::Object stats = Napi::Object::New(env);
  stats.Set("validAnchors", static_cast<double>(s.validAnchors));
  stats.Set("anchorsWithoutPositive", static_cast<double>(s.anchorsWithoutPositive));
  stats.Set("anchorsWithoutNegative", static_cast<double>(s.anchorsWithoutNegative));
  stats.Set("activeTriplets", static_cast<double>(s.activeTriplets));
  stats.Set("fractionZeroLoss", s.fractionZeroLoss);
  stats.Set("meanPositiveDistance", s.meanPositiveDistance);
  stats.Set("meanNegativeDistance", s.meanNegativeDistance);
  if (s.triplets >= 0) stats.Set("triplets", static_cast<double>(s.triplets));
  return stats;
}

namespace {

using BatchHardOp = ops::BatchHardTripletOutput (*)(const at::Tensor&, const at::Tensor&,
                                                    const ops::BatchHardTripletOptions&, bool);

ops::Ties parseTies(const std::string& name) {
  if (name == "split") return ops::Ties::Split;
  if (name == "first") return ops::Ties::First;
  rangeError("`ties` must be 'split' or 'first', got '", name, "'");
}

// Finishes a triplet-family call: the op's output, its stats beside it.
template <typename Run>
Napi::Value finishWithStats(LossCall& call, Run run, std::initializer_list<const char*> gradNames, bool perElement) {
  auto stats = std::make_shared<ops::BatchHardStats>();
  return call.finish(
      [=] {
        auto out = run();
        *stats = out.stats;
        return out.output;
      },
      gradNames, perElement,
      [stats](Napi::Env env, Napi::Object& result, const ops::LossOutput&) {
        result.Set("stats", statsObject(env, *stats));
      });
}

Napi::Value batchHardTriplet(const Napi::CallbackInfo& info, BatchHardOp op) {
  LossCall call(info, 2);
  ops::BatchHardTripletOptions o;
  o.margin = marginOption(call.options(), *o.margin);
  o.distance = distanceOptions(call.options());
  o.reduction = call.options().reduction();
  o.noPositive = ops::parseNoPositive(call.options().text("noPositive", "skip"));
  o.ties = parseTies(call.options().text("ties", "split"));
  o.allowNonFinite = call.options().flag("allowNonFinite", false);
  const at::Tensor embeddings = call.tensor(0, "embeddings");
  const at::Tensor labels = call.labels(1, "labels");
  const bool needGrad = call.needGrad();
  // The stats travel beside the LossOutput, from the (possibly worker) thread to the result.
  return finishWithStats(call, [=] { return op(embeddings, labels, o, needGrad); }, {"embeddings"},
                         o.reduction == ops::Reduction::None);
}

ops::TripletLossOptions tripletOptions(const OptionReader& options, double defaultMargin) {
  ops::TripletLossOptions o;
  o.margin = marginOption(options, defaultMargin);
  o.distance = distanceOptions(options);
  o.reduction = ops::parseTripletReduction(options.text("reduction", "mean"));
  o.allowNonFinite = options.flag("allowNonFinite", false);
  return o;
}

using TripletOp = ops::TripletLossOutput (*)(const at::Tensor&, const at::Tensor&,
                                             const std::optional<ops::MinedIndices>&, const ops::MinerOptions&,
                                             const ops::TripletLossOptions&, bool);

// tripletLoss(embeddings, labels, { triplets | miner: { name, ...options }, margin, ... })
Napi::Value tripletLoss(const Napi::CallbackInfo& info, TripletOp op) {
  LossCall call(info, 2);
  const OptionReader& options = call.options();
  const ops::TripletLossOptions o = tripletOptions(options, 1.0);
  ops::MinerOptions miner;
  miner.kind = ops::MinerKind::AllTriplets;  // OML's and PML's default: every triplet
  if (const JsArg* m = options.tensorArg("miner")) {
    const OptionReader nested(m->value());
    miner = minerOptions(nested, nested.text("name", ""));
  }
  std::optional<ops::MinedIndices> triplets;
  if (const JsArg* t = options.tensorArg("triplets")) {
    const OptionReader nested(t->value());
    const c10::Device cpu(c10::kCPU);
    triplets = ops::MinedIndices{labelsOption(nested, "anchors", "triplets.anchors", cpu),
                                 labelsOption(nested, "positives", "triplets.positives", cpu),
                                 labelsOption(nested, "negatives", "triplets.negatives", cpu), {}};
    if (!triplets->anchors.defined() || !triplets->positives.defined() || !triplets->negatives.defined()) {
      rangeError("`triplets` must hold `anchors`, `positives` and `negatives`");
    }
  }
  const at::Tensor embeddings = call.tensor(0, "embeddings");
  const at::Tensor labels = call.labels(1, "labels");
  const bool needGrad = call.needGrad();
  return finishWithStats(call, [=] { return op(embeddings, labels, triplets, miner, o, needGrad); }, {"embeddings"},
                         o.reduction == ops::TripletReduction::None);
}

Napi::Value semiHardTripletLoss(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const ops::TripletLossOptions o = tripletOptions(call.options(), 1.0);  // TF-Addons' margin
  const at::Tensor embeddings = call.tensor(0, "embeddings");
  const at::Tensor labels = call.labels(1, "labels");
  const bool needGrad = call.needGrad();
  return finishWithStats(call, [=] { return ops::semiHardTripletLoss(embeddings, labels, o, needGrad); },
                         {"embeddings"}, o.reduction == ops::TripletReduction::None);
}

// OML's TripletLoss(anchor, positive, negative) and TripletLossPlain(stacked).
Napi::Value tripletLossOml(const Napi::CallbackInfo& info) {
  LossCall call(info, 3);
  const std::optional<double> margin = marginOption(call.options(), 1.0);
  const ops::Reduction reduction = call.options().reduction();
  const bool allowNonFinite = call.options().flag("allowNonFinite", false);
  const at::Tensor anchor = call.tensor(0, "anchor");
  const at::Tensor positive = call.tensor(1, "positive");
  const at::Tensor negative = call.tensor(2, "negative");
  const bool needGrad = call.needGrad();
  return finishWithStats(
      call, [=] { return ops::tripletLossOnRows(anchor, positive, negative, margin, reduction, allowNonFinite, needGrad); },
      {"anchor", "positive", "negative"}, reduction == ops::Reduction::None);
}

Napi::Value tripletLossPlain(const Napi::CallbackInfo& info) {
  LossCall call(info, 1);
  const std::optional<double> margin = marginOption(call.options(), 1.0);
  const ops::Reduction reduction = call.options().reduction();
  const bool allowNonFinite = call.options().flag("allowNonFinite", false);
  const at::Tensor stacked = call.tensor(0, "stacked");
  const bool needGrad = call.needGrad();
  return finishWithStats(
      call, [=] { return ops::tripletLossPlain(stacked, margin, reduction, allowNonFinite, needGrad); }, {"stacked"},
      reduction == ops::Reduction::None);
}

// { data, shape: [N, M] }: distances between the rows of `embeddings` and those of the
// `refEmbeddings` option (the rows of `embeddings` themselves when absent). No gradient.
Napi::Value pairwiseDistance(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LossCall call(info, 1);
  const ops::DistanceOptions o = distanceOptions(call.options());
  const at::Tensor embeddings = call.tensor(0, "embeddings");
  const std::optional<at::Tensor> reference = call.optionalTensor("refEmbeddings");
  const at::Tensor distances = ops::pairwiseDistance(embeddings, reference, o);
  Napi::Array shape = Napi::Array::New(env, 2);
  shape.Set(0u, Napi::Number::New(env, static_cast<double>(distances.size(0))));
  shape.Set(1u, Napi::Number::New(env, static_cast<double>(distances.size(1))));
  Napi::Object result = Napi::Object::New(env);
  result.Set("data", typedArrayFromTensor(env, distances));
  result.Set("shape", shape);
  return result;
}

}  // namespace

void exportMetricLosses(Napi::Env env, Napi::Object exports) {
  exportLoss(env, exports, "batchHardTripletLoss", [](const Napi::CallbackInfo& i) { return batchHardTriplet(i, ops::batchHardTripletLoss); });
  exportLoss(env, exports, "tripletLoss", [](const Napi::CallbackInfo& i) { return tripletLoss(i, ops::tripletLoss); });
  exportLoss(env, exports, "semiHardTripletLoss", semiHardTripletLoss);
  exportLoss(env, exports, "tripletLossOml", tripletLossOml);
  exportLoss(env, exports, "tripletLossPlain", tripletLossPlain);
  exports.Set("pairwiseDistance", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value { return pairwiseDistance(info); });
  }));

  // The autograd version the closed-form backward is tested against.
  const Napi::Value existing = exports.Get("reference");
  Napi::Object reference = existing.IsObject() ? existing.As<Napi::Object>() : Napi::Object::New(env);
  exportLoss(env, reference, "batchHardTripletLoss", [](const Napi::CallbackInfo& i) { return batchHardTriplet(i, ops::batchHardTripletLossReference); });
  exportLoss(env, reference, "tripletLoss", [](const Napi::CallbackInfo& i) { return tripletLoss(i, ops::tripletLossReference); });
  exports.Set("reference", reference);

  // The device-generic versions (what CUDA runs) the CPU kernels are tested against.
  const Napi::Value existingGeneric = exports.Get("generic");
  Napi::Object generic = existingGeneric.IsObject() ? existingGeneric.As<Napi::Object>() : Napi::Object::New(env);
  exportLoss(env, generic, "batchHardTripletLoss", [](const Napi::CallbackInfo& i) { return batchHardTriplet(i, ops::batchHardTripletLossGeneric); });
  exportLoss(env, generic, "tripletLoss", [](const Napi::CallbackInfo& i) { return tripletLoss(i, ops::tripletLossGeneric); });
  exports.Set("generic", generic);
}

}  // namespace tl::binding
