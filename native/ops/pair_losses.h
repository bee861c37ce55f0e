// Pair and list losses over a labelled batch of embeddings x (N, D) with labels (N): every
// ordered pair (i, j), i != j, is positive (same label) or negative (different labels).
//
//   contrastive          Hadsell, Chopra & LeCun 2006; PML ContrastiveLoss:
//                        relu(d - posMargin) on positive pairs, relu(negMargin - d) on negative ones
//   circle               Sun et al. CVPR 2020, pairwise form, on similarities s:
//                        softplus(lse_n(gamma a_n (s_n - m)) + lse_p(-gamma a_p (s_p - 1 + m))),
//                        a_p = relu(1 + m - s_p), a_n = relu(s_n + m), both detached
//   multiSimilarity      Wang et al. CVPR 2019: 1/alpha log(1 + sum_p e^{-alpha (s_p - base)})
//                        + 1/beta log(1 + sum_n e^{beta (s_n - base)}), optionally on the pairs
//                        the paper's miner keeps (epsilon)
//   ntXent               Chen et al. 2020 (SimCLR) / PML NTXentLoss, per positive pair (i, p):
//                        -log(e^{s_ip/t} / (e^{s_ip/t} + sum_n e^{s_in/t}))
//   supCon               Khosla et al. 2020, L_out: -1/|P_i| sum_p log(e^{s_ip/t} / sum_{a != i} e^{s_ia/t})
//   liftedStructure      Song et al. CVPR 2016, per positive pair (i, j):
//                        relu(d_ij - posMargin + log(sum_{N_i} e^{negMargin - d} + sum_{N_j} e^{negMargin - d}))^2 / 2;
//                        `generalized`: per anchor relu(lse_p(d - posMargin) + lse_n(negMargin - d))
//                        (Hermans et al. 2017, PML GeneralizedLiftedStructureLoss)
//   surrogatePrecision   Patel et al. 2022 ("Recall@k Surrogate Loss"), as OML's SurrogatePrecision:
//                        1 - sum_{p} sigmoid((k - rank_ip) / t1) / min(k, |P_i|),
//                        rank_ij = 1 + sum_{a != i, j} sigmoid((d_ij - d_ia) / t2)
//
// Only anchors with at least one positive and one negative take part (the others are counted in
// the stats); a batch without such an anchor gives loss 0 and zero gradients. Every log-sum-exp
// is shifted by its maximum and every log(1 + e^x) is a softplus, so large distances do not
// overflow. Gradients come from libtorch autograd; plain ATen ops, any device.
#pragma once
#include <cstdint>

#include "loss_output.h"
#include "pairwise_distance.h"

namespace tl::ops {

// The reductions of the pair losses: PyTorch's three, and PML's AvgNonZeroReducer (the mean of
// the terms that are > 0; for the contrastive loss, of its positive and negative terms apart,
// summed). 'mean' and 'avgNonZero' average the loss's terms: pairs for the pair-sum losses
// (contrastive, NT-Xent, lifted structure), anchors for the others. 'none' returns N per-anchor
// losses (the sum of the anchor's terms), whose sum is the 'sum' reduction.
enum class PairReduction { None, Mean, Sum, AvgNonZero };

// 'mean' | 'sum' | 'none' | 'avgNonZero'; a RangeError naming `reduction` otherwise.
PairReduction parsePairReduction(const std::string& name);

struct PairLossCommon {
  DistanceOptions distance;  // the similarity losses accept only cosine and dot (s = -d, +1 for cosine)
  PairReduction reduction = PairReduction::Mean;
  bool allowNonFinite = false;  // else NaN / Inf embeddings are a RangeError
};

struct ContrastiveOptions : PairLossCommon {
  double posMargin = 0;
  double negMargin = 1;
};

struct CircleOptions : PairLossCommon {
  CircleOptions() { distance.distance = Distance::Cosine; }
  double m = 0.25;
  double gamma = 256;
};

struct MultiSimilarityOptions : PairLossCommon {
  MultiSimilarityOptions() { distance.distance = Distance::Cosine; }
  double alpha = 2;
  double beta = 50;
  double base = 0.5;
  bool mining = true;   // the paper's pair mining
  double epsilon = 0.1;
};

struct TemperatureOptions : PairLossCommon {
  TemperatureOptions() { distance.distance = Distance::Cosine; }
  double temperature = 0.07;  // NT-Xent (PML); SupCon's is 0.1
};

struct LiftedStructureOptions : PairLossCommon {
  double posMargin = 0;
  double negMargin = 1;
  bool generalized = false;
};

struct SurrogatePrecisionOptions : PairLossCommon {
  int64_t k = 1;
  double temperature1 = 1;
  double temperature2 = 0.01;
  bool includeSelf = false;  // OML: the query is its own gallery item (k + 1, self-comparison 0.5)
};

// Facts of one batch. Pairs are ordered (i, j), i != j, of valid anchors (after mining, for
// multi-similarity). Means are over those pairs, 0 without any.
struct PairLossStats {
  bool similarity = false;  // the means are similarities (else distances)
  int64_t validAnchors = 0;
  int64_t anchorsWithoutPositive = 0;
  int64_t anchorsWithoutNegative = 0;
  int64_t positivePairs = 0;
  int64_t negativePairs = 0;
  int64_t activePairs = 0;       // pairs whose term is > 0 (see each loss in lib/losses/pair.ts)
  double fractionZeroLoss = 0;   // valid anchors whose loss is 0, as a fraction of them
  double meanPositive = 0;       // mean distance (or similarity) of the positive pairs
  double meanNegative = 0;
};

struct PairLossOutput {
  LossOutput output;  // loss (N per-anchor losses for None), grads: { embeddings }
  PairLossStats stats;
};

PairLossOutput contrastiveLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                               const ContrastiveOptions& options, bool needGrad);
PairLossOutput circleLoss(const at::Tensor& embeddings, const at::Tensor& labels, const CircleOptions& options,
                          bool needGrad);
PairLossOutput multiSimilarityLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                                   const MultiSimilarityOptions& options, bool needGrad);
PairLossOutput ntXentLoss(const at::Tensor& embeddings, const at::Tensor& labels, const TemperatureOptions& options,
                          bool needGrad);
PairLossOutput supConLoss(const at::Tensor& embeddings, const at::Tensor& labels, const TemperatureOptions& options,
                          bool needGrad);
PairLossOutput liftedStructureLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                                   const LiftedStructureOptions& options, bool needGrad);
// Memory O(P N) for P positive pairs (O(N^2 K) for K rows per identity): each positive pair's soft
// rank compares it with every row.
PairLossOutput surrogatePrecisionLoss(const at::Tensor& embeddings, const at::Tensor& labels,
                                      const SurrogatePrecisionOptions& options, bool needGrad);

}  // namespace tl::ops
