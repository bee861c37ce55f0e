/**
 * Miners: which triplets (anchor, positive, negative) or pairs of a labelled batch a metric loss
 * should look at. Gradient-free and deterministic (allTriplets' sampling follows manualSeed).
 *
 * Every miner takes `(embeddings, labels, options)` and computes the distance matrix itself, or
 * `(null, labels, { distances })` with a precomputed (N, M) matrix (F.pairwiseDistance's result
 * fits). Queries are the batch's rows; candidates are the rows of `refEmbeddings` / `refLabels`
 * (a gallery, M rows) or, without them, the batch itself, where a row is never its own positive.
 * Indices of positives and negatives point into the candidates. Smaller distances are nearer for
 * every kind ('dot' is -x·y). Anchors without a positive or a negative yield nothing.
 */
import { loadBinding } from '../native';
import type { Device, LabelsInput, TensorInput } from '../types';
import * as check from '../validate';
import type { EmbeddingDistance } from './metric';

/** Triplet miners' result: triplet t is (anchors[t], positives[t], negatives[t]). */
export interface MinedTriplets {
  anchors: Int32Array;
  positives: Int32Array;
  negatives: Int32Array;
}

/** Pair miners' result: positive pairs (anchors1[i], positives[i]), negative pairs (anchors2[j], negatives[j]). */
export interface MinedPairs {
  anchors1: Int32Array;
  positives: Int32Array;
  anchors2: Int32Array;
  negatives: Int32Array;
}

/** Options every miner takes. */
export interface MinerOptions {
  /** Default 'euclidean'. */
  distance?: EmbeddingDistance;
  /** L2-normalise the embeddings (and refEmbeddings) first. Default false. */
  normalize?: boolean;
  /** (M, D) candidate rows (a gallery); needs refLabels. Default: the batch itself. */
  refEmbeddings?: TensorInput;
  /** (M) labels of refEmbeddings, or of the columns of `distances`. */
  refLabels?: LabelsInput;
  /** A precomputed (N, M) distance matrix (smaller = nearer); pass `null` as embeddings. */
  distances?: TensorInput;
  /** Mine embeddings / distances with NaN or Inf instead of a RangeError. Default false. */
  allowNonFinite?: boolean;
  /** Where the distances are computed (default 'cpu'). */
  device?: Device;
}

export type NoPositive = 'skip' | 'self' | 'error';
export interface BatchHardMinerOptions extends MinerOptions {
  /**
   * An anchor without a positive: 'skip' it (default; the paper, pytorch-metric-learning),
   * use the anchor itself as its positive (fast-reid: 'self'), or throw a RangeError (OML: 'error').
   */
  noPositive?: NoPositive;
}
export type MiningStrategy = 'hard' | 'semihard' | 'easy' | 'all';
export interface BatchEasyHardMinerOptions extends MinerOptions {
  /**
   * Positive per anchor: 'hard' farthest, 'easy' nearest (default, Xuan et al. 2020), 'all', or
   * 'semihard' the farthest positive nearer than the anchor's nearest negative.
   */
  posStrategy?: MiningStrategy;
  /**
   * Negative per anchor: 'hard' nearest, 'easy' farthest, 'all', or 'semihard' (default) the
   * nearest negative farther than the anchor's nearest positive. Not both 'semihard'.
   */
  negStrategy?: MiningStrategy;
}
export interface SemiHardMinerOptions extends MinerOptions {
  /**
   * An anchor-positive pair without a semi-hard negative (none farther than the positive):
   * 'hardest' (default, TF-Addons) takes the anchor's largest negative distance, 'skip' drops it.
   */
  fallback?: 'skip' | 'hardest';
}
export interface TripletMarginMinerOptions extends MinerOptions {
  /**
   * With gap = d(a, n) - d(a, p): 'all' (default) gap <= margin, 'hard' gap <= 0,
   * 'semihard' 0 < gap <= margin, 'easy' gap > margin (pytorch-metric-learning's TripletMarginMiner).
   */
  type?: 'all' | 'hard' | 'semihard' | 'easy';
  /** Default 0.2 (PML). */
  margin?: number;
}
export interface AllTripletsMinerOptions extends MinerOptions {
  /**
   * At most this many triplets, drawn uniformly without replacement (manualSeed makes it
   * repeatable) and kept in (anchor, positive, negative) order; never lists all of them first.
   * Default: every triplet (a RangeError beyond 2^26).
   */
  maxTriplets?: number | null;
}
export interface NHardMinerOptions extends MinerOptions {
  /** The k hardest positives x the k hardest negatives of every anchor. Default 1. */
  k?: number;
}
export interface PairMarginMinerOptions extends MinerOptions {
  /** Positive pairs farther apart than this. Default 0.2 (PML). */
  posMargin?: number;
  /** Negative pairs nearer than this. Default 0.8 (PML). */
  negMargin?: number;
}

type Checks = Record<string, (value: unknown) => unknown>;

/** Labels given as an option (refLabels, triplet indices): Int32Array, BigInt64Array or number[]. */
export function labelsOption(name: string, value: unknown): unknown {
  const tag = Object.prototype.toString.call(value);
  if (Array.isArray(value) || tag === '[object Int32Array]' || tag === '[object BigInt64Array]') return value;
  throw new TypeError(`\`${name}\` must be an Int32Array, BigInt64Array or number[], got ${tag.slice(8, -1)}`);
}

const DISTANCES: readonly EmbeddingDistance[] = ['euclidean', 'squaredEuclidean', 'cosine', 'dot'];
const STRATEGIES: readonly MiningStrategy[] = ['hard', 'semihard', 'easy', 'all'];
const nonNegativeInteger = (name: string, v: unknown) => {
  const n = check.integer(name, v);
  if (n < 0) throw new RangeError(`\`${name}\` must be >= 0, got ${n}`);
  return n;
};

/** Each miner's own options (without the shared ones), as validators. */
export const MINER_CHECKS = {
  batchHard: { noPositive: (v: unknown) => check.oneOf('noPositive', v, ['skip', 'self', 'error']) },
  batchEasyHard: {
    posStrategy: (v: unknown) => check.oneOf('posStrategy', v, STRATEGIES),
    negStrategy: (v: unknown) => check.oneOf('negStrategy', v, STRATEGIES),
  },
  semiHard: { fallback: (v: unknown) => check.oneOf('fallback', v, ['skip', 'hardest']) },
  tripletMargin: {
    type: (v: unknown) => check.oneOf('type', v, ['all', 'hard', 'semihard', 'easy']),
    margin: (v: unknown) => check.finiteNumber('margin', v),
  },
  allTriplets: { maxTriplets: (v: unknown) => (v === null ? v : nonNegativeInteger('maxTriplets', v)) },
  nHard: {
    k: (v: unknown) => {
      const k = check.integer('k', v);
      if (k < 1) throw new RangeError(`\`k\` must be >= 1, got ${k}`);
      return k;
    },
  },
  pairMargin: {
    posMargin: (v: unknown) => check.finiteNumber('posMargin', v),
    negMargin: (v: unknown) => check.finiteNumber('negMargin', v),
  },
} satisfies Record<string, Checks>;

export type MinerName = keyof typeof MINER_CHECKS;

const COMMON: Checks = {
  distance: (v) => check.oneOf('distance', v, DISTANCES),
  normalize: (v) => check.boolean('normalize', v),
  refEmbeddings: (v) => check.tensorOption('refEmbeddings', v),
  refLabels: (v) => labelsOption('refLabels', v),
  distances: (v) => check.tensorOption('distances', v),
  allowNonFinite: (v) => check.boolean('allowNonFinite', v),
  device: check.device,
};

/** Checks an options object against `checks`: no unknown keys, each present value valid. */
export function checkObject(what: string, options: unknown, checks: Checks): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options)) {
    throw new TypeError(`${what}: \`options\` must be an object`);
  }
  const known = Object.keys(checks);
  for (const [key, value] of Object.entries(options)) {
    if (!known.includes(key)) throw new RangeError(`${what}: unknown option '${key}'; known options: ${known.join(', ')}`);
    if (value !== undefined) checks[key](value);
  }
  return options as Record<string, unknown>;
}

function prepare(name: MinerName, embeddings: TensorInput | null, options: object | undefined) {
  const o = checkObject(`miners.${name}`, options, { ...COMMON, ...MINER_CHECKS[name] });
  if (o.distances !== undefined) {
    if (embeddings !== null && embeddings !== undefined) {
      throw new RangeError(`miners.${name}: pass \`null\` as embeddings with \`distances\` (not both)`);
    }
    if (o.refEmbeddings !== undefined) throw new RangeError(`miners.${name}: \`refEmbeddings\` makes no sense with \`distances\``);
  } else if (embeddings === null || embeddings === undefined) {
    throw new TypeError(`miners.${name}: \`embeddings\` is required (or \`distances\` with null embeddings)`);
  }
  return { ...o, name };
}

interface RawMined extends Partial<MinedTriplets>, Partial<MinedPairs> {
  loss?: number;
}
const strip = ({ loss: _loss, ...rest }: RawMined) => rest;

function miner<O extends MinerOptions, R>(name: MinerName) {
  const sync = (embeddings: TensorInput | null, labels: LabelsInput, options?: O): R =>
    strip(loadBinding().mine(embeddings, labels, prepare(name, embeddings, options))) as R;
  const async = async (embeddings: TensorInput | null, labels: LabelsInput, options?: O): Promise<R> =>
    strip(await loadBinding().mineAsync(embeddings, labels, prepare(name, embeddings, options))) as R;
  return [sync, async] as const;
}

/** Hardest positive and hardest negative of every anchor (Hermans et al. 2017): one triplet per anchor. */
export const [batchHard, batchHardAsync] = miner<BatchHardMinerOptions, MinedTriplets>('batchHard');
/** Positive and negative pairs per anchor by strategy (pytorch-metric-learning's BatchEasyHardMiner). */
export const [batchEasyHard, batchEasyHardAsync] = miner<BatchEasyHardMinerOptions, MinedPairs>('batchEasyHard');
/**
 * FaceNet's semi-hard negatives (Schroff et al. 2015) as TF-Addons mines them: for every
 * anchor-positive pair, the nearest negative farther than the positive; without one, the
 * anchor's farthest negative ('hardest') or nothing ('skip'). O(N M log K), one pass per row.
 */
export const [semiHard, semiHardAsync] = miner<SemiHardMinerOptions, MinedTriplets>('semiHard');
/** Every triplet whose d(a,n) - d(a,p) relates to `margin` as `type` says (PML's TripletMarginMiner). */
export const [tripletMargin, tripletMarginAsync] = miner<TripletMarginMinerOptions, MinedTriplets>('tripletMargin');
/**
 * Every (anchor, positive, negative) triplet (OML's AllTripletsMiner), or `maxTriplets` of them
 * drawn uniformly: labels only, memory O(N + maxTriplets), never O(N³).
 */
export const [allTriplets, allTripletsAsync] = miner<AllTripletsMinerOptions, MinedTriplets>('allTriplets');
/** The k hardest positives x the k hardest negatives of every anchor (k² triplets per anchor). */
export const [nHard, nHardAsync] = miner<NHardMinerOptions, MinedTriplets>('nHard');
/** Positive pairs farther than posMargin and negative pairs nearer than negMargin (PML's PairMarginMiner). */
export const [pairMargin, pairMarginAsync] = miner<PairMarginMinerOptions, MinedPairs>('pairMargin');
