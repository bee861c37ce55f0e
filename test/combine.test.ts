/**
 * combineLosses: the weighted sum's gradient equals autograd's gradient of the weighted sum
 * (test/parity/combined.py, float64), terms on different outputs stay apart, and bad terms are
 * errors naming the term.
 */
import * as path from 'path';
import { combineLosses, F, nn } from '../lib';
import { expectError, f32 } from './helpers/assertions';
import { pythonFixture } from './helpers/python-fixture';

const fixtures = pythonFixture(
  path.join(__dirname, 'parity', 'combined.py'),
  path.join(__dirname, 'parity', 'training-fixtures', 'combined.json'),
);

interface CombinedCase {
  name: string;
  weights: { ce: number; triplet: number; center: number };
  margin: number | null;
  x: number[];
  shape: number[];
  labels: number[];
  centers: number[];
  numClasses: number;
  loss: number;
  terms: Record<string, number>;
  grad: number[];
}

describe(`combineLosses vs autograd of the weighted sum (${fixtures.source})`, () => {
  test.each((fixtures.data.cases as CombinedCase[]).map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const x = { data: Float64Array.from(c.x), shape: c.shape };
    const labels = Int32Array.from(c.labels);
    const center = new nn.CenterLoss({ numClasses: c.numClasses, featDim: c.shape[1] });
    center.setParameters({ centers: { data: Float64Array.from(c.centers), shape: [c.numClasses, c.shape[1]] } });
    const total = combineLosses({
      ce: { weight: c.weights.ce, result: F.crossEntropyLoss(x, labels), wrt: 'x' },
      triplet: { weight: c.weights.triplet, result: F.batchHardTripletLoss(x, labels, { margin: c.margin }), wrt: 'x' },
      center: { weight: c.weights.center, result: center.forward(x, labels), wrt: 'x' },
    });
    // The center loss runs in float32 (its centres are float32): 1e-6 covers its rounding.
    expect(total.loss).toBeCloseTo(c.loss, 6);
    for (const key of ['ce', 'triplet', 'center']) expect(total.terms[key]).toBeCloseTo(c.terms[key], 6);
    expect(Object.keys(total.grad)).toEqual(['x']);
    expect(total.grad.x).toBeInstanceOf(Float64Array);
    const worst = Math.max(...Array.from(total.grad.x, (g, i) => Math.abs(g - c.grad[i])));
    expect(worst).toBeLessThan(1e-6);
    // The triplet and CE gradients alone differ from the total: every term contributes.
    expect(Math.max(...c.grad.map((g, i) => Math.abs(g - c.weights.ce * F.crossEntropyLoss(x, labels).grad!.input[i])))).toBeGreaterThan(1e-3);
  });
});

describe('combineLosses', () => {
  const emb = f32([0, 0, 1, 0, 0, 1, 1, 1], [4, 2]);
  const logits = f32([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
  const labels = Int32Array.from([0, 0, 1, 1]);

  test('terms on different outputs give one gradient per output', () => {
    const ce = F.crossEntropyLoss(logits, labels);
    const tri = F.batchHardTripletLoss(emb, labels);
    const total = combineLosses({
      ce: { weight: 0.5, result: ce, wrt: 'logits' },
      triplet: { weight: 2, result: tri, wrt: 'embeddings' },
      zero: { weight: 0, result: tri, wrt: 'embeddings' },
    });
    expect(total.loss).toBeCloseTo(0.5 * ce.loss + 2 * tri.loss, 6);
    expect(total.terms.zero).toBe(0);
    expect(Array.from(total.grad.logits)).toEqual(Array.from(ce.grad!.input, (g) => Math.fround(0.5 * g)));
    expect(Array.from(total.grad.embeddings)).toEqual(Array.from(tri.grad!.embeddings, (g) => Math.fround(2 * g)));
    expect(total.grad.embeddings).toBeInstanceOf(Float32Array);
  });

  test('gradKey picks one of several gradients', () => {
    const r = F.mseLoss(f32([1, 2], [2]), f32([0, 0], [2]));
    expectError(() => combineLosses({ mse: { weight: 1, result: r, wrt: 'y' } }), 'RangeError', /`mse.gradKey` is needed.*'input', 'target'/);
    expect(Array.from(combineLosses({ mse: { weight: 1, result: r, wrt: 'y', gradKey: 'target' } }).grad.y)).toEqual([-1, -2]); // d mean((x - t)^2) / dt
  });

  test('errors name the term', () => {
    const ce = F.crossEntropyLoss(logits, labels);
    expectError(() => combineLosses({}), 'RangeError', /`terms` is empty/);
    expectError(() => combineLosses({ ce: { weight: NaN, result: ce, wrt: 'l' } }), 'RangeError', /`ce.weight`/);
    expectError(() => combineLosses({ ce: { weight: 1, result: F.crossEntropyLoss(logits, labels, { grad: false }), wrt: 'l' } }), 'RangeError', /`ce.result` has no gradients/);
    expectError(() => combineLosses({ ce: { weight: 1, result: ce, wrt: 'l' }, t: { weight: 1, result: F.batchHardTripletLoss(f32([1, 2, 3, 4], [2, 2]), [0, 1]), wrt: 'l' } }), 'RangeError', /`t`: the gradient w.r.t. 'l' has 4 elements, an earlier term's has 8/);
    expectError(() => combineLosses({ ce: { weight: 1, result: ce, wrt: 'l', gradKey: 'nope' } }), 'TypeError', /`ce.result.grad.nope`/);
    expectError(() => combineLosses({ ce: { weight: 1, result: ce, wrt: 'l', extra: 1 } as never }), 'RangeError', /unknown option 'extra'/);
  });
});
