/**
 * The torch.nn loss family as the fuzz sees it: for each loss, how to build a valid call (inputs
 * in the loss's domain, in every memory layout the binding accepts, with random valid options),
 * what a returned value must look like (grad keys, lengths, per-element count), and which option
 * values are invalid (with the error kind each must give, through the facade and the raw binding).
 */
import { ErrorName, Rng } from './fuzz-tools';

export const FAMILY = [
  'l1Loss', 'mseLoss', 'smoothL1Loss', 'huberLoss', 'poissonNllLoss', 'klDivLoss',
  'crossEntropyLoss', 'nllLoss', 'bceLoss', 'bceWithLogitsLoss', 'softMarginLoss', 'multiLabelSoftMarginLoss',
  'multiLabelMarginLoss', 'multiMarginLoss',
  'hingeEmbeddingLoss', 'cosineEmbeddingLoss', 'tripletMarginWithDistanceLoss', 'marginRankingLoss', 'tripletMarginLoss',
] as const;
export type FamilyLoss = (typeof FAMILY)[number];

/** The nn.* class of each functional form. */
export const MODULE_OF: Record<FamilyLoss, string> = {
  l1Loss: 'L1Loss', mseLoss: 'MSELoss', smoothL1Loss: 'SmoothL1Loss', huberLoss: 'HuberLoss',
  poissonNllLoss: 'PoissonNLLLoss', klDivLoss: 'KLDivLoss', crossEntropyLoss: 'CrossEntropyLoss', nllLoss: 'NLLLoss',
  bceLoss: 'BCELoss', bceWithLogitsLoss: 'BCEWithLogitsLoss', softMarginLoss: 'SoftMarginLoss',
  multiLabelSoftMarginLoss: 'MultiLabelSoftMarginLoss', multiLabelMarginLoss: 'MultiLabelMarginLoss',
  multiMarginLoss: 'MultiMarginLoss', hingeEmbeddingLoss: 'HingeEmbeddingLoss', cosineEmbeddingLoss: 'CosineEmbeddingLoss',
  tripletMarginWithDistanceLoss: 'TripletMarginWithDistanceLoss', marginRankingLoss: 'MarginRankingLoss',
  tripletMarginLoss: 'TripletMarginLoss',
};

export type Dtype = 'f32' | 'f64';
export type FloatArray = Float32Array | Float64Array;
/** 'float': a tensor input ({ data, shape } or a bare Float32Array/Float64Array); 'labels': class indices. */
export type Slot = 'float' | 'labels';

export const FloatOf = (dtype: Dtype) => (dtype === 'f64' ? Float64Array : Float32Array);
export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A valid call, before any malformation. */
export interface ValidCall {
  loss: FamilyLoss;
  dtype: Dtype;
  args: unknown[];
  slots: Slot[];
  /** Shape of each float argument; [count] for labels. */
  shapes: number[][];
  argNames: string[];
  options: Record<string, unknown>;
  /** Keys of result.grad, and the argument each one has the layout of. */
  gradNames: string[];
  gradArgs: number[];
  /** losses.length with reduction 'none'. */
  perElement: number;
  /** Labels outside [lo, hi) are out of range (ignoreIndex aside). */
  labelRange?: [number, number];
  /** The tensor-valued options this loss has (weight, posWeight), with a shape no broadcast accepts. */
  tensorOptions: string[];
  badTensorShape: number[];
  /** Gradients that may be +-inf for these (finite) inputs, as in PyTorch. */
  infiniteGradOk: string[];
  /** When set, the call looks valid but PyTorch rejects it: it must throw one of these. */
  mustThrow?: ErrorName[];
  tags: string[];
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
/** `n` values of `one()`; beyond 1000, a random block of 997 repeated (large inputs, generated fast). */
function values(n: number, one: () => number): number[] {
  if (n <= 1000) return Array.from({ length: n }, one);
  const block = Array.from({ length: 997 }, one);
  return Array.from({ length: n }, (_, i) => block[i % 997]);
}
const normals = (rng: Rng, n: number, scale = 2) => values(n, () => r3(rng.normal() * scale));
/** In [0, 1], exact 0 and 1 now and then. */
const unitValues = (rng: Rng, n: number) => values(n, () => (rng.chance(0.05) ? rng.pick([0, 1]) : r3(rng.next())));
const signs = (rng: Rng, n: number) => values(n, () => (rng.chance(0.5) ? 1 : -1));

export type Layout = 'plain' | 'offset' | 'shared' | 'sharedOffset' | 'subclass';

/** A float array holding `values`, in one of several memory layouts (junk around views). */
export function floatArray(rng: Rng, dtype: Dtype, values: number[], tags: string[]): FloatArray {
  const C = FloatOf(dtype);
  const layout = rng.pick<Layout>(['plain', 'plain', 'plain', 'offset', 'shared', 'sharedOffset', 'subclass']);
  const n = values.length;
  let arr: FloatArray;
  if (layout === 'plain') {
    arr = new C(n);
  } else if (layout === 'subclass') {
    class Sub extends (C as typeof Float32Array) {}
    arr = new Sub(n) as FloatArray;
  } else {
    const offset = layout === 'offset' || layout === 'sharedOffset' ? rng.int(1, 3) : 0;
    const bytes = (n + offset + rng.int(0, 2)) * C.BYTES_PER_ELEMENT;
    const buffer = (layout.startsWith('shared') ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes)) as ArrayBuffer;
    new C(buffer).fill(12345); // junk around the view: must not be read
    arr = new C(buffer, offset * C.BYTES_PER_ELEMENT, n);
  }
  if (layout !== 'plain') tags.push(layout);
  arr.set(values);
  return arr;
}

/** A tensor input: { data, shape }, or the bare array when 1-D (half the time). */
export function tensorInput(rng: Rng, dtype: Dtype, values: number[], shape: number[], tags: string[]): unknown {
  const data = floatArray(rng, dtype, values, tags);
  if (shape.length === 1 && rng.chance(0.5)) return data;
  return { data, shape: rng.chance(0.1) ? Object.freeze([...shape]) : [...shape] };
}

/** Integer labels as an Int32Array (maybe a view), a BigInt64Array or a number[]. */
export function labelInput(rng: Rng, values: number[], tags: string[]): unknown {
  const r = rng.next();
  if (r < 0.35) return [...values];
  if (r < 0.55) return BigInt64Array.from(values.map((v) => BigInt(v)));
  if (r < 0.8) return Int32Array.from(values);
  const offset = rng.int(1, 3);
  const shared = rng.chance(0.5);
  const bytes = (values.length + offset + 1) * 4;
  const buffer = (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes)) as ArrayBuffer;
  new Int32Array(buffer).fill(-99999);
  const view = new Int32Array(buffer, offset * 4, values.length);
  view.set(values);
  tags.push(shared ? 'labelsSharedView' : 'labelsView');
  return view;
}

function pointShape(rng: Rng): number[] {
  const r = rng.next();
  if (r < 0.01) return [rng.int(16_384, 20_000)]; // large (>= 64 KiB): parallel kernels, big copies
  if (r < 0.06) return [];
  if (r < 0.6) return [rng.int(1, 8)];
  if (r < 0.85) return [rng.int(1, 4), rng.int(1, 4)];
  if (r < 0.98) return [rng.int(1, 3), rng.int(1, 3), rng.int(1, 2)];
  return new Array(16).fill(1);
}

/** (N, D) or (D). */
function pairShape(rng: Rng): number[] {
  const r = rng.next();
  if (r < 0.01) return [rng.int(200, 300), 64];
  if (r < 0.3) return [rng.int(1, 5)];
  return [rng.int(1, 6), rng.int(1, 5)];
}

/** Class inputs: (C), (N, C), (N, C, d1), (N, C, d1, d2), rarely 16 dimensions or large. */
function classShape(rng: Rng, maxDims: number): number[] {
  const C = rng.int(1, 6);
  const N = rng.int(1, 5);
  const r = rng.next();
  if (r < 0.01) return [rng.int(200, 400), 50];
  if (r < 0.25 || maxDims === 1) return [C];
  if (r < 0.7 || maxDims === 2) return [N, C];
  if (r < 0.88) return [N, C, rng.int(1, 3)];
  if (r < 0.98) return [N, C, rng.int(1, 2), rng.int(1, 3)];
  return [1, C, ...new Array(14).fill(1)];
}

/** A weight broadcastable to `shape`: a suffix of it, some sizes replaced by 1. */
function broadcastableShape(rng: Rng, shape: number[]): number[] {
  const k = rng.int(0, Math.min(shape.length, 3));
  return shape.slice(shape.length - k).map((s) => (rng.chance(0.3) ? 1 : s));
}

/** A positive weight tensor, in the call's dtype or (valid: converted) the other one. */
function weightInput(rng: Rng, dtype: Dtype, shape: number[], tags: string[]): unknown {
  const wDtype: Dtype = rng.chance(0.8) ? dtype : dtype === 'f32' ? 'f64' : 'f32';
  if (wDtype !== dtype) tags.push('weightOtherDtype');
  return tensorInput(rng, wDtype, values(numel(shape), () => r3(rng.next() * 2 + 0.05)), shape, tags);
}

function commonOptions(rng: Rng, o: Record<string, unknown>, reductions: string[]): void {
  if (rng.chance(0.6)) o.reduction = rng.pick(reductions);
  if (rng.chance(0.4)) o.grad = rng.chance(0.7);
  if (rng.chance(0.2)) o.device = rng.pick(['cpu', 'auto']);
}

const REDUCTIONS = ['mean', 'sum', 'none'];

/** A random valid call of `loss`. */
export function validCall(rng: Rng, loss: FamilyLoss, dtype: Dtype): ValidCall {
  const tags: string[] = [];
  const o: Record<string, unknown> = {};
  commonOptions(rng, o, loss === 'klDivLoss' ? [...REDUCTIONS, 'batchmean'] : REDUCTIONS);
  const float = (values: number[], shape: number[]) => tensorInput(rng, dtype, values, shape, tags);
  const base = { loss, dtype, options: o, tags, tensorOptions: [] as string[], badTensorShape: [] as number[], infiniteGradOk: [] as string[] };

  const pointwise = (
    input: (n: number) => number[],
    target: (n: number) => number[],
    grads: ('input' | 'target')[] = ['input', 'target'],
  ): ValidCall => {
    const shape = pointShape(rng);
    const n = numel(shape);
    return {
      ...base,
      args: [float(input(n), shape), float(target(n), shape)],
      slots: ['float', 'float'],
      shapes: [shape, shape],
      argNames: ['input', 'target'],
      gradNames: grads,
      gradArgs: grads.map((g) => (g === 'input' ? 0 : 1)),
      perElement: Math.max(1, n),
      badTensorShape: [(shape[shape.length - 1] ?? 1) + 1],
    };
  };

  switch (loss) {
    case 'l1Loss':
    case 'mseLoss':
      return pointwise((n) => normals(rng, n), (n) => normals(rng, n));
    case 'smoothL1Loss':
      if (rng.chance(0.5)) o.beta = rng.pick([0, 0.001, 0.5, 1, 2]);
      return pointwise((n) => normals(rng, n), (n) => normals(rng, n));
    case 'huberLoss':
      if (rng.chance(0.5)) o.delta = rng.pick([0.1, 0.5, 1, 3]);
      return pointwise((n) => normals(rng, n), (n) => normals(rng, n));
    case 'poissonNllLoss': {
      if (rng.chance(0.4)) o.logInput = rng.chance(0.5);
      if (rng.chance(0.3)) o.full = rng.chance(0.5);
      if (rng.chance(0.3)) o.eps = rng.pick([1e-8, 1e-3, 0.5]);
      const logInput = o.logInput ?? true;
      return pointwise(
        (n) => (logInput ? normals(rng, n) : normals(rng, n).map((v) => r3(Math.abs(v) + 0.01))),
        (n) => values(n, () => (rng.chance(0.5) ? rng.int(0, 6) : r3(rng.next() * 4))),
      );
    }
    case 'klDivLoss': {
      if (rng.chance(0.4)) o.logTarget = rng.chance(0.5);
      const call = pointwise(
        (n) => normals(rng, n).map((v) => r3(-Math.abs(v) - 0.01)),
        (n) => (o.logTarget ? normals(rng, n).map((v) => r3(-Math.abs(v) - 0.01)) : unitValues(rng, n).map((v) => Math.max(v, 0.001))),
      );
      if (o.reduction === 'batchmean' && call.shapes[0].length === 0) o.reduction = 'sum'; // batchmean needs a batch dimension
      return call;
    }
    case 'bceLoss':
    case 'bceWithLogitsLoss': {
      const call = pointwise((n) => (loss === 'bceLoss' ? unitValues(rng, n) : normals(rng, n)), (n) => unitValues(rng, n));
      const shape = call.shapes[0];
      // d/dtarget = -logit(input): +-inf at probabilities 0 and 1, in PyTorch too.
      if (loss === 'bceLoss') call.infiniteGradOk = ['target'];
      call.tensorOptions = loss === 'bceLoss' ? ['weight'] : ['weight', 'posWeight'];
      for (const key of call.tensorOptions) if (rng.chance(0.3)) o[key] = weightInput(rng, dtype, broadcastableShape(rng, shape), tags);
      return call;
    }
    case 'softMarginLoss':
      return pointwise((n) => normals(rng, n), (n) => signs(rng, n), ['input']);
    case 'hingeEmbeddingLoss':
      if (rng.chance(0.5)) o.margin = rng.pick([0, 0.5, 1, 2, -1]);
      return pointwise((n) => normals(rng, n), (n) => signs(rng, n), ['input']);
    case 'crossEntropyLoss':
    case 'nllLoss': {
      const shape = classShape(rng, 16);
      const C = shape.length === 1 ? shape[0] : shape[1];
      const indexShape = shape.filter((_, i) => i !== (shape.length === 1 ? 0 : 1));
      const count = numel(indexShape);
      if (rng.chance(0.3)) o.ignoreIndex = rng.pick([-100, -1, 0, 1, 2, 7]);
      if (rng.chance(0.3)) o.weight = weightInput(rng, dtype, [C], tags);
      if (loss === 'crossEntropyLoss' && rng.chance(0.3)) o.labelSmoothing = rng.pick([0, 0.1, 0.5, 1]);
      const probabilities = loss === 'crossEntropyLoss' && rng.chance(0.3);
      const ignore = (o.ignoreIndex as number | undefined) ?? -100;
      // PyTorch: "ignore_index is not supported for floating point target" (a libtorch error).
      const mustThrow: ErrorName[] | undefined = probabilities && ignore >= 0 ? ['TorchError', 'RangeError'] : undefined;
      const labels = values(count, () => (rng.chance(0.1) ? ignore : rng.int(0, C - 1)));
      if (probabilities) tags.push('probabilities');
      return {
        ...base,
        args: [float(normals(rng, numel(shape)), shape), probabilities ? float(unitValues(rng, numel(shape)), shape) : labelInput(rng, labels, tags)],
        slots: ['float', probabilities ? 'float' : 'labels'],
        shapes: [shape, probabilities ? shape : [count]],
        argNames: ['input', 'target'],
        gradNames: probabilities ? ['input', 'target'] : ['input'],
        gradArgs: probabilities ? [0, 1] : [0],
        perElement: count,
        labelRange: [0, C],
        tensorOptions: ['weight'],
        badTensorShape: [C + 1],
        mustThrow,
      };
    }
    case 'multiLabelSoftMarginLoss':
    case 'multiLabelMarginLoss':
    case 'multiMarginLoss': {
      const shape = classShape(rng, 2);
      const C = shape[shape.length - 1];
      const rows = shape.length === 1 ? 1 : shape[0];
      const common = { ...base, argNames: ['input', 'target'], perElement: rows, badTensorShape: [C + 1] };
      const input = float(normals(rng, numel(shape)), shape);
      if (loss === 'multiLabelSoftMarginLoss') {
        if (rng.chance(0.3)) o.weight = weightInput(rng, dtype, [C], tags);
        const binary = rng.chance(0.5);
        const target = values(numel(shape), () => (binary ? rng.int(0, 1) : r3(rng.next())));
        return {
          ...common, args: [input, float(target, shape)], slots: ['float', 'float'], shapes: [shape, shape],
          gradNames: ['input', 'target'], gradArgs: [0, 1], tensorOptions: ['weight'],
        };
      }
      let labels: number[];
      if (loss === 'multiLabelMarginLoss') {
        // Each row: some distinct classes, then -1, then anything in [-1, C) (ignored).
        labels = [];
        for (let r = 0; r < rows; r++) {
          const k = rng.int(0, C);
          const classes = [...Array(C).keys()].sort(() => rng.next() - 0.5).slice(0, k);
          const row = [...classes, ...Array.from({ length: C - k }, (_, i) => (i === 0 ? -1 : rng.int(-1, C - 1)))];
          labels.push(...row);
        }
      } else {
        if (rng.chance(0.4)) o.p = rng.pick([1, 2]);
        if (rng.chance(0.4)) o.margin = rng.pick([0, 0.5, 1, 2, -1]);
        if (rng.chance(0.3)) o.weight = weightInput(rng, dtype, [C], tags);
        labels = Array.from({ length: rows }, () => rng.int(0, C - 1));
      }
      return {
        ...common, args: [input, labelInput(rng, labels, tags)], slots: ['float', 'labels'], shapes: [shape, [labels.length]],
        gradNames: ['input'], gradArgs: [0], labelRange: [loss === 'multiLabelMarginLoss' ? -1 : 0, C],
        tensorOptions: loss === 'multiMarginLoss' ? ['weight'] : [],
      };
    }
    case 'cosineEmbeddingLoss': {
      if (rng.chance(0.5)) o.margin = rng.pick([0, 0.5, -0.5, 1, -1]);
      const shape = pairShape(rng);
      const rows = shape.length === 1 ? 1 : shape[0];
      const targetShape = shape.length === 1 ? [] : [rows];
      const n = numel(shape);
      return {
        ...base,
        args: [float(normals(rng, n), shape), float(normals(rng, n), shape), float(signs(rng, rows), targetShape)],
        slots: ['float', 'float', 'float'],
        shapes: [shape, shape, targetShape],
        argNames: ['input1', 'input2', 'target'],
        gradNames: ['input1', 'input2'],
        gradArgs: [0, 1],
        perElement: rows,
      };
    }
    case 'tripletMarginWithDistanceLoss':
    case 'tripletMarginLoss': {
      if (loss === 'tripletMarginWithDistanceLoss') {
        if (rng.chance(0.6)) o.distance = rng.pick(['euclidean', 'manhattan', 'cosine', 'pnorm']);
        if (rng.chance(0.4)) o.p = rng.pick([1, 1.5, 2, 3, Infinity]);
        if (rng.chance(0.3)) o.eps = rng.pick([1e-6, 1e-3, 0]);
        if (rng.chance(0.4)) o.margin = rng.pick([0.1, 0.5, 1, 2]);
        if (rng.chance(0.4)) o.swap = rng.chance(0.5);
      } else {
        if (rng.chance(0.5)) o.margin = rng.pick([0, 0.5, 1, -0.3, 2]);
        if (rng.chance(0.5)) o.p = rng.pick([1, 2, 3, 0.5, 1.5, Infinity]);
        if (rng.chance(0.3)) o.eps = rng.pick([1e-6, 0, 1e-3]);
        if (rng.chance(0.4)) o.swap = rng.chance(0.5);
      }
      const shape = pairShape(rng);
      const n = numel(shape);
      return {
        ...base,
        args: [0, 1, 2].map(() => float(normals(rng, n), shape)),
        slots: ['float', 'float', 'float'],
        shapes: [shape, shape, shape],
        argNames: ['anchor', 'positive', 'negative'],
        gradNames: ['anchor', 'positive', 'negative'],
        gradArgs: [0, 1, 2],
        perElement: shape.length === 1 ? 1 : shape[0],
      };
    }
    case 'marginRankingLoss': {
      if (rng.chance(0.5)) o.margin = rng.pick([0, 0.5, 1, -0.3]);
      let shape = pointShape(rng);
      if (shape.length === 16) shape = [3];
      const n = numel(shape);
      return {
        ...base,
        args: [float(normals(rng, n), shape), float(normals(rng, n), shape), float(signs(rng, n), shape)],
        slots: ['float', 'float', 'float'],
        shapes: [shape, shape, shape],
        argNames: ['input1', 'input2', 'target'],
        gradNames: ['input1', 'input2', 'target'],
        gradArgs: [0, 1, 2],
        perElement: Math.max(1, n),
      };
    }
  }
}

type Bad = [value: unknown, kind: ErrorName];
/** [value, kind, the raw binding treats it as absent (no throw)]. */
type BadTensorOption = [value: (call: ValidCall) => unknown, kind: ErrorName, rawAccepts?: boolean];

const BAD_MARGIN: Bad[] = [[NaN, 'RangeError'], [Infinity, 'RangeError'], [-Infinity, 'RangeError'], ['1', 'TypeError'], [null, 'TypeError'], [1n, 'TypeError']];
const BAD_FLAG: Bad[] = [['true', 'TypeError'], [1, 'TypeError'], [null, 'TypeError']];

export const BAD_COMMON_OPTIONS: Record<string, Bad[]> = {
  reduction: [['avg', 'RangeError'], ['MEAN', 'RangeError'], ['', 'RangeError'], [1, 'TypeError'], [null, 'TypeError'], [['mean'], 'TypeError']],
  grad: BAD_FLAG,
  device: [
    ['gpu', 'RangeError'], ['cuda:0', 'DeviceError'], ['cuda:9999', 'DeviceError'], ['cuda:99999', 'RangeError'],
    ['cpu:0', 'RangeError'], ['', 'RangeError'], ['cuda:-1', 'RangeError'], [0, 'TypeError'], [null, 'TypeError'],
  ],
};

/** Loss-specific bad option values. `p` of tripletMarginWithDistanceLoss is handled by the caller. */
export function badOptions(loss: FamilyLoss): Record<string, Bad[]> {
  const notBatchmean: Record<string, Bad[]> = loss === 'klDivLoss' ? {} : { reduction: [['batchmean', 'RangeError']] };
  const ignoreIndex: Bad[] = [[0.5, 'RangeError'], [NaN, 'RangeError'], [Infinity, 'RangeError'], [2 ** 53, 'RangeError'], ['1', 'TypeError'], [null, 'TypeError']];
  const table: Partial<Record<FamilyLoss, Record<string, Bad[]>>> = {
    smoothL1Loss: { beta: [[-1, 'RangeError'], [-1e-9, 'RangeError'], [NaN, 'RangeError'], [Infinity, 'RangeError'], ['1', 'TypeError'], [null, 'TypeError']] },
    huberLoss: { delta: [[0, 'RangeError'], [-1, 'RangeError'], [NaN, 'RangeError'], [Infinity, 'RangeError'], ['1', 'TypeError']] },
    poissonNllLoss: { logInput: BAD_FLAG, full: BAD_FLAG, eps: [[NaN, 'RangeError'], [Infinity, 'RangeError'], ['x', 'TypeError']] },
    klDivLoss: { logTarget: BAD_FLAG, reduction: [['batchMean', 'RangeError']] },
    crossEntropyLoss: { ignoreIndex, labelSmoothing: [[-0.1, 'RangeError'], [1.5, 'RangeError'], [NaN, 'RangeError'], ['0', 'TypeError']] },
    nllLoss: { ignoreIndex },
    multiMarginLoss: {
      p: [[3, 'RangeError'], [0, 'RangeError'], [1.5, 'RangeError'], [NaN, 'RangeError'], [Infinity, 'RangeError'], ['1', 'TypeError'], [null, 'TypeError']],
      margin: BAD_MARGIN,
    },
    hingeEmbeddingLoss: { margin: BAD_MARGIN },
    cosineEmbeddingLoss: { margin: BAD_MARGIN },
    marginRankingLoss: { margin: BAD_MARGIN },
    tripletMarginWithDistanceLoss: {
      distance: [['chebyshev', 'RangeError'], ['', 'RangeError'], ['Euclidean', 'RangeError'], [2, 'TypeError'], [null, 'TypeError']],
      eps: [[NaN, 'RangeError'], [Infinity, 'RangeError'], ['x', 'TypeError']],
      margin: [[0, 'RangeError'], [-1, 'RangeError'], [NaN, 'RangeError'], [Infinity, 'RangeError'], ['1', 'TypeError']],
      swap: BAD_FLAG,
    },
    tripletMarginLoss: {
      margin: BAD_MARGIN,
      p: [[0, 'RangeError'], [-1, 'RangeError'], [NaN, 'RangeError'], [-Infinity, 'RangeError'], [-0, 'RangeError'], ['2', 'TypeError'], [null, 'TypeError']],
      eps: [[NaN, 'RangeError'], [Infinity, 'RangeError'], ['x', 'TypeError']],
      swap: BAD_FLAG,
    },
  };
  return { ...notBatchmean, ...(table[loss] ?? {}) };
}

/** tripletMarginWithDistanceLoss's `p`: the raw binding reads it only with distance 'pnorm'. */
export const BAD_DISTANCE_P: Bad[] = [[0, 'RangeError'], [-1, 'RangeError'], [NaN, 'RangeError'], [-Infinity, 'RangeError'], ['2', 'TypeError']];

/** Bad values of a tensor-valued option (weight, posWeight). */
export const BAD_TENSOR_OPTIONS: BadTensorOption[] = [
  [() => 'abc', 'TypeError'],
  [() => 1, 'TypeError'],
  [() => [1, 2, 3], 'TypeError'],
  [() => ({}), 'TypeError'],
  [() => true, 'TypeError'],
  [() => null, 'TypeError', true],
  [(c) => new Int32Array(c.badTensorShape[0] - 1), 'TypeError'],
  [(c) => BigInt64Array.from({ length: c.badTensorShape[0] - 1 }, () => 1n), 'TypeError'],
  [(c) => ({ data: new Int32Array(c.badTensorShape[0] - 1), shape: [c.badTensorShape[0] - 1] }), 'TypeError'],
  [(c) => ({ data: 'abc', shape: [c.badTensorShape[0] - 1] }), 'TypeError'],
  [(c) => ({ data: null, shape: [c.badTensorShape[0] - 1] }), 'TypeError'],
  [(c) => ({ data: new Float32Array(c.badTensorShape[0] - 1), shape: 'x' }), 'TypeError'],
  [(c) => ({ data: new Float32Array(c.badTensorShape[0] - 1), shape: [1.5] }), 'TypeError'],
  [(c) => new Proxy(new Float32Array(c.badTensorShape[0] - 1), {}), 'TypeError'],
  // A shape no broadcast (and no per-class weight) accepts.
  [(c) => new Float32Array(c.badTensorShape[0]).fill(1), 'RangeError'],
  [(c) => ({ data: new Float64Array(c.badTensorShape[0]).fill(1), shape: c.badTensorShape }), 'RangeError'],
  // data and shape disagree.
  [(c) => ({ data: new Float32Array(c.badTensorShape[0] - 1).fill(1), shape: c.badTensorShape }), 'RangeError'],
  [() => ({ data: new Float32Array(2), shape: [-2] }), 'RangeError'],
  [() => ({ data: new Float32Array(2), shape: [2 ** 31, 2 ** 31] }), 'RangeError'],
  [() => ({ data: new Float32Array(1), shape: new Array(17).fill(1) }), 'RangeError'],
  // A detached buffer (badTensorShape[0] - 1 >= 1 elements promised, 0 there).
  [(c) => {
    const d = new Float32Array(c.badTensorShape[0] - 1).fill(1);
    structuredClone(d.buffer, { transfer: [d.buffer] });
    return { data: d, shape: [c.badTensorShape[0] - 1] };
  }, 'RangeError'],
];

/** Values that are neither labels nor float tensors: a TypeError in any slot. */
export const NEITHER: ((n: number) => unknown)[] = [
  () => 'abc', () => '', () => null, () => undefined, () => 0, () => 42.5, () => NaN, () => true, () => 1n,
  () => Symbol('x'), () => ({}), () => ['a', 'b'], () => [1.5], () => [NaN], () => [Infinity], () => [null], () => [undefined],
  () => ['1'], () => [1n], () => [{}], () => [[1]], () => () => 1,
  (n) => new Uint8Array(n), (n) => new Uint32Array(n), (n) => new Int16Array(n), (n) => new BigUint64Array(n),
  (n) => new Float32Array(n).buffer, (n) => new DataView(new ArrayBuffer(4 * n)), (n) => Buffer.alloc(4 * n),
  (n) => ({ data: new Int32Array(n), shape: [n] }), (n) => ({ data: Array.from({ length: n }, () => 1), shape: [n] }),
  () => ({ data: 'abc', shape: [3] }), () => ({ data: null, shape: [0] }), (n) => ({ shape: [n] }),
  (n) => ({ data: new Float32Array(n) }), (n) => ({ data: new Float32Array(n), shape: String(n) }),
  (n) => ({ data: new Float32Array(n), shape: new Int32Array([n]) }), (n) => ({ data: new Float32Array(n), shape: null }),
  () => new Date(), () => new Map(), () => Object.create(Float32Array.prototype), () => Object.create(Int32Array.prototype),
  (n) => [new Float32Array(n)], (n) => new Proxy(new Float32Array(n), {}), (n) => new Proxy(new Int32Array(n), {}),
  (n) => new Proxy(Array.from({ length: n }, () => 0), {}),
];
/** Valid labels but not float tensors: a TypeError in a float slot. */
export const LABELS_NOT_FLOAT: ((n: number) => unknown)[] = [
  () => [], (n) => Array.from({ length: n }, (_, i) => i), (n) => new Int32Array(n), (n) => new BigInt64Array(n),
];
/** Float tensors but not labels: a TypeError in a labels-only slot. */
export const FLOAT_NOT_LABELS: ((n: number) => unknown)[] = [
  (n) => new Float32Array(n), (n) => new Float64Array(n), (n) => ({ data: new Float32Array(n), shape: [n] }),
];
