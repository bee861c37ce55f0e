// Miners: which (anchor, positive, negative) triplets or (anchor, positive) / (anchor, negative)
// pairs of a labelled batch a metric loss should look at. Gradient-free; the distances come from
// pairwise_distance.h (or the caller), smaller = closer for every kind ('dot' is -x·y).
//
// Queries are the rows of the batch (labels, N); candidates are the rows of a reference set
// (refLabels, M) or, without one, the batch itself, in which case a row is never its own positive.
//   positive of a:  a candidate with the anchor's label (not a itself within the batch)
//   negative of a:  a candidate with another label
// Indices of positives and negatives point into the candidates.
//
// The miners (each cited where its semantics come from):
//   batchHard      hardest positive and hardest negative per anchor (Hermans et al. 2017)
//   batchEasyHard  per-anchor positive / negative pairs chosen by strategy (pytorch-metric-
//                  learning's BatchEasyHardMiner; Xuan et al. 2020, easy positives)
//   semiHard       per anchor-positive pair, the nearest negative farther than the positive
//                  (FaceNet, Schroff et al. 2015), with TF-Addons' fallback to the farthest negative
//   tripletMargin  every triplet whose d_an - d_ap relates to the margin as `type` says (PML)
//   allTriplets    every triplet, or a seeded uniform sample of maxTriplets of them (OML)
//   nHard          the k hardest positives x the k hardest negatives of every anchor
//   pairMargin     positive pairs farther than posMargin, negative pairs nearer than negMargin (PML)
// All work on a CPU copy of the distance matrix in double: O(N M) memory, never O(N M²).
#pragma once
#include <ATen/ATen.h>

#include <optional>
#include <string>

#include "pairwise_distance.h"

namespace tl::ops {

enum class MinerKind { BatchHard, BatchEasyHard, SemiHard, TripletMargin, AllTriplets, NHard, PairMargin };
// What batch-hard does with an anchor without a positive: leave it out (PML, the paper), use the
// anchor itself at distance D(a, a) (fast-reid), or refuse the batch with a RangeError (OML).
enum class NoPositive { Skip, Self, Error };
enum class Strategy { Hard, SemiHard, Easy, All };
// semiHard, when an anchor-positive pair has no semi-hard negative: drop the pair, or take the
// anchor's farthest negative (TF-Addons' `negatives_inside`).
enum class SemiHardFallback { Skip, Hardest };
enum class MarginType { All, Hard, SemiHard, Easy };

struct MinerOptions {
  MinerKind kind = MinerKind::BatchHard;
  NoPositive noPositive = NoPositive::Skip;          // batchHard
  Strategy posStrategy = Strategy::Easy;             // batchEasyHard (PML defaults)
  Strategy negStrategy = Strategy::SemiHard;
  SemiHardFallback fallback = SemiHardFallback::Hardest;  // semiHard
  MarginType type = MarginType::All;                 // tripletMargin
  double margin = 0.2;                               // tripletMargin (PML default)
  std::optional<int64_t> maxTriplets;                // allTriplets
  int64_t k = 1;                                     // nHard
  double posMargin = 0.2, negMargin = 0.8;           // pairMargin (PML defaults)
};

MinerKind parseMinerKind(const std::string& name);
NoPositive parseNoPositive(const std::string& name);
Strategy parseStrategy(const char* option, const std::string& name);
SemiHardFallback parseFallback(const std::string& name);
MarginType parseMarginType(const std::string& name);

// Whether the miner returns triplets (false: pairs).
inline bool minesTriplets(MinerKind kind) {
  return kind != MinerKind::BatchEasyHard && kind != MinerKind::PairMargin;
}

// The labelled distance matrix a miner reads. `distances` (N, M) on any device, any float dtype.
struct MiningInput {
  at::Tensor distances;
  at::Tensor labels;     // (N) int64
  at::Tensor refLabels;  // (M) int64; undefined: the candidates are the batch (M == N)
};

// Index tensors (int64, CPU): triplets fill anchors/positives/negatives; pair miners fill
// anchors (of the positive pairs), positives, negativeAnchors and negatives.
struct MinedIndices {
  at::Tensor anchors, positives, negatives, negativeAnchors;
};

// Checks shapes (RangeError naming `distances`, `labels`, `refLabels`) and mines.
MinedIndices mine(const MiningInput& input, const MinerOptions& options);

// The distance matrix the miners and triplet losses use, from embeddings (N, D) and optional
// reference rows (M, D); checks both, including finiteness unless allowNonFinite.
at::Tensor miningDistances(const at::Tensor& embeddings, const std::optional<at::Tensor>& refEmbeddings,
                           const DistanceOptions& options, bool allowNonFinite);

}  // namespace tl::ops
