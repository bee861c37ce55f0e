// Bindings of the miners (ops/miners.h): mine(embeddings | null, labels, { name, ...options })
// and mineAsync, returning Int32Array index tuples.
#include <cstring>
#include <memory>

#include "../ops/finite_check.h"
#include "loss_call.h"
#include "losses.h"
#include "../common/errors.h"
#include "metric_options.h"

namespace tl::binding {

at::Tensor labelsOption(const OptionReader& options, const char* key, const char* name, const c10::Device& device) {
  const JsArg* arg = options.tensorArg(key);
  if (arg == nullptr) return {};
  if (arg->isTensorHandle()) typeError("`", name, "` must be labels (Int32Array, BigInt64Array or number[]), got a Tensor");
  return onDevice(arg->labels(name), device);
}

ops::MinerOptions minerOptions(const OptionReader& options, const std::string& name) {
  ops::MinerOptions o;
  o.kind = ops::parseMinerKind(name);
  o.noPositive = ops::parseNoPositive(options.text("noPositive", "skip"));
  o.posStrategy = ops::parseStrategy("posStrategy", options.text("posStrategy", "easy"));
  o.negStrategy = ops::parseStrategy("negStrategy", options.text("negStrategy", "semihard"));
  o.fallback = ops::parseFallback(options.text("fallback", "hardest"));
  o.type = ops::parseMarginType(options.text("type", "all"));
  o.margin = options.number("margin", o.margin);
  if (!options.isNull("maxTriplets") && options.tensorArg("maxTriplets") != nullptr) {
    o.maxTriplets = options.integer("maxTriplets", 0);
  }
  o.k = options.integer("k", o.k);
  o.posMargin = options.number("posMargin", o.posMargin);
  o.negMargin = options.number("negMargin", o.negMargin);
  return o;
}

namespace {

Napi::Int32Array int32Array(Napi::Env env, const at::Tensor& indices) {
  const at::Tensor values = indices.to(at::kCPU, at::kInt).contiguous();
  Napi::Int32Array out = Napi::Int32Array::New(env, static_cast<size_t>(values.numel()));
  if (values.numel() > 0) std::memcpy(out.Data(), values.data_ptr<int32_t>(), static_cast<size_t>(values.numel()) * sizeof(int32_t));
  return out;
}

void requireRows(const char* name, const at::Tensor& rows, const char* labelsName, const at::Tensor& labels) {
  if (labels.size(0) != rows.size(0)) {
    rangeError("`", labelsName, "` must hold ", rows.size(0), " labels (one per row of `", name, "`), got shape ",
               labels.sizes());
  }
}

// The distances are given (`distances`) or computed from the embeddings (and `refEmbeddings`).
Napi::Value mine(const Napi::CallbackInfo& info) {
  LossCall call(info, 2);
  const OptionReader& options = call.options();
  const ops::MinerOptions miner = minerOptions(options, options.text("name", ""));
  const ops::DistanceOptions distance = distanceOptions(options);
  const bool allowNonFinite = options.flag("allowNonFinite", false);
  const std::optional<at::Tensor> given = call.optionalTensor("distances");
  const at::Tensor labels = call.labels(1, "labels");
  const at::Tensor refLabels = labelsOption(options, "refLabels", "refLabels", call.device());
  at::Tensor embeddings;
  std::optional<at::Tensor> reference;
  if (!given) {
    embeddings = call.tensor(0, "embeddings");
    reference = call.optionalTensor("refEmbeddings");
    if (reference.has_value() != refLabels.defined()) {
      rangeError("`refEmbeddings` and `refLabels` go together: give both or neither");
    }
  }
  auto mined = std::make_shared<ops::MinedIndices>();
  const bool pairs = !ops::minesTriplets(miner.kind);
  return call.finish(
      [=] {
        at::Tensor distances;
        if (given) {
          ops::requireFinite("distances", *given, allowNonFinite);
          distances = *given;
        } else if (miner.kind == ops::MinerKind::AllTriplets) {
          // labels only: check the embeddings as the other miners would, skip the O(N² D) matrix
          ops::requireFinite("embeddings", embeddings, allowNonFinite);
          requireRows("embeddings", embeddings, "labels", labels);
          if (reference) requireRows("refEmbeddings", *reference, "refLabels", refLabels);
        } else {
          distances = ops::miningDistances(embeddings, reference, distance, allowNonFinite);
          requireRows("embeddings", embeddings, "labels", labels);
          if (reference) requireRows("refEmbeddings", *reference, "refLabels", refLabels);
        }
        *mined = ops::mine(ops::MiningInput{distances, labels, refLabels}, miner);
        return ops::LossOutput{at::zeros({}), {}};
      },
      {}, false,
      [mined, pairs](Napi::Env env, Napi::Object& result, const ops::LossOutput&) {
        if (pairs) {
          result.Set("anchors1", int32Array(env, mined->anchors));
          result.Set("positives", int32Array(env, mined->positives));
          result.Set("anchors2", int32Array(env, mined->negativeAnchors));
          result.Set("negatives", int32Array(env, mined->negatives));
        } else {
          result.Set("anchors", int32Array(env, mined->anchors));
          result.Set("positives", int32Array(env, mined->positives));
          result.Set("negatives", int32Array(env, mined->negatives));
        }
      });
}

}  // namespace

void exportMiners(Napi::Env env, Napi::Object exports) { exportLoss(env, exports, "mine", mine); }

}  // namespace tl::binding
