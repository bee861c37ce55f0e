/**
 * Pair and list losses over a labelled batch of embeddings (N, D) with labels (N): every ordered
 * pair (i, j), i != j, is positive (same label) or negative. Each loss has F.xxx, F.xxxAsync and
 * nn.Xxx forms, returns the gradient w.r.t. the embeddings and mining `stats`.
 *
 * Shared behaviour: only anchors with at least one positive and one negative take part (the
 * others are counted in `stats`); a batch with one identity gives loss 0 and zero gradients;
 * every log-sum-exp is shifted by its maximum and log(1 + e^x) is a softplus, so large distances
 * do not overflow; NaN / Inf embeddings are a RangeError unless `allowNonFinite: true`.
 */
import type { CommonLossOptions, LabelsInput, LossResult, TensorInput } from '../types';
import * as check from '../validate';
import { defineLoss, type OptionChecks } from './define';
import type { EmbeddingDistance } from './metric';

/**
 * 'mean' | 'sum' | 'none' as in PyTorch, plus 'avgNonZero': pytorch-metric-learning's
 * AvgNonZeroReducer, the mean of the terms that are > 0 (for the contrastive loss, of its positive
 * and of its negative terms apart, summed, as PML reduces its two sub-losses).
 * 'mean' averages the loss's terms: pairs for the pair-sum losses (contrastive, NT-Xent, lifted
 * structure), anchors for the others. 'none' gives N per-anchor losses (the sum of each anchor's
 * terms, 0 for anchors that do not take part), whose sum is the 'sum' reduction.
 */
export type PairReduction = 'mean' | 'sum' | 'none' | 'avgNonZero';
const PAIR_REDUCTIONS: readonly PairReduction[] = ['none', 'mean', 'sum', 'avgNonZero'];

/** The options of every pair loss. */
export interface PairLossOptions extends Omit<CommonLossOptions, 'reduction'> {
  /** Default 'mean'. */
  reduction?: PairReduction;
  /** L2-normalise the embeddings first (F.normalize). Default false. */
  normalize?: boolean;
  /** Compute with NaN / Inf embeddings instead of throwing a RangeError. Default false. */
  allowNonFinite?: boolean;
}

/** Losses on distances: any of the four distances, default 'euclidean'. */
export interface DistancePairLossOptions extends PairLossOptions {
  distance?: EmbeddingDistance;
}

/**
 * Losses on similarities s: 'cosine' (s = cos(x_i, x_j), the default) or 'dot' (s = x_i·x_j;
 * with `normalize: true` the same as cosine).
 */
export interface SimilarityPairLossOptions extends PairLossOptions {
  distance?: 'cosine' | 'dot';
}

/**
 * Facts of one batch. Pairs are ordered (i, j), i != j, of the anchors that take part (with a
 * positive and a negative; for multi-similarity with mining, the mined pairs). Field names match
 * the batch-hard triplet loss's stats where they mean the same.
 */
export interface PairLossStats {
  /** Anchors with a positive and a negative (after mining, for multi-similarity). */
  validAnchors: number;
  anchorsWithoutPositive: number;
  anchorsWithoutNegative: number;
  positivePairs: number;
  negativePairs: number;
  /**
   * Pairs whose term is > 0: for contrastive, the pairs inside their margin; for NT-Xent and
   * lifted structure, the positive pairs with a loss > 0; for the per-anchor losses (circle,
   * multi-similarity, SupCon, generalized lifted structure, surrogate precision), the pairs of
   * anchors whose loss is > 0.
   */
  activePairs: number;
  /** Valid anchors whose loss is 0, as a fraction of them (0 without valid anchors). */
  fractionZeroLoss: number;
}

/** Stats of the losses on distances (contrastive, lifted structure, surrogate precision). */
export interface DistancePairLossStats extends PairLossStats {
  /** Mean distance of the positive pairs (0 without any). */
  meanPositiveDistance: number;
  meanNegativeDistance: number;
}

/** Stats of the losses on similarities (circle, multi-similarity, NT-Xent, SupCon). */
export interface SimilarityPairLossStats extends PairLossStats {
  /** Mean similarity of the positive pairs (0 without any). */
  meanPositiveSimilarity: number;
  meanNegativeSimilarity: number;
}

export interface DistancePairLossResult extends LossResult<'embeddings'> {
  stats: DistancePairLossStats;
}
export interface SimilarityPairLossResult extends LossResult<'embeddings'> {
  stats: SimilarityPairLossStats;
}

type PairArgs = [embeddings: TensorInput, labels: LabelsInput];
/** What a distance-based pair loss adds to its result. */
export type DistanceStats = { stats: DistancePairLossStats };
/** What a similarity-based pair loss adds to its result. */
export type SimilarityStats = { stats: SimilarityPairLossStats };

const DISTANCES: readonly EmbeddingDistance[] = ['euclidean', 'squaredEuclidean', 'cosine', 'dot'];
const SIMILARITIES = ['cosine', 'dot'] as const;
const flag = (name: string) => (v: unknown) => check.boolean(name, v);
const finite = (name: string) => (v: unknown) => check.finiteNumber(name, v);
const positive = (name: string) => (v: unknown) => check.positiveNumber(name, v);

const common = { normalize: flag('normalize'), allowNonFinite: flag('allowNonFinite') };
const distanceChecks = { ...common, distance: (v: unknown) => check.oneOf('distance', v, DISTANCES) };
const similarityChecks = { ...common, distance: (v: unknown) => check.oneOf('distance', v, SIMILARITIES) };

const distanceLoss = <O extends DistancePairLossOptions>(name: string, checks: Omit<OptionChecks<O>, keyof typeof distanceChecks>) =>
  defineLoss<PairArgs, O, 'embeddings', DistanceStats>(name, 2, { ...distanceChecks, ...checks } as OptionChecks<O>, PAIR_REDUCTIONS);
const similarityLoss = <O extends SimilarityPairLossOptions>(name: string, checks: Omit<OptionChecks<O>, keyof typeof similarityChecks>) =>
  defineLoss<PairArgs, O, 'embeddings', SimilarityStats>(name, 2, { ...similarityChecks, ...checks } as OptionChecks<O>, PAIR_REDUCTIONS);

// ---------------------------------------------------------------------------------------------

export interface ContrastiveLossOptions extends DistancePairLossOptions {
  /** Positive pairs cost relu(d - posMargin). Default 0. */
  posMargin?: number;
  /** Negative pairs cost relu(negMargin - d). Default 1. */
  negMargin?: number;
}

const contrastive = distanceLoss<ContrastiveLossOptions>('contrastiveLoss', {
  posMargin: finite('posMargin'),
  negMargin: finite('negMargin'),
});

/**
 * Contrastive loss (Hadsell, Chopra & LeCun 2006, in pytorch-metric-learning's ContrastiveLoss
 * form): relu(d_ij - posMargin) for every positive pair, relu(negMargin - d_ij) for every negative
 * pair. 'mean' averages over all those pairs; 'avgNonZero' is PML's: the mean of the non-zero
 * positive terms plus the mean of the non-zero negative terms. Default distance 'euclidean'.
 */
export const contrastiveLoss = contrastive.fn;
export const contrastiveLossAsync = contrastive.fnAsync;
export class ContrastiveLoss extends contrastive.Module {}

// ---------------------------------------------------------------------------------------------

export interface CircleLossOptions extends SimilarityPairLossOptions {
  /** Relaxation margin: O_p = 1 + m, O_n = -m, delta_p = 1 - m, delta_n = m. Default 0.25. */
  m?: number;
  /** Scale. Default 256. */
  gamma?: number;
}

const circle = similarityLoss<CircleLossOptions>('circleLoss', { m: finite('m'), gamma: positive('gamma') });

/**
 * Circle loss (Sun et al., CVPR 2020), pairwise form, per anchor:
 *   softplus(logsumexp_n(gamma a_n (s_n - m)) + logsumexp_p(-gamma a_p (s_p - (1 - m))))
 * with the weights a_p = relu(1 + m - s_p), a_n = relu(s_n + m) held constant in the gradient,
 * as in the paper. 'mean' averages over valid anchors.
 */
export const circleLoss = circle.fn;
export const circleLossAsync = circle.fnAsync;
export class CircleLoss extends circle.Module {}

// ---------------------------------------------------------------------------------------------

export interface MultiSimilarityLossOptions extends SimilarityPairLossOptions {
  /** Weight of the positive pairs. Default 2. */
  alpha?: number;
  /** Weight of the negative pairs. Default 50. */
  beta?: number;
  /** The similarity margin lambda. Default 0.5. */
  base?: number;
  /**
   * The paper's pair mining: keep a negative when s_n > min(s_p) - epsilon, a positive when
   * s_p < max(s_n) + epsilon; anchors left without a mined positive or negative drop out.
   * Default true (the paper); PML's MultiSimilarityLoss alone does not mine (false).
   */
  mining?: boolean;
  /** The mining margin. Default 0.1. */
  epsilon?: number;
}

const multiSimilarity = similarityLoss<MultiSimilarityLossOptions>('multiSimilarityLoss', {
  alpha: positive('alpha'),
  beta: positive('beta'),
  base: finite('base'),
  mining: flag('mining'),
  epsilon: (v) => {
    const epsilon = check.finiteNumber('epsilon', v);
    if (epsilon < 0) throw new RangeError(`\`epsilon\` must be >= 0, got ${epsilon}`);
    return epsilon;
  },
});

/**
 * Multi-similarity loss (Wang et al., CVPR 2019), per anchor:
 *   1/alpha log(1 + sum_p e^{-alpha (s_p - base)}) + 1/beta log(1 + sum_n e^{beta (s_n - base)})
 * over all pairs or the mined ones (`mining`). 'mean' averages over valid anchors.
 */
export const multiSimilarityLoss = multiSimilarity.fn;
export const multiSimilarityLossAsync = multiSimilarity.fnAsync;
export class MultiSimilarityLoss extends multiSimilarity.Module {}

// ---------------------------------------------------------------------------------------------

export interface TemperatureLossOptions extends SimilarityPairLossOptions {
  /** Softmax temperature. Default 0.07 for NT-Xent (PML), 0.1 for SupCon (PML). */
  temperature?: number;
}
export type NtXentLossOptions = TemperatureLossOptions;
export type SupConLossOptions = TemperatureLossOptions;

const ntXent = similarityLoss<NtXentLossOptions>('ntXentLoss', { temperature: positive('temperature') });

/**
 * NT-Xent / InfoNCE (Chen et al. 2020, SimCLR; labelled form of pytorch-metric-learning's
 * NTXentLoss): every positive pair (i, p) is one term
 *   -log(e^{s_ip / t} / (e^{s_ip / t} + sum_{n in N_i} e^{s_in / t}))
 * (the other positives are not in the denominator). 'mean' averages over positive pairs.
 */
export const ntXentLoss = ntXent.fn;
export const ntXentLossAsync = ntXent.fnAsync;
export class NTXentLoss extends ntXent.Module {}

const supCon = similarityLoss<SupConLossOptions>('supConLoss', { temperature: positive('temperature') });

/**
 * Supervised contrastive loss (Khosla et al. 2020, L_out), per anchor:
 *   -1/|P_i| sum_{p in P_i} log(e^{s_ip / t} / sum_{a != i} e^{s_ia / t})
 * 'mean' averages over valid anchors. Default temperature 0.1.
 */
export const supConLoss = supCon.fn;
export const supConLossAsync = supCon.fnAsync;
export class SupConLoss extends supCon.Module {}

// ---------------------------------------------------------------------------------------------

export interface LiftedStructureLossOptions extends DistancePairLossOptions {
  /** Subtracted from the positive distances. Default 0. */
  posMargin?: number;
  /** The paper's alpha: negatives cost e^{negMargin - d}. Default 1. */
  negMargin?: number;
  /**
   * false (default): Song et al.'s loss over positive pairs. true: the generalized per-anchor form
   * relu(logsumexp_p(d_p - posMargin) + logsumexp_n(negMargin - d_n)) (Hermans et al. 2017;
   * PML's GeneralizedLiftedStructureLoss).
   */
  generalized?: boolean;
}

const lifted = distanceLoss<LiftedStructureLossOptions>('liftedStructureLoss', {
  posMargin: finite('posMargin'),
  negMargin: finite('negMargin'),
  generalized: flag('generalized'),
});

/**
 * Lifted structured loss (Song et al., CVPR 2016), per ordered positive pair (i, j):
 *   J_ij = d_ij - posMargin + log(sum_{k in N_i} e^{negMargin - d_ik} + sum_{l in N_j} e^{negMargin - d_jl})
 *   term = max(0, J_ij)^2 / 2, so 'mean' is the paper's 1 / (2|P|) sum over positive pairs.
 * `generalized: true` gives the per-anchor form instead. Default distance 'euclidean'.
 */
export const liftedStructureLoss = lifted.fn;
export const liftedStructureLossAsync = lifted.fnAsync;
export class LiftedStructureLoss extends lifted.Module {}

// ---------------------------------------------------------------------------------------------

export interface SurrogatePrecisionLossOptions extends DistancePairLossOptions {
  /** The k of Precision@k, an integer >= 1. Required. */
  k?: number;
  /** Temperature of the sigmoid that replaces the step "rank <= k". Default 1. */
  temperature1?: number;
  /** Temperature of the sigmoids that count the gallery items ranked before. Default 0.01. */
  temperature2?: number;
  /**
   * false (default): each query is ranked against the other rows. true: as OML's
   * SurrogatePrecision, the query stays in its own gallery (k is raised by 1 and the query counts
   * as a relevant item) and a gallery item's rank counts its comparison with itself as 1/2.
   */
  includeSelf?: boolean;
}

const surrogate = distanceLoss<SurrogatePrecisionLossOptions>('surrogatePrecisionLoss', {
  k: (v) => {
    const k = check.integer('k', v);
    if (k < 1) throw new RangeError(`\`k\` must be an integer >= 1 (Precision@k), got ${k}`);
    return k;
  },
  temperature1: positive('temperature1'),
  temperature2: positive('temperature2'),
  includeSelf: flag('includeSelf'),
});

/**
 * Surrogate Precision@k (Patel, Tolias & Matas 2022, "Recall@k Surrogate Loss with Large Batches
 * and Similarity Mixup"; OML's SurrogatePrecision), per query i with positives P_i:
 *   rank_ij = 1 + sum_{a != i, j} sigmoid((d_ij - d_ia) / temperature2)
 *   loss_i  = 1 - sum_{j in P_i} sigmoid((k - rank_ij) / temperature1) / min(k, |P_i|)
 * Default distance 'euclidean' (OML's). Memory O(N² K) for K rows per identity: each positive pair
 * is compared with every row.
 */
export const surrogatePrecisionLoss = surrogate.fn;
export const surrogatePrecisionLossAsync = surrogate.fnAsync;
export class SurrogatePrecisionLoss extends surrogate.Module {}
