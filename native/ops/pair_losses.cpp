#include "pair_losses.h"

#include <cmath>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "autograd_loss.h"
#include "finite_check.h"
#include "shape_checks.h"

namespace tl::ops {

PairReduction parsePairReduction(const std::string& name) {
  if (name == "mean") return PairReduction::Mean;
  if (name == "sum") return PairReduction::Sum;
  if (name == "none") return PairReduction::None;
  if (name == "avgNonZero") return PairReduction::AvgNonZero;
  rangeError("`reduction` must be 'mean', 'sum', 'none' or 'avgNonZero', got '", name, "'");
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// PyTorch's softplus threshold (the identity above it), as the Python references use.
constexpr double kSoftplusThreshold = 20.0;

// Which ordered pairs (i, j), i != j, are positive and negative. Only valid anchors (with a
// positive and a negative) keep their pairs; the label-based counts stay for the stats.
struct Batch {
  at::Tensor positive, negative;       // (N, N) bool, rows of valid anchors only
  at::Tensor hasPositive, hasNegative;  // (N) bool, from the labels alone
  at::Tensor valid;                     // (N) bool
};

Batch pairsOf(const at::Tensor& labels) {
  const at::Tensor same = labels.unsqueeze(1) == labels.unsqueeze(0);
  Batch b;
  b.positive = same.clone();
  b.positive.fill_diagonal_(false);  // an anchor is not its own positive
  b.negative = same.logical_not();
  b.hasPositive = b.positive.any(1);
  b.hasNegative = b.negative.any(1);
  b.valid = b.hasPositive.logical_and(b.hasNegative);
  b.positive = b.positive.logical_and(b.valid.unsqueeze(1));
  b.negative = b.negative.logical_and(b.valid.unsqueeze(1));
  return b;
}

// Some of a loss's terms: values (N, K) and which of them count. Uncounted values must be finite
// with finite gradients (they are selected away, and 0 * NaN would still be NaN).
struct Terms {
  at::Tensor values;
  at::Tensor counted;  // bool, the shape of values
};

// What one evaluation of a loss leaves behind: its terms, and the facts the stats report.
struct Evaluated {
  std::vector<Terms> groups;  // 'avgNonZero' averages each group on its own (PML's sub-losses)
  at::Tensor positive, negative, valid;  // the pairs and anchors that took part (after mining)
  at::Tensor pairValues;                 // (N, N) the distances or similarities, detached
  at::Tensor active;                     // (N, N) bool: pairs whose term is > 0
};

// A per-anchor loss as one group (one term per valid anchor).
Terms anchorTerms(const at::Tensor& losses, const at::Tensor& valid) {
  return {losses.unsqueeze(1), valid.unsqueeze(1)};
}

// Pairs of anchors whose loss is > 0: for the losses that are one term per anchor.
at::Tensor pairsOfActiveAnchors(const Evaluated& e, const at::Tensor& anchorLosses) {
  return e.positive.logical_or(e.negative).logical_and((anchorLosses.detach() > 0).logical_and(e.valid).unsqueeze(1));
}

at::Tensor counted(const Terms& t) { return at::where(t.counted, t.values, at::zeros_like(t.values)); }

at::Tensor reducePairLoss(const std::vector<Terms>& groups, PairReduction reduction) {
  at::Tensor perAnchor = counted(groups[0]).sum(1);
  for (size_t g = 1; g < groups.size(); ++g) perAnchor = perAnchor + counted(groups[g]).sum(1);
  const auto asFloat = [&](const at::Tensor& count) { return count.clamp_min(1).to(perAnchor.scalar_type()); };
  switch (reduction) {
    case PairReduction::None: return perAnchor;
    case PairReduction::Sum: return perAnchor.sum();
    case PairReduction::Mean: {
      at::Tensor terms = groups[0].counted.sum();
      for (size_t g = 1; g < groups.size(); ++g) terms = terms + groups[g].counted.sum();
      return perAnchor.sum() / asFloat(terms);  // 0 / 1 without any term
    }
    case PairReduction::AvgNonZero: {
      at::Tensor total = at::zeros({}, perAnchor.options());
      for (const Terms& t : groups) {
        const at::Tensor values = counted(t);
        total = total + values.sum() / asFloat((values.detach() > 0).sum());
      }
      return total;
    }
  }
  return perAnchor;
}

// log(sum of e^x over the masked entries of each row) (+1 inside the log with `addOne`),
// shifted by the row maximum so that nothing overflows. A row without entries gives 0 with a
// zero gradient (never -inf or NaN); the losses leave those rows out.
at::Tensor rowLogSumExp(const at::Tensor& x, const at::Tensor& mask, bool addOne = false) {
  const at::Tensor filled = x.masked_fill(mask.logical_not(), -kInf);
  at::Tensor shift = std::get<0>(filled.detach().max(1, /*keepdim=*/true));
  if (addOne) shift = shift.clamp_min(0);
  shift = at::where(at::isfinite(shift), shift, at::zeros_like(shift));
  at::Tensor sum = (filled - shift).exp().sum(1);
  const at::Tensor rowShift = shift.squeeze(1);
  if (addOne) return (sum + (-rowShift).exp()).log() + rowShift;
  const at::Tensor nonEmpty = mask.any(1);
  sum = at::where(nonEmpty, sum, at::ones_like(sum));
  return sum.log() + at::where(nonEmpty, rowShift, at::zeros_like(rowShift));
}

at::Tensor softplusOf(const at::Tensor& x) { return at::softplus(x, 1, kSoftplusThreshold); }

at::Tensor preparedRows(const at::Tensor& x, const DistanceOptions& options) {
  return normalizesRows(options) ? normalizeRows(x) : x;
}

at::Tensor distanceMatrix(const at::Tensor& x, const DistanceOptions& options) {
  const at::Tensor u = preparedRows(x, options);
  return distanceMatrixOfPrepared(u, u, options.distance);
}

// The similarity losses' s = -distance (+1 for cosine): cos(x_i, x_j) or x_i·x_j.
at::Tensor similarityMatrix(const at::Tensor& x, const DistanceOptions& options) {
  const at::Tensor u = preparedRows(x, options);
  return at::mm(u, u.t());
}

void requireSimilarity(const char* loss, const DistanceOptions& options) {
  if (options.distance != Distance::Cosine && options.distance != Distance::Dot) {
    rangeError("`distance` of ", loss, " must be 'cosine' or 'dot' (it works on similarities)");
  }
}

template <typename... Parts>
void require(bool ok, const Parts&... parts) {
  if (!ok) rangeError(parts...);
}

void requirePositive(const char* name, double value) {
  require(std::isfinite(value) && value > 0, "`", name, "` must be a finite number > 0, got ", value);
}

void requireFiniteOption(const char* name, double value) {
  require(std::isfinite(value), "`", name, "` must be a finite number, got ", value);
}

PairLossStats statsOf(const Evaluated& e, const Batch& b, const at::Tensor& anchorLosses, bool similarity) {
  const at::Tensor values = e.pairValues.to(at::kDouble);
  const at::Tensor zero = at::zeros_like(values);
  const at::Tensor valid = e.valid;
  const at::Tensor counts =
      at::stack({valid.sum(), b.hasPositive.logical_not().sum(), b.hasNegative.logical_not().sum(),
                 e.positive.sum(), e.negative.sum(), e.active.sum(),
                 valid.logical_and(anchorLosses.detach() <= 0).sum()})
          .cpu();
  const at::Tensor sums = at::stack({at::where(e.positive, values, zero).sum(), at::where(e.negative, values, zero).sum()}).cpu();
  const int64_t* c = counts.data_ptr<int64_t>();
  const double* s = sums.data_ptr<double>();
  PairLossStats stats;
  stats.similarity = similarity;
  stats.validAnchors = c[0];
  stats.anchorsWithoutPositive = c[1];
  stats.anchorsWithoutNegative = c[2];
  stats.positivePairs = c[3];
  stats.negativePairs = c[4];
  stats.activePairs = c[5];
  if (c[0] > 0) stats.fractionZeroLoss = static_cast<double>(c[6]) / static_cast<double>(c[0]);
  if (c[3] > 0) stats.meanPositive = s[0] / static_cast<double>(c[3]);
  if (c[4] > 0) stats.meanNegative = s[1] / static_cast<double>(c[4]);
  return stats;
}

// Evaluates one loss on the differentiable embeddings and the batch's pairs.
using PairLossBody = std::function<Evaluated(const at::Tensor& embeddings, const Batch& batch)>;

// The shared driver: checks, pairs, autograd, reduction, stats.
PairLossOutput runPairLoss(const at::Tensor& embeddings, const at::Tensor& labels, const PairLossCommon& common,
                           bool needGrad, bool similarity, const PairLossBody& body) {
  requireDims("embeddings", embeddings, 2, 2);
  requireNonEmpty("embeddings", embeddings);
  if (labels.dim() != 1 || labels.size(0) != embeddings.size(0)) {
    rangeError("`labels` must hold ", embeddings.size(0), " labels (one per row of `embeddings`), got shape ",
               labels.sizes());
  }
  requireFinite("embeddings", embeddings, common.allowNonFinite);
  const Batch batch = pairsOf(labels);
  Evaluated e;
  const Reduction shape = common.reduction == PairReduction::None ? Reduction::None : Reduction::Sum;
  LossOutput out = lossWithAutograd({embeddings}, shape, needGrad, [&](const std::vector<at::Tensor>& x) {
    e = body(x[0], batch);
    return reducePairLoss(e.groups, common.reduction);
  });
  at::Tensor perAnchor = counted(e.groups[0]).sum(1).detach();
  for (size_t g = 1; g < e.groups.size(); ++g) perAnchor = perAnchor + counted(e.groups[g]).sum(1).detach();
  PairLossStats stats = statsOf(e, batch, perAnchor, similarity);
  return {std::move(out), stats};
}

// The fields every body starts from.
Evaluated startFrom(const Batch& b, const at::Tensor& pairValues) {
  Evaluated e;
  e.positive = b.positive;
  e.negative = b.negative;
  e.valid = b.valid;
  e.pairValues = pairValues.detach();
  return e;
}

}  // namespace

PairLossOutput contrastiveLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                               const ContrastiveOptions& o, bool needGrad) {
  requireFiniteOption("posMargin", o.posMargin);
  requireFiniteOption("negMargin", o.negMargin);
  return runPairLoss(embeddings, labels, o, needGrad, false, [&](const at::Tensor& x, const Batch& b) {
    const at::Tensor d = distanceMatrix(x, o.distance);
    Evaluated e = startFrom(b, d);
    const at::Tensor pos = at::relu(d - o.posMargin);
    const at::Tensor neg = at::relu(o.negMargin - d);
    e.groups = {{pos, b.positive}, {neg, b.negative}};
    e.active = b.positive.logical_and(pos.detach() > 0).logical_or(b.negative.logical_and(neg.detach() > 0));
    return e;
  });
}

PairLossOutput circleLoss(const at::Tensor& embeddings, const at::Tensor& labels, const CircleOptions& o,
                          bool needGrad) {
  requireSimilarity("circleLoss", o.distance);
  requireFiniteOption("m", o.m);
  requirePositive("gamma", o.gamma);
  return runPairLoss(embeddings, labels, o, needGrad, true, [&](const at::Tensor& x, const Batch& b) {
    const at::Tensor s = similarityMatrix(x, o.distance);
    Evaluated e = startFrom(b, s);
    // The paper's self-paced weights, constants of the gradient: alpha_p = [O_p - s]+, alpha_n = [s - O_n]+.
    const at::Tensor alphaP = at::relu(1 + o.m - s.detach());
    const at::Tensor alphaN = at::relu(s.detach() + o.m);
    const at::Tensor logitP = -o.gamma * alphaP * (s - (1 - o.m));  // delta_p = 1 - m
    const at::Tensor logitN = o.gamma * alphaN * (s - o.m);         // delta_n = m
    const at::Tensor losses = softplusOf(rowLogSumExp(logitN, b.negative) + rowLogSumExp(logitP, b.positive));
    e.groups = {anchorTerms(losses, b.valid)};
    e.active = pairsOfActiveAnchors(e, losses);
    return e;
  });
}

PairLossOutput multiSimilarityLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                                   const MultiSimilarityOptions& o, bool needGrad) {
  requireSimilarity("multiSimilarityLoss", o.distance);
  requirePositive("alpha", o.alpha);
  requirePositive("beta", o.beta);
  requireFiniteOption("base", o.base);
  require(std::isfinite(o.epsilon) && o.epsilon >= 0, "`epsilon` must be a finite number >= 0, got ", o.epsilon);
  return runPairLoss(embeddings, labels, o, needGrad, true, [&](const at::Tensor& x, const Batch& b) {
    const at::Tensor s = similarityMatrix(x, o.distance);
    Evaluated e = startFrom(b, s);
    if (o.mining) {
      // The paper's pair mining: a negative counts when it is more similar than the least
      // similar positive - epsilon, a positive when it is less similar than the most similar
      // negative + epsilon. Anchors left without a mined positive or negative drop out.
      const at::Tensor sd = s.detach();
      const at::Tensor leastPositive = std::get<0>(sd.masked_fill(b.positive.logical_not(), kInf).min(1, true));
      const at::Tensor mostNegative = std::get<0>(sd.masked_fill(b.negative.logical_not(), -kInf).max(1, true));
      e.positive = b.positive.logical_and(sd < mostNegative + o.epsilon);
      e.negative = b.negative.logical_and(sd > leastPositive - o.epsilon);
      e.valid = e.positive.any(1).logical_and(e.negative.any(1));
      e.positive = e.positive.logical_and(e.valid.unsqueeze(1));
      e.negative = e.negative.logical_and(e.valid.unsqueeze(1));
    }
    const at::Tensor pos = rowLogSumExp(-o.alpha * (s - o.base), e.positive, /*addOne=*/true) / o.alpha;
    const at::Tensor neg = rowLogSumExp(o.beta * (s - o.base), e.negative, /*addOne=*/true) / o.beta;
    const at::Tensor losses = pos + neg;
    e.groups = {anchorTerms(losses, e.valid)};
    e.active = pairsOfActiveAnchors(e, losses);
    return e;
  });
}

PairLossOutput ntXentLoss(const at::Tensor& embeddings, const at::Tensor& labels, const TemperatureOptions& o,
                          bool needGrad) {
  requireSimilarity("ntXentLoss", o.distance);
  requirePositive("temperature", o.temperature);
  return runPairLoss(embeddings, labels, o, needGrad, true, [&](const at::Tensor& x, const Batch& b) {
    const at::Tensor s = similarityMatrix(x, o.distance);
    Evaluated e = startFrom(b, s);
    const at::Tensor z = s / o.temperature;
    // -log(e^z_ip / (e^z_ip + sum_n e^z_in)) = softplus(lse_n(z_in) - z_ip)
    const at::Tensor pairLosses = softplusOf(rowLogSumExp(z, b.negative).unsqueeze(1) - z);
    e.groups = {{pairLosses, b.positive}};
    e.active = b.positive.logical_and(pairLosses.detach() > 0);
    return e;
  });
}

PairLossOutput supConLoss(const at::Tensor& embeddings, const at::Tensor& labels, const TemperatureOptions& o,
                          bool needGrad) {
  requireSimilarity("supConLoss", o.distance);
  requirePositive("temperature", o.temperature);
  return runPairLoss(embeddings, labels, o, needGrad, true, [&](const at::Tensor& x, const Batch& b) {
    const at::Tensor s = similarityMatrix(x, o.distance);
    Evaluated e = startFrom(b, s);
    const at::Tensor z = s / o.temperature;
    // -1/|P_i| sum_p (z_ip - lse_{a != i} z_ia) = lse_{a != i} z_ia - mean_p z_ip
    const at::Tensor positives = b.positive.sum(1).clamp_min(1).to(z.scalar_type());
    const at::Tensor meanPositive = at::where(b.positive, z, at::zeros_like(z)).sum(1) / positives;
    const at::Tensor losses = rowLogSumExp(z, b.positive.logical_or(b.negative)) - meanPositive;
    e.groups = {anchorTerms(losses, b.valid)};
    e.active = pairsOfActiveAnchors(e, losses);
    return e;
  });
}

PairLossOutput liftedStructureLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                                   const LiftedStructureOptions& o, bool needGrad) {
  requireFiniteOption("posMargin", o.posMargin);
  requireFiniteOption("negMargin", o.negMargin);
  return runPairLoss(embeddings, labels, o, needGrad, false, [&](const at::Tensor& x, const Batch& b) {
    const at::Tensor d = distanceMatrix(x, o.distance);
    Evaluated e = startFrom(b, d);
    const at::Tensor negatives = rowLogSumExp(o.negMargin - d, b.negative);  // (N)
    if (o.generalized) {
      const at::Tensor losses = at::relu(rowLogSumExp(d - o.posMargin, b.positive) + negatives);
      e.groups = {anchorTerms(losses, b.valid)};
      e.active = pairsOfActiveAnchors(e, losses);
      return e;
    }
    // J_ij = d_ij - posMargin + log(sum_{N_i} e^{negMargin - d} + sum_{N_j} e^{negMargin - d});
    // each ordered pair carries half of max(0, J)^2, so 'mean' is the paper's 1/(2|P|) sum over pairs.
    const at::Tensor j = d - o.posMargin + at::logaddexp(negatives.unsqueeze(1), negatives.unsqueeze(0));
    const at::Tensor hinge = at::relu(j);
    e.groups = {{hinge * hinge / 2, b.positive}};
    e.active = b.positive.logical_and(hinge.detach() > 0);
    return e;
  });
}

PairLossOutput surrogatePrecisionLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                                      const SurrogatePrecisionOptions& o, bool needGrad) {
  require(o.k >= 1, "`k` must be an integer >= 1 (Precision@k), got ", o.k);
  requirePositive("temperature1", o.temperature1);
  requirePositive("temperature2", o.temperature2);
  return runPairLoss(embeddings, labels, o, needGrad, false, [&](const at::Tensor& x, const Batch& b) {
    const int64_t n = x.size(0);
    const at::Tensor eye = at::eye(n, b.positive.options());
    // A row's distance to itself is exactly 0 (not the Euclidean floor): it enters the ranks.
    const at::Tensor d = distanceMatrix(x, o.distance).masked_fill(eye, 0);
    Evaluated e = startFrom(b, d);
    // OML keeps the query in its own gallery: one more relevant item, and k + 1.
    const at::Tensor relevant = o.includeSelf ? b.positive.logical_or(eye.logical_and(b.valid.unsqueeze(1))) : b.positive;
    const double k = static_cast<double>(o.includeSelf ? o.k + 1 : o.k);
    // Only the relevant pairs (query i, gallery item j) need a rank: memory O(pairs * N), not O(N^3).
    const at::Tensor pairs = relevant.nonzero();  // (M, 2)
    const at::Tensor query = pairs.select(1, 0), item = pairs.select(1, 1);
    const at::Tensor rows = d.index_select(0, query);                          // (M, N): d_ia
    const at::Tensor dij = rows.gather(1, item.unsqueeze(1));                  // (M, 1)
    // above[m, a] = sigmoid((d_ij - d_ia) / t2): soft "gallery item a is nearer to query i than j".
    const at::Tensor above = at::sigmoid((dij - rows) / o.temperature2);
    at::Tensor rank;
    if (o.includeSelf) {
      rank = above.sum(1);  // OML: every a, a = j included (sigmoid(0) = 1/2)
    } else {
      const at::Tensor a = at::arange(n, query.options()).unsqueeze(0);
      const at::Tensor others = (a != query.unsqueeze(1)).logical_and(a != item.unsqueeze(1));  // a != i, j
      rank = 1 + at::where(others, above, at::zeros_like(above)).sum(1);
    }
    const at::Tensor hits = at::sigmoid((k - rank) / o.temperature1);  // (M)
    const at::Tensor found = at::zeros({n}, d.options()).index_add(0, query, hits);
    const at::Tensor relevantCount = relevant.sum(1).to(d.scalar_type());
    const at::Tensor precision = found / relevantCount.clamp_max(k).clamp_min(1);
    const at::Tensor losses = 1 - precision;
    e.groups = {anchorTerms(losses, b.valid)};
    e.active = pairsOfActiveAnchors(e, losses);
    return e;
  });
}

}  // namespace tl::ops
