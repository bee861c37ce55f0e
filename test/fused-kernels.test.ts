/**
 * The fused CPU kernels (native/ops/cpu/pointwise_kernels.cpp, class_index_kernels.cpp) against
 * the ATen + autograd path they replace, on the values where conventions matter: kinks (x = y,
 * |x - y| = beta or delta, margin - x = 0), zeros of logs, NaN, overflowing exponentials, ignored
 * rows, weights and label smoothing. The binding option `_referenceKernels: true` forces the
 * autograd path for one call.
 */
import { loadBinding } from '../lib/native';

type Options = Record<string, unknown>;
interface Case {
  loss: string;
  xs: number[];
  ys: number[];
  options: Options[];
}

const NaN_ = Number.NaN;
const wide = [-1000, -3, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 2.5, 60, NaN_];
const CASES: Case[] = [
  { loss: 'l1Loss', xs: wide, ys: [-1, 0, 0.5, 1, NaN_], options: [{}] },
  { loss: 'mseLoss', xs: wide, ys: [-1, 0, 0.5, 1], options: [{}] },
  { loss: 'smoothL1Loss', xs: wide, ys: [-1, 0, 0.5, 1], options: [{}, { beta: 0.5 }, { beta: 0 }, { beta: 2.5 }] },
  { loss: 'huberLoss', xs: wide, ys: [-1, 0, 0.5, 1], options: [{}, { delta: 0.5 }, { delta: 3 }] },
  { loss: 'poissonNllLoss', xs: wide.filter((x) => x < 80), ys: [0, 0.5, 1, 3], options: [{}, { eps: 1e-4 }] },
  { loss: 'poissonNllLoss', xs: [0, 1e-3, 0.5, 1, 2.5, 60], ys: [0, 0.5, 1, 3], options: [{ logInput: false }, { logInput: false, eps: 0.1 }] },
  { loss: 'klDivLoss', xs: [-60, -3, -1, -0.5, 0, 0.5, NaN_], ys: [0, 0.25, 1, 3, -0.5, NaN_], options: [{}, { reduction: 'batchmean' }] },
  { loss: 'klDivLoss', xs: [-60, -3, -1, 0, 0.5], ys: [-50, -2, -0.5, 0, 1], options: [{ logTarget: true }, { logTarget: true, reduction: 'batchmean' }] },
  { loss: 'bceLoss', xs: [0, 1e-30, 1e-3, 0.25, 0.5, 0.999, 1], ys: [0, 0.3, 1], options: [{}] },
  { loss: 'bceWithLogitsLoss', xs: wide.concat([1000, -60]), ys: [0, 0.3, 1], options: [{}] },
  { loss: 'softMarginLoss', xs: wide, ys: [-1, 1], options: [{}] },
  { loss: 'hingeEmbeddingLoss', xs: wide, ys: [-1, 1], options: [{}, { margin: 0.5 }, { margin: 0 }] },
];

/** Every (x, y) pair, as two (pairs / 4, 4) tensors of the given array type. */
function grid(xs: number[], ys: number[], Type: Float32ArrayConstructor | Float64ArrayConstructor) {
  const pairs = xs.flatMap((x) => ys.map((y) => [x, y]));
  while (pairs.length % 4) pairs.push(pairs[pairs.length % xs.length]);
  const shape = [pairs.length / 4, 4];
  return [
    { data: Type.from(pairs.map((p) => p[0])), shape },
    { data: Type.from(pairs.map((p) => p[1])), shape },
  ];
}

/** Equal as PyTorch's results are: same NaN positions, same infinities, else close. */
function expectSameValues(fused: ArrayLike<number>, reference: ArrayLike<number>, rel: number, what: string) {
  const mismatches: string[] = [];
  for (let i = 0; i < reference.length; i++) {
    const a = fused[i];
    const b = reference[i];
    const same = Number.isNaN(b) ? Number.isNaN(a) : !Number.isFinite(b) ? a === b : Math.abs(a - b) <= 1e-6 + rel * Math.abs(b);
    if (!same) mismatches.push(`[${i}] fused ${a} vs autograd ${b}`);
  }
  expect({ what, mismatches: mismatches.slice(0, 5) }).toEqual({ what, mismatches: [] });
}

const binding = loadBinding() as unknown as Record<string, (...args: unknown[]) => { loss: number; losses?: ArrayLike<number>; grad: Record<string, ArrayLike<number>> }>;

describe.each(CASES)('$loss: fused CPU kernel = autograd path', ({ loss, xs, ys, options }) => {
  const variants = options.flatMap((o) => {
    const reductions = o.reduction ? [o.reduction] : ['none', 'mean', 'sum'];
    return reductions.flatMap((reduction) => [
      [`${JSON.stringify(o)} ${reduction} float32`, { ...o, reduction }, Float32Array] as const,
      [`${JSON.stringify(o)} ${reduction} float64`, { ...o, reduction }, Float64Array] as const,
    ]);
  });
  test.each(variants)('%s', (_name, opts, Type) => {
    const [input, target] = grid(xs, ys, Type);
    const fused = binding[loss](input, target, opts);
    const reference = binding[loss](input, target, { ...opts, _referenceKernels: true });
    const rel = Type === Float32Array ? 2e-6 : 1e-12;
    expectSameValues([fused.loss], [reference.loss], rel, 'loss');
    if (reference.losses) expectSameValues(fused.losses!, reference.losses, rel, 'losses');
    expect(Object.keys(fused.grad).sort()).toEqual(Object.keys(reference.grad).sort());
    for (const name of Object.keys(reference.grad)) expectSameValues(fused.grad[name], reference.grad[name], rel, `grad.${name}`);
  });
});

test('a plain CPU call runs the fused kernel; `_referenceKernels` the autograd path (so the comparisons above are real)', () => {
  const calls = binding._fusedKernelCalls as unknown as () => number;
  const x = { data: Float32Array.from([0.1, 0.7, 0.3]), shape: [3] };
  const y = { data: Float32Array.from([0, 1, 0]), shape: [3] };
  const before = calls();
  binding.bceLoss(x, y, {});
  binding.hingeEmbeddingLoss(x, y, {});
  const scores = { data: Float32Array.from([0.1, 0.7, 0.3, 1, 2, 3]), shape: [2, 3] };
  binding.crossEntropyLoss(scores, Int32Array.from([2, 0]), {});
  binding.nllLoss(scores, Int32Array.from([2, 0]), {});
  binding.multiMarginLoss(scores, Int32Array.from([2, 0]), {});
  binding.cosineEmbeddingLoss(scores, scores, { data: Float32Array.from([1, -1]), shape: [2] }, {});
  binding.tripletMarginWithDistanceLoss(scores, scores, scores, { distance: 'manhattan' });
  binding.multiLabelMarginLoss(scores, Int32Array.from([2, -1, 0, 0, 1, -1]), {});
  binding.multiLabelSoftMarginLoss(scores, scores, {});
  expect(calls() - before).toBe(9);
  binding.bceLoss(x, y, { _referenceKernels: true });
  binding.mseLoss(x, y, { _referenceKernels: true });
  binding.crossEntropyLoss(scores, Int32Array.from([2, 0]), { _referenceKernels: true });
  binding.tripletMarginWithDistanceLoss(scores, scores, scores, { _referenceKernels: true });
  expect(calls() - before).toBe(9);
});

describe('class-index losses: fused CPU kernel = autograd path', () => {
  // Scores with ties, large values (exp overflow without the max shift) and margin kinks.
  const scores = [
    [0.5, -1.2, 3.0, 0.0, 2.2],
    [1000, -1000, 0.5, 0.5, 999],
    [0.1, 0.1, 0.1, 0.1, 0.1],
    [-3.5, 2.0, -0.7, 4.1, 1.0],
    [2.0, 1.0, 0.0, -1.0, 1.5], // with target 0, margin 1: x_1 sits exactly on the kink
    [-0.25, 0.75, 1.75, -1.5, 0.3],
  ];
  const labels = Int32Array.from([2, 4, 1, 3, 0, 2]);
  const weight = { data: Float32Array.from([0.5, 2, 1, 0.25, 3]), shape: [5] };
  const variants: [string, string, Options, Int32Array][] = [];
  for (const reduction of ['none', 'mean', 'sum']) {
    for (const [name, o] of [
      ['plain', {}], ['weight', { weight }], ['smoothing', { labelSmoothing: 0.1 }],
      ['weight+smoothing', { weight, labelSmoothing: 0.3 }], ['ignoreIndex 2', { ignoreIndex: 2 }],
      ['ignoreIndex 2 + weight + smoothing', { ignoreIndex: 2, weight, labelSmoothing: 0.2 }],
    ] as [string, Options][]) {
      variants.push(['crossEntropyLoss', `${name} ${reduction}`, { ...o, reduction }, labels]);
      if (!('labelSmoothing' in o)) variants.push(['nllLoss', `${name} ${reduction}`, { ...o, reduction }, labels]);
    }
    variants.push(['crossEntropyLoss', `every row ignored ${reduction}`, { reduction, labelSmoothing: 0.1 }, new Int32Array(6).fill(-100)]);
    variants.push(['nllLoss', `every row ignored ${reduction}`, { reduction }, new Int32Array(6).fill(-100)]);
    for (const [name, o] of [
      ['p=1', {}], ['p=2', { p: 2 }], ['margin 0.5 weight', { margin: 0.5, weight }], ['p=2 margin 2 weight', { p: 2, margin: 2, weight }],
    ] as [string, Options][]) {
      variants.push(['multiMarginLoss', `${name} ${reduction}`, { ...o, reduction }, labels.map((l, i) => (i === 4 ? 0 : l))]);
    }
  }
  // Multi-label targets: class lists ended by -1 (a repeated class counts twice, as in PyTorch),
  // and soft 0..1 targets.
  const classLists = Int32Array.from([2, 0, -1, 0, 0, 4, -1, 1, 1, 1, 1, 2, 3, 4, 0, -1, 0, 0, 0, 0, 0, -1, 0, 0, 0, 1, 3, 3, -1, 4]);
  const soft = { data: Float32Array.from(scores.flat().map((_, i) => (i % 3 === 0 ? 1 : i % 3 === 1 ? 0 : 0.3))), shape: [6, 5] };
  const multiLabel: [string, string, Options, Int32Array | typeof soft][] = [];
  for (const reduction of ['none', 'mean', 'sum']) {
    multiLabel.push(['multiLabelMarginLoss', reduction, { reduction }, classLists]);
    multiLabel.push(['multiLabelSoftMarginLoss', reduction, { reduction }, soft]);
    multiLabel.push(['multiLabelSoftMarginLoss', `weight ${reduction}`, { reduction, weight }, soft]);
  }
  test.each([...variants, ...multiLabel])('%s %s', (loss, _name, opts, targetArg) => {
    for (const Type of [Float32Array, Float64Array]) {
      const input = { data: Type.from(scores.flat()), shape: [6, 5] };
      const target = 'data' in targetArg ? { data: Type.from(targetArg.data), shape: targetArg.shape } : targetArg;
      const options = opts.weight ? { ...opts, weight: { data: Type.from(weight.data), shape: [5] } } : opts;
      const fused = binding[loss](input, target, options);
      const reference = binding[loss](input, target, { ...options, _referenceKernels: true });
      const rel = Type === Float32Array ? 1e-5 : 1e-12;
      expectSameValues([fused.loss], [reference.loss], rel, `${Type.name} loss`);
      if (reference.losses) expectSameValues(fused.losses!, reference.losses, rel, `${Type.name} losses`);
      expect(Object.keys(fused.grad)).toEqual(Object.keys(reference.grad));
      for (const name of Object.keys(reference.grad)) expectSameValues(fused.grad[name], reference.grad[name], rel, `${Type.name} grad.${name}`);
    }
  });
});

describe('pair and triplet losses on (N, D) rows: fused CPU kernel = autograd path', () => {
  const rows = (seed: number, n: number, d: number) =>
    Array.from({ length: n * d }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 2);
  const x1 = rows(1, 6, 4);
  const x2 = rows(2, 6, 4);
  x2.splice(0, 4, ...x1.slice(0, 4)); // row 0: identical pair (cos = 1)
  x1.splice(4, 4, 0, 0, 0, 0); // row 1: an all-zero row (cos = 0 thanks to the 1e-12)
  const x3 = rows(3, 6, 4);
  x3.splice(8, 4, ...x1.slice(8, 12)); // row 2: negative = anchor (zero distance)
  const y = [1, -1, -1, 1, -1, 1];
  const variants: [string, string, Options][] = [];
  for (const reduction of ['none', 'mean', 'sum']) {
    for (const margin of [0, 0.5, -0.3, 1]) variants.push(['cosineEmbeddingLoss', `margin ${margin} ${reduction}`, { margin, reduction }]);
    for (const o of [{}, { distance: 'manhattan', margin: 2 }, { distance: 'pnorm', p: 3, swap: true }, { swap: true, margin: 0.5 }, { distance: 'euclidean', eps: 0 }] as Options[]) {
      variants.push(['tripletMarginWithDistanceLoss', `${JSON.stringify(o)} ${reduction}`, { ...o, reduction }]);
    }
  }
  test.each(variants)('%s %s', (loss, _name, opts) => {
    for (const Type of [Float32Array, Float64Array]) {
      const t = (data: number[]) => ({ data: Type.from(data), shape: [6, 4] });
      const args = loss === 'cosineEmbeddingLoss' ? [t(x1), t(x2), { data: Type.from(y), shape: [6] }] : [t(x1), t(x2), t(x3)];
      const fused = binding[loss](...args, opts);
      const reference = binding[loss](...args, { ...opts, _referenceKernels: true });
      const rel = Type === Float32Array ? 2e-5 : 1e-8; // the all-zero row divides by ~1e-6
      expectSameValues([fused.loss], [reference.loss], rel, `${Type.name} loss`);
      if (reference.losses) expectSameValues(fused.losses!, reference.losses, rel, `${Type.name} losses`);
      for (const name of Object.keys(reference.grad)) expectSameValues(fused.grad[name], reference.grad[name], rel, `${Type.name} grad.${name}`);
    }
  });
});

test.each(['none', 'mean', 'sum'])('crossEntropyLoss with NaN / ±Inf scores propagates them as PyTorch does (%s)', (reduction) => {
  // The vectorized row kernel clamps its exp; rows with non-finite scores take the exact path.
  const scores = [Number.NaN, 1, 2, Infinity, 0, 1, -Infinity, 0, 1, 0.5, -0.5, 3];
  for (const Type of [Float32Array, Float64Array]) {
    const input = { data: Type.from(scores), shape: [4, 3] };
    const target = Int32Array.from([1, 0, 2, 2]);
    for (const opts of [{ reduction }, { reduction, labelSmoothing: 0.2 }]) {
      const fused = binding.crossEntropyLoss(input, target, opts);
      const reference = binding.crossEntropyLoss(input, target, { ...opts, _referenceKernels: true });
      expectSameValues([fused.loss], [reference.loss], 1e-5, `${Type.name} loss`);
      if (reference.losses) expectSameValues(fused.losses!, reference.losses, 1e-5, `${Type.name} losses`);
      expectSameValues(fused.grad.input, reference.grad.input, 1e-5, `${Type.name} grad`);
    }
  }
});

test('crossEntropyLoss on 512 x 1000 scores (the vectorized row kernel) = the autograd path', () => {
  const n = 512;
  const c = 1000;
  const data = new Float32Array(n * c).map((_, i) => Math.sin(i * 0.7) * 8);
  const target = Int32Array.from({ length: n }, (_, i) => (i * 37) % c);
  for (const opts of [{}, { labelSmoothing: 0.1 }, { weight: { data: new Float32Array(c).map((_, i) => 0.5 + (i % 3)), shape: [c] } }]) {
    const fused = binding.crossEntropyLoss({ data, shape: [n, c] }, target, opts);
    const reference = binding.crossEntropyLoss({ data, shape: [n, c] }, target, { ...opts, _referenceKernels: true });
    expectSameValues([fused.loss], [reference.loss], 1e-5, 'loss');
    expectSameValues(fused.grad.input, reference.grad.input, 1e-4, 'grad');
  }
});
