/**
 * Miners and the triplet family: the miners against the plain-torch reference
 * (test/parity/triplet_reference.py: committed fixtures and a live re-run), batch-hard porting
 * options, tripletLoss / semiHardTripletLoss / OML losses against their parity fixtures, the
 * closed-form backward against libtorch autograd and finite differences, hard batches, errors,
 * async and module forms, and all-triplets' memory at N = 2048.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { F, manualSeed, miners, nn } from '../lib';
import type { BatchHardTripletStats, EmbeddingDistance, MinedTriplets, TripletLossOptions, TripletMinerSpec } from '../lib';
import { loadBinding } from '../lib/native';
import { checkCase, findPython, FIXTURES, type ParityFile } from '../lib/parity';
import { expectError } from './helpers/assertions';
import { mulberry32 } from './helpers/fuzz-tools';

const binding = loadBinding();
const DISTANCES: EmbeddingDistance[] = ['euclidean', 'squaredEuclidean', 'cosine', 'dot'];
const REFERENCE = path.join(__dirname, 'parity', 'triplet_reference.py');

const rand = mulberry32(11);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

type Emb = { data: Float32Array | Float64Array; shape: number[] };
function clustered(labels: number[], dim: number, { f64 = false, noise = 0.8, scale = 1 } = {}): Emb {
  const centers = new Map<number, number[]>();
  for (const l of labels) if (!centers.has(l)) centers.set(l, Array.from({ length: dim }, gauss));
  const values = labels.flatMap((l) => centers.get(l)!.map((c) => scale * (c + noise * gauss())));
  return { data: f64 ? Float64Array.from(values) : Float32Array.from(values), shape: [labels.length, dim] };
}
const pk = (p: number, k: number) => Array.from({ length: p * k }, (_, i) => Math.floor(i / k));
const allZero = (a: ArrayLike<number>) => Array.from(a).every((x) => x === 0);
const allFinite = (a: ArrayLike<number>) => Array.from(a).every(Number.isFinite);
const plain = (r: object) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v as Int32Array)]));

/** Entries outside |a - b| <= abs + rel |b| (the parity tolerance), as [index, a, b]. */
function offTolerance(a: ArrayLike<number>, b: ArrayLike<number>, abs = 1e-5, rel = 1e-4) {
  expect(a.length).toBe(b.length);
  const off: [number, number, number][] = [];
  for (let i = 0; i < b.length; i++) if (!(Math.abs(a[i] - b[i]) <= abs + rel * Math.abs(b[i]))) off.push([i, a[i], b[i]]);
  return off;
}

/** Same counts; means equal up to float32 rounding (the closed form's matrix comes from BLAS syrk). */
function expectSameStats(actual: BatchHardTripletStats, expected: BatchHardTripletStats) {
  const { meanPositiveDistance: p, meanNegativeDistance: n, ...counts } = expected;
  expect(actual).toMatchObject(counts);
  expect(offTolerance([actual.meanPositiveDistance, actual.meanNegativeDistance], [p, n], 1e-6, 1e-6)).toEqual([]);
}

// ------------------------------------------------------------------ miners vs the reference

type Input = { data: number[]; shape: number[] };
interface MinerCase {
  name: string;
  miner: keyof typeof miners & string;
  options: Record<string, unknown>;
  embeddings?: string;
  refEmbeddings?: string;
  distances?: Input;
  labels: number[];
  refLabels?: number[];
  expected: Record<string, number[]>;
}
interface BatchHardCase {
  name: string;
  options: Record<string, unknown>;
  embeddings: Input;
  labels: number[];
  loss: number;
  grad: number[];
}
interface MinerFile {
  inputs: Record<string, Input>;
  miners: MinerCase[];
  batchHard: BatchHardCase[];
}

const f64 = (t: Input) => ({ data: Float64Array.from(t.data), shape: t.shape });
type MinerFn = (e: unknown, l: unknown, o?: unknown) => Record<string, Int32Array>;

function minerCall(file: MinerFile, c: MinerCase): [unknown, number[], Record<string, unknown>] {
  const options: Record<string, unknown> = { ...c.options };
  if (c.refLabels) options.refLabels = c.refLabels;
  if (c.refEmbeddings) options.refEmbeddings = f64(file.inputs[c.refEmbeddings]);
  if (c.distances) options.distances = f64(c.distances);
  return [c.embeddings ? f64(file.inputs[c.embeddings]) : null, c.labels, options];
}

function checkMinerFile(file: MinerFile) {
  for (const c of file.miners) {
    const mined = (miners[c.miner] as unknown as MinerFn)(...minerCall(file, c));
    expect({ name: c.name, mined: plain(mined) }).toEqual({ name: c.name, mined: c.expected });
  }
  for (const c of file.batchHard) {
    const r = F.batchHardTripletLoss(f64(c.embeddings), c.labels, c.options);
    expect({ name: c.name, loss: offTolerance([r.loss], [c.loss]), grad: offTolerance(r.grad!.embeddings, c.grad) })
      .toEqual({ name: c.name, loss: [], grad: [] });
  }
}

const committed = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'miners', 'miners.json'), 'utf8')) as MinerFile;

describe('miners match the plain-torch reference (triplet_reference.py)', () => {
  test.each(committed.miners.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const mined = (miners[c.miner] as unknown as MinerFn)(...minerCall(committed, c));
    expect(plain(mined)).toEqual(c.expected);
  });

  test('the async forms give the same indices', async () => {
    for (const c of committed.miners.filter((_, i) => i % 7 === 0)) {
      const asyncFn = miners[`${c.miner}Async` as keyof typeof miners] as unknown as (...a: unknown[]) => Promise<Record<string, Int32Array>>;
      expect(plain(await asyncFn(...minerCall(committed, c)))).toEqual(c.expected);
    }
  });

  test.each(committed.batchHard.map((c) => [c.name, c] as const))('batch-hard porting options: %s', (_name, c) => {
    const r = F.batchHardTripletLoss(f64(c.embeddings), c.labels, c.options);
    expect(offTolerance([r.loss], [c.loss])).toEqual([]);
    expect(offTolerance(r.grad!.embeddings, c.grad)).toEqual([]);
    // the autograd reference agrees with the closed form on the ties too
    const ref = binding.reference.batchHardTripletLoss(f64(c.embeddings), c.labels, c.options);
    expect(offTolerance(ref.grad.embeddings, c.grad, 1e-10, 1e-8)).toEqual([]);
  });

  const python = findPython();
  (python ? test : test.skip)(`live re-check against ${python?.python ?? 'no Python torch'}`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'miners-'));
    try {
      execFileSync(python!.python, [REFERENCE, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
      checkMinerFile(JSON.parse(fs.readFileSync(path.join(dir, 'miners.json'), 'utf8')) as MinerFile);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ------------------------------------------------------------------ loss parity fixtures

describe.each(['tripletLoss', 'semiHardTripletLoss', 'tripletLossOml', 'tripletLossPlain'])('%s matches its PyTorch fixtures', (loss) => {
  const file = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${loss}.json`), 'utf8')) as ParityFile;
  test.each(file.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = checkCase(loss, c);
    expect(r.error).toBeUndefined();
    expect(r.pass).toBe(true);
  });
});

// ------------------------------------------------------------------ all triplets

describe('allTriplets', () => {
  test('N = 2048, maxTriplets 1e6 of 2.1e9: valid, distinct, ordered, peak extra memory < 1 GB (child process)', () => {
    const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'bench', 'all-triplets-memory.js'), '2048', '1000000', '2'],
      { encoding: 'utf8' });
    const r = JSON.parse(out) as { triplets: number; tripletsInBatch: number; validDistinctSorted: boolean; peakExtraMiB: number };
    expect(r.tripletsInBatch).toBe(2048 * 1023 * 1024);
    expect(r.triplets).toBe(1e6);
    expect(r.validDistinctSorted).toBe(true);
    expect(r.peakExtraMiB).toBeLessThan(1024);
  });

  test('sampling is seeded by manualSeed and draws a subset of the full list', () => {
    const labels = [0, 0, 0, 1, 1, 2, 2, 2, 2];
    const e = clustered(labels, 3);
    const all = plain(miners.allTriplets(e, labels));
    const keys = new Set(all.anchors.map((a, t) => `${a},${all.positives[t]},${all.negatives[t]}`));
    manualSeed(5);
    const first = plain(miners.allTriplets(e, labels, { maxTriplets: 20 }));
    manualSeed(5);
    expect(plain(miners.allTriplets(e, labels, { maxTriplets: 20 }))).toEqual(first);
    manualSeed(6);
    expect(plain(miners.allTriplets(e, labels, { maxTriplets: 20 }))).not.toEqual(first);
    expect(first.anchors.length).toBe(20);
    const sampled = first.anchors.map((a, t) => `${a},${first.positives[t]},${first.negatives[t]}`);
    expect(new Set(sampled).size).toBe(20);
    for (const k of sampled) expect(keys.has(k)).toBe(true);
    // maxTriplets at or above the count: every triplet, in order
    expect(plain(miners.allTriplets(e, labels, { maxTriplets: 10_000 }))).toEqual(all);
    expect(plain(miners.allTriplets(null, labels, { distances: F.pairwiseDistance(e) }))).toEqual(all);
  });

  test('too many to list without maxTriplets is a RangeError', () => {
    const labels = Array.from({ length: 1024 }, (_, i) => i % 2);
    expectError(() => miners.allTriplets({ data: new Float32Array(1024), shape: [1024, 1] }, labels), 'RangeError',
      /the batch has 267911168 triplets, more than 67108864 can be listed; pass `maxTriplets`/);
  });
});

// ------------------------------------------------------------------ closed form vs autograd

describe('tripletLoss: closed-form backward equals libtorch autograd', () => {
  const minerSpecs: TripletMinerSpec[] = [
    { name: 'batchHard' }, { name: 'semiHard' }, { name: 'semiHard', fallback: 'skip' }, { name: 'allTriplets' },
    { name: 'tripletMargin', type: 'semihard', margin: 0.5 }, { name: 'nHard', k: 3 },
  ];
  test.each(DISTANCES)('%s: every miner, margin, normalisation and reduction, float32 and float64', (distance) => {
    for (const miner of minerSpecs) {
      for (const f64 of [false, true]) {
        for (const margin of [0.3, null]) {
          for (const normalize of [false, true]) {
            for (const reduction of ['mean', 'sum', 'none', 'avgNonZero'] as const) {
              const labels = [...Array.from({ length: 22 }, () => Math.floor(rand() * 5)), 100];
              const e = clustered(labels, 6, { f64 });
              const options: TripletLossOptions = { miner, distance, margin, normalize, reduction };
              const fast = F.tripletLoss(e, labels, options);
              const ref = binding.reference.tripletLoss(e, labels, options);
              // float32: sums over hundreds of triplets in another order
              const [abs, rel] = f64 ? [1e-10, 1e-10] : [1e-5, 1e-4];
              expect(offTolerance([fast.loss], [ref.loss], abs, rel)).toEqual([]);
              expect(offTolerance(fast.grad!.embeddings, ref.grad.embeddings, abs, rel)).toEqual([]);
              expectSameStats(fast.stats, ref.stats);
            }
          }
        }
      }
    }
  });

  test('semiHardTripletLoss == tripletLoss with the semiHard miner (hardest fallback), and central differences (float64)', () => {
    const labels = [0, 0, 0, 1, 1, 1, 2, 2, 3];
    const e = clustered(labels, 4, { f64: true, noise: 1.2 });
    for (const margin of [1, 0.2, null]) {
      const fused = F.semiHardTripletLoss(e, labels, { margin });
      expect(fused).toEqual(F.tripletLoss(e, labels, { margin, miner: { name: 'semiHard' } }));
      const h = 1e-6;
      for (let i = 0; i < e.data.length; i++) {
        const saved = e.data[i];
        e.data[i] = saved + h;
        const plus = F.semiHardTripletLoss(e, labels, { margin, grad: false }).loss;
        e.data[i] = saved - h;
        const minus = F.semiHardTripletLoss(e, labels, { margin, grad: false }).loss;
        e.data[i] = saved;
        const numeric = (plus - minus) / (2 * h);
        expect(Math.abs(fused.grad!.embeddings[i] - numeric)).toBeLessThan(1e-6 + 1e-5 * Math.abs(numeric));
      }
    }
  });

  test("batch hard with noPositive 'self' and ties 'first' / 'split': closed form == autograd", () => {
    const labels = [0, 0, 0, 1, 1, 2, 3, 3, 3, 9];
    for (const distance of DISTANCES) {
      const e = clustered(labels, 4, { f64: true });
      e.data.copyWithin(8, 4, 8);  // rows 1 and 2 coincide: tied hardest positives of anchor 0
      for (const noPositive of ['skip', 'self'] as const) {
        for (const ties of ['split', 'first'] as const) {
          const options = { distance, noPositive, ties, margin: 1 };
          const fast = F.batchHardTripletLoss(e, labels, options);
          const ref = binding.reference.batchHardTripletLoss(e, labels, options);
          expect(offTolerance(fast.grad!.embeddings, ref.grad.embeddings, 1e-10, 1e-10)).toEqual([]);
          expectSameStats(fast.stats, ref.stats);
          expect(fast.stats.anchorsWithoutPositive).toBe(2);
          expect(fast.stats.validAnchors).toBe(noPositive === 'self' ? 10 : 8);
        }
      }
    }
  });
});

// ------------------------------------------------------------------ hard batches

type AnyLoss = (e: Emb, labels: number[], o?: object) => { loss: number; grad?: { embeddings: ArrayLike<number> }; stats: { activeTriplets: number } };
const LABELLED: [string, AnyLoss, object][] = [
  ['batchHardTripletLoss', F.batchHardTripletLoss as AnyLoss, {}],
  ['batchHardTripletLoss soft', F.batchHardTripletLoss as AnyLoss, { margin: null }],
  ['semiHardTripletLoss', F.semiHardTripletLoss as AnyLoss, {}],
  ['semiHardTripletLoss soft', F.semiHardTripletLoss as AnyLoss, { margin: null }],
  ...(['batchHard', 'semiHard', 'allTriplets', 'tripletMargin', 'nHard'] as const).map(
    (name) => [`tripletLoss ${name}`, F.tripletLoss as AnyLoss, { miner: { name } }] as [string, AnyLoss, object]),
  ['tripletLoss soft avgNonZero', F.tripletLoss as AnyLoss, { margin: null, reduction: 'avgNonZero' }],
];

describe('hard batches', () => {
  test.each(LABELLED)('one identity: %s gives loss 0, zero gradients, no NaN', (_name, fn, options) => {
    for (const distance of DISTANCES) {
      const r = fn(clustered([3, 3, 3, 3], 5), [3, 3, 3, 3], { ...options, distance });
      expect(r.loss).toBe(0);
      expect(allZero(r.grad!.embeddings)).toBe(true);
      expect(r.stats.activeTriplets).toBe(0);
    }
  });

  test('mining that yields nothing (no hard triplet among separated clusters): loss 0, zero gradients', () => {
    const labels = pk(3, 3);
    const e = clustered(labels, 4, { noise: 0.01, scale: 10 });
    for (const reduction of ['mean', 'sum', 'none', 'avgNonZero'] as const) {
      const r = F.tripletLoss(e, labels, { miner: { name: 'tripletMargin', type: 'hard' }, reduction });
      expect(r.stats.triplets).toBe(0);
      expect(r.loss).toBe(0);
      expect(allZero(r.grad!.embeddings)).toBe(true);
      if (reduction === 'none') expect(r.losses!.length).toBe(0);
    }
    expect(plain(miners.tripletMargin(e, labels, { type: 'hard' }))).toEqual({ anchors: [], positives: [], negatives: [] });
  });

  test.each(LABELLED)('identical embeddings give finite gradients: %s', (_name, fn, options) => {
    const labels = [0, 0, 1, 1, 2, 2];
    for (const distance of DISTANCES) {
      for (const e of [{ data: new Float32Array(24).fill(0.5), shape: [6, 4] }, { data: new Float32Array(24), shape: [6, 4] }]) {
        const r = fn(e, labels, { ...options, distance });
        expect(Number.isFinite(r.loss)).toBe(true);
        expect(allFinite(r.grad!.embeddings)).toBe(true);
      }
    }
  });

  test('identical rows through the OML losses: finite, zero-distance gradient 0', () => {
    const x = { data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2] };
    const r = F.tripletLossOml(x, x, x, { margin: 0.5 });
    expect(r.loss).toBeCloseTo(0.5, 6);
    for (const g of Object.values(r.grad!)) expect(allZero(g as Float32Array)).toBe(true);
  });

  test.each(LABELLED.filter(([name]) => name.includes('soft')))('large distances do not overflow the soft margin: %s', (_name, fn, options) => {
    // d_ap - d_an around 1e4: log1p(exp(x)) would be Infinity; softplus is x.
    const labels = [0, 0, 1, 1];
    const e = { data: Float64Array.from([0, 0, 1e4, 0, 3, 0, 3, 1]), shape: [4, 2] };
    const r = fn(e, labels, options);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.loss).toBeGreaterThan(1e3);
    expect(allFinite(r.grad!.embeddings)).toBe(true);
  });

  test('large distances with the OML soft margin: softplus, not log1p(exp)', () => {
    const a = { data: Float64Array.from([0, 0]), shape: [1, 2] };
    const r = F.tripletLossOml(a, { data: Float64Array.from([5000, 0]), shape: [1, 2] }, { data: Float64Array.from([1, 0]), shape: [1, 2] }, { margin: null });
    expect(r.loss).toBeCloseTo(4999, 9);
    // d/da (|a - p| - |a - n|) = (a - p)/|a - p| - (a - n)/|a - n| = (-1, 0) - (-1, 0)
    expect(Array.from(r.grad!.anchor, (x) => x + 0)).toEqual([0, 0]);
    expect(Array.from(r.grad!.positive, (x) => x + 0)).toEqual([1, 0]);
  });
});

// ------------------------------------------------------------------ non-finite input

describe('NaN / Inf embeddings are a RangeError unless allowNonFinite', () => {
  const labels = [0, 0, 1, 1];
  const bad = { data: Float32Array.from([0, 1, NaN, 2, 3, 4, 5, 6]), shape: [4, 2] };
  const inf = { data: Float32Array.from([0, 1, 1, 2, 3, Infinity, 5, 6]), shape: [4, 2] };
  const calls: [string, (o: object) => unknown][] = [
    ...LABELLED.map(([name, fn, options]) => [name, (o: object) => fn(bad, labels, { ...options, ...o })] as [string, (o: object) => unknown]),
    ...(['batchHard', 'batchEasyHard', 'semiHard', 'tripletMargin', 'allTriplets', 'nHard', 'pairMargin'] as const).map(
      (name) => [`miners.${name}`, (o: object) => (miners[name] as unknown as MinerFn)(bad, labels, o)] as [string, (o: object) => unknown]),
    ['miners.batchHard distances', (o: object) => miners.batchHard(null, labels, { distances: { data: Float32Array.from([0, 1, NaN, 2, 1, 0, 3, 4, 2, 3, 0, 1, 2, 3, 1, 0]), shape: [4, 4] }, ...o })],
    ['tripletLossOml', (o: object) => F.tripletLossOml(bad, bad, bad, o)],
    ['tripletLossPlain', (o: object) => F.tripletLossPlain({ data: new Float32Array(6).fill(NaN), shape: [3, 2] }, o)],
  ];
  test.each(calls)('%s', (name, call) => {
    expectError(() => call({}), 'RangeError', /contains NaN or Inf \((row|element) \d+\); pass `allowNonFinite: true`/);
    expect(() => call({ allowNonFinite: true })).not.toThrow();
  });
  test('Inf names its row', () => {
    expectError(() => F.tripletLoss(inf, labels), 'RangeError', /`embeddings` contains NaN or Inf \(row 2\)/);
    expectError(() => F.tripletLossOml(inf, inf, bad), 'RangeError', /`anchor` contains NaN or Inf \(row 2\)/);
  });
});

// ------------------------------------------------------------------ options and errors

describe('options and errors', () => {
  const labels = pk(2, 2);
  const e = clustered(labels, 3);
  test.each([
    ["noPositive 'error' (OML)", () => F.batchHardTripletLoss(e, [0, 0, 1, 2], { noPositive: 'error' }), 'RangeError', /anchor 2 \(label 1\) has no positive in the batch, and `noPositive` is 'error'/],
    ["miner noPositive 'error'", () => miners.batchHard(e, [0, 0, 1, 2], { noPositive: 'error' }), 'RangeError', /anchor 2 \(label 1\) has no positive/],
    ["noPositive 'self' with a reference set", () => miners.batchHard(e, labels, { noPositive: 'self', refEmbeddings: e, refLabels: labels }), 'RangeError', /`noPositive: 'self'` needs the batch as its own reference set/],
    ['both strategies semihard', () => miners.batchEasyHard(e, labels, { posStrategy: 'semihard', negStrategy: 'semihard' }), 'RangeError', /cannot both be 'semihard'/],
    ['bad strategy', () => miners.batchEasyHard(e, labels, { posStrategy: 'medium' as 'easy' }), 'RangeError', /`posStrategy` must be 'hard', 'semihard', 'easy', 'all'; got 'medium'/],
    ['unknown miner option', () => miners.semiHard(e, labels, { margin: 1 } as never), 'RangeError', /miners.semiHard: unknown option 'margin'/],
    ['distances and embeddings', () => miners.batchHard(e, labels, { distances: F.pairwiseDistance(e) }), 'RangeError', /pass `null` as embeddings with `distances`/],
    ['neither', () => miners.batchHard(null, labels), 'TypeError', /`embeddings` is required/],
    ['distances of the wrong shape', () => miners.batchHard(null, labels, { distances: { data: new Float32Array(6), shape: [2, 3] } }), 'RangeError', /`distances` must have shape \[4, 4\] \(labels x labels\), got \[2, 3\]/],
    ['refEmbeddings without refLabels', () => miners.batchHard(e, labels, { refEmbeddings: e }), 'RangeError', /`refEmbeddings` and `refLabels` go together/],
    ['refLabels of the wrong length', () => miners.batchHard(e, labels, { refEmbeddings: e, refLabels: [0, 1] }), 'RangeError', /`refLabels` must hold 4 labels \(one per row of `refEmbeddings`\)/],
    ['refLabels not labels', () => miners.batchHard(e, labels, { refEmbeddings: e, refLabels: 'a' as never }), 'TypeError', /`refLabels` must be an Int32Array, BigInt64Array or number\[\]/],
    ['k < 1', () => miners.nHard(e, labels, { k: 0 }), 'RangeError', /`k` must be >= 1, got 0/],
    ['maxTriplets < 0', () => miners.allTriplets(e, labels, { maxTriplets: -1 }), 'RangeError', /`maxTriplets` must be >= 0/],
    ['bad miner name', () => F.tripletLoss(e, labels, { miner: { name: 'hardest' } as never }), 'RangeError', /`miner.name` must be 'batchHard', 'semiHard', 'tripletMargin', 'allTriplets', 'nHard'/],
    ['pair miner for a triplet loss (raw binding)', () => binding.tripletLoss(e, labels, { miner: { name: 'pairMargin' } }), 'RangeError', /`miner.type` must be a triplet miner/],
    ['bad miner option', () => F.tripletLoss(e, labels, { miner: { name: 'semiHard', fallback: 'none' } as never }), 'RangeError', /`fallback` must be 'skip', 'hardest'; got 'none'/],
    ['triplet index out of range', () => F.tripletLoss(e, labels, { triplets: { anchors: [0], positives: [1], negatives: [4] } }), 'RangeError', /`triplets.negatives` must hold row indices in \[0, 4\), got 4/],
    ['triplet arrays of different lengths', () => F.tripletLoss(e, labels, { triplets: { anchors: [0, 1], positives: [1], negatives: [2, 3] } }), 'RangeError', /`triplets.positives` must hold one index per triplet \(2\)/],
    ['triplets missing a part', () => F.tripletLoss(e, labels, { triplets: { anchors: [0], positives: [1] } as never }), 'TypeError', /`triplets.negatives` is missing/],
    ['bad reduction', () => F.tripletLoss(e, labels, { reduction: 'max' as 'sum' }), 'RangeError', /`reduction` must be 'none', 'mean', 'sum', 'avgNonZero'/],
    ['avgNonZero elsewhere', () => F.batchHardTripletLoss(e, labels, { reduction: 'avgNonZero' as 'sum' }), 'RangeError', /`reduction` must be/],
    ['bad ties', () => F.batchHardTripletLoss(e, labels, { ties: 'all' as 'first' }), 'RangeError', /`ties` must be 'split', 'first'; got 'all'/],
    ['tripletLossPlain rows not 3B', () => F.tripletLossPlain({ data: new Float32Array(8), shape: [4, 2] }), 'RangeError', /`stacked` must have 3B rows \(\[anchors; positives; negatives\]\), got shape \[4, 2\]/],
    ['tripletLossOml shapes', () => F.tripletLossOml(e, e, { data: new Float32Array(3), shape: [1, 3] }), 'RangeError', /`negative` must have the shape of `anchor` \[4, 3\], got \[1, 3\]/],
  ] as [string, () => unknown, string, RegExp][])('%s', (_name, fn, name, message) => expectError(fn, name, message));
});

// ------------------------------------------------------------------ forms and the reference set

describe('forms', () => {
  const labels = pk(4, 3);
  const e = clustered(labels, 6);

  test('module == functional; TripletLossWithMiner defaults to all triplets (OML)', () => {
    const options: TripletLossOptions = { miner: { name: 'semiHard' }, margin: 0.2, reduction: 'avgNonZero' };
    expect(new nn.TripletLoss(options).forward(e, labels)).toEqual(F.tripletLoss(e, labels, options));
    const withMiner = new nn.TripletLossWithMiner({ margin: 0.1 });
    expect(withMiner.options.miner).toEqual({ name: 'allTriplets' });
    const r = withMiner.forward(e, labels);
    expect(r).toEqual(F.tripletLoss(e, labels, { margin: 0.1 }));
    expect(r.stats.triplets).toBe(12 * 2 * 9);
    expect(new nn.SemiHardTripletLoss().forward(e, labels)).toEqual(F.semiHardTripletLoss(e, labels));
  });

  test('async == sync for every loss of the family', async () => {
    expect(await F.tripletLossAsync(e, labels, { miner: { name: 'nHard', k: 2 } })).toEqual(F.tripletLoss(e, labels, { miner: { name: 'nHard', k: 2 } }));
    expect(await F.semiHardTripletLossAsync(e, labels)).toEqual(F.semiHardTripletLoss(e, labels));
    expect(await new nn.TripletLossWithMiner().forwardAsync(e, labels)).toEqual(F.tripletLoss(e, labels));
    const a = { data: e.data.slice(0, 12), shape: [2, 6] };
    const p = { data: e.data.slice(12, 24), shape: [2, 6] };
    const n = { data: e.data.slice(24, 36), shape: [2, 6] };
    expect(await F.tripletLossOmlAsync(a, p, n)).toEqual(F.tripletLossOml(a, p, n));
    expect(await F.tripletLossPlainAsync({ data: e.data.slice(0, 36), shape: [6, 6] })).toEqual(F.tripletLossPlain({ data: e.data.slice(0, 36), shape: [6, 6] }));
    await expect(miners.batchHardAsync(null, labels)).rejects.toThrow(TypeError);
  });

  test("a miner's triplets fed to tripletLoss == the miner option", () => {
    for (const distance of DISTANCES) {
      const t: MinedTriplets = miners.semiHard(e, labels, { distance });
      expect(F.tripletLoss(e, labels, { triplets: t, distance })).toEqual(F.tripletLoss(e, labels, { miner: { name: 'semiHard' }, distance }));
    }
  });

  test('tripletLossPlain == tripletLossOml on the thirds, gradient stacked', () => {
    const stacked = { data: e.data.slice(0, 36), shape: [6, 6] };
    const a = { data: e.data.slice(0, 12), shape: [2, 6] };
    const p = { data: e.data.slice(12, 24), shape: [2, 6] };
    const n = { data: e.data.slice(24, 36), shape: [2, 6] };
    const r = F.tripletLossPlain(stacked, { margin: 0.4, reduction: 'none' });
    const o = F.tripletLossOml(a, p, n, { margin: 0.4, reduction: 'none' });
    expect(Array.from(r.losses!)).toEqual(Array.from(o.losses!));
    expect(Array.from(r.grad!.stacked)).toEqual([...o.grad!.anchor, ...o.grad!.positive, ...o.grad!.negative]);
  });

  test('miners against a reference set equal mining the precomputed cross distances', () => {
    const refLabels = [0, 1, 1, 2, 3, 3, 7];
    const ref = clustered(refLabels, 6);
    const distances = F.pairwiseDistance(e, { refEmbeddings: ref });
    for (const name of ['batchHard', 'semiHard', 'nHard', 'pairMargin', 'batchEasyHard', 'tripletMargin', 'allTriplets'] as const) {
      const fn = miners[name] as unknown as MinerFn;
      const direct = fn(e, labels, { refEmbeddings: ref, refLabels });
      expect(plain(fn(null, labels, { distances, refLabels }))).toEqual(plain(direct));
      // every positive shares the anchor's label in the reference set, every negative does not
      const anchors = direct.anchors ?? direct.anchors1;
      direct.positives.forEach((p, i) => expect(refLabels[p]).toBe(labels[anchors[i]]));
      const negAnchors = direct.anchors ?? direct.anchors2;
      direct.negatives.forEach((q, i) => expect(refLabels[q]).not.toBe(labels[negAnchors[i]]));
    }
  });
});

// ------------------------------------------------------------------ CPU kernels vs the generic path

describe('the CPU kernels (syrk distances, fused batch-hard mining, pair gradients) equal the device-generic ATen path', () => {
  test.each(DISTANCES)('%s', (distance) => {
    const labels = [...Array.from({ length: 37 }, () => Math.floor(rand() * 6)), 50, 51];
    for (const f64 of [false, true]) {
      const e = clustered(labels, 8, { f64 });
      // (no duplicate rows: two BLAS routines may break a tie between equal rows differently)
      const [abs, rel] = f64 ? [1e-10, 1e-10] : [1e-5, 1e-4];
      for (const normalize of [false, true]) {
        for (const options of [
          { margin: 0.3 }, { margin: null, reduction: 'sum' }, { noPositive: 'self', ties: 'first', reduction: 'none' }, { ties: 'split', margin: 1 },
        ] as object[]) {
          const o = { distance, normalize, ...options };
          const fast = F.batchHardTripletLoss(e, labels, o);
          const generic = binding.generic.batchHardTripletLoss(e, labels, o);
          expect(offTolerance([fast.loss], [generic.loss], abs, rel)).toEqual([]);
          expect(offTolerance(fast.grad!.embeddings, generic.grad.embeddings, abs, rel)).toEqual([]);
          expectSameStats(fast.stats, generic.stats);
        }
        for (const miner of [{ name: 'semiHard' }, { name: 'allTriplets' }] as TripletMinerSpec[]) {
          const o = { distance, normalize, miner, margin: 0.5 };
          const fast = F.tripletLoss(e, labels, o);
          const generic = binding.generic.tripletLoss(e, labels, o);
          expect(offTolerance([fast.loss], [generic.loss], abs, rel)).toEqual([]);
          expect(offTolerance(fast.grad!.embeddings, generic.grad.embeddings, abs, rel)).toEqual([]);
        }
      }
    }
  });
});
