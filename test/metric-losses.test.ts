/**
 * The batch-hard triplet loss (Hermans, Beyer & Leibe 2017) and F.pairwiseDistance beyond the
 * parity fixtures: `stats`, degenerate batches (loss 0, zero gradients, never NaN), duplicate
 * embeddings (finite gradients), typed errors, gradients against finite differences in float64,
 * the closed-form backward against libtorch autograd, and module form == functional form.
 */
import * as fs from 'fs';
import * as path from 'path';
import { F, nn } from '../lib';
import type { BatchHardTripletLossOptions, BatchHardTripletLossResult, EmbeddingDistance } from '../lib';
import { loadBinding } from '../lib/native';
import { FIXTURES, type ParityCase, type ParityFile } from '../lib/parity';
import { expectError } from './helpers/assertions';
import { mulberry32 } from './helpers/fuzz-tools';

const rand = mulberry32(7);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

type Emb = { data: Float32Array | Float64Array; shape: number[] };

/** One random center per identity plus noise: a mix of easy (zero-loss) and hard anchors. */
function clustered(labels: number[], dim: number, { f64 = false, noise = 0.6 } = {}): Emb {
  const centers = new Map<number, number[]>();
  for (const l of labels) if (!centers.has(l)) centers.set(l, Array.from({ length: dim }, gauss));
  const values = labels.flatMap((l) => centers.get(l)!.map((c) => c + noise * gauss()));
  return { data: f64 ? Float64Array.from(values) : Float32Array.from(values), shape: [labels.length, dim] };
}

const pk = (p: number, k: number) => Array.from({ length: p * k }, (_, i) => Math.floor(i / k));
const DISTANCES: EmbeddingDistance[] = ['euclidean', 'squaredEuclidean', 'cosine', 'dot'];
const binding = loadBinding();

// ------------------------------------------------------------------ a brute-force model in JS

function row(e: Emb, i: number): number[] {
  const d = e.shape[1];
  return Array.from(e.data.subarray(i * d, (i + 1) * d));
}
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
const unit = (a: number[]) => {
  const n = Math.max(Math.sqrt(dot(a, a)), 1e-12);
  return a.map((x) => x / n);
};

function distance(a: number[], b: number[], kind: EmbeddingDistance, normalize: boolean): number {
  if (normalize || kind === 'cosine') [a, b] = [unit(a), unit(b)];
  if (kind === 'cosine') return 1 - dot(a, b);
  if (kind === 'dot') return -dot(a, b);
  const d2 = Math.max(a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0), 0);
  return kind === 'squaredEuclidean' ? d2 : Math.sqrt(Math.max(d2, 1e-12));
}

/** The loss and stats by their definition, one anchor at a time. */
function bruteForce(e: Emb, labels: number[], o: BatchHardTripletLossOptions = {}) {
  const margin = o.margin === undefined ? 0.3 : o.margin;
  const kind = o.distance ?? 'euclidean';
  const n = labels.length;
  const losses: number[] = [];
  let valid = 0, noPos = 0, noNeg = 0, active = 0, sumAp = 0, sumAn = 0;
  for (let i = 0; i < n; i++) {
    let ap = -Infinity, an = Infinity;
    for (let j = 0; j < n; j++) {
      const d = distance(row(e, i), row(e, j), kind, o.normalize ?? false);
      if (j !== i && labels[j] === labels[i]) ap = Math.max(ap, d);
      if (labels[j] !== labels[i]) an = Math.min(an, d);
    }
    if (ap === -Infinity) noPos++;
    if (an === Infinity) noNeg++;
    if (ap === -Infinity || an === Infinity) {
      losses.push(0);
      continue;
    }
    const z = ap - an + (margin ?? 0);
    const loss = margin === null ? Math.log1p(Math.exp(z)) : Math.max(0, z);
    losses.push(loss);
    valid++;
    if (loss > 0) active++;
    sumAp += ap;
    sumAn += an;
  }
  const sum = losses.reduce((a, b) => a + b, 0);
  return {
    loss: o.reduction === 'sum' || o.reduction === 'none' ? sum : sum / Math.max(valid, 1),
    losses,
    stats: {
      validAnchors: valid,
      anchorsWithoutPositive: noPos,
      anchorsWithoutNegative: noNeg,
      activeTriplets: active,
      fractionZeroLoss: valid ? (valid - active) / valid : 0,
      meanPositiveDistance: valid ? sumAp / valid : 0,
      meanNegativeDistance: valid ? sumAn / valid : 0,
    },
  };
}

function expectStats(actual: BatchHardTripletLossResult['stats'], expected: BatchHardTripletLossResult['stats'], tol = 1e-5) {
  const { fractionZeroLoss, meanPositiveDistance, meanNegativeDistance, ...counts } = expected;
  expect(actual).toMatchObject(counts);
  expect(actual.fractionZeroLoss).toBeCloseTo(fractionZeroLoss, 12);
  expect(Math.abs(actual.meanPositiveDistance - meanPositiveDistance)).toBeLessThanOrEqual(tol * (1 + Math.abs(meanPositiveDistance)));
  expect(Math.abs(actual.meanNegativeDistance - meanNegativeDistance)).toBeLessThanOrEqual(tol * (1 + Math.abs(meanNegativeDistance)));
}

const allZero = (a: ArrayLike<number>) => Array.from(a).every((x) => x === 0);
const allFinite = (a: ArrayLike<number>) => Array.from(a).every(Number.isFinite);

// ------------------------------------------------------------------ stats

describe('stats', () => {
  const file = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'batchHardTripletLoss.json'), 'utf8')) as ParityFile;
  type StatsCase = ParityCase & { stats: BatchHardTripletLossResult['stats'] };

  test.each((file.cases as StatsCase[]).map((c) => [c.name, c] as const))('match the PyTorch reference: %s', (_name, c) => {
    const [e, l] = c.inputs;
    const r = F.batchHardTripletLoss({ data: Float32Array.from(e.data), shape: e.shape }, Int32Array.from(l.data),
      c.options as BatchHardTripletLossOptions);
    expectStats(r.stats, c.stats);
  });

  test.each(DISTANCES)('and losses match a brute-force model (%s, float64)', (kind) => {
    const labels = [5, 5, 5, 1, 1, 2, 2, 2, 2, 9];  // 9 is a singleton
    for (const margin of [0.3, 1, null]) {
      for (const normalize of [false, true]) {
        const e = clustered(labels, 4, { f64: true });
        const options = { distance: kind, margin, normalize, reduction: 'none' } as const;
        const r = F.batchHardTripletLoss(e, labels, options);
        const expected = bruteForce(e, labels, options);
        expectStats(r.stats, expected.stats, 1e-9);
        Array.from(r.losses!).forEach((x, i) => expect(x).toBeCloseTo(expected.losses[i], 9));
        expect(r.loss).toBeCloseTo(expected.loss, 9);
      }
    }
  });

  test('count anchors without positives or negatives and the active triplets', () => {
    // Rows 0 and 1 coincide (identity 0), row 2 is far away (identity 1), row 3 alone (identity 2).
    const e = { data: Float32Array.from([0, 0, 0, 0, 10, 0, 0, 0.1]), shape: [4, 2] };
    const r = F.batchHardTripletLoss(e, [0, 0, 1, 2], { margin: 0.3, reduction: 'none' });
    expect(r.stats).toMatchObject({ validAnchors: 2, anchorsWithoutPositive: 2, anchorsWithoutNegative: 0 });
    // anchors 0 and 1: d_ap = 1e-6 (the Euclidean floor), d_an = 0.1: loss 0.2 each
    expect(r.stats.activeTriplets).toBe(2);
    expect(r.stats.fractionZeroLoss).toBe(0);
    expect(r.stats.meanPositiveDistance).toBeCloseTo(1e-6, 9);
    expect(r.stats.meanNegativeDistance).toBeCloseTo(0.1, 6);
    expect(Array.from(r.losses!).map((x) => +x.toFixed(5))).toEqual([0.2, 0.2, 0, 0]);
    const easy = F.batchHardTripletLoss(e, [0, 0, 1, 2], { margin: 0.05 });
    expect(easy.stats).toMatchObject({ activeTriplets: 0, fractionZeroLoss: 1 });
    expect(easy.loss).toBe(0);
  });

  test('are there with grad: false', () => {
    const e = clustered(pk(3, 3), 4);
    const r = F.batchHardTripletLoss(e, pk(3, 3), { grad: false });
    expect(r.grad).toBeUndefined();
    expect(r.stats).toEqual(F.batchHardTripletLoss(e, pk(3, 3)).stats);
  });
});

// ------------------------------------------------------------------ degenerate batches

describe('degenerate batches give loss 0, zero gradients and say so in stats', () => {
  const cases: [string, number[], Partial<BatchHardTripletLossResult['stats']>][] = [
    ['all one identity', [4, 4, 4, 4, 4], { validAnchors: 0, anchorsWithoutPositive: 0, anchorsWithoutNegative: 5 }],
    ['all distinct identities', [0, 1, 2, 3, 4], { validAnchors: 0, anchorsWithoutPositive: 5, anchorsWithoutNegative: 0 }],
    ['a single row', [7], { validAnchors: 0, anchorsWithoutPositive: 1, anchorsWithoutNegative: 1 }],
  ];
  test.each(cases)('%s', (_name, labels, stats) => {
    for (const distance of DISTANCES) {
      for (const margin of [0.3, null]) {
        for (const reduction of ['mean', 'sum', 'none'] as const) {
          const e = clustered(labels, 3);
          const r = F.batchHardTripletLoss(e, labels, { distance, margin, reduction });
          expect(r.loss).toBe(0);
          expect(allZero(r.grad!.embeddings)).toBe(true);
          if (reduction === 'none') expect(Array.from(r.losses!)).toEqual(labels.map(() => 0));
          expect(r.stats).toEqual({ ...stats, activeTriplets: 0, fractionZeroLoss: 0, meanPositiveDistance: 0, meanNegativeDistance: 0 });
          const ref = binding.reference.batchHardTripletLoss(e, labels, { distance, margin, reduction });
          expect(ref.loss).toBe(0);
          expect(allZero(ref.grad.embeddings)).toBe(true);
        }
      }
    }
  });

  test("a singleton identity is left out: 0 in 'none', 'mean' over the valid anchors only", () => {
    const labels = [0, 0, 0, 1, 1, 1, 2];
    const e = clustered(labels, 4, { noise: 2 });
    const none = F.batchHardTripletLoss(e, labels, { reduction: 'none' });
    expect(none.losses!.length).toBe(7);
    expect(none.losses![6]).toBe(0);
    expect(none.stats).toMatchObject({ validAnchors: 6, anchorsWithoutPositive: 1 });
    const mean = F.batchHardTripletLoss(e, labels);
    expect(mean.loss).toBeCloseTo(none.loss / 6, 6);
    expect(Number.isFinite(mean.loss)).toBe(true);
  });
});

// ------------------------------------------------------------------ duplicates

describe('identical embeddings give finite gradients', () => {
  const combos = DISTANCES.flatMap((distance) => [false, true].flatMap((normalize) =>
    [0.3, 0, null].map((margin) => ({ distance, normalize, margin }) as BatchHardTripletLossOptions)));

  test.each(combos.map((o) => [JSON.stringify(o), o] as const))('%s', (_name, options) => {
    // every row the same; then duplicates within and across identities
    const same = { data: new Float32Array(24).fill(0.7), shape: [6, 4] };
    const dupes = clustered([0, 0, 1, 1, 2, 2], 4);
    dupes.data.copyWithin(4, 0, 4);  // row 1 = row 0 (same identity)
    dupes.data.copyWithin(8, 0, 4);  // row 2 = row 0 (another identity)
    for (const e of [same, dupes, { ...dupes, data: Float64Array.from(dupes.data) }]) {
      for (const fn of [F.batchHardTripletLoss, binding.reference.batchHardTripletLoss]) {
        const r = fn(e, [0, 0, 1, 1, 2, 2], options);
        expect(Number.isFinite(r.loss)).toBe(true);
        expect(allFinite(r.grad.embeddings)).toBe(true);
      }
    }
    // all-identical rows: every distance ties, and the Euclidean gradient is exactly 0
    if (options.distance === 'euclidean' || options.distance === 'squaredEuclidean') {
      expect(allZero(F.batchHardTripletLoss(same, [0, 0, 1, 1, 2, 2], options).grad!.embeddings)).toBe(true);
    }
  });

  test('all-zero embeddings', () => {
    const zeros = { data: new Float32Array(12), shape: [4, 3] };
    for (const distance of DISTANCES) {
      const r = F.batchHardTripletLoss(zeros, [0, 0, 1, 1], { distance });
      expect(allFinite(r.grad!.embeddings)).toBe(true);
    }
  });
});

// ------------------------------------------------------------------ errors


describe('bad inputs give typed errors naming the argument', () => {
  const e = clustered(pk(2, 2), 3);
  const raw = binding.batchHardTripletLoss;
  test.each([
    ['labels length != N', () => F.batchHardTripletLoss(e, [0, 0, 1]), 'RangeError', /`labels` must hold 4 labels \(one per row of `embeddings`\), got shape \[3\]/],
    ['labels length != N (BigInt64Array)', () => F.batchHardTripletLoss(e, BigInt64Array.from([0n, 1n, 0n, 1n, 2n])), 'RangeError', /`labels` must hold 4 labels/],
    ['1-D embeddings', () => F.batchHardTripletLoss(Float32Array.from([1, 2, 3]), [0, 0, 1]), 'RangeError', /`embeddings` must have 2 dimensions, got shape \[3\]/],
    ['3-D embeddings', () => F.batchHardTripletLoss({ data: new Float32Array(8), shape: [2, 2, 2] }, [0, 1]), 'RangeError', /`embeddings` must have 2 dimensions, got shape \[2, 2, 2\]/],
    ['empty embeddings', () => F.batchHardTripletLoss({ data: new Float32Array(0), shape: [0, 4] }, []), 'RangeError', /`embeddings` is empty/],
    ['float labels', () => F.batchHardTripletLoss(e, Float32Array.from([0, 0, 1, 1]) as never), 'TypeError', /`labels` must be an Int32Array, BigInt64Array or number\[\], got Float32Array/],
    ['non-integer label', () => F.batchHardTripletLoss(e, [0, 0.5, 1, 1]), 'TypeError', /`labels\[1\]` must be an integer label/],
    ['bad distance', () => F.batchHardTripletLoss(e, pk(2, 2), { distance: 'manhattan' as 'dot' }), 'RangeError', /`distance` must be 'euclidean', 'squaredEuclidean', 'cosine', 'dot'; got 'manhattan'/],
    ['bad distance (raw binding)', () => raw(e, pk(2, 2), { distance: 'manhattan' }), 'RangeError', /`distance` must be 'euclidean', 'squaredEuclidean', 'cosine' or 'dot', got 'manhattan'/],
    ['negative margin', () => F.batchHardTripletLoss(e, pk(2, 2), { margin: -0.1 }), 'RangeError', /`margin` must be >= 0 \(or null for the soft margin\), got -0.1/],
    ['negative margin (raw binding)', () => raw(e, pk(2, 2), { margin: -1 }), 'RangeError', /`margin` must be a finite number >= 0 \(or null for the soft margin\), got -1/],
    ['infinite margin', () => F.batchHardTripletLoss(e, pk(2, 2), { margin: Infinity }), 'RangeError', /`margin` must be a finite number, got Infinity/],
    ['string margin', () => F.batchHardTripletLoss(e, pk(2, 2), { margin: '0.3' as never }), 'TypeError', /`margin` must be a number, got '0.3'/],
    ['normalize not a boolean', () => F.batchHardTripletLoss(e, pk(2, 2), { normalize: 1 as never }), 'TypeError', /`normalize` must be a boolean/],
    ['unknown option', () => F.batchHardTripletLoss(e, pk(2, 2), { swap: true } as never), 'RangeError', /unknown option 'swap'/],
    ['module: bad options fail at construction', () => new nn.BatchHardTripletLoss({ distance: 'l1' as 'dot' }), 'RangeError', /`distance` must be/],
    ['pairwiseDistance: refEmbeddings width', () => F.pairwiseDistance(e, { refEmbeddings: { data: new Float32Array(4), shape: [2, 2] } }), 'RangeError', /`refEmbeddings` must have 3 columns \(the embedding size of `embeddings`\), got shape \[2, 2\]/],
    ['pairwiseDistance: 1-D', () => F.pairwiseDistance(Float32Array.from([1, 2])), 'RangeError', /`embeddings` must have 2 dimensions/],
    ['pairwiseDistance: bad distance', () => F.pairwiseDistance(e, { distance: 'l2' as 'dot' }), 'RangeError', /`distance` must be/],
    ['pairwiseDistance: unknown option', () => F.pairwiseDistance(e, { reduction: 'mean' } as never), 'RangeError', /pairwiseDistance: unknown option 'reduction'/],
    ['pairwiseDistance: refEmbeddings not a tensor', () => F.pairwiseDistance(e, { refEmbeddings: [1, 2, 3] as never }), 'TypeError', /`refEmbeddings` must be a Float32Array,/],
  ] as [string, () => unknown, string, RegExp][])('%s', (_name, fn, name, message) => expectError(fn, name, message));

  test('margin 0 is allowed (no margin) and margin null is the soft margin', () => {
    const labels = pk(3, 3);
    const x = clustered(labels, 4, { f64: true });
    expect(F.batchHardTripletLoss(x, labels, { margin: 0 }).loss).toBeCloseTo(bruteForce(x, labels, { margin: 0 }).loss, 9);
    expect(F.batchHardTripletLoss(x, labels, { margin: null }).loss).toBeCloseTo(bruteForce(x, labels, { margin: null }).loss, 9);
    expect(raw(x, labels, { margin: null }).loss).toBeCloseTo(bruteForce(x, labels, { margin: null }).loss, 9);
  });
});

// ------------------------------------------------------------------ gradients

/** Each entry's analytic gradient against (f(x+h) - f(x-h)) / 2h. */
function checkAgainstFiniteDifferences(e: Emb, labels: number[], options: BatchHardTripletLossOptions) {
  const analytic = F.batchHardTripletLoss(e, labels, options).grad!.embeddings;
  expect(Object.prototype.toString.call(analytic)).toBe('[object Float64Array]');
  const h = 1e-6;
  for (let i = 0; i < e.data.length; i++) {
    const saved = e.data[i];
    e.data[i] = saved + h;
    const plus = F.batchHardTripletLoss(e, labels, { ...options, grad: false }).loss;
    e.data[i] = saved - h;
    const minus = F.batchHardTripletLoss(e, labels, { ...options, grad: false }).loss;
    e.data[i] = saved;
    const numeric = (plus - minus) / (2 * h);
    expect(Math.abs(analytic[i] - numeric)).toBeLessThan(1e-6 + 1e-5 * Math.abs(numeric));
  }
}

describe('gradients match central finite differences (float64)', () => {
  const labels = [3, 3, 3, 8, 8, 8, 1, 1, 1, 0];  // P x K plus a singleton
  const combos: BatchHardTripletLossOptions[] = [
    ...DISTANCES.flatMap((distance) => [
      { distance }, { distance, margin: null }, { distance, margin: 1, reduction: 'sum' as const },
      { distance, normalize: true, reduction: 'none' as const },
    ]),
    { distance: 'euclidean', normalize: true, margin: null, reduction: 'sum' },
  ];
  test.each(combos.map((o) => [JSON.stringify(o), o] as const))('%s', (_name, options) => {
    checkAgainstFiniteDifferences(clustered(labels, 4, { f64: true }), labels, options);
  });
});

describe('closed-form backward equals libtorch autograd on the composed loss', () => {
  /** The entries outside |a - b| <= tol (1 + |b|), as [index, a, b] (one expect per array: fast). */
  const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
    expect(a.length).toBe(b.length);
    const off: [number, number, number][] = [];
    for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])))) off.push([i, a[i], b[i]]);
    expect(off).toEqual([]);
  };
  test.each(DISTANCES)('%s: every margin, normalisation and reduction, float32 and float64', (distance) => {
    for (const f64 of [false, true]) {
      for (const margin of [0.3, 1, null]) {
        for (const normalize of [false, true]) {
          for (const reduction of ['mean', 'sum', 'none'] as const) {
            // ten identities and two singletons (anchors without a positive)
            const labels = [...Array.from({ length: 46 }, () => Math.floor(rand() * 10)), 100, 101];
            const e = clustered(labels, 16, { f64 });
            const options = { distance, margin, normalize, reduction };
            const fast = F.batchHardTripletLoss(e, labels, options);
            const ref = binding.reference.batchHardTripletLoss(e, labels, options);
            const tol = f64 ? 1e-10 : 1e-5;
            close([fast.loss], [ref.loss], tol);
            close(fast.grad!.embeddings, ref.grad.embeddings, tol);
            expectStats(fast.stats, ref.stats, tol);  // the means differ by float rounding (syrk vs addmm)
          }
        }
      }
    }
  });
});

// ------------------------------------------------------------------ forms

describe('module form == functional form', () => {
  test('same loss, losses, gradients and stats', () => {
    const labels = Int32Array.from(pk(4, 4));
    const e = clustered(Array.from(labels), 8);
    for (const options of [{}, { margin: null, distance: 'cosine' }, { margin: 1, distance: 'squaredEuclidean', normalize: true, reduction: 'none' }] as BatchHardTripletLossOptions[]) {
      const crit = new nn.BatchHardTripletLoss(options);
      expect(crit.options).toEqual(options);
      expect(Object.isFrozen(crit.options)).toBe(true);
      expect(crit.forward(e, labels)).toEqual(F.batchHardTripletLoss(e, labels, options));
    }
  });

  test('labels as Int32Array, BigInt64Array and number[] agree', () => {
    const labels = pk(3, 4);
    const e = clustered(labels, 5);
    const a = F.batchHardTripletLoss(e, labels);
    expect(F.batchHardTripletLoss(e, Int32Array.from(labels))).toEqual(a);
    expect(F.batchHardTripletLoss(e, BigInt64Array.from(labels.map(BigInt)))).toEqual(a);
  });

  test('a larger batch runs (N = 512, D = 128) with finite results', () => {
    const labels = Array.from({ length: 512 }, (_, i) => i % 64);
    const r = F.batchHardTripletLoss(clustered(labels, 128), labels, { margin: null });
    expect(r.stats.validAnchors).toBe(512);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(allFinite(r.grad!.embeddings)).toBe(true);
  });
});

// ------------------------------------------------------------------ pairwiseDistance

describe('pairwiseDistance', () => {
  test.each(DISTANCES)('%s matches the definition, with and without normalisation and refEmbeddings', (kind) => {
    const x = clustered([0, 1, 2, 0, 1], 3, { f64: true });
    const y = clustered([0, 1, 2], 3, { f64: true });
    for (const normalize of [false, true]) {
      const self = F.pairwiseDistance(x, { distance: kind, normalize });
      expect(self.shape).toEqual([5, 5]);
      expect(Object.prototype.toString.call(self.data)).toBe('[object Float64Array]');
      const cross = F.pairwiseDistance(x, { distance: kind, normalize, refEmbeddings: y });
      expect(cross.shape).toEqual([5, 3]);
      for (let i = 0; i < 5; i++) {
        for (let j = 0; j < 5; j++) expect(self.data[i * 5 + j]).toBeCloseTo(distance(row(x, i), row(x, j), kind, normalize), 9);
        for (let j = 0; j < 3; j++) expect(cross.data[i * 3 + j]).toBeCloseTo(distance(row(x, i), row(y, j), kind, normalize), 9);
      }
    }
  });

  test('is the matrix the loss mines: float32 in, float32 out; the Euclidean diagonal is the 1e-6 floor', () => {
    const x = clustered([0, 1, 2], 4);
    const r = F.pairwiseDistance(x);
    expect(Object.prototype.toString.call(r.data)).toBe('[object Float32Array]');
    for (let i = 0; i < 3; i++) expect(r.data[i * 4]).toBe(Math.fround(1e-6));
    expect(Array.from(F.pairwiseDistance(x, { distance: 'squaredEuclidean' }).data).filter((_, k) => k % 4 === 0)).toEqual([0, 0, 0]);
    expect(r.data[1]).toBeCloseTo(r.data[3], 5);  // symmetric
  });
});
