/**
 * nn.CenterLoss against plain-torch references (test/parity/modules.py: KaiyangZhou's center loss /
 * the source document's formula, and the paper's 1/2 sum of squares and update rule), its seeded
 * initialisation against torch.randn, and its typed errors.
 */
import { manualSeed, nn, tensor } from '../lib';
import { moduleFixtures } from './module-fixtures';
import { expectError, f32, expectClose as expectCloseWithin } from './helpers/assertions';

const TOL = { abs: 1e-5, rel: 1e-4 };

// This file's default tolerance.
const expectClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, abs = TOL.abs, rel = TOL.rel) =>
  expectCloseWithin(actual, expected, abs, rel);


interface CenterCase {
  name: string;
  options: { numClasses: number; featDim: number; formula: 'mean' | 'paper'; lossWeight: number };
  centers: number[];
  input: number[];
  inputShape: number[];
  labels: number[];
  loss: number;
  gradInput: number[];
  gradCenters: number[];
  centersAfterSgd: number[];
  alpha: number;
  centersAfterPaperUpdate: number[];
}

const fixtures = moduleFixtures();
const cases = fixtures.data.centerLoss as CenterCase[];

describe(`CenterLoss matches the plain-torch references (${fixtures.source})`, () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s: loss, input gradient, centre gradient, SGD step', (_n, c) => {
    const m = new nn.CenterLoss(c.options);
    const shape = [c.options.numClasses, c.options.featDim];
    m.setParameters({ centers: f32(c.centers, shape) });
    const r = m.forward(f32(c.input, c.inputShape), Int32Array.from(c.labels));
    expectClose([r.loss], [c.loss]);
    expectClose(r.grad!.input, c.gradInput);
    expectClose(m.gradients().centers.data, c.gradCenters);
    m.step(); // default optimiser: SGD, lr 0.5
    expectClose(m.parameters().centers.data, c.centersAfterSgd);
    m.dispose();
  });

  test.each(cases.map((c) => [c.name, c] as const))("%s: the paper's update rule", (_n, c) => {
    const m = new nn.CenterLoss({ ...c.options, update: 'paper', alpha: c.alpha });
    m.setParameters({ centers: f32(c.centers, [c.options.numClasses, c.options.featDim]) });
    const r = m.forward(f32(c.input, c.inputShape), c.labels);
    expectClose([r.loss], [c.loss]);
    m.step();
    expectClose(m.parameters().centers.data, c.centersAfterPaperUpdate);
    // the accumulated numerators are cleared by zeroGrad(): a second step changes nothing
    m.zeroGrad();
    const before = m.parameters().centers.data;
    m.step();
    expect(Array.from(m.parameters().centers.data)).toEqual(Array.from(before));
  });
});

test.each((fixtures.data.randn as { seed: number; shape: number[]; data: number[] }[]).map((r) => [r.seed, r] as const))(
  'centres after manualSeed(%d) are torch.randn(numClasses, featDim)',
  (_seed, r) => {
    manualSeed(r.seed);
    const m = new nn.CenterLoss({ numClasses: r.shape[0], featDim: r.shape[1] });
    expect(m.parameters().centers.shape).toEqual(r.shape);
    expectClose(m.parameters().centers.data, r.data, 1e-7, 0);
  },
);

describe('behaviour', () => {
  const x = f32([1, 2, 3, 4, 5, 6], [2, 3]);

  test('gradients of the centres accumulate over forward() until zeroGrad()', () => {
    const m = new nn.CenterLoss({ numClasses: 4, featDim: 3 });
    m.forward(x, [0, 3]);
    const once = m.gradients().centers.data;
    m.forward(x, [0, 3]);
    expectClose(m.gradients().centers.data, Array.from(once, (v) => 2 * v), 1e-6, 0);
    expect(Array.from(once.slice(3, 9))).toEqual([0, 0, 0, 0, 0, 0]); // classes 1 and 2 untouched
    m.zeroGrad();
    expect(m.gradients().centers.data.every((v) => v === 0)).toBe(true);
  });

  test('{ grad: false } gives the loss only and accumulates nothing', () => {
    const m = new nn.CenterLoss({ numClasses: 4, featDim: 3, formula: 'paper' });
    const r = m.forward(x, [1, 1], { grad: false });
    expect(r.grad).toBeUndefined();
    expect(r.loss).toBeGreaterThan(0);
    expect(m.gradients().centers.data.every((v) => v === 0)).toBe(true);
  });

  test('a Tensor input gives a Tensor gradient; Float64 input a Float64Array gradient', () => {
    const m = new nn.CenterLoss({ numClasses: 4, featDim: 3 });
    const host = m.forward(x, [0, 2], { grad: true });
    const t = tensor(x.data, x.shape);
    const dev = m.forward(t, [0, 2]);
    expect(Array.from(dev.grad!.input.toFloat32Array())).toEqual(Array.from(host.grad!.input));
    const d = m.forward({ data: Float64Array.from(x.data), shape: x.shape }, [0, 2]);
    expect(d.grad!.input.constructor.name).toBe('Float64Array'); // another realm's class under jest
    expectClose(d.grad!.input, host.grad!.input, 1e-6, 0);
  });

  test('a large numClasses costs nothing per call beyond the centres themselves', () => {
    const m = new nn.CenterLoss({ numClasses: 200_000, featDim: 4 });
    const r = m.forward(f32([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]), [199_999, 0]);
    expect(Number.isFinite(r.loss)).toBe(true);
    m.dispose();
  });

  test('identical input and centre: finite loss (clamped to 1e-12) and zero gradients', () => {
    const m = new nn.CenterLoss({ numClasses: 2, featDim: 2 });
    m.setParameters({ centers: f32([1, 2, 3, 4], [2, 2]) });
    const r = m.forward(f32([1, 2], [1, 2]), [0]);
    expect(r.loss).toBeCloseTo(1e-12, 15);
    expect(Array.from(r.grad!.input)).toEqual([0, 0]);
  });
});

describe('typed errors', () => {
  const m = new nn.CenterLoss({ numClasses: 3, featDim: 2 });
  const x = f32([1, 2, 3, 4], [2, 2]);
  test.each([
    ['label out of range', () => m.forward(x, [0, 3]), 'RangeError', /`labels\[1\]` is 3; expected class indices in \[0, 3\)/],
    ['negative label', () => m.forward(x, BigInt64Array.from([-1n, 0n])), 'RangeError', /`labels\[0\]` is -1/],
    ['featDim mismatch', () => m.forward(f32([1, 2, 3], [1, 3]), [0]), 'RangeError', /`input` must have shape \[batch, featDim = 2\], got \[1, 3\]/],
    ['1-D input', () => m.forward(f32([1, 2], [2]), [0]), 'RangeError', /`input` must have shape \[batch, featDim = 2\], got \[2\]/],
    ['labels count', () => m.forward(x, [0]), 'RangeError', /`labels` must hold 2 class indices \(one per row of `input`\), got 1/],
    ['empty batch', () => m.forward(f32([], [0, 2]), []), 'RangeError', /`input` is empty/],
    ['float labels', () => m.forward(x, Float32Array.from([0, 1]) as never), 'TypeError', /`labels` must be/],
    ['non-integer label', () => m.forward(x, [0, 0.5]), 'TypeError', /`labels\[1\]` must be an integer label/],
    ['input not a tensor', () => m.forward([1, 2] as never, [0]), 'TypeError', /`input`/],
    ['unknown forward option', () => m.forward(x, [0, 1], { reduction: 'sum' } as never), 'RangeError', /CenterLoss.forward: unknown option 'reduction'/],
    ['missing options', () => new nn.CenterLoss(undefined as never), 'TypeError', /`options` with numClasses and featDim is required/],
    ['numClasses 0', () => new nn.CenterLoss({ numClasses: 0, featDim: 2 }), 'RangeError', /`numClasses` must be a positive integer, got 0/],
    ['featDim not an integer', () => new nn.CenterLoss({ numClasses: 2, featDim: 1.5 }), 'RangeError', /`featDim` must be an integer, got 1.5/],
    ['featDim missing', () => new nn.CenterLoss({ numClasses: 2 } as never), 'TypeError', /`featDim` must be an integer, got undefined/],
    ['bad formula', () => new nn.CenterLoss({ numClasses: 2, featDim: 2, formula: 'sum' as 'mean' }), 'RangeError', /`formula` must be 'mean', 'paper'; got 'sum'/],
    ['bad update', () => new nn.CenterLoss({ numClasses: 2, featDim: 2, update: 'ema' as 'paper' }), 'RangeError', /`update` must be 'optimizer', 'paper'; got 'ema'/],
    ['alpha > 1', () => new nn.CenterLoss({ numClasses: 2, featDim: 2, alpha: 2 }), 'RangeError', /`alpha` must be in \[0, 1\], got 2/],
    ['lossWeight 0', () => new nn.CenterLoss({ numClasses: 2, featDim: 2, lossWeight: 0 }), 'RangeError', /`lossWeight` must be > 0, got 0/],
    ['unknown option', () => new nn.CenterLoss({ numClasses: 2, featDim: 2, lr: 0.5 } as never), 'RangeError', /CenterLoss: unknown option 'lr'/],
    ['bad optimiser', () => new nn.CenterLoss({ numClasses: 2, featDim: 2, optimizer: { type: 'adam', lr: -2 } }), 'RangeError', /`optimizer.lr` must be >= 0, got -2/],
    ['raw binding: bad formula', () => new (require('../lib/native').loadBinding().ParamModule)({ kind: 'center', numClasses: 2, featDim: 2, formula: 'x' }), 'RangeError', /`formula` must be 'mean' or 'paper', got 'x'/],
    ['raw binding: forward of a ParameterDict', () => (new nn.ParameterDict({ w: f32([1], [1]) }, { optimizer: { type: 'adam' } }) as unknown as { native: { centerForward: (...a: unknown[]) => unknown } }).native.centerForward(x, [0, 1]), 'TypeError', /forward: this module is not a loss/],
  ] as [string, () => unknown, string, RegExp][])('%s', (_n, fn, name, message) => expectError(fn, name, message));

  test('an error leaves the accumulated gradients untouched', () => {
    expect(m.gradients().centers.data.every((v) => v === 0)).toBe(true);
  });

  test('options are kept, frozen, with their defaults', () => {
    const c = new nn.CenterLoss({ numClasses: 751, featDim: 8, optimizer: { type: 'sgd', lr: 0.5, momentum: 0.9 } });
    expect(c.options).toEqual({ numClasses: 751, featDim: 8, device: undefined, formula: 'mean', update: 'optimizer', alpha: 0.5, lossWeight: 1 });
    expect(Object.isFrozen(c.options)).toBe(true);
    expect(c.learningRate).toBe(0.5);
  });
});

describe('zeroGrad() clears only the rows the batches touched, and still clears everything', () => {
  const x = f32([1, 2, 3, 4, 5, 6], [3, 2]);
  const zero = (m: nn.CenterLoss) => m.gradients().centers.data.every((v) => v === 0);
  test.each([
    ['one batch', (m: nn.CenterLoss) => m.forward(x, [0, 5, 5])],
    ['many batches (past numClasses rows: a full clear)', (m: nn.CenterLoss) => {
      for (let i = 0; i < 5; i++) m.forward(x, [i, i + 1, 9]);
    }],
    ['setGradients, then a batch', (m: nn.CenterLoss) => {
      m.setGradients({ centers: f32(Array.from({ length: 20 }, (_, i) => i + 1), [10, 2]) });
      m.forward(x, [1, 1, 1]);
    }],
  ] as [string, (m: nn.CenterLoss) => void][])('%s', (_n, fill) => {
    const m = new nn.CenterLoss({ numClasses: 10, featDim: 2 });
    fill(m);
    expect(zero(m)).toBe(false);
    m.zeroGrad();
    expect(zero(m)).toBe(true);
  });

  test('forwards add their rows lazily: gradients(), setGradients(), zeroGrad() and step() see exactly the right sum', () => {
    const a = new nn.CenterLoss({ numClasses: 10, featDim: 2, optimizer: { type: 'sgd', lr: 0.1 } });
    const b = new nn.CenterLoss({ numClasses: 10, featDim: 2, optimizer: { type: 'sgd', lr: 0.1 } });
    b.setParameters(a.parameters());
    const y = f32([0.5, -1, 2, 0], [2, 2]);
    a.forward(x, [1, 2, 1]);
    a.zeroGrad(); // drops x's rows
    a.forward(y, [3, 3]);
    a.forward(x, [1, 9, 9]);
    b.forward(y, [3, 3]);
    b.forward(x, [1, 9, 9]);
    expect(a.gradients()).toEqual(b.gradients());
    a.step();
    b.step();
    expect(a.parameters()).toEqual(b.parameters());
    a.forward(x, [4, 4, 4]);
    a.setGradients({ centers: f32(new Array(20).fill(1), [10, 2]) }); // replaces the pending rows too
    expect(Array.from(a.gradients().centers.data)).toEqual(new Array(20).fill(1));
  });

  test("the paper update's sums are cleared with them", () => {
    const m = new nn.CenterLoss({ numClasses: 10, featDim: 2, update: 'paper' });
    const before = m.parameters().centers.data;
    m.forward(x, [0, 5, 5]);
    m.zeroGrad();
    m.step(); // nothing accumulated: the centres stay
    expect(m.parameters().centers.data).toEqual(before);
  });
});
