#!/usr/bin/env node
'use strict';
/**
 * A TensorFlow.js model trained with this package's batch-hard triplet loss.
 *
 * TF.js computes the model (two dense layers); torch-losses computes the loss and its gradient
 * w.r.t. the embeddings, and tf.customGrad hands that gradient back to TF.js's autodiff, which
 * carries it through the model to the weights. Only Float32Arrays cross between the two: this is
 * how any framework with a custom-gradient hook (TF.js, ONNX Runtime training, your own code)
 * uses the losses.
 *
 *   node examples/tfjs-triplet.js [steps]        (after npm run build)
 *
 * Data: 8 synthetic identities in 16 dimensions (a random centre each plus noise), batches of
 * P = 4 identities x K = 4 samples.
 */
const tf = require('@tensorflow/tfjs');
const { F, PKSampler } = require('..');   // in your project: require('torch-losses')

tf.env().set('PROD', true);  // no "install tfjs-node" banner

/**
 * The batch-hard triplet loss as a TF.js op of the embeddings: the forward pass reads them into
 * a Float32Array (dataSync) and calls the addon, which returns the loss and its gradient; the
 * backward pass scales that gradient by the upstream one.
 */
function batchHardTriplet(labels, options) {
  return tf.customGrad((embeddings, save) => {
    const r = F.batchHardTripletLoss({ data: embeddings.dataSync(), shape: embeddings.shape }, labels, options);
    const grad = tf.tensor(r.grad.embeddings, embeddings.shape);
    save([grad]);
    return { value: tf.scalar(r.loss), gradFunc: (dy, [g]) => tf.mul(dy, g) };
  });
}

/** A seeded normal generator (Box-Muller on mulberry32), so that runs repeat. */
function gaussian(seed) {
  let s = seed | 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

/** Trains for `steps` batches; returns the loss of every step. */
function train({ steps = 60, seed = 0, log = () => {} } = {}) {
  tf.setBackend('cpu');
  const ids = 8, perId = 32, dim = 16;
  const randn = gaussian(seed);
  const centres = Array.from({ length: ids }, () => Array.from({ length: dim }, () => 2 * randn()));
  const labels = Int32Array.from({ length: ids * perId }, (_, i) => Math.floor(i / perId));
  const points = Float32Array.from({ length: ids * perId * dim }, (_, i) => centres[labels[Math.floor(i / dim)]][i % dim] + 1.5 * randn());

  // Seeded initialisation through tf's own initialisers.
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [dim], units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: 8, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
  const optimizer = tf.train.adam(0.01);
  const sampler = new PKSampler(labels, { p: 4, k: 4, seed });
  const losses = [];
  let batches = [];
  for (let step = 0; step < steps; step++) {
    if (batches.length === 0) batches = sampler.epoch();
    const indices = batches.shift();
    const x = new Float32Array(indices.length * dim);
    indices.forEach((i, r) => x.set(points.subarray(i * dim, (i + 1) * dim), r * dim));
    const y = Int32Array.from(indices, (i) => labels[i]);
    const loss = tf.tidy(() => {
      const input = tf.tensor2d(x, [indices.length, dim]);
      const lossFn = batchHardTriplet(y, { margin: 0.3 });
      // minimize: TF.js differentiates the model; the loss's gradient comes from torch-losses.
      return optimizer.minimize(() => lossFn(model.apply(input)), true);
    });
    losses.push(loss.dataSync()[0]);
    loss.dispose();
    log(step, losses[step]);
  }
  model.dispose();
  optimizer.dispose();
  return losses;
}

module.exports = { batchHardTriplet, train };

if (require.main === module) {
  const steps = Number(process.argv[2] ?? 60);
  const losses = train({ steps, log: (step, loss) => { if (step % 10 === 0) console.log(`step ${String(step).padStart(3)}  loss ${loss.toFixed(4)}`); } });
  const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
  console.log(`mean loss of the first 10 steps ${mean(losses.slice(0, 10)).toFixed(4)}, of the last 10 ${mean(losses.slice(-10)).toFixed(4)}`);
}
