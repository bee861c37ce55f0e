#include "pairwise_distance.h"

#include "shape_checks.h"

namespace tl::ops {

Distance parseDistance(const std::string& name) {
  if (name == "euclidean") return Distance::Euclidean;
  if (name == "squaredEuclidean") return Distance::SquaredEuclidean;
  if (name == "cosine") return Distance::Cosine;
  if (name == "dot") return Distance::Dot;
  rangeError("`distance` must be 'euclidean', 'squaredEuclidean', 'cosine' or 'dot', got '", name, "'");
}

at::Tensor normalizeRows(const at::Tensor& x) {
  return x / at::linalg_vector_norm(x, 2, {1}, /*keepdim=*/true).clamp_min(kNormalizeEps);
}

at::Tensor normalizeRowsBackward(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& normalized) {
  // y = x / n for n = ||x|| >= eps: dy^T g = (g - y (y·g)) / n; below eps y = x / eps is linear.
  const at::Tensor norm = at::linalg_vector_norm(x, 2, {1}, /*keepdim=*/true);
  const at::Tensor projected = (grad - normalized * (normalized * grad).sum(1, /*keepdim=*/true)) / norm.clamp_min(kNormalizeEps);
  return at::where(norm >= kNormalizeEps, projected, grad / kNormalizeEps);
}

at::Tensor squaredDistances(const at::Tensor& x, const at::Tensor& y) {
  const at::Tensor xx = (x * x).sum(1, /*keepdim=*/true);        // (N, 1)
  const at::Tensor yy = (y * y).sum(1, /*keepdim=*/false).unsqueeze(0);  // (1, M)
  at::Tensor squared = (xx + yy).addmm_(x, y.t(), /*beta=*/1, /*alpha=*/-2);  // in place: one (N, M) buffer
  // A row's distance to itself is exactly 0, not the expansion's rounding error.
  if (x.is_same(y)) squared.fill_diagonal_(0);
  return squared;
}

at::Tensor distanceMatrixOfPrepared(const at::Tensor& x, const at::Tensor& y, Distance distance) {
  switch (distance) {
    case Distance::Euclidean: return squaredDistances(x, y).clamp_min(kEuclideanFloor).sqrt();
    case Distance::SquaredEuclidean: return squaredDistances(x, y).clamp_min(0);
    case Distance::Cosine: return 1 - at::mm(x, y.t());
    case Distance::Dot: return -at::mm(x, y.t());
  }
  return {};
}

at::Tensor pairwiseDistance(const at::Tensor& x, const std::optional<at::Tensor>& y,
                            const DistanceOptions& options) {
  requireDims("embeddings", x, 2, 2);
  requireNonEmpty("embeddings", x);
  if (y) {
    requireDims("refEmbeddings", *y, 2, 2);
    requireNonEmpty("refEmbeddings", *y);
    if (y->size(1) != x.size(1)) {
      rangeError("`refEmbeddings` must have ", x.size(1), " columns (the embedding size of `embeddings`), got shape ",
                 y->sizes());
    }
  }
  const bool normalize = normalizesRows(options);
  const at::Tensor a = normalize ? normalizeRows(x) : x;
  const at::Tensor b = !y ? a : normalize ? normalizeRows(*y) : *y;
  return distanceMatrixOfPrepared(a, b, options.distance);
}

}  // namespace tl::ops
