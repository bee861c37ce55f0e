// Bindings of the metric-learning losses (ops/metric_losses.h): the batch-hard triplet loss,
// with its mining facts as `stats`, and the distance matrix it mines (F.pairwiseDistance).
#include "../ops/metric_losses.h"
#include <memory>

#include "loss_call.h"
#include "losses.h"

namespace tl::binding {
namespace {

using BatchHardOp = ops::BatchHardTripletOutput (*)(const at::Tensor&, const at::Tensor&,
                                                    const ops::BatchHardTripletOptions&, bool);

ops::DistanceOptions distanceOptions(const OptionReader& options) {
  ops::DistanceOptions o;
  o.distance = ops::parseDistance(options.text("distance", "euclidean"));
  o.normalize = options.flag("normalize", o.normalize);
  return o;
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
  return stats;
}

Napi::Value batchHardTriplet(const Napi::CallbackInfo& info, BatchHardOp op) {
  LossCall call(info, 2);
  ops::BatchHardTripletOptions o;
  if (call.options().isNull("margin")) {
    o.margin = std::nullopt;  // soft margin
  } else {
    o.margin = call.options().number("margin", *o.margin);
  }
  o.distance = distanceOptions(call.options());
  o.reduction = call.options().reduction();
  const at::Tensor embeddings = call.tensor(0, "embeddings");
  const at::Tensor labels = call.labels(1, "labels");
  const bool needGrad = call.needGrad();
  // The stats travel beside the LossOutput, from the (possibly worker) thread to the result.
  auto stats = std::make_shared<ops::BatchHardStats>();
  return call.finish(
      [=] {
        ops::BatchHardTripletOutput out = op(embeddings, labels, o, needGrad);
        *stats = out.stats;
        return out.output;
      },
      {"embeddings"}, std::nullopt,
      [stats](Napi::Env env, Napi::Object& result, const ops::LossOutput&) {
        result.Set("stats", statsObject(env, *stats));
      });
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
  exports.Set("pairwiseDistance", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value { return pairwiseDistance(info); });
  }));

  // The autograd version the closed-form backward is tested against.
  const Napi::Value existing = exports.Get("reference");
  Napi::Object reference = existing.IsObject() ? existing.As<Napi::Object>() : Napi::Object::New(env);
  exportLoss(env, reference, "batchHardTripletLoss", [](const Napi::CallbackInfo& i) { return batchHardTriplet(i, ops::batchHardTripletLossReference); });
  exports.Set("reference", reference);
}

}  // namespace tl::binding
