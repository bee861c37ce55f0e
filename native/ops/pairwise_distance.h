// Distance matrices between the rows of two embedding matrices, shared by the metric-learning
// losses (metric_losses.h) and exported on their own as F.pairwiseDistance.
//
//   euclidean         sqrt(max(||x||² + ||y||² - 2 x·y, 1e-12))   (one matrix product; the floor
//                     keeps the gradient finite where two embeddings coincide, as open-reid does)
//   squaredEuclidean  max(||x||² + ||y||² - 2 x·y, 0)
//   cosine            1 - x̂·ŷ, x̂ = x / max(||x||, 1e-12)            (always normalises)
//   dot               -x·y   (a larger similarity is a smaller distance)
//
// `normalize` first L2-normalises the rows (F.normalize, eps 1e-12); for cosine it changes
// nothing. The matrix product loses precision for nearby rows: in float32, duplicate or very close
// rows can come out up to ~3e-4 ||x|| apart (sqrt of float32 rounding); a row's distance to itself
// is exact (the floor, 1e-6, for euclidean).
// Cost O(N M D) time, O(N M) memory. Plain ATen ops: any device, differentiable by
// autograd.
#pragma once
#include <ATen/ATen.h>

#include <optional>
#include <string>

namespace tl::ops {

enum class Distance { Euclidean, SquaredEuclidean, Cosine, Dot };

struct DistanceOptions {
  Distance distance = Distance::Euclidean;
  bool normalize = false;
};

// The floor under squared Euclidean distances before the square root, and the smallest norm
// L2 normalisation divides by.
constexpr double kEuclideanFloor = 1e-12;
constexpr double kNormalizeEps = 1e-12;

// 'euclidean' | 'squaredEuclidean' | 'cosine' | 'dot'; a RangeError naming `distance` otherwise.
Distance parseDistance(const std::string& name);

// Whether the rows are L2-normalised before the distance (the option, or cosine).
inline bool normalizesRows(const DistanceOptions& options) {
  return options.normalize || options.distance == Distance::Cosine;
}

// x / max(||x||, eps) row by row (F.normalize(x, dim=1)).
at::Tensor normalizeRows(const at::Tensor& x);

// The Jacobian-vector product of normalizeRows: the gradient with respect to x given `grad`
// with respect to normalizeRows(x) = `normalized`.
at::Tensor normalizeRowsBackward(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& normalized);

// Squared Euclidean distances ||x_i||² + ||y_j||² - 2 x_i·y_j of already-prepared rows, not
// clamped; when x and y are the same tensor, the diagonal is exactly 0.
at::Tensor squaredDistances(const at::Tensor& x, const at::Tensor& y);

// The distance matrix of rows that are already prepared (normalised where the options say so).
at::Tensor distanceMatrixOfPrepared(const at::Tensor& x, const at::Tensor& y, Distance distance);

// (N, M) distances between the rows of x (N, D) and y (M, D); y = x when absent. Checks shapes
// (RangeError naming `embeddings` / `refEmbeddings`).
at::Tensor pairwiseDistance(const at::Tensor& x, const std::optional<at::Tensor>& y,
                            const DistanceOptions& options);

}  // namespace tl::ops
