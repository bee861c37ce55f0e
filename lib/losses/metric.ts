/**
 * Metric-learning losses over a labelled batch of embeddings (person re-identification), and
 * the distance matrix they mine.
 */
import { loadBinding } from '../native';
import type { CommonLossOptions, Device, FloatArray, LabelsInput, LossResult, TensorInput } from '../types';
import * as check from '../validate';
import { defineLoss } from './define';

/**
 * How two embeddings are compared (every distance is computed from one matrix product):
 * - 'euclidean': ||x - y||, as sqrt(max(||x||² + ||y||² - 2 x·y, 1e-12)): identical embeddings are
 *   1e-6 apart and get a zero (finite) gradient
 * - 'squaredEuclidean': ||x - y||²
 * - 'cosine': 1 - cos(x, y) (rows are L2-normalised; an all-zero row has cosine 0)
 * - 'dot': -x·y, so that a larger similarity is a smaller distance
 */
export type EmbeddingDistance = 'euclidean' | 'squaredEuclidean' | 'cosine' | 'dot';
const DISTANCES: readonly EmbeddingDistance[] = ['euclidean', 'squaredEuclidean', 'cosine', 'dot'];
const distance = (v: unknown) => check.oneOf('distance', v, DISTANCES);
const normalize = (v: unknown) => check.boolean('normalize', v);

export interface BatchHardTripletLossOptions extends CommonLossOptions {
  /**
   * The margin, >= 0 (the paper's and open-reid's default 0.3), or `null` for the soft margin
   * softplus(d_ap - d_an) of Hermans et al. Default 0.3.
   */
  margin?: number | null;
  /** Default 'euclidean'. */
  distance?: EmbeddingDistance;
  /** L2-normalise the embeddings before the distance (F.normalize). Default false. */
  normalize?: boolean;
}

/**
 * Mining facts of one batch. An anchor is valid when it has at least one positive (same label,
 * another row) and one negative (another label). Means are over the valid anchors, and 0 (like
 * fractionZeroLoss) when there are none.
 */
export interface BatchHardTripletStats {
  validAnchors: number;
  anchorsWithoutPositive: number;
  anchorsWithoutNegative: number;
  /** Valid anchors whose loss is > 0 (with the soft margin, practically all of them). */
  activeTriplets: number;
  /** (validAnchors - activeTriplets) / validAnchors. */
  fractionZeroLoss: number;
  /** Mean distance from a valid anchor to its hardest positive. */
  meanPositiveDistance: number;
  /** Mean distance from a valid anchor to its hardest negative. */
  meanNegativeDistance: number;
}

export interface BatchHardTripletLossResult extends LossResult<'embeddings'> {
  stats: BatchHardTripletStats;
}
type Stats = { stats: BatchHardTripletStats };

type BatchHardArgs = [embeddings: TensorInput, labels: LabelsInput];

const batchHard = defineLoss<BatchHardArgs, BatchHardTripletLossOptions, 'embeddings', Stats>('batchHardTripletLoss', 2, {
  margin: (v) => {
    if (v === null) return v;
    const margin = check.finiteNumber('margin', v);
    if (!(margin >= 0)) throw new RangeError(`\`margin\` must be >= 0 (or null for the soft margin), got ${margin}`);
    return margin;
  },
  distance,
  normalize,
});

/**
 * Batch-hard triplet loss (Hermans, Beyer & Leibe 2017, "In Defense of the Triplet Loss for
 * Person Re-Identification"). embeddings (N, D), labels (N). For each anchor i:
 *   d_ap = max over j != i with labels[j] == labels[i] of D(i, j)   (hardest positive)
 *   d_an = min over j with labels[j] != labels[i] of D(i, j)        (hardest negative)
 *   loss_i = max(0, d_ap - d_an + margin), or softplus(d_ap - d_an) with `margin: null`.
 * Anchors without a positive or a negative are left out ('none': their loss is 0); 'mean'
 * averages over the valid anchors; a batch without any gives loss 0 and zero gradients.
 * Gradient: embeddings. `stats` tells how the mining went.
 */
export const batchHardTripletLoss = batchHard.fn;
export const batchHardTripletLossAsync = batchHard.fnAsync;
export class BatchHardTripletLoss extends batchHard.Module {}

export interface PairwiseDistanceOptions {
  /** Default 'euclidean'. */
  distance?: EmbeddingDistance;
  /** L2-normalise both sets of rows first. Default false. */
  normalize?: boolean;
  /** (M, D) rows to measure against (a gallery); default: the rows of `embeddings` themselves. */
  refEmbeddings?: TensorInput;
  /** Where the computation runs (default 'cpu'). */
  device?: Device;
}

export interface DistanceMatrix {
  /** Row-major (N, M); Float64Array when the embeddings are. */
  data: FloatArray;
  shape: [number, number];
}

const PAIRWISE_CHECKS: Record<keyof PairwiseDistanceOptions, (v: unknown) => unknown> = {
  distance,
  normalize,
  refEmbeddings: (v) => check.tensorOption('refEmbeddings', v),
  device: check.device,
};

/**
 * The (N, M) distance matrix between the rows of embeddings (N, D) and of `refEmbeddings`
 * (M, D), the same distances the batch-hard triplet loss mines. No gradient.
 */
export function pairwiseDistance(embeddings: TensorInput, options?: PairwiseDistanceOptions): DistanceMatrix {
  if (options !== undefined) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError('pairwiseDistance: `options` must be an object');
    }
    const known = Object.keys(PAIRWISE_CHECKS);
    for (const [key, value] of Object.entries(options)) {
      if (!known.includes(key)) {
        throw new RangeError(`pairwiseDistance: unknown option '${key}'; known options: ${known.join(', ')}`);
      }
      if (value !== undefined) PAIRWISE_CHECKS[key as keyof PairwiseDistanceOptions](value);
    }
  }
  return loadBinding().pairwiseDistance(embeddings, options);
}
