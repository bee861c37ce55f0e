/**
 * Gradients against central finite differences in float64 (the addon computes in double when
 * given Float64Array), and the closed-form backward passes against libtorch autograd.
 */
import { F } from '../lib';
import { loadBinding } from '../lib/native';
import type { LossResult, TensorInput } from '../lib/types';
import { mulberry32 } from './helpers/fuzz-tools';


function randn(rand: () => number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  return out;
}

type Loss = (inputs: { data: Float64Array; shape: number[] }[]) => LossResult<string>;

/** Checks every input's analytic gradient against (f(x+h) - f(x-h)) / 2h, entry by entry. */
function checkAgainstFiniteDifferences(loss: Loss, inputs: { data: Float64Array; shape: number[] }[], names: string[]) {
  const analytic = loss(inputs).grad!;
  const h = 1e-6;
  inputs.forEach((input, k) => {
    for (let i = 0; i < input.data.length; i++) {
      const saved = input.data[i];
      input.data[i] = saved + h;
      const plus = loss(inputs).loss;
      input.data[i] = saved - h;
      const minus = loss(inputs).loss;
      input.data[i] = saved;
      const numeric = (plus - minus) / (2 * h);
      expect(Math.abs(analytic[names[k]][i] - numeric)).toBeLessThan(1e-6 + 1e-5 * Math.abs(numeric));
    }
  });
}

const rand = mulberry32(42);
const tensor = (shape: number[]) => ({ data: randn(rand, shape.reduce((a, b) => a * b, 1)), shape });

describe('tripletMarginLoss gradients match finite differences (float64)', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['p=2', { p: 2 }],
    ['p=1', { p: 1, margin: 2 }],
    ['p=3 swap', { p: 3, swap: true, margin: 2 }],
    ['p=inf', { p: Infinity, margin: 2 }],
    ['p=2 sum swap', { p: 2, swap: true, reduction: 'sum', margin: 1.5 }],
    ['p=2 none', { p: 2, reduction: 'none', margin: 1.5 }],
  ];
  test.each(cases)('%s', (_name, options) => {
    const inputs = [tensor([6, 4]), tensor([6, 4]), tensor([6, 4])];
    const names = ['anchor', 'positive', 'negative'];
    const result = F.tripletMarginLoss(inputs[0], inputs[1], inputs[2], options);
    expect(Object.prototype.toString.call(result.grad!.anchor)).toBe('[object Float64Array]');
    checkAgainstFiniteDifferences((x) => F.tripletMarginLoss(x[0], x[1], x[2], options), inputs, names);
  });
});

describe('marginRankingLoss gradients match finite differences (float64)', () => {
  test.each([
    ['mean', { margin: 0.5 }],
    ['sum', { margin: 0.1, reduction: 'sum' }],
    ['none', { margin: 1, reduction: 'none' }],
  ] as [string, Record<string, unknown>][])('%s', (_name, options) => {
    const target = Float64Array.from({ length: 10 }, () => (rand() < 0.5 ? -1 : 1));
    const inputs = [tensor([10]), tensor([10]), { data: target, shape: [10] }];
    checkAgainstFiniteDifferences((x) => F.marginRankingLoss(x[0], x[1], x[2], options), inputs, ['input1', 'input2', 'target']);
  });
});

describe('closed-form backward equals libtorch autograd on the composed loss', () => {
  const binding = loadBinding();
  const close = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(b[i]));
  };
  const compareResults = (fast: LossResult<string>, ref: LossResult<string>) => {
    close([fast.loss], [ref.loss]);
    for (const name of Object.keys(ref.grad!)) close(fast.grad![name], ref.grad![name]);
  };
  const f32 = (shape: number[]): TensorInput => ({ data: Float32Array.from(randn(rand, shape.reduce((a, b) => a * b, 1))), shape });

  test.each([2, 1, 3, 0.7, Infinity])('triplet p=%s, with and without swap, every reduction', (p) => {
    for (const swap of [false, true]) {
      for (const reduction of ['mean', 'sum', 'none']) {
        const x = [f32([64, 16]), f32([64, 16]), f32([64, 16])];
        const options = { p, swap, reduction, margin: 3 };
        compareResults(binding.tripletMarginLoss(...x, options), binding.reference.tripletMarginLoss(...x, options));
      }
    }
  });

  test('margin ranking, every reduction', () => {
    for (const reduction of ['mean', 'sum', 'none']) {
      const y = Float32Array.from({ length: 100 }, () => (rand() < 0.5 ? -1 : 1));
      const x = [f32([100]), f32([100]), y];
      compareResults(binding.marginRankingLoss(...x, { margin: 0.3, reduction }), binding.reference.marginRankingLoss(...x, { margin: 0.3, reduction }));
    }
  });

  test('identical anchor and positive (zero distance) give finite gradients', () => {
    const a = { data: new Float32Array(12).fill(0.5), shape: [3, 4] };
    const n = { data: new Float32Array(12).fill(2), shape: [3, 4] };
    for (const eps of [0, 1e-6]) {
      const r = F.tripletMarginLoss(a, a, n, { eps, margin: 10 });
      for (const g of Object.values(r.grad!)) expect(g.every(Number.isFinite)).toBe(true);
    }
  });
});
