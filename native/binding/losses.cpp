// Loss bindings: argument names and option parsing per loss; the rest is runLoss.
#include "losses.h"

#include "../ops/margin_ranking.h"
#include "../ops/triplet_margin.h"
#include "loss_call.h"

namespace tl::binding {
namespace {

const TensorNames<3> kMarginRankingNames{"input1", "input2", "target"};
const TensorNames<3> kTripletNames{"anchor", "positive", "negative"};

ops::MarginRankingOptions marginRankingOptions(const OptionReader& o) {
  ops::MarginRankingOptions options;
  options.margin = o.number("margin", options.margin);
  options.reduction = o.reduction();
  return options;
}

ops::TripletMarginOptions tripletMarginOptions(const OptionReader& o) {
  ops::TripletMarginOptions options;
  options.margin = o.number("margin", options.margin);
  options.p = o.number("p", options.p, /*allowInfinity=*/true);
  options.eps = o.number("eps", options.eps);
  options.swap = o.flag("swap", options.swap);
  options.reduction = o.reduction();
  return options;
}

template <typename Fn>
Napi::Value marginRanking(const Napi::CallbackInfo& info, Fn fn) {
  return runLoss<3, ops::MarginRankingOptions>(info, kMarginRankingNames, marginRankingOptions, fn);
}

template <typename Fn>
Napi::Value tripletMargin(const Napi::CallbackInfo& info, Fn fn) {
  return runLoss<3, ops::TripletMarginOptions>(info, kTripletNames, tripletMarginOptions, fn);
}

}  // namespace

void exportLosses(Napi::Env env, Napi::Object exports) {
  exports.Set("marginRankingLoss", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return marginRanking(info, ops::marginRankingLoss);
  }));
  exports.Set("tripletMarginLoss", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return tripletMargin(info, ops::tripletMarginLoss);
  }));

  // The autograd versions the closed-form backward passes are tested against.
  Napi::Object reference = Napi::Object::New(env);
  reference.Set("marginRankingLoss", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return marginRanking(info, ops::marginRankingLossReference);
  }));
  reference.Set("tripletMarginLoss", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return tripletMargin(info, ops::tripletMarginLossReference);
  }));
  exports.Set("reference", reference);

  // The device-generic ATen versions (what CUDA runs), to test the CPU kernels against.
  Napi::Object generic = Napi::Object::New(env);
  generic.Set("marginRankingLoss", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return marginRanking(info, ops::marginRankingLossGeneric);
  }));
  generic.Set("tripletMarginLoss", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return tripletMargin(info, ops::tripletMarginLossGeneric);
  }));
  exports.Set("generic", generic);
}

}  // namespace tl::binding
