/**
 * The fused margin-softmax op (ArcFace, CosFace, sub-center ArcFace, NormalizedSoftmax, with label
 * smoothing) against its autograd composition in float64 and float32, including duplicate,
 * opposite, zero and huge inputs; the modules (and ArcFaceLossWithMLP) against the plain-torch
 * references of test/parity/modules.py (loss, input and parameter gradients, logits: 1e-5 abs +
 * 1e-4 rel; 10 SGD-momentum steps); F.labelSmoothing against OML's semantics; forwardAsync; errors.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { F, nn } from '../lib';
import { findPython } from '../lib/parity';
import { loadBinding } from '../lib/native';
import { moduleFixtures } from './module-fixtures';
import { expectError, f32, expectClose } from './helpers/assertions';


/** A seeded uniform(-1, 1) stream. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  };
}

const fixtures = moduleFixtures();
const data = fixtures.data;

describe('fused op vs its autograd composition (binding.reference.marginSoftmaxLoss)', () => {
  const reference = loadBinding().reference.marginSoftmaxLoss;
  const B = 7, d = 5, C = 6;
  // Rows 0-3 are extreme: a duplicate of a class weight (cos = 1), its opposite (cos = -1, theta + m
  // > pi), a zero row, and a row of norm 1e6.
  function inputs(Typed: { new (values: number[]): Float32Array | Float64Array }, k: number) {
    const next = random(5 + k);
    const fill = (n: number) => {
      const a: number[] = [];
      for (let i = 0; i < n; i++) a.push(next());
      return new Typed(a);
    };
    const w = fill(C * k * d);
    const x = fill(B * d);
    for (let j = 0; j < d; j++) {
      x[j] = 2 * w[2 * k * d + j];
      x[d + j] = -3 * w[1 * k * d + j];
      x[2 * d + j] = 0;
      x[3 * d + j] *= 1e6;
    }
    return { x: { data: x, shape: [B, d] }, w: { data: w, shape: [C * k, d] } };
  }
  const labels = [2, 1, 0, 3, 5, 4, 2];
  const cases: [string, Record<string, unknown>][] = [
    ['arcface', {}],
    ['arcface easyMargin sum', { easyMargin: true, reduction: 'sum' }],
    ['arcface m 1.2 (large margin, fallback)', { m: 1.2 }],
    ['arcface smoothing', { smoothingEpsilon: 0.1 }],
    ['arcface smoothing in categories', { smoothingEpsilon: 0.3, label2category: [0, 1, 0, 1, 2, 2] }],
    ['arcface smoothing others', { smoothingEpsilon: 0.2, smoothingSpread: 'others' }],
    ['arcface none', { reduction: 'none' }],
    ['cosface', { kind: 'cosface' }],
    ['subcenter k 3', { subCenters: 3 }],
    ['subcenter k 2 cosface smoothing', { kind: 'cosface', subCenters: 2, smoothingEpsilon: 0.2 }],
    ['normsoftmax', { kind: 'normsoftmax', temperature: 0.1 }],
  ];
  for (const [dtype, Typed, abs, rel] of [
    ['float64', Float64Array, 1e-9, 1e-9],
    ['float32', Float32Array, 1e-4, 1e-3],
  ] as const) {
    test.each(cases)(`${dtype}: %s`, (_n, options) => {
      const { x, w } = inputs(Typed, (options.subCenters as number) ?? 1);
      const fused = F.marginSoftmaxLoss(x, labels, w, options);
      const ref = reference(x, labels, w, options);
      expect(Object.prototype.toString.call(fused.grad!.input)).toBe(`[object ${Typed.name}]`);
      expectClose([fused.loss], [ref.loss], abs, rel, 'loss');
      if (options.reduction === 'none') expectClose(fused.losses!, ref.losses, abs, rel, 'losses');
      // gradients of the zero row are 1e12-scaled (F.normalize's g / eps): relative tolerance
      expectClose(fused.grad!.input, ref.grad.input, abs, rel, 'input');
      expectClose(fused.grad!.weight, ref.grad.weight, abs, rel, 'weight');
      expect([fused.loss, ...fused.grad!.input, ...fused.grad!.weight].every(Number.isFinite)).toBe(true);
    });
  }

  test('async form gives the same numbers', async () => {
    const { x, w } = inputs(Float64Array, 1);
    const a = await F.marginSoftmaxLossAsync(x, labels, w, { smoothingEpsilon: 0.1 });
    const b = F.marginSoftmaxLoss(x, labels, w, { smoothingEpsilon: 0.1 });
    expect(a.loss).toBe(b.loss);
    expectClose(a.grad!.weight, b.grad!.weight, 0, 0);
  });
});

interface MarginCase {
  module: 'ArcFaceLoss' | 'CosFaceLoss' | 'SubCenterArcFaceLoss' | 'NormalizedSoftmaxLoss' | 'ArcFaceLossWithMLP';
  name: string;
  options: Record<string, unknown>;
  init: Record<string, { data: number[]; shape: number[] }>;
  inputShape: number[];
  batches: { input: number[]; labels: number[] }[];
  loss: number;
  gradInput: number[];
  gradParams: Record<string, number[]>;
  logits: number[];
  final: Record<string, number[]>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const make = (c: MarginCase, extra: Record<string, unknown> = {}): any =>
  new (nn[c.module] as new (o: unknown) => unknown)({ ...c.options, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 }, ...extra });
const host = (p: { data: number[]; shape: number[] }) => f32(p.data, p.shape);

describe(`modules match the plain-torch references (${fixtures.source})`, () => {
  test.each((data.marginSoftmax as MarginCase[]).map((c) => [`${c.module}: ${c.name}`, c] as const))('%s', (_n, c) => {
    const m = make(c);
    m.setParameters(Object.fromEntries(Object.entries(c.init).map(([k, v]) => [k, host(v)])));
    const first = c.batches[0];
    const r = m.forward(f32(first.input, c.inputShape), first.labels);
    expectClose([r.loss], [c.loss], 1e-5, 1e-4, 'loss');
    expectClose(r.grad.input, c.gradInput, 1e-5, 1e-4, 'input');
    const grads = m.gradients();
    expect(Object.keys(grads).sort()).toEqual(Object.keys(c.gradParams).sort());
    for (const [name, g] of Object.entries(c.gradParams)) expectClose(grads[name].data, g, 1e-5, 1e-4, name);
    expectClose(m.getLogits(f32(first.input, c.inputShape)).data, c.logits, 1e-5, 1e-4, 'logits');
    // 10 optimiser steps, a new batch each
    m.step();
    for (const b of c.batches.slice(1)) {
      m.zeroGrad();
      m.forward(f32(b.input, c.inputShape), b.labels);
      m.step();
    }
    const params = m.parameters();
    for (const [name, p] of Object.entries(c.final)) expectClose(params[name].data, p, 1e-5, 1e-4, `final ${name}`);
    m.dispose();
  });
});

describe('F.labelSmoothing (OML label_smoothing; fast-reid spread)', () => {
  test.each((data.labelSmoothing as { labels: number[]; numClasses: number; epsilon: number; categories: number[] | null; spread: 'all' | 'others'; targets: number[] }[])
    .map((c) => [`eps ${c.epsilon}, categories ${c.categories ? 'yes' : 'no'}, ${c.spread}`, c] as const))('%s', (_n, c) => {
    const q = F.labelSmoothing(c.labels, c.numClasses, c.epsilon, c.categories ?? undefined, { smoothingSpread: c.spread });
    expect(q.shape).toEqual([c.labels.length, c.numClasses]);
    expectClose(q.data, c.targets, 1e-7, 0);
  });

  test('defaults: epsilon 0.2 over all classes, rows sum to 1', () => {
    const q = F.labelSmoothing([1], 4);
    expectClose(q.data, [0.05, 0.85, 0.05, 0.05], 1e-7, 0);
  });

  test('a category of one class keeps the one-hot with spread "others"', () => {
    const q = F.labelSmoothing([2], 3, 0.3, [0, 0, 1], { smoothingSpread: 'others' });
    expectClose(q.data, [0, 0, 1], 0, 0);
  });
});

test('the module reuses its buffers across batch sizes: each call equals the functional form', () => {
  const m = new nn.SubCenterArcFaceLoss({ numClasses: 5, inFeatures: 3, subCenters: 2 });
  const weight = m.parameters().weight;
  const next = random(9);
  for (const b of [4, 2, 4, 7]) {
    const x = f32(Array.from({ length: b * 3 }, () => next()), [b, 3]);
    const y = Array.from({ length: b }, (_, i) => (i * 3) % 5);
    m.zeroGrad();
    const r = m.forward(x, y);
    const f = F.marginSoftmaxLoss(x, y, weight, { subCenters: 2 });
    expect(r.loss).toBeCloseTo(f.loss, 5);
    expectClose(r.grad!.input, f.grad!.input, 1e-6, 1e-5, 'input');
    expectClose(m.gradients().weight.data, f.grad!.weight, 1e-6, 1e-5, 'weight');
  }
});

test('the workspace is reported to V8 after each forward (sync and async) and freed by dispose()', async () => {
  const m = new nn.ArcFaceLoss({ inFeatures: 4, numClasses: 100 });
  const params = m.externalMemory; // weight and its gradient: 2 * 100 * 4 floats
  expect(params).toBe(3200);
  const x = (b: number) => f32(new Array(b * 4).fill(1), [b, 4]);
  m.forward(x(10), new Array(10).fill(3));
  expect(m.externalMemory).toBe(params + 4 * (10 * 100 + 2 * 100 * 4)); // logits, unit weights, weight gradient
  await m.forwardAsync(x(20), new Array(20).fill(3));
  expect(m.externalMemory).toBe(params + 4 * (20 * 100 + 2 * 100 * 4));
  m.dispose();
  expect(m.externalMemory).toBe(0);
});

describe('forwardAsync', () => {
  const c = (data.marginSoftmax as MarginCase[])[0];
  const batch = (i: number) => [f32(c.batches[i].input, c.inputShape), c.batches[i].labels] as const;

  test('runs in call order with the sync calls: async forwards then a sync step equal the sync sequence', async () => {
    const sync = make(c);
    const asy = make(c);
    for (const m of [sync, asy]) m.setParameters(Object.fromEntries(Object.entries(c.init).map(([k, v]) => [k, host(v)])));
    const expected = [sync.forward(...batch(0)).loss, sync.forward(...batch(1)).loss];
    sync.step();
    const pending = [asy.forwardAsync(...batch(0)), asy.forwardAsync(...batch(1))];
    asy.step(); // waits for both forwards: their gradients are in this step
    const results = await Promise.all(pending);
    expect(results.map((r: { loss: number }) => r.loss)).toEqual(expected);
    expect(asy.parameters().weight.data).toEqual(sync.parameters().weight.data);
  });

  test('the caller may overwrite its input right after the call', async () => {
    const m = make(c);
    const [x, y] = batch(0);
    const expected = m.forward(x, y, { grad: false }).loss;
    const p = m.forwardAsync(x, y, { grad: false });
    x.data.fill(0);
    expect((await p).loss).toBe(expected);
  });

  test('dispose() waits for a forward in flight; later calls reject with a TypeError', async () => {
    const m = new nn.CenterLoss({ numClasses: 10, featDim: 4 });
    const p = m.forwardAsync(f32([1, 2, 3, 4], [1, 4]), [3]);
    m.dispose();
    expect(Number.isFinite((await p).loss)).toBe(true);
    await expect(m.forwardAsync(f32([1, 2, 3, 4], [1, 4]), [3])).rejects.toMatchObject({ name: 'TypeError', message: expect.stringMatching(/disposed/) });
  });

  test('bad arguments reject instead of throwing', async () => {
    const m = new nn.CosFaceLoss({ numClasses: 3, inFeatures: 2 });
    await expect(m.forwardAsync(f32([1, 2], [1, 2]), [3])).rejects.toMatchObject({ name: 'RangeError', message: expect.stringMatching(/`labels\[0\]` is 3/) });
  });
});

describe('NaN or Inf in the input is a RangeError naming the row, unless allowNonFinite', () => {
  const x = f32([1, 2, NaN, 4], [2, 2]);
  test.each([
    ['ArcFaceLoss', () => new nn.ArcFaceLoss({ numClasses: 3, inFeatures: 2 })],
    ['CenterLoss', () => new nn.CenterLoss({ numClasses: 3, featDim: 2 })],
    ['OIMLoss', () => new nn.OIMLoss({ numClasses: 3, featDim: 2 })],
  ] as [string, () => { forward: (...a: unknown[]) => { loss: number }; gradients: () => Record<string, { data: Float32Array }> }][])('%s', (_n, make) => {
    const m = make();
    expectError(() => m.forward(x, [0, 1]), 'RangeError', /`input` contains NaN or Inf \(row 1\); pass `allowNonFinite: true`/);
    for (const g of Object.values(m.gradients())) expect(g.data.every((v) => v === 0)).toBe(true); // nothing accumulated
    expect(Number.isNaN(m.forward(x, [0, 1], { allowNonFinite: true }).loss)).toBe(true);
  });
});

describe('module options and typed errors', () => {
  test('defaults', () => {
    expect(new nn.CosFaceLoss({ numClasses: 2, inFeatures: 2 }).options).toMatchObject({ reduction: 'mean' });
    expect(new nn.SubCenterArcFaceLoss({ numClasses: 4, inFeatures: 3 }).parameters().weight.shape).toEqual([12, 3]);
    expect(Object.keys(new nn.ArcFaceLossWithMLP({ numClasses: 4, inFeatures: 3, mlpFeatures: [6, 2] }).parameters())).toEqual([
      'mlp.0.weight', 'mlp.0.bias', 'mlp.1.weight', 'mlp.1.bias', 'weight',
    ]);
  });

  test.each([
    ['smoothingEpsilon 1', () => new nn.ArcFaceLoss({ numClasses: 2, inFeatures: 2, smoothingEpsilon: 1 }), 'RangeError', /`smoothingEpsilon` must be in \[0, 1\)/],
    ['label2category length', () => new nn.ArcFaceLoss({ numClasses: 3, inFeatures: 2, label2category: [0, 1] }), 'RangeError', /`label2category` must hold one category per class \(3 entries\), got 2/],
    ['label2category type', () => new nn.ArcFaceLoss({ numClasses: 2, inFeatures: 2, label2category: 'a' as never }), 'TypeError', /`label2category` must be an Int32Array or an array of integers/],
    ['smoothingSpread', () => new nn.CosFaceLoss({ numClasses: 2, inFeatures: 2, smoothingSpread: 'none' as never }), 'RangeError', /`smoothingSpread` must be 'all', 'others'; got 'none'/],
    ['cosface m < 0', () => new nn.CosFaceLoss({ numClasses: 2, inFeatures: 2, m: -1 }), 'RangeError', /`m` must be >= 0, got -1/],
    ['subCenters 0', () => new nn.SubCenterArcFaceLoss({ numClasses: 2, inFeatures: 2, subCenters: 0 }), 'RangeError', /`subCenters` must be a positive integer, got 0/],
    ['temperature 0', () => new nn.NormalizedSoftmaxLoss({ numClasses: 2, inFeatures: 2, temperature: 0 }), 'RangeError', /`temperature` must be > 0/],
    ['mlpFeatures missing', () => new nn.ArcFaceLossWithMLP({ numClasses: 2, inFeatures: 2 } as never), 'TypeError', /`mlpFeatures` must be a non-empty array/],
    ['mlpFeatures entry', () => new nn.ArcFaceLossWithMLP({ numClasses: 2, inFeatures: 2, mlpFeatures: [3, 0] }), 'RangeError', /`mlpFeatures\[1\]` must be a positive integer, got 0/],
    ['unknown option', () => new nn.NormalizedSoftmaxLoss({ numClasses: 2, inFeatures: 2, m: 0.1 } as never), 'RangeError', /NormalizedSoftmaxLoss: unknown option 'm'/],
    ['F: weight rows vs subCenters', () => F.marginSoftmaxLoss(f32([1, 2], [1, 2]), [0], f32([1, 2, 3, 4, 5, 6], [3, 2]), { subCenters: 2 }), 'RangeError', /`weight` has 3 rows: not a multiple of `subCenters` = 2/],
    ['F: label out of range', () => F.marginSoftmaxLoss(f32([1, 2], [1, 2]), [2], f32([1, 2, 3, 4], [2, 2])), 'RangeError', /`labels` must be class indices in \[0, 2\)/],
    ['F: kind', () => F.marginSoftmaxLoss(f32([1, 2], [1, 2]), [0], f32([1, 2], [1, 2]), { kind: 'sphereface' as never }), 'RangeError', /`kind` must be 'arcface', 'cosface', 'normsoftmax'; got 'sphereface'/],
    ['labelSmoothing epsilon', () => F.labelSmoothing([0], 2, 1), 'RangeError', /`epsilon` must be in \[0, 1\), got 1/],
    ['labelSmoothing label', () => F.labelSmoothing([2], 2), 'RangeError', /`y` must be class indices in \[0, 2\)/],
    ['labelSmoothing categories', () => F.labelSmoothing([0], 2, 0.1, [0]), 'RangeError', /`categories` must hold one category per class \(2 entries\), got 1/],
  ] as [string, () => unknown, string, RegExp][])('%s', (_n, fn, name, message) => expectError(fn, name, message));
});

const python = findPython('/usr/bin/python3');
(python ? test : test.skip)('ArcFaceLossWithMLP checkpoints: Python reads every parameter; a dict Python wrote loads', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-losses-mlp-'));
  try {
    const m = new nn.ArcFaceLossWithMLP({ numClasses: 4, inFeatures: 3, mlpFeatures: [5, 2] });
    const file = path.join(dir, 'mlp.pt');
    m.save(file);
    const code = [
      'import sys, torch',
      'd = torch.load(sys.argv[1])',
      'print(sorted((k, list(v.shape)) for k, v in d.items()))',
      'torch.save({k: v * 2 for k, v in d.items()}, sys.argv[2])',
    ].join('\n');
    const doubled = path.join(dir, 'doubled.pt');
    const out = execFileSync(python!.python, ['-c', code, file, doubled], { encoding: 'utf8' });
    expect(out.trim()).toBe("[('mlp.0.bias', [5]), ('mlp.0.weight', [5, 3]), ('mlp.1.bias', [2]), ('mlp.1.weight', [2, 5]), ('weight', [4, 2])]");
    const before = m.parameters();
    m.load(doubled);
    for (const [name, p] of Object.entries(m.parameters())) expectClose(p.data, before[name].data.map((v) => 2 * v), 1e-7, 0, name);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
