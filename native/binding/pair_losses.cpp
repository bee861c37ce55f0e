// Bindings of the pair and list losses (ops/pair_losses.h): (embeddings, labels, options) ->
// { loss, losses?, grad: { embeddings }, stats }.
#include "../ops/pair_losses.h"

#include <limits>
#include <memory>

#include "../common/errors.h"
#include "loss_call.h"
#include "losses.h"

namespace tl::binding {
namespace {

template <typename Options>
using PairLossOp = ops::PairLossOutput (*)(const at::Tensor&, const at::Tensor&, const Options&, bool);
template <typename Options>
using ReadOptions = void (*)(const OptionReader&, Options&);

// The options every pair loss reads; a loss's own defaults (distance, ...) stay when absent.
void readCommon(const OptionReader& r, ops::PairLossCommon& o) {
  const std::string distance = r.text("distance", "");
  if (!distance.empty()) o.distance.distance = ops::parseDistance(distance);
  o.distance.normalize = r.flag("normalize", o.distance.normalize);
  o.reduction = ops::parsePairReduction(r.text("reduction", "mean"));
  o.allowNonFinite = r.flag("allowNonFinite", o.allowNonFinite);
}

Napi::Object statsObject(Napi::Env env, const ops::PairLossStats& s) {
  Napi::Object stats = Napi::Object::New(env);
  stats.Set("validAnchors", static_cast<double>(s.validAnchors));
  stats.Set("anchorsWithoutPositive", static_cast<double>(s.anchorsWithoutPositive));
  stats.Set("anchorsWithoutNegative", static_cast<double>(s.anchorsWithoutNegative));
  stats.Set("positivePairs", static_cast<double>(s.positivePairs));
  stats.Set("negativePairs", static_cast<double>(s.negativePairs));
  stats.Set("activePairs", static_cast<double>(s.activePairs));
  stats.Set("fractionZeroLoss", s.fractionZeroLoss);
  stats.Set(s.similarity ? "meanPositiveSimilarity" : "meanPositiveDistance", s.meanPositive);
  stats.Set(s.similarity ? "meanNegativeSimilarity" : "meanNegativeDistance", s.meanNegative);
  return stats;
}

template <typename Options>
Napi::Value pairLoss(const Napi::CallbackInfo& info, PairLossOp<Options> op, ReadOptions<Options> read) {
  LossCall call(info, 2);
  Options o;
  readCommon(call.options(), o);
  read(call.options(), o);
  const at::Tensor embeddings = call.tensor(0, "embeddings");
  const at::Tensor labels = call.labels(1, "labels");
  const bool needGrad = call.needGrad();
  // The stats travel beside the LossOutput, from the (possibly worker) thread to the result.
  auto stats = std::make_shared<ops::PairLossStats>();
  return call.finish(
      [=] {
        ops::PairLossOutput out = op(embeddings, labels, o, needGrad);
        *stats = out.stats;
        return out.output;
      },
      {"embeddings"}, o.reduction == ops::PairReduction::None,
      [stats](Napi::Env env, Napi::Object& result, const ops::LossOutput&) {
        result.Set("stats", statsObject(env, *stats));
      });
}

void readContrastive(const OptionReader& r, ops::ContrastiveOptions& o) {
  o.posMargin = r.number("posMargin", o.posMargin);
  o.negMargin = r.number("negMargin", o.negMargin);
}

void readCircle(const OptionReader& r, ops::CircleOptions& o) {
  o.m = r.number("m", o.m);
  o.gamma = r.number("gamma", o.gamma);
}

void readMultiSimilarity(const OptionReader& r, ops::MultiSimilarityOptions& o) {
  o.alpha = r.number("alpha", o.alpha);
  o.beta = r.number("beta", o.beta);
  o.base = r.number("base", o.base);
  o.mining = r.flag("mining", o.mining);
  o.epsilon = r.number("epsilon", o.epsilon);
}

void readNtXent(const OptionReader& r, ops::TemperatureOptions& o) { o.temperature = r.number("temperature", 0.07); }
void readSupCon(const OptionReader& r, ops::TemperatureOptions& o) { o.temperature = r.number("temperature", 0.1); }

void readLiftedStructure(const OptionReader& r, ops::LiftedStructureOptions& o) {
  o.posMargin = r.number("posMargin", o.posMargin);
  o.negMargin = r.number("negMargin", o.negMargin);
  o.generalized = r.flag("generalized", o.generalized);
}

void readSurrogatePrecision(const OptionReader& r, ops::SurrogatePrecisionOptions& o) {
  constexpr int64_t absent = std::numeric_limits<int64_t>::min();
  o.k = r.integer("k", absent);
  if (o.k == absent) rangeError("`k` is required (the k of Precision@k), e.g. { k: 4 }");
  o.temperature1 = r.number("temperature1", o.temperature1);
  o.temperature2 = r.number("temperature2", o.temperature2);
  o.includeSelf = r.flag("includeSelf", o.includeSelf);
}

}  // namespace

void exportPairLosses(Napi::Env env, Napi::Object exports) {
  exportLoss(env, exports, "contrastiveLoss", [](const Napi::CallbackInfo& i) {
    return pairLoss<ops::ContrastiveOptions>(i, ops::contrastiveLoss, readContrastive);
  });
  exportLoss(env, exports, "circleLoss", [](const Napi::CallbackInfo& i) {
    return pairLoss<ops::CircleOptions>(i, ops::circleLoss, readCircle);
  });
  exportLoss(env, exports, "multiSimilarityLoss", [](const Napi::CallbackInfo& i) {
    return pairLoss<ops::MultiSimilarityOptions>(i, ops::multiSimilarityLoss, readMultiSimilarity);
  });
  exportLoss(env, exports, "ntXentLoss", [](const Napi::CallbackInfo& i) {
    return pairLoss<ops::TemperatureOptions>(i, ops::ntXentLoss, readNtXent);
  });
  exportLoss(env, exports, "supConLoss", [](const Napi::CallbackInfo& i) {
    return pairLoss<ops::TemperatureOptions>(i, ops::supConLoss, readSupCon);
  });
  exportLoss(env, exports, "liftedStructureLoss", [](const Napi::CallbackInfo& i) {
    return pairLoss<ops::LiftedStructureOptions>(i, ops::liftedStructureLoss, readLiftedStructure);
  });
  exportLoss(env, exports, "surrogatePrecisionLoss", [](const Napi::CallbackInfo& i) {
    return pairLoss<ops::SurrogatePrecisionOptions>(i, ops::surrogatePrecisionLoss, readSurrogatePrecision);
  });
}

}  // namespace tl::binding
