// retrievalMetrics(query [Q, D], gallery [G, D], queryLabels [Q], galleryLabels [G],
//   { distance, normalize, queryCameras, galleryCameras, maxRank, device })
//   -> { cmc: Float64Array(maxRank), mAP, averagePrecision: Float64Array(Q), validQueries }
#include "retrieval_metrics.h"

#include "../common/errors.h"
#include "../ops/pairwise_distance.h"
#include "../ops/retrieval_metrics.h"
#include "loss_call.h"

namespace tl::binding {
namespace {

std::optional<at::Tensor> cameras(const OptionReader& options, const char* key, int64_t count, const char* rowsName,
                                  const c10::Device& device) {
  const JsArg* arg = options.tensorArg(key);
  if (!arg) return std::nullopt;
  const at::Tensor t = arg->labels(key);
  if (t.dim() != 1 || t.size(0) != count) rangeError("`", key, "` must hold ", count, " camera ids (one per ", rowsName, " row), got ", t.numel());
  return t.to(device);
}

Napi::Value retrievalMetrics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LossCall call(info, 4);
  const OptionReader& options = call.options();
  const at::Tensor query = call.tensor(0, "query");
  const at::Tensor gallery = call.tensor(1, "gallery");
  const at::Tensor queryLabels = call.labels(2, "queryLabels");
  const at::Tensor galleryLabels = call.labels(3, "galleryLabels");
  if (query.dim() != 2 || query.size(0) == 0) rangeError("`query` must have shape [Q > 0, D], got ", query.sizes());
  if (gallery.dim() != 2 || gallery.size(0) == 0) rangeError("`gallery` must have shape [G > 0, D], got ", gallery.sizes());
  if (gallery.size(1) != query.size(1)) {
    rangeError("`gallery` rows must have the query's dimension ", query.size(1), ", got ", gallery.size(1));
  }
  if (queryLabels.numel() != query.size(0)) rangeError("`queryLabels` must hold ", query.size(0), " labels, got ", queryLabels.numel());
  if (galleryLabels.numel() != gallery.size(0)) rangeError("`galleryLabels` must hold ", gallery.size(0), " labels, got ", galleryLabels.numel());
  const std::optional<at::Tensor> queryCameras = cameras(options, "queryCameras", query.size(0), "query", call.device());
  const std::optional<at::Tensor> galleryCameras = cameras(options, "galleryCameras", gallery.size(0), "gallery", call.device());
  if (queryCameras.has_value() != galleryCameras.has_value()) rangeError("`queryCameras` and `galleryCameras` go together: give both or neither");
  const int64_t maxRank = options.integer("maxRank", 10);
  if (maxRank < 1) rangeError("`maxRank` must be a positive integer, got ", maxRank);
  ops::DistanceOptions distance;
  distance.distance = ops::parseDistance(options.text("distance", "euclidean"));
  distance.normalize = options.flag("normalize", false);

  const at::Tensor distances = ops::pairwiseDistance(query, gallery, distance);
  const ops::RetrievalMetrics m = ops::retrievalMetrics(distances, queryLabels.reshape(-1).to(call.device()),
                                                        galleryLabels.reshape(-1).to(call.device()), queryCameras,
                                                        galleryCameras, maxRank);
  Napi::Object result = Napi::Object::New(env);
  result.Set("cmc", typedArrayFromTensor(env, m.cmc));
  result.Set("mAP", m.meanAveragePrecision);
  result.Set("averagePrecision", typedArrayFromTensor(env, m.averagePrecision));
  result.Set("validQueries", static_cast<double>(m.validQueries));
  return result;
}

}  // namespace

void exportRetrievalMetrics(Napi::Env env, Napi::Object exports) {
  exports.Set("retrievalMetrics", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value { return retrievalMetrics(info); });
  }));
}

}  // namespace tl::binding
