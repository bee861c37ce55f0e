/**
 * The torch.nn family beyond parity: typed errors for bad inputs (argument named, expected and
 * actual value), PyTorch's documented edge cases, and module form == functional form.
 */
import { F, nn } from '../lib';
import { expectError } from './helpers/assertions';

const t = (data: number[], shape: number[]) => ({ data: Float32Array.from(data), shape });
const logits = t([0.1, 1.2, -0.3, 2.0, 0.5, -1.0], [2, 3]);
const probs = t([0.2, 0.5, 0.3, 0.1, 0.1, 0.8], [2, 3]);


describe('bad inputs give typed errors naming the argument', () => {
  test.each([
    ['CE target out of range', () => F.crossEntropyLoss(logits, [0, 3]), 'RangeError', /`target\[1\]` is 3; expected class indices in \[0, 3\) or ignoreIndex -100/],
    ['CE negative target', () => F.crossEntropyLoss(logits, Int32Array.from([-2, 0])), 'RangeError', /`target\[0\]` is -2/],
    ['CE wrong number of targets', () => F.crossEntropyLoss(logits, [0, 1, 2]), 'RangeError', /`target` must hold 2 class indices \(shape \[2\]\), got 3/],
    ['CE probability target shape', () => F.crossEntropyLoss(logits, t([1, 0, 0], [1, 3])), 'RangeError', /`target` must have the shape of `input` \[2, 3\], got \[1, 3\]/],
    ['CE weight shape', () => F.crossEntropyLoss(logits, [0, 1], { weight: Float32Array.from([1, 2]) }), 'RangeError', /`weight` must have shape \[3\] \(one per class\), got \[2\]/],
    ['CE labelSmoothing > 1', () => F.crossEntropyLoss(logits, [0, 1], { labelSmoothing: 1.5 }), 'RangeError', /`labelSmoothing` must be in \[0, 1\], got 1.5/],
    ['CE ignoreIndex not an integer', () => F.crossEntropyLoss(logits, [0, 1], { ignoreIndex: 0.5 }), 'RangeError', /`ignoreIndex` must be an integer, got 0.5/],
    ['CE non-integer label', () => F.crossEntropyLoss(logits, [0, 1.5]), 'TypeError', /`target\[1\]` must be an integer label/],
    ['NLL target out of range', () => F.nllLoss(logits, BigInt64Array.from([0n, 7n])), 'RangeError', /`target\[1\]` is 7; expected class indices in \[0, 3\)/],
    ['NLL float target', () => F.nllLoss(logits, probs as never), 'TypeError', /`target` must be an Int32Array, BigInt64Array or number\[\]/],
    ['MSE shape mismatch', () => F.mseLoss(logits, t([1, 2, 3], [3])), 'RangeError', /`target` must have the shape of `input` \[2, 3\], got \[3\]/],
    ['L1 empty input', () => F.l1Loss(t([], [0]), t([], [0])), 'RangeError', /`input` is empty/],
    ['BCE probabilities outside [0, 1]', () => F.bceLoss(logits, probs), 'RangeError', /`input` must hold probabilities in \[0, 1\]; found 1.2/],
    ['BCE NaN probability', () => F.bceLoss(t([NaN, 0.5], [2]), t([0, 1], [2])), 'RangeError', /`input` must hold probabilities in \[0, 1\]; found nan/i],
    ['BCE targets outside [0, 1]', () => F.bceLoss(probs, logits), 'RangeError', /`target` must hold targets in \[0, 1\]; found 1.2/],
    ['BCEWithLogits targets outside [0, 1]', () => F.bceWithLogitsLoss(logits, logits), 'RangeError', /`target` must hold targets in \[0, 1\]/],
    ['BCEWithLogits posWeight not broadcastable', () => F.bceWithLogitsLoss(logits, probs, { posWeight: Float32Array.from([1, 2]) }), 'RangeError', /`posWeight` of shape \[2\] cannot be broadcast to the input's shape \[2, 3\]/],
    ['MultiMargin p = 3', () => F.multiMarginLoss(logits, [0, 1], { p: 3 as 1 }), 'RangeError', /`p` must be 1 or 2, got 3/],
    ['MultiMargin p = 3 (raw binding)', () => require('../lib/native').loadBinding().multiMarginLoss(logits, [0, 1], { p: 3 }), 'RangeError', /`p` must be 1 or 2, got 3/],
    ['MultiLabelMargin label out of range', () => F.multiLabelMarginLoss(logits, [0, 5, -1, 1, -1, 0]), 'RangeError', /`target\[1\]` is 5; expected class indices \(or -1 to end the list\) in \[-1, 3\)/],
    ['MultiLabelSoftMargin 3-D input', () => F.multiLabelSoftMarginLoss(t([1, 2], [1, 1, 2]), t([1, 0], [1, 1, 2])), 'RangeError', /`input` must have 1 to 2 dimensions/],
    ['KLDiv bad reduction', () => F.klDivLoss(logits, probs, { reduction: 'avg' as 'mean' }), 'RangeError', /`reduction` must be 'none', 'mean', 'sum', 'batchmean'; got 'avg'/],
    ['SmoothL1 negative beta', () => F.smoothL1Loss(logits, probs, { beta: -1 }), 'RangeError', /`beta` must be >= 0, got -1/],
    ['Huber delta 0', () => F.huberLoss(logits, probs, { delta: 0 }), 'RangeError', /`delta` must be > 0, got 0/],
    ['CosineEmbedding target shape', () => F.cosineEmbeddingLoss(logits, probs, t([1], [1])), 'RangeError', /`target` must have shape \[2\] \(one label per pair\), got \[1\]/],
    ['TripletWithDistance margin 0', () => F.tripletMarginWithDistanceLoss(logits, probs, probs, { margin: 0 }), 'RangeError', /`margin` must be > 0, got 0/],
    ['TripletWithDistance unknown distance', () => F.tripletMarginWithDistanceLoss(logits, probs, probs, { distance: 'chebyshev' as 'cosine' }), 'RangeError', /`distance` must be 'euclidean', 'manhattan', 'cosine', 'pnorm'; got 'chebyshev'/],
    ['weight of the wrong type', () => F.nllLoss(logits, [0, 1], { weight: [1, 2, 3] as never }), 'TypeError', /`weight` must be a Float32Array, \{ data: Float32Array, shape: number\[\] \} or a Tensor, got an array/],
  ] as [string, () => unknown, string, RegExp][])('%s', (_name, fn, name, message) => expectError(fn, name, message));
});

describe('edge cases behave as PyTorch documents', () => {
  test('CrossEntropy with every target ignored and mean reduction is NaN, as in PyTorch; sum is 0', () => {
    expect(F.crossEntropyLoss(logits, [-100, -100]).loss).toBeNaN();
    const r = F.crossEntropyLoss(logits, [-100, -100], { reduction: 'sum' });
    expect(r.loss).toBe(0);
    expect(Array.from(r.grad!.input)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  test('SmoothL1 with beta = 0 is the L1 loss', () => {
    const a = F.smoothL1Loss(logits, probs, { beta: 0 });
    const b = F.l1Loss(logits, probs);
    expect(a.loss).toBeCloseTo(b.loss, 6);
    expect(Array.from(a.grad!.input)).toEqual(Array.from(b.grad!.input));
  });

  test("KLDiv 'batchmean' is 'sum' divided by the batch size", () => {
    const logp = t([-1.2, -0.7, -1.5, -2, -0.3, -1.9], [2, 3]);
    expect(F.klDivLoss(logp, probs, { reduction: 'batchmean' }).loss).toBeCloseTo(F.klDivLoss(logp, probs, { reduction: 'sum' }).loss / 2, 6);
  });

  test('class-index targets of a (N, C, d) input are given flat, in (N, d) order', () => {
    const input = t([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 3, 2]);
    const r = F.crossEntropyLoss(input, [0, 1, 2, 0], { reduction: 'none' });
    expect(r.losses!.length).toBe(4);
  });

  test('grad: false returns the loss only', () => {
    const r = F.crossEntropyLoss(logits, [1, 2], { grad: false });
    expect(r.grad).toBeUndefined();
    expect(r.loss).toBeGreaterThan(0);
  });
});

test('every module form equals its functional form', () => {
  const x = probs;
  const y = t([0.3, 0.3, 0.4, 0.9, 0.05, 0.05], [2, 3]);
  const pairs: [{ forward: (...a: never[]) => { loss: number } }, () => { loss: number }, unknown[]][] = [
    [new nn.L1Loss(), () => F.l1Loss(x, y), [x, y]],
    [new nn.MSELoss({ reduction: 'sum' }), () => F.mseLoss(x, y, { reduction: 'sum' }), [x, y]],
    [new nn.SmoothL1Loss({ beta: 0.5 }), () => F.smoothL1Loss(x, y, { beta: 0.5 }), [x, y]],
    [new nn.HuberLoss({ delta: 0.2 }), () => F.huberLoss(x, y, { delta: 0.2 }), [x, y]],
    [new nn.PoissonNLLLoss({ logInput: false }), () => F.poissonNllLoss(x, y, { logInput: false }), [x, y]],
    [new nn.KLDivLoss({ reduction: 'batchmean' }), () => F.klDivLoss(x, y, { reduction: 'batchmean' }), [x, y]],
    [new nn.CrossEntropyLoss({ labelSmoothing: 0.2 }), () => F.crossEntropyLoss(x, [1, 0], { labelSmoothing: 0.2 }), [x, [1, 0]]],
    [new nn.NLLLoss({ ignoreIndex: 0 }), () => F.nllLoss(x, [1, 0], { ignoreIndex: 0 }), [x, [1, 0]]],
    [new nn.BCELoss(), () => F.bceLoss(x, y), [x, y]],
    [new nn.BCEWithLogitsLoss({ posWeight: Float32Array.from([1, 2, 3]) }), () => F.bceWithLogitsLoss(x, y, { posWeight: Float32Array.from([1, 2, 3]) }), [x, y]],
    [new nn.SoftMarginLoss(), () => F.softMarginLoss(x, y), [x, y]],
    [new nn.MultiLabelSoftMarginLoss(), () => F.multiLabelSoftMarginLoss(x, y), [x, y]],
    [new nn.MultiLabelMarginLoss(), () => F.multiLabelMarginLoss(x, [2, -1, 0, 0, 1, -1]), [x, [2, -1, 0, 0, 1, -1]]],
    [new nn.MultiMarginLoss({ p: 2 }), () => F.multiMarginLoss(x, [2, 1], { p: 2 }), [x, [2, 1]]],
    [new nn.HingeEmbeddingLoss({ margin: 0.5 }), () => F.hingeEmbeddingLoss(x, y, { margin: 0.5 }), [x, y]],
    [new nn.CosineEmbeddingLoss(), () => F.cosineEmbeddingLoss(x, y, t([1, -1], [2])), [x, y, t([1, -1], [2])]],
    [new nn.TripletMarginWithDistanceLoss({ distance: 'manhattan' }), () => F.tripletMarginWithDistanceLoss(x, y, y, { distance: 'manhattan' }), [x, y, y]],
  ];
  for (const [module, functional, args] of pairs) {
    expect(module.forward(...(args as never[])).loss).toBe(functional().loss);
  }
});
