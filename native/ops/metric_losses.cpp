#include "metric_losses.h"

#include <ATen/core/grad_mode.h>

#include <cmath>
#include <limits>

#include "autograd_loss.h"
#include "shape_checks.h"

namespace tl::ops {
namespace {

void checkInputs(const at::Tensor& embeddings, const at::Tensor& labels, const BatchHardTripletOptions& options) {
  requireDims("embeddings", embeddings, 2, 2);
  requireNonEmpty("embeddings", embeddings);
  if (labels.dim() != 1 || labels.size(0) != embeddings.size(0)) {
    rangeError("`labels` must hold ", embeddings.size(0), " labels (one per row of `embeddings`), got shape ",
               labels.sizes());
  }
  if (options.margin && !(std::isfinite(*options.margin) && *options.margin >= 0)) {
    rangeError("`margin` must be a finite number >= 0 (or null for the soft margin), got ", *options.margin);
  }
}

// softplus with PyTorch's defaults (beta 1, threshold 20: the identity above 20), so that the
// closed form and autograd agree.
constexpr double kSoftplusThreshold = 20.0;

// The hardest positive and negative of every anchor, and the per-anchor losses. Differentiable
// by autograd when `distances` is.
struct Mining {
  at::Tensor hasPositive, hasNegative, valid;  // (N) bool
  at::Tensor positiveIndex, negativeIndex;     // (N) int64; arbitrary where not valid
  at::Tensor positiveDistance, negativeDistance;  // (N); 0 where not valid
  at::Tensor hinge;   // (N) d_ap - d_an (+ margin); margin (or 0) where not valid
  at::Tensor losses;  // (N); 0 where not valid
};

Mining mine(const at::Tensor& distances, const at::Tensor& labels, const BatchHardTripletOptions& options) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  at::Tensor positive = labels.unsqueeze(1) == labels.unsqueeze(0);  // same label, (N, N)
  const at::Tensor negative = positive.logical_not();
  positive.fill_diagonal_(false);  // an anchor is not its own positive
  Mining m;
  m.hasPositive = positive.any(1);
  m.hasNegative = negative.any(1);
  m.valid = m.hasPositive.logical_and(m.hasNegative);
  // Rows without any candidate reduce over +-inf; `where` keeps those values (and their
  // gradient) out of everything below.
  auto hardestPositive = at::max(distances.masked_fill(positive.logical_not(), -inf), 1);
  auto hardestNegative = at::min(distances.masked_fill(negative.logical_not(), inf), 1);
  m.positiveIndex = std::get<1>(hardestPositive);
  m.negativeIndex = std::get<1>(hardestNegative);
  const at::Tensor zeros = at::zeros({distances.size(0)}, distances.options());
  m.positiveDistance = at::where(m.valid, std::get<0>(hardestPositive), zeros);
  m.negativeDistance = at::where(m.valid, std::get<0>(hardestNegative), zeros);
  m.hinge = m.positiveDistance - m.negativeDistance;
  if (options.margin) m.hinge = m.hinge + *options.margin;
  const at::Tensor losses = options.margin ? at::relu(m.hinge) : at::softplus(m.hinge, 1, kSoftplusThreshold);
  m.losses = at::where(m.valid, losses, zeros);
  return m;
}

// 'mean' is over the valid anchors (1 when there are none: the loss is then 0).
at::Tensor reduceOverValid(const Mining& m, Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean:
      return m.losses.sum() / m.valid.sum().clamp_min(1).to(m.losses.scalar_type());
    case Reduction::Sum: return m.losses.sum();
    default: return m.losses;
  }
}

BatchHardStats statsOf(const Mining& m) {
  const at::Tensor counts = at::stack({m.valid.sum(), m.hasPositive.logical_not().sum(),
                                       m.hasNegative.logical_not().sum(),
                                       m.valid.logical_and(m.losses.detach() > 0).sum()})
                                .cpu();
  const at::Tensor sums = at::stack({m.positiveDistance.detach().to(at::kDouble).sum(),
                                     m.negativeDistance.detach().to(at::kDouble).sum()})
                              .cpu();
  const int64_t* c = counts.data_ptr<int64_t>();
  const double* s = sums.data_ptr<double>();
  BatchHardStats stats;
  stats.validAnchors = c[0];
  stats.anchorsWithoutPositive = c[1];
  stats.anchorsWithoutNegative = c[2];
  stats.activeTriplets = c[3];
  if (stats.validAnchors > 0) {
    const auto valid = static_cast<double>(stats.validAnchors);
    stats.fractionZeroLoss = static_cast<double>(stats.validAnchors - stats.activeTriplets) / valid;
    stats.meanPositiveDistance = s[0] / valid;
    stats.meanNegativeDistance = s[1] / valid;
  }
  return stats;
}

// Adds the gradient of sum_i coefficient_i * D(i, index_i) with respect to the prepared rows u
// to `grad`. `squared` holds the unclamped squared distances for the Euclidean kinds.
void addPairGradient(at::Tensor& grad, const at::Tensor& u, const at::Tensor& squared, const at::Tensor& index,
                     const at::Tensor& coefficient, Distance distance) {
  const at::Tensor other = u.index_select(0, index);  // (N, D): row index_i for anchor i
  const at::Tensor c = coefficient.unsqueeze(1);       // (N, 1)
  if (distance == Distance::Cosine || distance == Distance::Dot) {
    // D(i, j) = [1] - u_i·u_j: d/du_i = -u_j, d/du_j = -u_i.
    grad.sub_(c * other);
    grad.index_add_(0, index, -(c * u));
    return;
  }
  // Euclidean: d/du_i sqrt(max(d², floor)) = (u_i - u_j) / D(i, j) where d² >= floor, else 0.
  // Squared: d/du_i max(d², 0) = 2 (u_i - u_j) where d² >= 0, else 0. (Same subgradients as
  // autograd gives clamp_min.) u_i - u_j is exactly 0 for duplicate rows.
  const at::Tensor d2 = squared.gather(1, index.unsqueeze(1));  // (N, 1)
  const at::Tensor factor =
      distance == Distance::Euclidean
          ? at::where(d2 >= kEuclideanFloor, c / d2.clamp_min(kEuclideanFloor).sqrt(), at::zeros_like(d2))
          : at::where(d2 >= 0, 2 * c, at::zeros_like(d2));
  const at::Tensor g = factor * (u - other);
  grad.add_(g);
  grad.index_add_(0, index, -g);
}

}  // namespace

BatchHardTripletOutput batchHardTripletLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                                            const BatchHardTripletOptions& options, bool needGrad) {
  checkInputs(embeddings, labels, options);
  at::NoGradGuard noGrad;
  const Distance distance = options.distance.distance;
  const bool normalize = normalizesRows(options.distance);
  const at::Tensor u = normalize ? normalizeRows(embeddings) : embeddings;
  at::Tensor squared, distances;
  if (distance == Distance::Euclidean || distance == Distance::SquaredEuclidean) {
    squared = squaredDistances(u, u);
    distances = distance == Distance::Euclidean ? squared.clamp_min(kEuclideanFloor).sqrt() : squared.clamp_min(0);
  } else {
    distances = distanceMatrixOfPrepared(u, u, distance);
  }
  const Mining m = mine(distances, labels, options);
  BatchHardTripletOutput out{{reduceOverValid(m, options.reduction), {}}, statsOf(m)};
  if (!needGrad) return out;

  // d(reduced loss)/d(loss_i) times d(loss_i)/d(hinge_i), 0 for anchors that are not valid.
  const auto dtype = m.hinge.scalar_type();
  at::Tensor weight = options.margin
                          ? (m.hinge > 0).to(dtype)
                          : at::where(m.hinge > kSoftplusThreshold, at::ones_like(m.hinge), at::sigmoid(m.hinge));
  weight = weight * m.valid.to(dtype) *
           reductionScale(options.reduction, std::max<int64_t>(out.stats.validAnchors, 1));
  at::Tensor gradU = at::zeros_like(u);
  addPairGradient(gradU, u, squared, m.positiveIndex, weight, distance);
  addPairGradient(gradU, u, squared, m.negativeIndex, -weight, distance);
  out.output.grads.push_back(normalize ? normalizeRowsBackward(gradU, embeddings, u) : gradU);
  return out;
}

BatchHardTripletOutput batchHardTripletLossReference(const at::Tensor& embeddings, const at::Tensor& labels,
                                                     const BatchHardTripletOptions& options, bool needGrad) {
  checkInputs(embeddings, labels, options);
  Mining m;
  LossOutput loss = lossWithAutograd({embeddings}, options.reduction, needGrad, [&](const std::vector<at::Tensor>& x) {
    const at::Tensor u = normalizesRows(options.distance) ? normalizeRows(x[0]) : x[0];
    m = mine(distanceMatrixOfPrepared(u, u, options.distance.distance), labels, options);
    return reduceOverValid(m, options.reduction);
  });
  return {std::move(loss), statsOf(m)};
}

}  // namespace tl::ops
