#include "miners.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <vector>

#include "finite_check.h"
#include "shape_checks.h"

namespace tl::ops {

MinerKind parseMinerKind(const std::string& name) {
  if (name == "batchHard") return MinerKind::BatchHard;
  if (name == "batchEasyHard") return MinerKind::BatchEasyHard;
  if (name == "semiHard") return MinerKind::SemiHard;
  if (name == "tripletMargin") return MinerKind::TripletMargin;
  if (name == "allTriplets") return MinerKind::AllTriplets;
  if (name == "nHard") return MinerKind::NHard;
  if (name == "pairMargin") return MinerKind::PairMargin;
  rangeError("`miner.type` must be 'batchHard', 'batchEasyHard', 'semiHard', 'tripletMargin', 'allTriplets', "
             "'nHard' or 'pairMargin', got '", name, "'");
}

NoPositive parseNoPositive(const std::string& name) {
  if (name == "skip") return NoPositive::Skip;
  if (name == "self") return NoPositive::Self;
  if (name == "error") return NoPositive::Error;
  rangeError("`noPositive` must be 'skip', 'self' or 'error', got '", name, "'");
}

Strategy parseStrategy(const char* option, const std::string& name) {
  if (name == "hard") return Strategy::Hard;
  if (name == "semihard") return Strategy::SemiHard;
  if (name == "easy") return Strategy::Easy;
  if (name == "all") return Strategy::All;
  rangeError("`", option, "` must be 'hard', 'semihard', 'easy' or 'all', got '", name, "'");
}

SemiHardFallback parseFallback(const std::string& name) {
  if (name == "skip") return SemiHardFallback::Skip;
  if (name == "hardest") return SemiHardFallback::Hardest;
  rangeError("`fallback` must be 'skip' or 'hardest', got '", name, "'");
}

MarginType parseMarginType(const std::string& name) {
  if (name == "all") return MarginType::All;
  if (name == "hard") return MarginType::Hard;
  if (name == "semihard") return MarginType::SemiHard;
  if (name == "easy") return MarginType::Easy;
  rangeError("`type` must be 'all', 'hard', 'semihard' or 'easy', got '", name, "'");
}

at::Tensor miningDistances(const at::Tensor& embeddings, const std::optional<at::Tensor>& refEmbeddings,
                           const DistanceOptions& options, bool allowNonFinite) {
  requireFinite("embeddings", embeddings, allowNonFinite);
  if (refEmbeddings) requireFinite("refEmbeddings", *refEmbeddings, allowNonFinite);
  return pairwiseDistance(embeddings, refEmbeddings, options);
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// allTriplets without maxTriplets refuses to list more than this many triplets (1.6 GB as int64).
constexpr int64_t kMaxListedTriplets = int64_t{1} << 26;

// The labels and the distances as the loops read them (CPU, contiguous).
struct Inputs {
  at::Tensor distances, labels, refLabels;  // distances undefined for label-only miners
  bool self = true;  // the candidates are the batch: a row is not its own positive
};

// A view of Inputs in the distances' dtype.
template <typename scalar_t>
struct Batch {
  const scalar_t* d = nullptr;  // (n, m) row-major; null for label-only miners
  const int64_t* label = nullptr;
  const int64_t* ref = nullptr;
  int64_t n = 0, m = 0;
  bool self = true;

  explicit Batch(const Inputs& in)
      : d(in.distances.defined() ? in.distances.data_ptr<scalar_t>() : nullptr),
        label(in.labels.data_ptr<int64_t>()),
        ref(in.refLabels.data_ptr<int64_t>()),
        n(in.labels.size(0)),
        m(in.refLabels.size(0)),
        self(in.self) {}

  double at(int64_t i, int64_t j) const { return static_cast<double>(d[i * m + j]); }
  bool isPositive(int64_t i, int64_t j) const { return ref[j] == label[i] && !(self && i == j); }
  bool isNegative(int64_t i, int64_t j) const { return ref[j] != label[i]; }
};

Inputs prepare(const MiningInput& input, bool needDistances) {
  Inputs b;
  b.labels = input.labels.to(at::kCPU, at::kLong).contiguous();
  if (b.labels.dim() != 1) rangeError("`labels` must be 1-dimensional, got shape ", input.labels.sizes());
  b.self = !input.refLabels.defined();
  b.refLabels = b.self ? b.labels : input.refLabels.to(at::kCPU, at::kLong).contiguous();
  if (b.refLabels.dim() != 1) rangeError("`refLabels` must be 1-dimensional, got shape ", input.refLabels.sizes());
  const int64_t n = b.labels.size(0), m = b.refLabels.size(0);
  if (input.distances.defined()) {
    const at::Tensor& d = input.distances;
    if (d.dim() != 2 || d.size(0) != n || d.size(1) != m) {
      rangeError("`distances` must have shape [", n, ", ", m, "] (labels x ", b.self ? "labels" : "refLabels",
                 "), got ", d.sizes());
    }
    if (needDistances) {
      b.distances = d.detach().to(at::kCPU).contiguous();
      if (!at::isFloatingType(b.distances.scalar_type()) || b.distances.scalar_type() == at::kHalf ||
          b.distances.scalar_type() == at::kBFloat16) {
        b.distances = b.distances.to(at::kFloat);
      }
    }
  }
  return b;
}

// Runs fill(a, out) for every anchor (in parallel); each call appends groups of `width` indices.
// The groups come back as a (count, width) int64 tensor in anchor order, whatever the threads.
template <typename Fill>
at::Tensor collect(int64_t anchors, int64_t width, const Fill& fill) {
  std::vector<std::vector<int64_t>> perAnchor(static_cast<size_t>(anchors));
  at::parallel_for(0, anchors, 8, [&](int64_t begin, int64_t end) {
    for (int64_t a = begin; a < end; ++a) fill(a, perAnchor[static_cast<size_t>(a)]);
  });
  int64_t total = 0;
  for (const auto& v : perAnchor) total += static_cast<int64_t>(v.size());
  at::Tensor out = at::empty({total / width, width}, at::kLong);
  int64_t* p = out.data_ptr<int64_t>();
  for (const auto& v : perAnchor) p = std::copy(v.begin(), v.end(), p);
  return out;
}

void push(std::vector<int64_t>& out, int64_t a, int64_t b) {
  out.push_back(a);
  out.push_back(b);
}
void push(std::vector<int64_t>& out, int64_t a, int64_t p, int64_t n) {
  out.push_back(a);
  out.push_back(p);
  out.push_back(n);
}

MinedIndices tripletsOf(const at::Tensor& t) {
  return {t.select(1, 0).contiguous(), t.select(1, 1).contiguous(), t.select(1, 2).contiguous(), {}};
}

// The nearest (or farthest) candidate of row a among those `accept` lets through; -1 if none.
// Ties go to the lowest index, as torch.argmin / argmax do.
template <typename B, typename Accept>
int64_t extreme(const B& b, int64_t a, bool nearest, const Accept& accept) {
  int64_t best = -1;
  double bestValue = nearest ? kInf : -kInf;
  for (int64_t j = 0; j < b.m; ++j) {
    if (!accept(j)) continue;
    const double v = b.at(a, j);
    if (best < 0 ? !std::isnan(v) : nearest ? v < bestValue : v > bestValue) {
      best = j;
      bestValue = v;
    }
  }
  return best;
}

template <typename B>
MinedIndices batchHard(const B& b, NoPositive noPositive) {
  if (noPositive == NoPositive::Self && !b.self) {
    rangeError("`noPositive: 'self'` needs the batch as its own reference set (no `refLabels`)");
  }
  if (noPositive == NoPositive::Error) {
    for (int64_t a = 0; a < b.n; ++a) {
      bool found = false;
      for (int64_t j = 0; j < b.m && !found; ++j) found = b.isPositive(a, j);
      if (!found) {
        rangeError("anchor ", a, " (label ", b.label[a], ") has no positive in the batch, and `noPositive` is 'error' ",
                   "(OML refuses such batches; 'skip' leaves the anchor out)");
      }
    }
  }
  return tripletsOf(collect(b.n, 3, [&](int64_t a, std::vector<int64_t>& out) {
    int64_t p = extreme(b, a, false, [&](int64_t j) { return b.isPositive(a, j); });
    const int64_t n = extreme(b, a, true, [&](int64_t j) { return b.isNegative(a, j); });
    if (p < 0 && noPositive == NoPositive::Self) p = a;
    if (p >= 0 && n >= 0) push(out, a, p, n);
  }));
}

// Candidates of row a that pass `accept`, in index order.
template <typename B, typename Accept>
std::vector<int64_t> candidates(const B& b, const Accept& accept) {
  std::vector<int64_t> out;
  for (int64_t j = 0; j < b.m; ++j)
    if (accept(j)) out.push_back(j);
  return out;
}

template <typename B>
MinedIndices batchEasyHard(const B& b, Strategy pos, Strategy neg) {
  if (pos == Strategy::SemiHard && neg == Strategy::SemiHard) {
    rangeError("`posStrategy` and `negStrategy` cannot both be 'semihard' (each is defined by the other's hardest)");
  }
  // Semi-hard positive: the farthest positive still nearer than the anchor's nearest negative.
  // Semi-hard negative: the nearest negative still farther than the anchor's nearest positive.
  auto side = [&](bool positives, Strategy strategy) {
    return collect(b.n, 2, [&](int64_t a, std::vector<int64_t>& out) {
      auto mine = [&](int64_t j) { return positives ? b.isPositive(a, j) : b.isNegative(a, j); };
      if (strategy == Strategy::All) {
        for (int64_t j : candidates(b, mine)) push(out, a, j);
        return;
      }
      int64_t j = -1;
      if (strategy == Strategy::SemiHard) {
        // The bound: the other side's nearest candidate (hardest negative / easiest positive).
        const int64_t other = extreme(b, a, true, [&](int64_t c) { return positives ? b.isNegative(a, c) : b.isPositive(a, c); });
        if (other < 0) return;
        const double bound = b.at(a, other);
        j = positives ? extreme(b, a, false, [&](int64_t c) { return mine(c) && b.at(a, c) < bound; })
                      : extreme(b, a, true, [&](int64_t c) { return mine(c) && b.at(a, c) > bound; });
      } else {
        // hard: the farthest positive / nearest negative; easy: the other way round.
        const bool nearest = positives == (strategy == Strategy::Easy);
        j = extreme(b, a, nearest, mine);
      }
      if (j >= 0) push(out, a, j);
    });
  };
  const at::Tensor p = side(true, pos), n = side(false, neg);
  return {p.select(1, 0).contiguous(), p.select(1, 1).contiguous(), n.select(1, 1).contiguous(),
          n.select(1, 0).contiguous()};
}

// The candidates of each label in index order, to find an anchor's r-th positive or negative
// in O(log K) without listing them.
struct Classes {
  std::unordered_map<int64_t, std::vector<int64_t>> members;

  template <typename B>
  explicit Classes(const B& b) {
    for (int64_t j = 0; j < b.m; ++j) members[b.ref[j]].push_back(j);
  }

  const std::vector<int64_t>& of(int64_t label) const {
    static const std::vector<int64_t> none;
    const auto it = members.find(label);
    return it == members.end() ? none : it->second;
  }
};

// For every positive p of anchor a, the nearest negative with D(a, n) > D(a, p), in one pass over
// the row: O(M log K) for K positives. A negative v counts for the positives whose distance is
// below v; bucket[c] keeps the nearest negative that exceeds exactly c of the sorted positive
// distances, and a positive's answer is the minimum over the buckets above its rank.
template <typename B>
MinedIndices semiHard(const B& b, SemiHardFallback fallback) {
  const Classes classes(b);
  return tripletsOf(collect(b.n, 3, [&](int64_t a, std::vector<int64_t>& out) {
    std::vector<int64_t> positives;
    for (int64_t j : classes.of(b.label[a]))
      if (!(b.self && j == a)) positives.push_back(j);
    if (positives.empty()) return;
    std::vector<int64_t> order(positives.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
      return b.at(a, positives[x]) < b.at(a, positives[y]);
    });
    std::vector<double> thresholds(order.size());
    for (size_t i = 0; i < order.size(); ++i) thresholds[i] = b.at(a, positives[order[i]]);
    const size_t k = thresholds.size();
    std::vector<double> bucketValue(k + 1, kInf);
    std::vector<int64_t> bucketIndex(k + 1, -1);
    int64_t farthest = -1;
    double farthestValue = -kInf;
    for (int64_t j = 0; j < b.m; ++j) {
      if (!b.isNegative(a, j)) continue;
      const double v = b.at(a, j);  // NaN (allowNonFinite) compares false everywhere below: ignored
      if (v > farthestValue) {
        farthest = j;
        farthestValue = v;
      }
      // the number of positive distances below v: a branch-free count for the usual few
      // positives (K <= 8 in P x K batches), a binary search beyond
      size_t below = 0;
      if (k <= 8) {
        for (size_t c = 0; c < k; ++c) below += thresholds[c] < v ? 1 : 0;
      } else {
        below = static_cast<size_t>(std::lower_bound(thresholds.begin(), thresholds.end(), v) - thresholds.begin());
      }
      if (v < bucketValue[below]) {
        bucketValue[below] = v;
        bucketIndex[below] = j;
      }
    }
    if (farthest < 0) return;  // no negative at all: the anchor is left out
    // suffix minimum (ties: the lower candidate index) over buckets c > rank
    std::vector<int64_t> semi(k, -1);
    double bestValue = kInf;
    int64_t best = -1;
    for (size_t c = k; c >= 1; --c) {
      if (bucketIndex[c] >= 0 &&
          (bucketValue[c] < bestValue || (bucketValue[c] == bestValue && bucketIndex[c] < best))) {
        bestValue = bucketValue[c];
        best = bucketIndex[c];
      }
      semi[order[c - 1]] = best;
    }
    for (size_t i = 0; i < positives.size(); ++i) {
      if (semi[i] >= 0) {
        push(out, a, positives[i], semi[i]);
      } else if (fallback == SemiHardFallback::Hardest) {
        push(out, a, positives[i], farthest);
      }
    }
  }));
}

bool keepsMargin(MarginType type, double gap, double margin) {
  // gap = d_an - d_ap (PML's triplet_margin for distances)
  switch (type) {
    case MarginType::All: return gap <= margin;
    case MarginType::Hard: return gap <= 0;
    case MarginType::SemiHard: return gap > 0 && gap <= margin;
    case MarginType::Easy: return gap > margin;
  }
  return false;
}

template <typename B>
MinedIndices tripletMargin(const B& b, MarginType type, double margin) {
  return tripletsOf(collect(b.n, 3, [&](int64_t a, std::vector<int64_t>& out) {
    const auto positives = candidates(b, [&](int64_t j) { return b.isPositive(a, j); });
    const auto negatives = candidates(b, [&](int64_t j) { return b.isNegative(a, j); });
    for (int64_t p : positives)
      for (int64_t n : negatives)
        if (keepsMargin(type, b.at(a, n) - b.at(a, p), margin)) push(out, a, p, n);
  }));
}

// The k candidates of row a that `accept` lets through, nearest (or farthest) first.
template <typename B, typename Accept>
std::vector<int64_t> nearestK(const B& b, int64_t a, int64_t k, bool nearest, const Accept& accept) {
  std::vector<int64_t> c = candidates(b, accept);
  const auto count = std::min<size_t>(static_cast<size_t>(k), c.size());
  std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(count), c.end(), [&](int64_t x, int64_t y) {
    const double dx = b.at(a, x), dy = b.at(a, y);
    return dx != dy ? (nearest ? dx < dy : dx > dy) : x < y;
  });
  c.resize(count);
  return c;
}

template <typename B>
MinedIndices nHard(const B& b, int64_t k) {
  if (k < 1) rangeError("`k` must be an integer >= 1, got ", k);
  return tripletsOf(collect(b.n, 3, [&](int64_t a, std::vector<int64_t>& out) {
    const auto positives = nearestK(b, a, k, false, [&](int64_t j) { return b.isPositive(a, j); });
    const auto negatives = nearestK(b, a, k, true, [&](int64_t j) { return b.isNegative(a, j); });
    for (int64_t p : positives)
      for (int64_t n : negatives) push(out, a, p, n);
  }));
}

template <typename B>
MinedIndices pairMargin(const B& b, double posMargin, double negMargin) {
  const at::Tensor p = collect(b.n, 2, [&](int64_t a, std::vector<int64_t>& out) {
    for (int64_t j = 0; j < b.m; ++j)
      if (b.isPositive(a, j) && b.at(a, j) > posMargin) push(out, a, j);
  });
  const at::Tensor n = collect(b.n, 2, [&](int64_t a, std::vector<int64_t>& out) {
    for (int64_t j = 0; j < b.m; ++j)
      if (b.isNegative(a, j) && b.at(a, j) < negMargin) push(out, a, j);
  });
  return {p.select(1, 0).contiguous(), p.select(1, 1).contiguous(), n.select(1, 1).contiguous(),
          n.select(1, 0).contiguous()};
}

// ---------------------------------------------------------------- all triplets

// Number of positives and negatives of every anchor, and the triplet counts' prefix sums.
struct TripletCounts {
  std::vector<int64_t> positives, negatives, prefix;  // prefix: n + 1 entries
};

template <typename B>
TripletCounts countTriplets(const B& b, const Classes& classes) {
  TripletCounts c;
  c.prefix.push_back(0);
  for (int64_t a = 0; a < b.n; ++a) {
    const auto same = static_cast<int64_t>(classes.of(b.label[a]).size());
    c.positives.push_back(same - (b.self ? 1 : 0));
    c.negatives.push_back(b.m - same);
    c.prefix.push_back(c.prefix.back() + c.positives.back() * c.negatives.back());
  }
  return c;
}

// `count` distinct integers drawn uniformly from [0, total), sorted; from libtorch's default
// generator (manualSeed). Never allocates O(total) unless total is small.
at::Tensor sampleDistinct(int64_t total, int64_t count) {
  if (total <= 4 * count || total <= (int64_t{1} << 22)) {
    return std::get<0>(at::randperm(total, at::kLong).slice(0, 0, count).sort());
  }
  at::Tensor chosen = at::empty({0}, at::kLong);
  while (chosen.size(0) < count) {
    const int64_t draw = (count - chosen.size(0)) + (count - chosen.size(0)) / 4 + 64;
    chosen = std::get<0>(at::_unique(at::cat({chosen, at::randint(total, {draw}, at::kLong)}), /*sorted=*/true));
  }
  // The distinct values of i.i.d. draws are a uniform subset of their size; a random count-subset
  // of it is uniform too.
  const at::Tensor keep = at::randperm(chosen.size(0), at::kLong).slice(0, 0, count);
  return std::get<0>(chosen.index_select(0, keep).sort());
}

template <typename B>
MinedIndices allTriplets(const B& b, std::optional<int64_t> maxTriplets) {
  const Classes classes(b);
  const TripletCounts counts = countTriplets(b, classes);
  const int64_t total = counts.prefix.back();
  if (maxTriplets && *maxTriplets < 0) rangeError("`maxTriplets` must be >= 0, got ", *maxTriplets);
  const bool sample = maxTriplets && *maxTriplets < total;
  if (!sample && total > kMaxListedTriplets) {
    rangeError("the batch has ", total, " triplets, more than ", kMaxListedTriplets,
               " can be listed; pass `maxTriplets` to sample some of them");
  }
  const at::Tensor flat = sample ? sampleDistinct(total, *maxTriplets) : at::arange(total, at::kLong);
  const int64_t count = flat.size(0);
  at::Tensor out = at::empty({count, 3}, at::kLong);
  const int64_t* f = flat.data_ptr<int64_t>();
  int64_t* o = out.data_ptr<int64_t>();
  // flat index -> (anchor, r-th positive, r-th negative), both ranks in index order
  at::parallel_for(0, count, 4096, [&](int64_t begin, int64_t end) {
    int64_t a = std::upper_bound(counts.prefix.begin(), counts.prefix.end(), f[begin]) - counts.prefix.begin() - 1;
    for (int64_t t = begin; t < end; ++t) {
      while (f[t] >= counts.prefix[a + 1]) ++a;
      const int64_t r = f[t] - counts.prefix[a];
      const int64_t positiveRank = r / counts.negatives[a], negativeRank = r % counts.negatives[a];
      const std::vector<int64_t>& same = classes.of(b.label[a]);
      // the anchor itself is among its class's members within the batch: skip it
      int64_t p = same[positiveRank];
      if (b.self && p >= a) p = same[positiveRank + 1];
      // the negativeRank-th non-member: members before it are those with m_i - i <= rank
      int64_t lo = 0, hi = static_cast<int64_t>(same.size());
      while (lo < hi) {
        const int64_t mid = (lo + hi) / 2;
        if (same[mid] - mid <= negativeRank) lo = mid + 1; else hi = mid;
      }
      o[3 * t] = a;
      o[3 * t + 1] = p;
      o[3 * t + 2] = negativeRank + lo;
    }
  });
  return tripletsOf(out);
}

}  // namespace

MinedIndices mine(const MiningInput& input, const MinerOptions& options) {
  const bool needDistances = options.kind != MinerKind::AllTriplets;
  if (needDistances && !input.distances.defined()) rangeError("the miner needs `embeddings` or `distances`");
  const Inputs in = prepare(input, needDistances);
  if (!needDistances) return allTriplets(Batch<float>(Inputs{{}, in.labels, in.refLabels, in.self}), options.maxTriplets);
  MinedIndices out;
  AT_DISPATCH_FLOATING_TYPES(in.distances.scalar_type(), "mine", [&] {
    const Batch<scalar_t> b(in);
    switch (options.kind) {
      case MinerKind::BatchHard: out = batchHard(b, options.noPositive); break;
      case MinerKind::BatchEasyHard: out = batchEasyHard(b, options.posStrategy, options.negStrategy); break;
      case MinerKind::SemiHard: out = semiHard(b, options.fallback); break;
      case MinerKind::TripletMargin: out = tripletMargin(b, options.type, options.margin); break;
      case MinerKind::NHard: out = nHard(b, options.k); break;
      case MinerKind::PairMargin: out = pairMargin(b, options.posMargin, options.negMargin); break;
      case MinerKind::AllTriplets: break;
    }
  });
  return out;
}

}  // namespace tl::ops
