#include "retrieval_metrics.h"

#include "../common/errors.h"

namespace tl::ops {

RetrievalMetrics retrievalMetrics(const at::Tensor& distances, const at::Tensor& queryLabels,
                                  const at::Tensor& galleryLabels, const std::optional<at::Tensor>& queryCameras,
                                  const std::optional<at::Tensor>& galleryCameras, int64_t maxRank) {
  at::NoGradGuard noGrad;
  const int64_t galleryCount = distances.size(1);
  const at::Tensor order = std::get<1>(distances.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false));
  const at::Tensor matches = galleryLabels.take(order).eq(queryLabels.unsqueeze(1));
  // Kept gallery entries, and each one's rank among the kept ones (1-based).
  at::Tensor kept = at::ones_like(matches);
  if (queryCameras && galleryCameras) {
    kept = matches.logical_and(galleryCameras->take(order).eq(queryCameras->unsqueeze(1))).logical_not();
  }
  const at::Tensor hits = matches.logical_and(kept);
  const at::Tensor rank = kept.to(at::kLong).cumsum(1);
  const at::Tensor matchCount = hits.sum(1);
  const at::Tensor valid = matchCount.gt(0);

  RetrievalMetrics out;
  out.validQueries = valid.sum().item<int64_t>();
  if (out.validQueries == 0) {
    rangeError("no query has a match in the gallery (same label", queryCameras ? ", another camera" : "",
               "): the metrics are undefined");
  }
  const at::Tensor firstHit = at::where(hits, rank, at::full_like(rank, galleryCount + 1)).amin(1);
  const at::Tensor ranks = at::arange(1, maxRank + 1, firstHit.options());
  out.cmc = firstHit.index({valid}).unsqueeze(1).le(ranks).to(at::kDouble).mean(0);

  const at::Tensor hitsD = hits.to(at::kDouble);
  // Removed entries before the first kept one have rank 0: clamp so that 0 / 0 cannot appear
  // (their precision is multiplied by 0 anyway).
  const at::Tensor precision = hitsD.cumsum(1).div_(rank.to(at::kDouble).clamp_min_(1));
  out.averagePrecision = precision.mul_(hitsD).sum(1).div_(matchCount.to(at::kDouble));  // 0/0 = NaN: no match
  out.meanAveragePrecision = out.averagePrecision.index({valid}).mean().item<double>();
  return out;
}

}  // namespace tl::ops
