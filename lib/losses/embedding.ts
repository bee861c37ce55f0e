/**
 * Embedding and ranking losses of torch.nn. The triplet and margin-ranking losses run in fused
 * CPU kernels with closed-form gradients (native/ops/cpu/); the others through libtorch autograd.
 */
import type { CommonLossOptions, TensorInput } from '../types';
import * as check from '../validate';
import { defineLoss } from './define';

type Pair = [input1: TensorInput, input2: TensorInput, target: TensorInput];
type Triplet = [anchor: TensorInput, positive: TensorInput, negative: TensorInput];
const margin = (v: unknown) => check.finiteNumber('margin', v);

export interface MarginRankingLossOptions extends CommonLossOptions {
  /** Default 0. */
  margin?: number;
}
/**
 * loss_i = max(0, -target_i * (input1_i - input2_i) + margin); target is 1 (input1 should rank
 * higher) or -1. Shapes (N) or (). Gradients: input1, input2, target.
 */
const marginRanking = defineLoss<Pair, MarginRankingLossOptions, 'input1' | 'input2' | 'target'>('marginRankingLoss', 3, { margin });
export const marginRankingLoss = marginRanking.fn;
export const marginRankingLossAsync = marginRanking.fnAsync;
export class MarginRankingLoss extends marginRanking.Module {}

export interface TripletMarginLossOptions extends CommonLossOptions {
  /** Default 1. */
  margin?: number;
  /** Norm degree of the pairwise distance, > 0 (Infinity allowed). Default 2. */
  p?: number;
  /** Added to the difference before the norm. Default 1e-6. */
  eps?: number;
  /** Distance swap (Balntas et al. 2016): use min(d(a,n), d(p,n)). Default false. */
  swap?: boolean;
}
/**
 * loss_i = max(0, margin + ||a_i - p_i + eps||_p - ||a_i - n_i + eps||_p); shapes (N, D) or (D).
 * Gradients: anchor, positive, negative.
 */
const tripletMargin = defineLoss<Triplet, TripletMarginLossOptions, 'anchor' | 'positive' | 'negative'>('tripletMarginLoss', 3, {
  margin,
  p: (v) => check.positiveNumber('p', v, { allowInfinity: true }),
  eps: (v) => check.finiteNumber('eps', v),
  swap: (v) => check.boolean('swap', v),
});
export const tripletMarginLoss = tripletMargin.fn;
export const tripletMarginLossAsync = tripletMargin.fnAsync;
export class TripletMarginLoss extends tripletMargin.Module {}

export interface TripletMarginWithDistanceLossOptions extends CommonLossOptions {
  /**
   * 'euclidean' (PyTorch's default, nn.PairwiseDistance()), 'manhattan' (p = 1), 'pnorm' (p =
   * the `p` option) or 'cosine' (1 - cosine similarity). Default 'euclidean'.
   */
  distance?: 'euclidean' | 'manhattan' | 'cosine' | 'pnorm';
  /** Norm degree for distance 'pnorm'. Default 2. */
  p?: number;
  /** nn.PairwiseDistance's eps for the norm distances. Default 1e-6. */
  eps?: number;
  /** > 0. Default 1. */
  margin?: number;
  /** Default false. */
  swap?: boolean;
}
/** max(0, margin + d(a, p) - d(a, n)) with a chosen distance. Gradients: anchor, positive, negative. */
const tripletWithDistance = defineLoss<Triplet, TripletMarginWithDistanceLossOptions, 'anchor' | 'positive' | 'negative'>(
  'tripletMarginWithDistanceLoss', 3, {
    distance: (v) => check.oneOf('distance', v, ['euclidean', 'manhattan', 'cosine', 'pnorm']),
    p: (v) => check.positiveNumber('p', v, { allowInfinity: true }),
    eps: (v) => check.finiteNumber('eps', v),
    margin: (v) => check.positiveNumber('margin', v),
    swap: (v) => check.boolean('swap', v),
  });
export const tripletMarginWithDistanceLoss = tripletWithDistance.fn;
export const tripletMarginWithDistanceLossAsync = tripletWithDistance.fnAsync;
export class TripletMarginWithDistanceLoss extends tripletWithDistance.Module {}

export interface HingeEmbeddingLossOptions extends CommonLossOptions {
  /** Default 1. */
  margin?: number;
}
/** loss = x where y = 1, max(0, margin - x) where y = -1. Gradient: input. */
const hingeEmbedding = defineLoss<[input: TensorInput, target: TensorInput], HingeEmbeddingLossOptions, 'input'>('hingeEmbeddingLoss', 2, { margin });
export const hingeEmbeddingLoss = hingeEmbedding.fn;
export const hingeEmbeddingLossAsync = hingeEmbedding.fnAsync;
export class HingeEmbeddingLoss extends hingeEmbedding.Module {}

export interface CosineEmbeddingLossOptions extends CommonLossOptions {
  /** Default 0; -1 to 1 is meaningful. */
  margin?: number;
}
/**
 * 1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1. input1/input2 (N, D)
 * or (D), target (N) or (). Gradients: input1, input2.
 */
const cosineEmbedding = defineLoss<Pair, CosineEmbeddingLossOptions, 'input1' | 'input2'>('cosineEmbeddingLoss', 3, { margin });
export const cosineEmbeddingLoss = cosineEmbedding.fn;
export const cosineEmbeddingLossAsync = cosineEmbedding.fnAsync;
export class CosineEmbeddingLoss extends cosineEmbedding.Module {}
