/**
 * The pair and list losses (contrastive, circle, multi-similarity, NT-Xent, SupCon, lifted
 * structure, surrogate precision): parity with the plain-torch references of
 * test/parity/pair_losses.py (loss, gradients and stats; committed fixtures and a live re-run),
 * the hard-batch behaviours (one identity, no valid pair, singletons, identical embeddings, large
 * distances, NaN / Inf), reductions, gradients against finite differences in float64, typed
 * errors, and the module and async forms.
 */
import { F, nn, tensor } from '../lib';
import type { LabelsInput, PairLossStats, TensorInput } from '../lib';
import { checkCase, compare, findPython, generateLive, readFixtures, type ParityCase, type ParityFile } from '../lib/parity';
import { expectError } from './helpers/assertions';
import { mulberry32 } from './helpers/fuzz-tools';

type Emb = { data: Float32Array | Float64Array; shape: number[] };
type Stats = PairLossStats & Record<string, number>;
type Result = { loss: number; losses?: ArrayLike<number>; grad?: { embeddings: ArrayLike<number> }; stats: Stats };
type PairLoss = (embeddings: TensorInput, labels: LabelsInput, options?: Record<string, unknown>) => Result;
type PairLossAsync = (embeddings: TensorInput, labels: LabelsInput, options?: Record<string, unknown>) => Promise<Result>;

const LOSSES = [
  'contrastiveLoss', 'circleLoss', 'multiSimilarityLoss', 'ntXentLoss', 'supConLoss', 'liftedStructureLoss',
  'surrogatePrecisionLoss',
] as const;
type LossName = (typeof LOSSES)[number];
const fn = (name: LossName) => (F as unknown as Record<string, PairLoss>)[name];
const fnAsync = (name: LossName) => (F as unknown as Record<string, PairLossAsync>)[`${name}Async`];
/** The options a loss needs (surrogate precision has no default k). */
const REQUIRED: Partial<Record<LossName, Record<string, unknown>>> = { surrogatePrecisionLoss: { k: 2 } };
const call = (name: LossName, e: TensorInput, labels: LabelsInput, options: Record<string, unknown> = {}) =>
  fn(name)(e, labels, { ...REQUIRED[name], ...options });
const SIMILARITY_LOSSES: LossName[] = ['circleLoss', 'multiSimilarityLoss', 'ntXentLoss', 'supConLoss'];

const rand = mulberry32(11);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

/** One random center per identity plus noise. */
function clustered(labels: number[], dim: number, { f64 = false, noise = 0.6, scale = 1 } = {}): Emb {
  const centers = new Map<number, number[]>();
  for (const l of labels) if (!centers.has(l)) centers.set(l, Array.from({ length: dim }, gauss));
  const values = labels.flatMap((l) => centers.get(l)!.map((c) => scale * (c + noise * gauss())));
  return { data: f64 ? Float64Array.from(values) : Float32Array.from(values), shape: [labels.length, dim] };
}

const allZero = (a: ArrayLike<number>) => Array.from(a).every((x) => x === 0);
const allFinite = (a: ArrayLike<number>) => Array.from(a).every(Number.isFinite);
const close = (a: number, b: number, abs = 1e-5, rel = 1e-4) => Math.abs(a - b) <= abs + rel * Math.abs(b);

// ------------------------------------------------------------------ parity with the references

type StatsCase = ParityCase & { stats: Stats };

function expectCaseMatches(loss: LossName, c: StatsCase) {
  const result = checkCase(loss, c);
  expect(result.error).toBeUndefined();
  expect(result).toMatchObject({ pass: true });
  const [e, l] = c.inputs;
  const r = fn(loss)({ data: Float32Array.from(e.data), shape: e.shape }, Int32Array.from(l.data), c.options);
  expect(Object.keys(r.stats).sort()).toEqual(Object.keys(c.stats).sort());
  for (const [key, expected] of Object.entries(c.stats)) {
    if (!close(r.stats[key], expected)) throw new Error(`stats.${key}: ${r.stats[key]}, reference ${expected}`);
  }
}

const fixtures = readFixtures().filter((f) => (LOSSES as readonly string[]).includes(f.loss));

test('every pair loss has committed fixtures', () => {
  expect(fixtures.map((f) => f.loss).sort()).toEqual([...LOSSES].sort());
});

describe.each(fixtures.map((f) => [f.loss, f] as const))('%s matches its plain-torch reference', (loss, file: ParityFile) => {
  test.each(file.cases.map((c) => [c.name, c as StatsCase] as const))('%s (loss, gradient, stats)', (_name, c) => {
    expectCaseMatches(loss as LossName, c);
  });
});

const python = findPython();
(python ? test : test.skip)(`live re-check against ${python?.python ?? 'Python torch (not found)'}`, () => {
  const live = generateLive(python!.python, [...LOSSES]);
  expect(live.map((f) => f.loss).sort()).toEqual([...LOSSES].sort());
  for (const file of live) for (const c of file.cases) expectCaseMatches(file.loss as LossName, c as StatsCase);
});

// ------------------------------------------------------------------ hard batches

describe.each(LOSSES)('%s on hard batches', (loss) => {
  const reductions = ['mean', 'sum', 'none', 'avgNonZero'] as const;

  test.each(reductions)('one identity: loss 0, zero gradients, counted in stats (%s)', (reduction) => {
    const r = call(loss, clustered([4, 4, 4, 4, 4], 3), [4, 4, 4, 4, 4], { reduction });
    expect(r.loss).toBe(0);
    expect(allZero(r.grad!.embeddings)).toBe(true);
    if (reduction === 'none') expect(allZero(r.losses!)).toBe(true);
    expect(r.stats).toMatchObject({ validAnchors: 0, anchorsWithoutPositive: 0, anchorsWithoutNegative: 5, positivePairs: 0, negativePairs: 0, activePairs: 0 });
  });

  test('no valid pair (every label distinct), and a single row: loss 0, zero gradients', () => {
    const r = call(loss, clustered([0, 1, 2, 3], 3), [0, 1, 2, 3]);
    expect([r.loss, allZero(r.grad!.embeddings)]).toEqual([0, true]);
    expect(r.stats).toMatchObject({ validAnchors: 0, anchorsWithoutPositive: 4, anchorsWithoutNegative: 0 });
    const one = call(loss, clustered([0], 3), [0]);
    expect([one.loss, allZero(one.grad!.embeddings)]).toEqual([0, true]);
  });

  test('an anchor without a positive is left out: 0 in \'none\', no gradient of its own, counted', () => {
    const labels = [1, 1, 1, 2, 2, 2, 9];
    const e = clustered(labels, 4);
    // (multi-similarity without its mining, which may drop further anchors)
    const r = call(loss, e, labels, { reduction: 'none', ...(loss === 'multiSimilarityLoss' ? { mining: false } : {}) });
    expect(r.losses![6]).toBe(0);
    expect(r.stats).toMatchObject({ validAnchors: 6, anchorsWithoutPositive: 1, anchorsWithoutNegative: 0 });
    expect(r.loss).toBeGreaterThan(0);  // the other anchors still count
  });

  test('identical embeddings (zero distances) and all-zero rows give finite gradients', () => {
    const labels = [0, 0, 1, 1, 2, 2];
    for (const value of [0.5, 0]) {
      const e = { data: new Float32Array(6 * 3).fill(value), shape: [6, 3] };
      for (const options of [{}, { normalize: true }]) {
        const r = call(loss, e, labels, options);
        expect(Number.isFinite(r.loss)).toBe(true);
        expect(allFinite(r.grad!.embeddings)).toBe(true);
      }
    }
  });

  test('large distances do not overflow (float32 agrees with float64)', () => {
    const labels = [0, 0, 0, 1, 1, 1, 2, 2];
    // similarities of ~1e4 ('dot'), or distances of ~1e3 (with negMargin 1e3 for the margins):
    // e^{beta s}, e^{s / t} and e^{negMargin - d} overflow float32 and float64 unless shifted
    const similarity = SIMILARITY_LOSSES.includes(loss);
    const opts = similarity ? { distance: 'dot' } : loss === 'surrogatePrecisionLoss' ? {} : { negMargin: 1e3 };
    const e64 = clustered(labels, 4, { f64: true, scale: similarity ? 60 : 400, noise: 0.3 });
    const e32 = { data: Float32Array.from(e64.data), shape: e64.shape };
    const r32 = call(loss, e32, labels, opts);
    const r64 = call(loss, e64, labels, { ...opts, grad: false });
    expect(allFinite([r32.loss, r64.loss])).toBe(true);
    expect(allFinite(r32.grad!.embeddings)).toBe(true);
    expect(Math.abs(r32.loss - r64.loss)).toBeLessThanOrEqual(1e-3 + 1e-4 * Math.abs(r64.loss));
  });

  test('NaN or Inf embeddings: a RangeError naming the row, unless allowNonFinite', async () => {
    const labels = [0, 0, 1, 1];
    for (const bad of [NaN, Infinity]) {
      const e = clustered(labels, 3);
      e.data[2 * 3 + 1] = bad;
      expectError(() => call(loss, e, labels), 'RangeError', /`embeddings` contains NaN or Inf \(row 2\); pass `allowNonFinite: true`/);
      await expect(fnAsync(loss)(e, labels, { ...REQUIRED[loss] })).rejects.toMatchObject({ name: 'RangeError' });
      expect(() => call(loss, e, labels, { allowNonFinite: true })).not.toThrow();
    }
  });
});

test('multi-similarity mining that keeps no pair gives loss 0 and zero gradients', () => {
  // two tight, orthogonal clusters: no negative is within epsilon of the least similar positive
  const data = Float32Array.from([1, 0, 0.99, 0.01, 1, 0.02, 0, 1, 0.01, 0.99, 0.02, 1]);
  const r = F.multiSimilarityLoss({ data, shape: [6, 2] }, [0, 0, 0, 1, 1, 1]);
  expect([r.loss, allZero(r.grad!.embeddings)]).toEqual([0, true]);
  expect(r.stats).toMatchObject({ validAnchors: 0, positivePairs: 0, negativePairs: 0, anchorsWithoutPositive: 0, anchorsWithoutNegative: 0 });
  expect(F.multiSimilarityLoss({ data, shape: [6, 2] }, [0, 0, 0, 1, 1, 1], { mining: false }).loss).toBeGreaterThan(0);
});

// ------------------------------------------------------------------ reductions

describe.each(LOSSES)('%s reductions', (loss) => {
  test("'none' sums to 'sum'; 'mean' is 'sum' over the loss's terms", () => {
    const labels = [0, 0, 0, 1, 1, 2, 2, 2, 7];
    const e = clustered(labels, 5, { f64: true });
    const none = call(loss, e, labels, { reduction: 'none' });
    const sum = call(loss, e, labels, { reduction: 'sum' });
    const mean = call(loss, e, labels, { reduction: 'mean' });
    expect(none.losses!.length).toBe(labels.length);
    expect(none.loss).toBeCloseTo(sum.loss, 10);
    const s = sum.stats;
    const terms = loss === 'contrastiveLoss' ? s.positivePairs + s.negativePairs
      : loss === 'ntXentLoss' || loss === 'liftedStructureLoss' ? s.positivePairs : s.validAnchors;
    expect(mean.loss).toBeCloseTo(sum.loss / terms, 10);
  });
});

test("contrastive 'avgNonZero' is PML's: mean of the non-zero positive terms + mean of the non-zero negative terms", () => {
  // 1-d embeddings, euclidean: pairs are |x_i - x_j|
  const x = [0, 0.5, 3, 3.2, 3.9];
  const labels = [0, 0, 1, 1, 1];
  const r = F.contrastiveLoss({ data: Float64Array.from(x), shape: [5, 1] }, labels, { reduction: 'avgNonZero', negMargin: 3 });
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 5; j++) {
      if (i === j) continue;
      const d = Math.max(Math.abs(x[i] - x[j]), 1e-6);
      if (labels[i] === labels[j]) pos.push(d);
      else neg.push(Math.max(3 - d, 0));
    }
  }
  const avgNonZero = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(v.filter((t) => t > 0).length, 1);
  expect(r.loss).toBeCloseTo(avgNonZero(pos) + avgNonZero(neg), 6);
  expect(r.stats.activePairs).toBe(pos.filter((t) => t > 0).length + neg.filter((t) => t > 0).length);
});

// ------------------------------------------------------------------ gradients

function checkAgainstFiniteDifferences(loss: LossName, e: Emb, labels: number[], options: Record<string, unknown>) {
  const analytic = call(loss, e, labels, options).grad!.embeddings;
  const h = 1e-6;
  for (let i = 0; i < e.data.length; i++) {
    const saved = e.data[i];
    e.data[i] = saved + h;
    const plus = call(loss, e, labels, { ...options, grad: false }).loss;
    e.data[i] = saved - h;
    const minus = call(loss, e, labels, { ...options, grad: false }).loss;
    e.data[i] = saved;
    const numeric = (plus - minus) / (2 * h);
    if (!(Math.abs(analytic[i] - numeric) <= 1e-6 + 1e-5 * Math.abs(numeric))) {
      throw new Error(`d/dx[${i}]: ${analytic[i]} vs finite difference ${numeric}`);
    }
  }
}

// Circle loss is left out: its weights alpha_p, alpha_n are constants of the paper's gradient, so
// its gradient is not the derivative of its value (the fixtures check it against torch autograd).
const GRADIENT_CASES: [LossName, Record<string, unknown>][] = [
  ['contrastiveLoss', {}], ['contrastiveLoss', { distance: 'squaredEuclidean', negMargin: 4, reduction: 'sum' }],
  ['contrastiveLoss', { distance: 'cosine', normalize: true, negMargin: 0.9, reduction: 'avgNonZero' }],
  ['multiSimilarityLoss', { mining: false }], ['multiSimilarityLoss', { distance: 'dot', reduction: 'sum', beta: 10 }],
  ['ntXentLoss', {}], ['ntXentLoss', { distance: 'dot', temperature: 2, reduction: 'none' }],
  ['supConLoss', {}], ['supConLoss', { distance: 'dot', temperature: 3, reduction: 'sum' }],
  ['liftedStructureLoss', {}], ['liftedStructureLoss', { generalized: true, distance: 'squaredEuclidean', negMargin: 3 }],
  ['surrogatePrecisionLoss', { k: 2, temperature2: 0.5 }], ['surrogatePrecisionLoss', { k: 1, includeSelf: true, temperature2: 0.3 }],
];

describe('gradients match central finite differences (float64)', () => {
  test.each(GRADIENT_CASES.map(([loss, o]) => [loss, JSON.stringify(o), o] as const))('%s %s', (loss, _name, options) => {
    const labels = [3, 3, 3, 8, 8, 1, 1, 1, 0];  // unequal K plus a singleton
    checkAgainstFiniteDifferences(loss, clustered(labels, 3, { f64: true }), labels, options);
  });
});

// ------------------------------------------------------------------ errors

describe('bad inputs give typed errors naming the argument', () => {
  const e = clustered([0, 0, 1, 1], 3);
  const labels = [0, 0, 1, 1];

  test('options', () => {
    expectError(() => F.circleLoss(e, labels, { distance: 'euclidean' as 'cosine' }), 'RangeError', /`distance` must be 'cosine', 'dot'/);
    expectError(() => F.ntXentLoss(e, labels, { temperature: 0 }), 'RangeError', /`temperature` must be > 0/);
    expectError(() => F.contrastiveLoss(e, labels, { margin: 1 } as object), 'RangeError', /unknown option 'margin'/);
    expectError(() => F.supConLoss(e, labels, { reduction: 'avgnonzero' as 'avgNonZero' }), 'RangeError', /`reduction` must be .*'avgNonZero'/);
    expectError(() => F.multiSimilarityLoss(e, labels, { epsilon: -1 }), 'RangeError', /`epsilon` must be >= 0/);
    expectError(() => F.liftedStructureLoss(e, labels, { generalized: 1 as unknown as boolean }), 'TypeError', /`generalized` must be a boolean/);
    expectError(() => F.surrogatePrecisionLoss(e, labels), 'RangeError', /`k` is required/);
    expectError(() => F.surrogatePrecisionLoss(e, labels, { k: 0 }), 'RangeError', /`k` must be an integer >= 1/);
    expectError(() => F.surrogatePrecisionLoss(e, labels, { k: 1.5 }), 'RangeError', /`k` must be an integer/);
  });

  test('the native layer re-checks what the facade checks', () => {
    const { loadBinding } = jest.requireActual('../lib/native') as typeof import('../lib/native');
    const binding = loadBinding();
    expectError(() => binding.circleLoss(e, labels, { distance: 'euclidean' }), 'RangeError', /`distance` of circleLoss must be 'cosine' or 'dot'/);
    expectError(() => binding.contrastiveLoss(e, labels, { reduction: 'avg' }), 'RangeError', /`reduction` must be 'mean', 'sum', 'none' or 'avgNonZero'/);
    expectError(() => binding.circleLoss(e, labels, { gamma: -1 }), 'RangeError', /`gamma` must be a finite number > 0/);
  });

  test('shapes and labels', () => {
    expectError(() => F.contrastiveLoss(e, [0, 1, 1]), 'RangeError', /`labels` must hold 4 labels/);
    expectError(() => F.supConLoss({ data: new Float32Array(4), shape: [4] }, labels), 'RangeError', /`embeddings` must have 2 dimensions/);
    expectError(() => F.ntXentLoss({ data: new Float32Array(0), shape: [0, 3] }, []), 'RangeError', /`embeddings` is empty/);
  });
});

// ------------------------------------------------------------------ forms

describe('module, functional and async forms agree', () => {
  const labels = [5, 5, 2, 2, 2, 9, 9];
  const e = clustered(labels, 4);
  const modules: [LossName, new (o?: never) => { forward: PairLoss; forwardAsync: PairLossAsync }][] = [
    ['contrastiveLoss', nn.ContrastiveLoss as never], ['circleLoss', nn.CircleLoss as never],
    ['multiSimilarityLoss', nn.MultiSimilarityLoss as never], ['ntXentLoss', nn.NTXentLoss as never],
    ['supConLoss', nn.SupConLoss as never], ['liftedStructureLoss', nn.LiftedStructureLoss as never],
    ['surrogatePrecisionLoss', nn.SurrogatePrecisionLoss as never],
  ];
  test.each(modules)('%s', async (loss, Module) => {
    const options = { ...REQUIRED[loss], reduction: 'none' };
    const module = new (Module as unknown as new (o: object) => { forward: PairLoss; forwardAsync: PairLossAsync })(options);
    const f = fn(loss)(e, labels, options);
    const m = module.forward(e, labels);
    const a = await module.forwardAsync(e, labels);
    const fa = await fnAsync(loss)(e, BigInt64Array.from(labels.map(BigInt)), options);
    for (const r of [m, a, fa]) {
      expect(r.loss).toBe(f.loss);
      expect(compare(r.losses!, f.losses!).diff).toBe(0);
      expect(compare(r.grad!.embeddings, f.grad!.embeddings).diff).toBe(0);
      expect(r.stats).toEqual(f.stats);
    }
  });

  test('Tensor embeddings give a Tensor gradient with the same values', async () => {
    const t = tensor(e.data as Float32Array, e.shape);
    try {
      const host = F.supConLoss(e, labels);
      const device = await F.supConLossAsync(t, labels);
      const grad = device.grad!.embeddings;
      expect(device.loss).toBe(host.loss);
      expect(compare(grad.toFloat32Array(), host.grad!.embeddings).diff).toBe(0);
      grad.dispose();
    } finally {
      t.dispose();
    }
  });

  test('grad: false skips the gradient and keeps the stats', () => {
    const r = F.multiSimilarityLoss(e, labels, { grad: false });
    expect(r.grad).toBeUndefined();
    expect(r.stats.validAnchors).toBeGreaterThan(0);
  });
});
