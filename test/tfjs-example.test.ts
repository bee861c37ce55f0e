/**
 * examples/tfjs-triplet.js: a TF.js model whose loss is the addon's batch-hard triplet through
 * tf.customGrad. The loss falls, and TF.js's gradient of a linear layer's weights equals the chain
 * rule x^T (dL/d embeddings) with the addon's embedding gradient: the Float32Array gradient path
 * composes with TF.js autodiff. Runs against dist/ (npm run build).
 */
import * as tf from '@tensorflow/tfjs';
import { F } from '../lib';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const example = require('../examples/tfjs-triplet.js') as {
  train: (o: { steps: number; seed?: number }) => number[];
  batchHardTriplet: (labels: Int32Array, options: { margin: number }) => (x: tf.Tensor) => tf.Scalar;
};

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

test('training a TF.js model with the addon loss makes the loss fall', () => {
  const losses = example.train({ steps: 40, seed: 1 });
  expect(losses).toHaveLength(40);
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) / 2);
});

test("TF.js's weight gradient through tf.customGrad is x^T times the addon's embedding gradient", () => {
  const n = 8, d = 5, e = 3;
  const xs = Float32Array.from({ length: n * d }, (_, i) => Math.sin(1.3 * i + 0.2));
  const ws = Float32Array.from({ length: d * e }, (_, i) => Math.cos(0.7 * i));
  const labels = Int32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
  const x = tf.tensor2d(xs, [n, d]);
  const w = tf.variable(tf.tensor2d(ws, [d, e]));
  const { value, grads } = tf.variableGrads(() => example.batchHardTriplet(labels, { margin: 0.3 })(x.matMul(w)) as tf.Scalar, [w]);
  const tfGrad = grads[w.name].dataSync();

  const emb = x.matMul(w);
  const r = F.batchHardTripletLoss({ data: emb.dataSync() as Float32Array, shape: [n, e] }, labels, { margin: 0.3 });
  expect(value.dataSync()[0]).toBeCloseTo(r.loss, 6);
  const g = r.grad!.embeddings;
  expect(Math.max(...Array.from(g, Math.abs))).toBeGreaterThan(0);  // a non-trivial case
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < e; j++) {
      let expected = 0;
      for (let k = 0; k < n; k++) expected += xs[k * d + i] * g[k * e + j];
      expect(tfGrad[i * e + j]).toBeCloseTo(expected, 5);
    }
  }
  tf.dispose([x, w, value, emb, ...Object.values(grads)]);
});
