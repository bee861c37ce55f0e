// Bindings of the embedding losses: margin ranking and triplet (fused CPU kernels, with their
// autograd references and device-generic versions exported for tests), hinge and cosine
// embedding, triplet with distance.
#include "../common/errors.h"
#include "../ops/embedding_losses.h"
#include "../ops/margin_ranking.h"
#include "../ops/triplet_margin.h"
#include "loss_call.h"
#include "losses.h"

namespace tl::binding {
namespace {

using MarginRankingOp = ops::LossOutput (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                            const ops::MarginRankingOptions&, bool);
using TripletOp = ops::LossOutput (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                      const ops::TripletMarginOptions&, bool);

Napi::Value marginRanking(const Napi::CallbackInfo& info, MarginRankingOp op) {
  LossCall call(info, 3);
  ops::MarginRankingOptions o;
  o.margin = call.options().number("margin", o.margin);
  o.reduction = call.options().reduction();
  const at::Tensor input1 = call.tensor(0, "input1"), input2 = call.tensor(1, "input2"),
                   target = call.tensor(2, "target");
  const bool needGrad = call.needGrad();
  return call.finish([=] { return op(input1, input2, target, o, needGrad); }, {"input1", "input2", "target"});
}

Napi::Value tripletMargin(const Napi::CallbackInfo& info, TripletOp op) {
  LossCall call(info, 3);
  ops::TripletMarginOptions o;
  o.margin = call.options().number("margin", o.margin);
  o.p = call.options().number("p", o.p, /*allowInfinity=*/true);
  o.eps = call.options().number("eps", o.eps);
  o.swap = call.options().flag("swap", o.swap);
  o.reduction = call.options().reduction();
  const at::Tensor a = call.tensor(0, "anchor"), p = call.tensor(1, "positive"), n = call.tensor(2, "negative");
  const bool needGrad = call.needGrad();
  return call.finish([=] { return op(a, p, n, o, needGrad); }, {"anchor", "positive", "negative"});
}

Napi::Value hingeEmbedding(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const double margin = call.options().number("margin", 1.0);
  const at::Tensor input = call.tensor(0, "input"), target = call.tensor(1, "target");
  const bool needGrad = call.needGrad();
  const ops::Reduction reduction = call.options().reduction();
  return call.finish([=] { return ops::hingeEmbeddingLoss(input, target, margin, reduction, needGrad); },
                     {"input"});
}

Napi::Value cosineEmbedding(const Napi::CallbackInfo& info) {
  LossCall call(info, 3);
  const double margin = call.options().number("margin", 0.0);
  const at::Tensor x1 = call.tensor(0, "input1"), x2 = call.tensor(1, "input2"), y = call.tensor(2, "target");
  const bool needGrad = call.needGrad();
  const ops::Reduction reduction = call.options().reduction();
  return call.finish([=] { return ops::cosineEmbeddingLoss(x1, x2, y, margin, reduction, needGrad); },
                     {"input1", "input2"});
}

Napi::Value tripletWithDistance(const Napi::CallbackInfo& info) {
  LossCall call(info, 3);
  ops::TripletWithDistanceOptions o;
  const std::string distance = call.options().text("distance", "euclidean");
  if (distance == "cosine") {
    o.distance = ops::TripletDistance::Cosine;
  } else if (distance == "euclidean" || distance == "manhattan" || distance == "pnorm") {
    o.p = distance == "manhattan" ? 1.0 : distance == "euclidean" ? 2.0 : call.options().number("p", 2.0, true);
  } else {
    rangeError("`distance` must be 'euclidean', 'manhattan', 'cosine' or 'pnorm', got '", distance, "'");
  }
  o.eps = call.options().number("eps", o.eps);
  o.margin = call.options().number("margin", o.margin);
  o.swap = call.options().flag("swap", o.swap);
  o.reduction = call.options().reduction();
  const at::Tensor a = call.tensor(0, "anchor"), p = call.tensor(1, "positive"), n = call.tensor(2, "negative");
  const bool needGrad = call.needGrad();
  return call.finish([=] { return ops::tripletMarginWithDistanceLoss(a, p, n, o, needGrad); },
                     {"anchor", "positive", "negative"});
}

}  // namespace

void exportEmbeddingLosses(Napi::Env env, Napi::Object exports) {
  exportLoss(env, exports, "marginRankingLoss", [](const Napi::CallbackInfo& i) { return marginRanking(i, ops::marginRankingLoss); });
  exportLoss(env, exports, "tripletMarginLoss", [](const Napi::CallbackInfo& i) { return tripletMargin(i, ops::tripletMarginLoss); });
  exportLoss(env, exports, "hingeEmbeddingLoss", hingeEmbedding);
  exportLoss(env, exports, "cosineEmbeddingLoss", cosineEmbedding);
  exportLoss(env, exports, "tripletMarginWithDistanceLoss", tripletWithDistance);

  // The autograd versions the closed-form backward passes are tested against, and the
  // device-generic ATen versions (what CUDA runs) the CPU kernels are tested against.
  Napi::Object reference = Napi::Object::New(env);
  exportLoss(env, reference, "marginRankingLoss", [](const Napi::CallbackInfo& i) { return marginRanking(i, ops::marginRankingLossReference); });
  exportLoss(env, reference, "tripletMarginLoss", [](const Napi::CallbackInfo& i) { return tripletMargin(i, ops::tripletMarginLossReference); });
  exports.Set("reference", reference);
  Napi::Object generic = Napi::Object::New(env);
  exportLoss(env, generic, "marginRankingLoss", [](const Napi::CallbackInfo& i) { return marginRanking(i, ops::marginRankingLossGeneric); });
  exportLoss(env, generic, "tripletMarginLoss", [](const Napi::CallbackInfo& i) { return tripletMargin(i, ops::tripletMarginLossGeneric); });
  exports.Set("generic", generic);
}

}  // namespace tl::binding
