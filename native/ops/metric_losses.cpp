#include "metric_losses.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd_loss.h"
#include "cpu/metric_kernels.h"
#include "finite_check.h"
#include "shape_checks.h"

namespace tl::ops {

TripletReduction parseTripletReduction(const std::string& name) {
  if (name == "mean") return TripletReduction::Mean;
  if (name == "sum") return TripletReduction::Sum;
  if (name == "none") return TripletReduction::None;
  if (name == "avgNonZero") return TripletReduction::AvgNonZero;
  rangeError("`reduction` must be 'mean', 'sum', 'none' or 'avgNonZero', got '", name, "'");
}

namespace {

void checkMargin(const std::optional<double>& margin) {
  if (margin && !(std::isfinite(*margin) && *margin >= 0)) {
    rangeError("`margin` must be a finite number >= 0 (or null for the soft margin), got ", *margin);
  }
}

void checkInputs(const at::Tensor& embeddings, const at::Tensor& labels, const std::optional<double>& margin,
                 bool allowNonFinite) {
  requireDims("embeddings", embeddings, 2, 2);
  requireNonEmpty("embeddings", embeddings);
  if (labels.dim() != 1 || labels.size(0) != embeddings.size(0)) {
    rangeError("`labels` must hold ", embeddings.size(0), " labels (one per row of `embeddings`), got shape ",
               labels.sizes());
  }
  checkMargin(margin);
  requireFinite("embeddings", embeddings, allowNonFinite);
}

// softplus with PyTorch's defaults (beta 1, threshold 20: the identity above 20), so that the
// closed form and autograd agree; never log1p(exp(x)), which overflows.
constexpr double kSoftplusThreshold = 20.0;

at::Tensor hingeLosses(const at::Tensor& hinge, const std::optional<double>& margin) {
  return margin ? at::relu(hinge) : at::softplus(hinge, 1, kSoftplusThreshold);
}

// d(loss)/d(hinge) of hingeLosses (autograd's subgradient: 0 at a hinge of exactly 0).
at::Tensor hingeWeight(const at::Tensor& hinge, const std::optional<double>& margin) {
  if (margin) return (hinge > 0).to(hinge.scalar_type());
  return at::where(hinge > kSoftplusThreshold, at::ones_like(hinge), at::sigmoid(hinge));
}

// The rows after the optional normalisation, their distance matrix and, for the Euclidean kinds,
// the unclamped squared distances the closed-form backward needs.
// squared: read at (max(row, col), min(row, col)); the symmetric CPU kernel fills only the lower triangle.
struct Prepared {
  at::Tensor u, squared, distances;
};

// `kernels`: the CPU kernels where they apply (false: the device-generic ATen ops, what CUDA runs).
Prepared prepareDistances(const at::Tensor& embeddings, const DistanceOptions& options, bool kernels = true) {
  Prepared p;
  p.u = normalizesRows(options) ? normalizeRows(embeddings) : embeddings;
  if (auto symmetric = kernels ? cpu::symmetricDistances(p.u, options.distance) : std::nullopt) {
    p.squared = symmetric->squared;
    p.distances = symmetric->distances;
    return p;
  }
  if (options.distance == Distance::Euclidean || options.distance == Distance::SquaredEuclidean) {
    p.squared = squaredDistances(p.u, p.u);
    p.distances = options.distance == Distance::Euclidean ? p.squared.clamp_min(kEuclideanFloor).sqrt_()
                                                          : p.squared.clamp_min(0);
  } else {
    p.distances = distanceMatrixOfPrepared(p.u, p.u, options.distance);
  }
  return p;
}

// Entries (rows_t, cols_t) of an (N, N) matrix.
at::Tensor pick(const at::Tensor& matrix, const at::Tensor& rows, const at::Tensor& cols) {
  return matrix.reshape(-1).index_select(0, rows * matrix.size(1) + cols);
}

// Adds the gradient of sum_t coefficient_t * D(rows_t, cols_t) with respect to the prepared rows
// u to `grad`. `squared` holds the unclamped squared distances for the Euclidean kinds.
void addPairGradient(at::Tensor& grad, const at::Tensor& u, const at::Tensor& squared, const at::Tensor& rows,
                     const at::Tensor& cols, const at::Tensor& coefficient, Distance distance, bool kernels) {
  if (rows.numel() == 0) return;
  const bool differences = distance == Distance::Euclidean || distance == Distance::SquaredEuclidean;
  at::Tensor factor = coefficient;
  if (differences) {
    // Euclidean: d/du_i sqrt(max(d², floor)) = (u_i - u_j) / D(i, j) where d² >= floor, else 0.
    // Squared: d/du_i max(d², 0) = 2 (u_i - u_j) where d² >= 0, else 0. (Same subgradients as
    // autograd gives clamp_min.) u_i - u_j is exactly 0 for duplicate rows.
    // the lower triangle: the symmetric kernel fills only that one
    const at::Tensor d2 = pick(squared, at::maximum(rows, cols), at::minimum(rows, cols));
    factor = distance == Distance::Euclidean
                 ? at::where(d2 >= kEuclideanFloor, coefficient / d2.clamp_min(kEuclideanFloor).sqrt(), at::zeros_like(d2))
                 : at::where(d2 >= 0, 2 * coefficient, at::zeros_like(d2));
  }
  // Cosine, dot: D(i, j) = [1] - u_i·u_j, d/du_i = -u_j, d/du_j = -u_i.
  if (kernels && grad.is_cpu()) {
    cpu::addPairGradient(grad, u, rows, cols, factor, differences);
    return;
  }
  const at::Tensor first = u.index_select(0, rows), second = u.index_select(0, cols);  // (T, D)
  const at::Tensor f = factor.unsqueeze(1);                                             // (T, 1)
  if (differences) {
    const at::Tensor g = f * (first - second);
    grad.index_add_(0, rows, g);
    grad.index_add_(0, cols, -g);
  } else {
    grad.index_add_(0, rows, -(f * second));
    grad.index_add_(0, cols, -(f * first));
  }
}

// Same-label masks of a batch: positive excludes the diagonal.
struct LabelMasks {
  at::Tensor positive, negative;
};

LabelMasks labelMasks(const at::Tensor& labels) {
  LabelMasks m;
  m.positive = labels.unsqueeze(1) == labels.unsqueeze(0);
  m.negative = m.positive.logical_not();
  m.positive.fill_diagonal_(false);
  return m;
}

// ---------------------------------------------------------------- batch hard

// The hardest positive and negative of every anchor, and the per-anchor losses. Differentiable
// by autograd when `distances` is.
struct Mining {
  at::Tensor positive, negative;                  // (N, N) candidate masks ('self' included)
  at::Tensor hasPositive, hasNegative, valid;     // (N) bool; hasPositive before 'self'
  at::Tensor positiveIndex, negativeIndex;        // (N) int64; arbitrary where not valid
  at::Tensor positiveDistance, negativeDistance;  // (N); 0 where not valid
  at::Tensor hinge;   // (N) d_ap - d_an (+ margin); margin (or 0) where not valid
  at::Tensor losses;  // (N); 0 where not valid
};

// noPositive 'error' (OML): a RangeError naming the first anchor without a positive.
void refuseAnchorsWithoutPositive(const at::Tensor& hasPositive, const at::Tensor& labels) {
  if (hasPositive.all().item<bool>()) return;
  const int64_t row = hasPositive.logical_not().nonzero()[0][0].item<int64_t>();
  rangeError("anchor ", row, " (label ", labels[row].item<int64_t>(), ") has no positive in the batch, and ",
             "`noPositive` is 'error' (OML refuses such batches; 'skip' leaves the anchor out)");
}

// The per-anchor losses of mined hardest distances (0 where not valid).
void addLosses(Mining& m, const std::optional<double>& margin) {
  m.hinge = m.positiveDistance - m.negativeDistance;
  if (margin) m.hinge = m.hinge + *margin;
  m.losses = at::where(m.valid, hingeLosses(m.hinge, margin), at::zeros_like(m.hinge));
}

Mining mine(const at::Tensor& distances, const at::Tensor& labels, const BatchHardTripletOptions& options) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  const int64_t n = distances.size(0);
  LabelMasks masks = labelMasks(labels);
  Mining m;
  m.hasPositive = masks.positive.any(1);
  m.hasNegative = masks.negative.any(1);
  if (options.noPositive == NoPositive::Error) refuseAnchorsWithoutPositive(m.hasPositive, labels);
  if (options.noPositive == NoPositive::Self) {
    // fast-reid: an anchor without positives is its own positive, at D(a, a)
    const at::Tensor eye = at::eye(n, labels.options().dtype(at::kBool));
    masks.positive = masks.positive.logical_or(eye.logical_and(m.hasPositive.logical_not().unsqueeze(1)));
  }
  m.positive = masks.positive;
  m.negative = masks.negative;
  m.valid = masks.positive.any(1).logical_and(m.hasNegative);
  // Rows without any candidate reduce over +-inf; `where` keeps those values (and their
  // gradient) out of everything below. amax / amin share a tie's gradient, max / min do not.
  const at::Tensor positiveScores = distances.masked_fill(masks.positive.logical_not(), -inf);
  const at::Tensor negativeScores = distances.masked_fill(masks.negative.logical_not(), inf);
  auto hardestPositive = at::max(positiveScores, 1);
  auto hardestNegative = at::min(negativeScores, 1);
  m.positiveIndex = std::get<1>(hardestPositive);
  m.negativeIndex = std::get<1>(hardestNegative);
  const bool split = options.ties == Ties::Split && at::GradMode::is_enabled();
  const at::Tensor zeros = at::zeros({n}, distances.options());
  m.positiveDistance = at::where(m.valid, split ? at::amax(positiveScores, 1) : std::get<0>(hardestPositive), zeros);
  m.negativeDistance = at::where(m.valid, split ? at::amin(negativeScores, 1) : std::get<0>(hardestNegative), zeros);
  addLosses(m, options.margin);
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

// Counts and means of one batch's mining. `selected` marks the terms (anchors or triplets)
// that count, `losses` / distances are 0 elsewhere.
BatchHardStats statsFromCounts(const int64_t* c, const double* s);

// The counts and sums of statsOf, read straight from CPU memory (a dozen tensor ops cost more
// than the whole loss on a small batch).
template <typename T>
void countOnCpu(const at::Tensor& selected, const at::Tensor& losses, const at::Tensor& positiveDistance,
                const at::Tensor& negativeDistance, const at::Tensor& hasPositive, const at::Tensor& hasNegative,
                int64_t* c, double* s) {
  const bool* sel = selected.data_ptr<bool>();
  const bool* pos = hasPositive.data_ptr<bool>();
  const bool* neg = hasNegative.data_ptr<bool>();
  const T* loss = losses.data_ptr<T>();
  const T* dp = positiveDistance.data_ptr<T>();
  const T* dn = negativeDistance.data_ptr<T>();
  for (int64_t i = 0; i < selected.numel(); ++i) {
    c[0] += sel[i];
    c[3] += sel[i] && loss[i] > T(0);
    s[0] += static_cast<double>(dp[i]);
    s[1] += static_cast<double>(dn[i]);
  }
  for (int64_t i = 0; i < hasPositive.numel(); ++i) c[1] += !pos[i];
  for (int64_t i = 0; i < hasNegative.numel(); ++i) c[2] += !neg[i];
}

BatchHardStats statsOf(const at::Tensor& selected, const at::Tensor& losses, const at::Tensor& positiveDistance,
                       const at::Tensor& negativeDistance, const at::Tensor& hasPositive, const at::Tensor& hasNegative) {
  const at::Tensor* all[] = {&selected, &losses, &positiveDistance, &negativeDistance, &hasPositive, &hasNegative};
  const bool onCpu = std::all_of(std::begin(all), std::end(all), [](const at::Tensor* t) {
    return t->is_cpu() && t->is_contiguous();
  });
  const at::ScalarType type = losses.scalar_type();
  if (onCpu && selected.scalar_type() == at::kBool && hasPositive.scalar_type() == at::kBool &&
      hasNegative.scalar_type() == at::kBool && (type == at::kFloat || type == at::kDouble) &&
      positiveDistance.scalar_type() == type && negativeDistance.scalar_type() == type &&
      selected.numel() == losses.numel() && losses.numel() == positiveDistance.numel() &&
      losses.numel() == negativeDistance.numel()) {
    int64_t c[4] = {0, 0, 0, 0};
    double s[2] = {0, 0};
    if (type == at::kFloat) countOnCpu<float>(selected, losses, positiveDistance, negativeDistance, hasPositive, hasNegative, c, s);
    else countOnCpu<double>(selected, losses, positiveDistance, negativeDistance, hasPositive, hasNegative, c, s);
    return statsFromCounts(c, s);
  }
  const at::Tensor counts = at::stack({selected.sum(), hasPositive.logical_not().sum(),
                                       hasNegative.logical_not().sum(),
                                       selected.logical_and(losses.detach() > 0).sum()})
                                .cpu();
  const at::Tensor sums = at::stack({positiveDistance.detach().to(at::kDouble).sum(),
                                     negativeDistance.detach().to(at::kDouble).sum()})
                              .cpu();
  return statsFromCounts(counts.data_ptr<int64_t>(), sums.data_ptr<double>());
}

// c: valid anchors (or triplets), without positive, without negative, active; s: distance sums.
BatchHardStats statsFromCounts(const int64_t* c, const double* s) {
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

BatchHardStats statsOf(const Mining& m) {
  return statsOf(m.valid, m.losses, m.positiveDistance, m.negativeDistance, m.hasPositive, m.hasNegative);
}

// The (row, column, share) of every mined pair of the batch-hard loss: the hardest entry of
// each valid row, or with Ties::Split every tied entry with an equal share.
struct MinedPairs {
  at::Tensor rows, cols, share;
};

MinedPairs hardestPairs(const at::Tensor& distances, const at::Tensor& candidates, const at::Tensor& value,
                        const at::Tensor& index, const at::Tensor& valid, Ties ties) {
  if (ties == Ties::First) {
    return {at::arange(distances.size(0), index.options()), index, at::ones_like(value)};
  }
  const at::Tensor tied = candidates.logical_and(distances == value.unsqueeze(1)).logical_and(valid.unsqueeze(1));
  const at::Tensor where = tied.nonzero();  // (T, 2)
  const at::Tensor count = tied.sum(1).clamp_min(1).to(value.scalar_type());
  const at::Tensor rows = where.select(1, 0);
  return {rows, where.select(1, 1), count.reciprocal().index_select(0, rows)};
}

}  // namespace

namespace {

BatchHardTripletOutput batchHard(const at::Tensor& embeddings, const at::Tensor& labels,
                                 const BatchHardTripletOptions& options, bool needGrad, bool kernels) {
  checkInputs(embeddings, labels, options.margin, options.allowNonFinite);
  at::NoGradGuard noGrad;
  const Prepared d = prepareDistances(embeddings, options.distance, kernels);
  Mining m;
  MinedPairs positives, negatives;
  if (kernels && d.distances.is_cpu()) {
    // one fused pass per row (cpu/batch_hard_kernel.h)
    const cpu::HardestPerRow h = cpu::hardestPerRow(d.distances, labels, options.noPositive, options.ties == Ties::Split);
    if (options.noPositive == NoPositive::Error) refuseAnchorsWithoutPositive(h.hasPositive, labels);
    m.hasPositive = h.hasPositive;
    m.hasNegative = h.hasNegative;
    m.valid = h.valid;
    m.positiveDistance = h.positiveDistance;
    m.negativeDistance = h.negativeDistance;
    addLosses(m, options.margin);
    positives = {h.positiveRows, h.positiveCols, h.positiveShare};
    negatives = {h.negativeRows, h.negativeCols, h.negativeShare};
  } else {
    m = mine(d.distances, labels, options);
    positives = hardestPairs(d.distances, m.positive, m.positiveDistance, m.positiveIndex, m.valid, options.ties);
    negatives = hardestPairs(d.distances, m.negative, m.negativeDistance, m.negativeIndex, m.valid, options.ties);
  }
  BatchHardTripletOutput out{{reduceOverValid(m, options.reduction), {}}, statsOf(m)};
  if (!needGrad) return out;

  // d(reduced loss)/d(loss_i) times d(loss_i)/d(hinge_i), 0 for anchors that are not valid.
  const at::Tensor weight = hingeWeight(m.hinge, options.margin) * m.valid.to(m.hinge.scalar_type()) *
                            reductionScale(options.reduction, std::max<int64_t>(out.stats.validAnchors, 1));
  at::Tensor gradU = at::zeros(d.u.sizes(), d.u.options());  // contiguous, for the CPU kernel
  const Distance distance = options.distance.distance;
  addPairGradient(gradU, d.u, d.squared, positives.rows, positives.cols,
                  weight.index_select(0, positives.rows) * positives.share, distance, kernels);
  addPairGradient(gradU, d.u, d.squared, negatives.rows, negatives.cols,
                  -weight.index_select(0, negatives.rows) * negatives.share, distance, kernels);
  out.output.grads.push_back(normalizesRows(options.distance) ? normalizeRowsBackward(gradU, embeddings, d.u) : gradU);
  return out;
}

}  // namespace

BatchHardTripletOutput batchHardTripletLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                                            const BatchHardTripletOptions& options, bool needGrad) {
  return batchHard(embeddings, labels, options, needGrad, true);
}

BatchHardTripletOutput batchHardTripletLossGeneric(const at::Tensor& embeddings, const at::Tensor& labels,
                                                   const BatchHardTripletOptions& options, bool needGrad) {
  return batchHard(embeddings, labels, options, needGrad, false);
}

BatchHardTripletOutput batchHardTripletLossReference(const at::Tensor& embeddings, const at::Tensor& labels,
                                                     const BatchHardTripletOptions& options, bool needGrad) {
  checkInputs(embeddings, labels, options.margin, options.allowNonFinite);
  Mining m;
  LossOutput loss = lossWithAutograd({embeddings}, options.reduction, needGrad, [&](const std::vector<at::Tensor>& x) {
    const at::Tensor u = normalizesRows(options.distance) ? normalizeRows(x[0]) : x[0];
    m = mine(distanceMatrixOfPrepared(u, u, options.distance.distance), labels, options);
    return reduceOverValid(m, options.reduction);
  });
  return {std::move(loss), statsOf(m)};
}

// ---------------------------------------------------------------- triplet losses over triplets

namespace {

at::Tensor reduceTriplets(const at::Tensor& losses, TripletReduction reduction) {
  switch (reduction) {
    case TripletReduction::Mean: return losses.sum() / std::max<int64_t>(losses.numel(), 1);
    case TripletReduction::Sum: return losses.sum();
    case TripletReduction::AvgNonZero:
      return losses.sum() / (losses.detach() > 0).sum().clamp_min(1).to(losses.scalar_type());
    default: return losses;
  }
}

double tripletScale(const at::Tensor& losses, TripletReduction reduction) {
  switch (reduction) {
    case TripletReduction::Mean: return 1.0 / static_cast<double>(std::max<int64_t>(losses.numel(), 1));
    case TripletReduction::AvgNonZero:
      return 1.0 / static_cast<double>(std::max<int64_t>((losses > 0).sum().item<int64_t>(), 1));
    default: return 1.0;
  }
}

// Validates caller-given triplets against N rows, as int64 on `device`.
MinedIndices checkTriplets(const MinedIndices& t, int64_t rows, const c10::Device& device) {
  const at::Tensor* parts[] = {&t.anchors, &t.positives, &t.negatives};
  const char* names[] = {"triplets.anchors", "triplets.positives", "triplets.negatives"};
  for (int i = 0; i < 3; ++i) {
    if (parts[i]->dim() != 1 || parts[i]->size(0) != t.anchors.size(0)) {
      rangeError("`", names[i], "` must hold one index per triplet (", t.anchors.size(0), "), got shape ",
                 parts[i]->sizes());
    }
    if (parts[i]->numel() > 0) {
      const int64_t low = parts[i]->min().item<int64_t>(), high = parts[i]->max().item<int64_t>();
      if (low < 0 || high >= rows) {
        rangeError("`", names[i], "` must hold row indices in [0, ", rows, "), got ", low < 0 ? low : high);
      }
    }
  }
  return {t.anchors.to(device, at::kLong), t.positives.to(device, at::kLong), t.negatives.to(device, at::kLong), {}};
}

MinedIndices tripletsFor(const at::Tensor& distances, const at::Tensor& labels,
                         const std::optional<MinedIndices>& given, const MinerOptions& miner) {
  if (given) return checkTriplets(*given, distances.size(0), distances.device());
  if (!minesTriplets(miner.kind)) {
    rangeError("`miner.type` must be a triplet miner for a triplet loss ('batchEasyHard' and 'pairMargin' mine pairs)");
  }
  const MinedIndices t = mine(MiningInput{distances, labels, {}}, miner);
  const auto device = distances.device();
  return {t.anchors.to(device), t.positives.to(device), t.negatives.to(device), {}};
}

struct TripletTerms {
  at::Tensor positiveDistance, negativeDistance, hinge, losses;
};

TripletTerms tripletTerms(const at::Tensor& distances, const MinedIndices& t, const std::optional<double>& margin) {
  TripletTerms terms;
  terms.positiveDistance = pick(distances, t.anchors, t.positives);
  terms.negativeDistance = pick(distances, t.anchors, t.negatives);
  terms.hinge = terms.positiveDistance - terms.negativeDistance;
  if (margin) terms.hinge = terms.hinge + *margin;
  terms.losses = hingeLosses(terms.hinge, margin);
  return terms;
}

BatchHardStats tripletStats(const at::Tensor& labels, const MinedIndices& t, const TripletTerms& terms) {
  // whether each row has a positive / a negative, from the label counts (no (N, N) mask)
  const auto unique = at::_unique2(labels, /*sorted=*/true, /*return_inverse=*/true, /*return_counts=*/true);
  const at::Tensor sameLabel = std::get<2>(unique).index_select(0, std::get<1>(unique).reshape(-1));
  const at::Tensor all = at::ones_like(terms.losses, terms.losses.options().dtype(at::kBool));
  BatchHardStats stats = statsOf(all, terms.losses, terms.positiveDistance, terms.negativeDistance,
                                 sameLabel > 1, sameLabel < labels.numel());
  stats.triplets = stats.validAnchors;
  stats.validAnchors = t.anchors.numel() == 0 ? 0 : std::get<0>(at::_unique(t.anchors)).numel();
  return stats;
}

}  // namespace

namespace {

TripletLossOutput mined(const at::Tensor& embeddings, const at::Tensor& labels,
                        const std::optional<MinedIndices>& triplets, const MinerOptions& miner,
                        const TripletLossOptions& options, bool needGrad, bool kernels) {
  checkInputs(embeddings, labels, options.margin, options.allowNonFinite);
  at::NoGradGuard noGrad;
  const Prepared d = prepareDistances(embeddings, options.distance, kernels);
  const MinedIndices t = tripletsFor(d.distances, labels, triplets, miner);
  const TripletTerms terms = tripletTerms(d.distances, t, options.margin);
  TripletLossOutput out{{reduceTriplets(terms.losses, options.reduction), {}}, tripletStats(labels, t, terms)};
  if (!needGrad) return out;
  const at::Tensor weight = hingeWeight(terms.hinge, options.margin) * tripletScale(terms.losses, options.reduction);
  at::Tensor gradU = at::zeros(d.u.sizes(), d.u.options());  // contiguous, for the CPU kernel
  addPairGradient(gradU, d.u, d.squared, t.anchors, t.positives, weight, options.distance.distance, kernels);
  addPairGradient(gradU, d.u, d.squared, t.anchors, t.negatives, -weight, options.distance.distance, kernels);
  out.output.grads.push_back(normalizesRows(options.distance) ? normalizeRowsBackward(gradU, embeddings, d.u) : gradU);
  return out;
}

}  // namespace

TripletLossOutput tripletLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                              const std::optional<MinedIndices>& triplets, const MinerOptions& miner,
                              const TripletLossOptions& options, bool needGrad) {
  return mined(embeddings, labels, triplets, miner, options, needGrad, true);
}

TripletLossOutput tripletLossGeneric(const at::Tensor& embeddings, const at::Tensor& labels,
                                     const std::optional<MinedIndices>& triplets, const MinerOptions& miner,
                                     const TripletLossOptions& options, bool needGrad) {
  return mined(embeddings, labels, triplets, miner, options, needGrad, false);
}

TripletLossOutput tripletLossReference(const at::Tensor& embeddings, const at::Tensor& labels,
                                       const std::optional<MinedIndices>& triplets, const MinerOptions& miner,
                                       const TripletLossOptions& options, bool needGrad) {
  checkInputs(embeddings, labels, options.margin, options.allowNonFinite);
  MinedIndices t;
  {
    at::NoGradGuard noGrad;
    t = tripletsFor(prepareDistances(embeddings, options.distance).distances, labels, triplets, miner);
  }
  TripletTerms terms;
  const Reduction shape = options.reduction == TripletReduction::None ? Reduction::None : Reduction::Mean;
  LossOutput loss = lossWithAutograd({embeddings}, shape, needGrad, [&](const std::vector<at::Tensor>& x) {
    const at::Tensor u = normalizesRows(options.distance) ? normalizeRows(x[0]) : x[0];
    terms = tripletTerms(distanceMatrixOfPrepared(u, u, options.distance.distance), t, options.margin);
    return reduceTriplets(terms.losses, options.reduction);
  });
  return {std::move(loss), tripletStats(labels, t, terms)};
}

TripletLossOutput semiHardTripletLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                                      const TripletLossOptions& options, bool needGrad) {
  MinerOptions miner;
  miner.kind = MinerKind::SemiHard;
  miner.fallback = SemiHardFallback::Hardest;
  return tripletLoss(embeddings, labels, std::nullopt, miner, options, needGrad);
}

TripletLossOutput tripletLossOnRows(const at::Tensor& anchor, const at::Tensor& positive, const at::Tensor& negative,
                                    std::optional<double> margin, Reduction reduction, bool allowNonFinite,
                                    bool needGrad) {
  requireDims("anchor", anchor, 2, 2);
  requireNonEmpty("anchor", anchor);
  requireSameShape("positive", positive, "anchor", anchor);
  requireSameShape("negative", negative, "anchor", anchor);
  checkMargin(margin);
  requireFinite("anchor", anchor, allowNonFinite);
  requireFinite("positive", positive, allowNonFinite);
  requireFinite("negative", negative, allowNonFinite);
  at::NoGradGuard noGrad;
  // ||x - y|| from the difference itself (torch.cdist per pair, as OML's elementwise_dist)
  const at::Tensor towardPositive = anchor - positive, towardNegative = anchor - negative;
  const at::Tensor dap = at::linalg_vector_norm(towardPositive, 2, {1});
  const at::Tensor dan = at::linalg_vector_norm(towardNegative, 2, {1});
  at::Tensor hinge = dap - dan;
  if (margin) hinge = hinge + *margin;
  const at::Tensor losses = hingeLosses(hinge, margin);
  const at::Tensor all = at::ones_like(losses, losses.options().dtype(at::kBool));
  TripletLossOutput out{{reduce(losses, reduction), {}}, statsOf(all, losses, dap, dan, all, all)};
  out.stats.triplets = out.stats.validAnchors;
  if (!needGrad) return out;
  const at::Tensor w = hingeWeight(hinge, margin) * reductionScale(reduction, anchor.size(0));
  auto unit = [&](const at::Tensor& diff, const at::Tensor& norm) {
    // d||x||/dx = x / ||x||, and 0 at x = 0 (cdist's subgradient)
    return at::where(norm > 0, w / norm.clamp_min(std::numeric_limits<double>::min()), at::zeros_like(norm)).unsqueeze(1) * diff;
  };
  const at::Tensor gp = unit(towardPositive, dap), gn = unit(towardNegative, dan);
  out.output.grads = {gp - gn, -gp, gn};
  return out;
}

TripletLossOutput tripletLossPlain(const at::Tensor& stacked, std::optional<double> margin, Reduction reduction,
                                   bool allowNonFinite, bool needGrad) {
  requireDims("stacked", stacked, 2, 2);
  requireNonEmpty("stacked", stacked);
  if (stacked.size(0) % 3 != 0) {
    rangeError("`stacked` must have 3B rows ([anchors; positives; negatives]), got shape ", stacked.sizes());
  }
  requireFinite("stacked", stacked, allowNonFinite);
  const auto parts = stacked.chunk(3, 0);
  TripletLossOutput out = tripletLossOnRows(parts[0], parts[1], parts[2], margin, reduction, true, needGrad);
  if (needGrad) out.output.grads = {at::cat(out.output.grads, 0)};
  return out;
}

}  // namespace tl::ops
