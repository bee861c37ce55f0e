/**
 * Retrieval metrics with a query / gallery split, computed by libtorch (any device):
 * Recall@K, CMC (rank-1/5/10...) and mean average precision, under the Market-1501 protocol
 * (Zheng et al., ICCV 2015, as torchreid's eval_market1501):
 *
 * - each query ranks the gallery by ascending distance (stable: ties keep gallery order);
 * - with camera ids, gallery entries of the query's identity AND camera are removed (the same
 *   view of the same person is not a retrieval);
 * - queries left without any match are not counted (`validQueries`); none at all is a RangeError.
 *
 * CMC(r) is the fraction of queries whose first match ranks r or better; Recall@K in the
 * metric-learning sense (Oh Song et al., CVPR 2016: a query counts when a same-label item is
 * among its K nearest) is the same number, CMC(K). AP averages, over a query's matches, the
 * precision at each match's rank; mAP averages AP over the queries.
 */
import type { EmbeddingDistance } from './losses/metric';
import { knownKeys, positiveInteger } from './modules/options';
import { loadBinding } from './native';
import type { Device, LabelsInput, TensorInput } from './types';
import * as check from './validate';

/** Embeddings and labels of the two sides of a retrieval evaluation. */
export interface RetrievalSet {
  /** [Q, D] query embeddings. */
  query: TensorInput;
  /** [G, D] gallery embeddings. */
  gallery: TensorInput;
  queryLabels: LabelsInput;
  galleryLabels: LabelsInput;
  /** Camera ids (both or neither): same-identity same-camera gallery entries are excluded. */
  queryCameras?: LabelsInput;
  galleryCameras?: LabelsInput;
}

export interface RetrievalOptions {
  /** How query and gallery rows are compared. Default 'euclidean'. */
  distance?: EmbeddingDistance;
  /** L2-normalise the rows first. Default false. */
  normalize?: boolean;
  /** Where the computation runs (default 'cpu'). */
  device?: Device;
}

export interface RetrievalMetrics {
  /** cmc[r - 1] = CMC at rank r, for r = 1..maxRank. */
  cmc: Float64Array;
  /** Mean average precision over the valid queries. */
  mAP: number;
  /** Each query's AP (NaN for a query without a match). */
  averagePrecision: Float64Array;
  /** Queries with at least one match, over which the averages are taken. */
  validQueries: number;
}

const SET_KEYS = ['query', 'gallery', 'queryLabels', 'galleryLabels', 'queryCameras', 'galleryCameras'];

function run(set: RetrievalSet, options: RetrievalOptions | undefined, maxRank: number): RetrievalMetrics {
  if (set === null || typeof set !== 'object' || Array.isArray(set)) {
    throw new TypeError('`set` must be { query, gallery, queryLabels, galleryLabels, queryCameras?, galleryCameras? }');
  }
  knownKeys('retrieval set', set, SET_KEYS);
  for (const key of ['query', 'gallery', 'queryLabels', 'galleryLabels'] as const) {
    if (set[key] === undefined) throw new TypeError(`\`${key}\` is required`);
  }
  const o = knownKeys('metrics', options, ['distance', 'normalize', 'device']);
  const native = {
    distance: o.distance === undefined ? 'euclidean' : check.oneOf('distance', o.distance, ['euclidean', 'squaredEuclidean', 'cosine', 'dot'] as const),
    normalize: o.normalize === undefined ? false : check.boolean('normalize', o.normalize),
    ...(o.device === undefined ? {} : { device: check.device(o.device) }),
    ...(set.queryCameras === undefined ? {} : { queryCameras: set.queryCameras }),
    ...(set.galleryCameras === undefined ? {} : { galleryCameras: set.galleryCameras }),
    maxRank,
  };
  return loadBinding().retrievalMetrics(set.query, set.gallery, set.queryLabels, set.galleryLabels, native);
}

/** Every metric at once: CMC up to `maxRank` (default 10), mAP, per-query AP. */
export function evaluate(set: RetrievalSet, options?: RetrievalOptions & { maxRank?: number }): RetrievalMetrics {
  const { maxRank, ...rest } = options ?? {};
  return run(set, rest, maxRank === undefined ? 10 : positiveInteger('maxRank', maxRank));
}

/** CMC at ranks 1..maxRank (default 10): `cmc(set)[0]` is rank-1, `[4]` rank-5, `[9]` rank-10. */
export function cmc(set: RetrievalSet, options?: RetrievalOptions & { maxRank?: number }): Float64Array {
  return evaluate(set, options).cmc;
}

/** Recall@K: the fraction of queries with a same-label gallery item among their K nearest (= CMC(K)). */
export function recallAtK(set: RetrievalSet, k: number, options?: RetrievalOptions): number {
  const K = positiveInteger('k', k);
  return run(set, options, K).cmc[K - 1];
}

/** Mean average precision over the queries with at least one match. */
export function meanAveragePrecision(set: RetrievalSet, options?: RetrievalOptions): number {
  return run(set, options, 1).mAP;
}
