// Retrieval metrics (Recall@K / CMC and mean average precision) with a query / gallery split,
// under the Market-1501 protocol (Zheng et al., ICCV 2015; torchreid's eval_market1501): for each
// query, the gallery is ranked by ascending distance (stable sort: ties keep gallery order);
// gallery entries with the query's identity AND camera are removed when cameras are given (they
// are "junk": the same view); a query without any remaining match is left out of the averages.
//
//   CMC(r)  = fraction of valid queries whose first match ranks <= r   (= Recall@r)
//   AP      = (1 / #matches) * sum over matches j of (j / rank of the j-th match)
//   mAP     = mean AP over valid queries
//
// Plain ATen on a [Q, G] distance matrix: any device; O(Q G log G) for the sort.
#pragma once
#include <ATen/ATen.h>

#include <optional>

namespace tl::ops {

struct RetrievalMetrics {
  at::Tensor cmc;               // [maxRank] float64: cmc[r - 1] = CMC(r)
  at::Tensor averagePrecision;  // [Q] float64, NaN for a query without a match
  int64_t validQueries = 0;
  double meanAveragePrecision = 0;
};

// distances [Q, G]; labels (int64) [Q] and [G]; cameras both or neither (int64, [Q] / [G]).
// Shapes are checked by the caller. No valid query at all is a RangeError.
RetrievalMetrics retrievalMetrics(const at::Tensor& distances, const at::Tensor& queryLabels,
                                  const at::Tensor& galleryLabels, const std::optional<at::Tensor>& queryCameras,
                                  const std::optional<at::Tensor>& galleryCameras, int64_t maxRank);

}  // namespace tl::ops
