/**
 * Metric-learning losses over a labelled batch of embeddings (person re-identification), and
 * the distance matrix they mine.
 */
import { loadBinding } from '../native';
import type { CommonLossOptions, Device, FloatArray, LabelsInput, LossResult, TensorInput } from '../types';
import * as check from '../validate';
import { defineLoss } from './define';
import { checkObject, labelsOption, MINER_CHECKS } from './miners';
import type {
  AllTripletsMinerOptions, BatchHardMinerOptions, MinedTriplets, NHardMinerOptions, NoPositive,
  SemiHardMinerOptions, TripletMarginMinerOptions,
} from './miners';

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
  /**
   * An anchor without a positive: 'skip' (default: left out, counted in stats; the paper, PML),
   * 'self' (fast-reid: the anchor is its own positive at D(a, a), 0 for the Euclidean kinds),
   * 'error' (OML: a RangeError naming the anchor).
   */
  noPositive?: NoPositive;
  /**
   * Where the gradient of a tied hardest distance goes: 'split' (default) shares it evenly among
   * the tied candidates (torch's amax, open-reid's per-row max()); 'first' sends it all to the
   * lowest index (torch.max(dim): fast-reid, PML).
   */
  ties?: 'split' | 'first';
  /** Compute with NaN / Inf embeddings instead of throwing a RangeError. Default false. */
  allowNonFinite?: boolean;
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

/**
 * The stats of the losses over explicit triplets: validAnchors counts the distinct anchors,
 * activeTriplets / fractionZeroLoss / the means are over the `triplets`.
 */
export interface TripletStats extends BatchHardTripletStats {
  triplets: number;
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
  noPositive: (v) => check.oneOf('noPositive', v, ['skip', 'self', 'error']),
  ties: (v) => check.oneOf('ties', v, ['split', 'first']),
  allowNonFinite: (v) => check.boolean('allowNonFinite', v),
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

// ---------------------------------------------------------------- triplet losses over triplets

const margin = (v: unknown) => {
  if (v === null) return v;
  const m = check.finiteNumber('margin', v);
  if (!(m >= 0)) throw new RangeError(`\`margin\` must be >= 0 (or null for the soft margin), got ${m}`);
  return m;
};
const allowNonFinite = (v: unknown) => check.boolean('allowNonFinite', v);

/** A triplet miner for tripletLoss: its name and its own options (the distance is the loss's). */
export type TripletMinerSpec =
  | ({ name: 'batchHard' } & Pick<BatchHardMinerOptions, 'noPositive'>)
  | ({ name: 'semiHard' } & Pick<SemiHardMinerOptions, 'fallback'>)
  | ({ name: 'tripletMargin' } & Pick<TripletMarginMinerOptions, 'type' | 'margin'>)
  | ({ name: 'allTriplets' } & Pick<AllTripletsMinerOptions, 'maxTriplets'>)
  | ({ name: 'nHard' } & Pick<NHardMinerOptions, 'k'>);
const TRIPLET_MINERS = ['batchHard', 'semiHard', 'tripletMargin', 'allTriplets', 'nHard'] as const;

export type TripletReduction = 'mean' | 'sum' | 'none' | 'avgNonZero';

export interface TripletLossOptions extends Omit<CommonLossOptions, 'reduction'> {
  /** Triplets to use (e.g. a miner's result, indices into the rows); default: `miner`'s. */
  triplets?: { anchors: LabelsInput; positives: LabelsInput; negatives: LabelsInput };
  /** The miner that picks the triplets. Default { name: 'allTriplets' } (PML's and OML's default). */
  miner?: TripletMinerSpec;
  /** >= 0, or null for the soft margin softplus(d_ap - d_an). Default 1 (torch.nn.TripletMarginLoss). */
  margin?: number | null;
  /**
   * 'mean' (default) over the triplets, 'sum', 'none' (one loss per triplet), or 'avgNonZero':
   * over the triplets with a loss > 0 (PML's AvgNonZeroReducer). 0 without triplets.
   */
  reduction?: TripletReduction;
  /** Default 'euclidean'. */
  distance?: EmbeddingDistance;
  /** L2-normalise the embeddings first (PML's default for its distances). Default false. */
  normalize?: boolean;
  /** Compute with NaN / Inf embeddings instead of throwing a RangeError. Default false. */
  allowNonFinite?: boolean;
}

export interface TripletLossResult extends LossResult<'embeddings'> {
  stats: TripletStats;
}
/** What the triplet losses add to their result. */
export type TripletStatsExtra = { stats: TripletStats };

function tripletMinerSpec(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TypeError('`miner` must be an object { name, ...options }');
  const { name, ...rest } = v as { name?: unknown };
  check.oneOf('miner.name', name, TRIPLET_MINERS);
  checkObject(`miner '${name as string}'`, rest, MINER_CHECKS[name as (typeof TRIPLET_MINERS)[number]]);
  return v;
}

function tripletIndices(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new TypeError('`triplets` must be an object { anchors, positives, negatives }');
  }
  const t = v as Partial<MinedTriplets>;
  for (const key of ['anchors', 'positives', 'negatives'] as const) {
    if (t[key] === undefined) throw new TypeError(`\`triplets.${key}\` is missing`);
    labelsOption(`triplets.${key}`, t[key]);
  }
  return v;
}

const TRIPLET_REDUCTIONS = ['none', 'mean', 'sum', 'avgNonZero'];
const mined = defineLoss<BatchHardArgs, TripletLossOptions, 'embeddings', TripletStatsExtra>('tripletLoss', 2, {
  triplets: tripletIndices,
  miner: tripletMinerSpec,
  margin,
  distance,
  normalize,
  allowNonFinite,
}, TRIPLET_REDUCTIONS);

/**
 * Triplet margin loss over a miner's triplets (FaceNet, Schroff et al. 2015; pytorch-metric-
 * learning's TripletMarginLoss): for every triplet t = (a, p, n) of rows of embeddings (N, D),
 *   loss_t = max(0, D(a, p) - D(a, n) + margin), or softplus(D(a, p) - D(a, n)) with margin null,
 * D from the same distance matrix the miners read. Triplets: `triplets`, else `miner`'s (default
 * every triplet). Gradient: embeddings, closed-form over the mined pairs only. `stats` counts
 * triplets, active ones and anchors without a positive / negative.
 */
export const tripletLoss = mined.fn;
export const tripletLossAsync = mined.fnAsync;
export class TripletLoss extends mined.Module {}

/**
 * OML's TripletLossWithMiner: a miner and the triplet loss in one module. Default miner
 * { name: 'allTriplets' } as OML; e.g. new nn.TripletLossWithMiner({ margin: 0.1, miner: { name:
 * 'allTriplets', maxTriplets: 512 } }).
 */
export class TripletLossWithMiner extends mined.Module {
  constructor(options?: TripletLossOptions) {
    super({ miner: { name: 'allTriplets' }, ...options });
  }
}

export interface SemiHardTripletLossOptions extends Omit<TripletLossOptions, 'triplets' | 'miner'> {
  /** Default 1.0 (TF-Addons); null: soft margin. */
  margin?: number | null;
}

const semiHard = defineLoss<BatchHardArgs, SemiHardTripletLossOptions, 'embeddings', TripletStatsExtra>(
  'semiHardTripletLoss', 2, { margin, distance, normalize, allowNonFinite }, TRIPLET_REDUCTIONS);

/**
 * Semi-hard triplet loss with TF-Addons' semantics (tfa.losses.TripletSemiHardLoss; FaceNet):
 * for every anchor-positive pair the semi-hard negative is the smallest negative distance greater
 * than d_ap, else the anchor's largest negative distance; the loss is the mean over the pairs of
 * max(d_ap - d_an + margin, 0). A fused op: the mining is one O(N² log K) pass over the distance
 * matrix and the backward touches only the mined pairs. Anchors without a negative (a batch of
 * one identity) are left out: loss 0, zero gradients.
 */
export const semiHardTripletLoss = semiHard.fn;
export const semiHardTripletLossAsync = semiHard.fnAsync;
export class SemiHardTripletLoss extends semiHard.Module {}

export interface TripletLossOmlOptions extends CommonLossOptions {
  /** >= 0, or null for OML's soft margin softplus(d_ap - d_an). Default 1. */
  margin?: number | null;
  /** Compute with NaN / Inf features instead of throwing a RangeError. Default false. */
  allowNonFinite?: boolean;
}
export interface TripletLossOmlResult extends LossResult<'anchor' | 'positive' | 'negative'> {
  stats: TripletStats;
}
export interface TripletLossPlainResult extends LossResult<'stacked'> {
  stats: TripletStats;
}

const oml = defineLoss<[anchor: TensorInput, positive: TensorInput, negative: TensorInput], TripletLossOmlOptions,
  'anchor' | 'positive' | 'negative', TripletStatsExtra>('tripletLossOml', 3, { margin, allowNonFinite });

/**
 * OML's TripletLoss on features (B, D): loss_i = max(0, ||a_i - p_i|| - ||a_i - n_i|| + margin),
 * or with margin null softplus(||a - p|| - ||a - n||) (OML writes log1p(exp(.)), which overflows;
 * this is the same function, computed safely). Reduction mean / sum / none. Gradients: anchor,
 * positive, negative (0 where a distance is exactly 0).
 */
export const tripletLossOml = oml.fn;
export const tripletLossOmlAsync = oml.fnAsync;
export class TripletLossOml extends oml.Module {}

const plain = defineLoss<[stacked: TensorInput], TripletLossOmlOptions, 'stacked', TripletStatsExtra>(
  'tripletLossPlain', 1, { margin, allowNonFinite });

/**
 * OML's TripletLossPlain: tripletLossOml on stacked features (3B, D) = [anchors; positives;
 * negatives]. Gradient: stacked.
 */
export const tripletLossPlain = plain.fn;
export const tripletLossPlainAsync = plain.fnAsync;
export class TripletLossPlain extends plain.Module {}

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
