/**
 * Data and one training step shared by the distributed tests (test/dist.test.ts) and the rank
 * processes they start (dist-rank.js): the single-process reference and the ranks must build the
 * very same batches and do the very same arithmetic. Plain JavaScript: the ranks are plain `node`.
 */

// The package's own seeded generator (lib/random.ts).
const { Random } = require('../../dist/random');
function mulberry32(seed) {
  const random = new Random(seed);
  return () => random.next();
}

const SIZES = { inputDim: 6, dim: 4, classes: 5 };

/** Rows of rank `rank` (ragged on purpose: rank r has 3 + r rows); inputs and labels. */
function rankBatch(seed, rank) {
  const rand = mulberry32(seed * 7919 + rank * 104729 + 1);
  const rows = 3 + rank;
  const inputs = new Float32Array(rows * SIZES.inputDim);
  for (let i = 0; i < inputs.length; i++) inputs[i] = Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const labels = Int32Array.from({ length: rows }, () => Math.floor(rand() * SIZES.classes));
  return { rows, inputs, labels };
}

/** Rank `rank`'s embeddings (rows x dim) and labels for the parity test. */
function parityBatch(seed, rank) {
  const { rows, labels } = rankBatch(seed, rank);
  const embeddings = rankBatch(seed + 1, rank).inputs.slice(0, rows * SIZES.dim);
  return { rows, labels, embeddings };
}

/** The concatenation of ranks 0..worldSize-1's batches, in rank order (what allGather gives). */
function globalBatch(seed, worldSize) {
  const parts = Array.from({ length: worldSize }, (_, r) => rankBatch(seed, r));
  const rows = parts.reduce((a, p) => a + p.rows, 0);
  const inputs = new Float32Array(rows * SIZES.inputDim);
  const labels = new Int32Array(rows);
  let at = 0;
  for (const p of parts) {
    inputs.set(p.inputs, at * SIZES.inputDim);
    labels.set(p.labels, at);
    at += p.rows;
  }
  return { rows, inputs, labels };
}

/** The initial weight of the linear "model" (the same for everyone). */
function initialWeight(seed) {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: SIZES.inputDim * SIZES.dim }, () => rand() - 0.5);
}

/** (rows x inputDim) @ (inputDim x dim), in float64 then rounded once. */
function embed(inputs, rows, weight) {
  const { inputDim, dim } = SIZES;
  const out = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < dim; j++) {
      let s = 0;
      for (let k = 0; k < inputDim; k++) s += inputs[i * inputDim + k] * weight[k * dim + j];
      out[i * dim + j] = s;
    }
  }
  return out;
}

/** d(loss)/d(weight) = inputs^T @ gradEmbeddings. */
function weightGrad(inputs, rows, gradEmbeddings) {
  const { inputDim, dim } = SIZES;
  const out = new Float32Array(inputDim * dim);
  for (let k = 0; k < inputDim; k++) {
    for (let j = 0; j < dim; j++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s += inputs[i * inputDim + k] * gradEmbeddings[i * dim + j];
      out[k * dim + j] = s;
    }
  }
  return out;
}

/**
 * One training step of a linear model W and a CenterLoss with batch-hard triplet + center loss:
 * `triplet(emb, labels)` and `centerForward(emb, labels)` return { loss, grad } (plain losses or
 * DistributedLoss wrappers); `reduce(model, center)` combines gradients across ranks (or not).
 */
function trainStep({ model, center, triplet, centerForward, reduce }, batch) {
  const weight = model.parameters().weight.data;
  const emb = { data: embed(batch.inputs, batch.rows, weight), shape: [batch.rows, SIZES.dim] };
  const t = triplet(emb, batch.labels);
  const c = centerForward(emb, batch.labels);
  const g = Float32Array.from(t.grad.embeddings, (v, i) => v + c.grad.input[i]);
  model.setGradients({ weight: { data: weightGrad(batch.inputs, batch.rows, g), shape: [SIZES.inputDim, SIZES.dim] } });
  reduce(model, center);
  model.step();
  center.step();
  model.zeroGrad();
  center.zeroGrad();
  return t.loss + c.loss;
}

/** The modules of the training test, with the same start for everyone given `seed`. */
function makeModules(tl, seed) {
  const model = new tl.nn.ParameterDict(
    { weight: { data: initialWeight(seed), shape: [SIZES.inputDim, SIZES.dim] } },
    { optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 } },
  );
  tl.manualSeed(seed);
  const center = new tl.nn.CenterLoss({ numClasses: SIZES.classes, featDim: SIZES.dim, lossWeight: 0.5 });
  return { model, center };
}

const TRIPLET_OPTIONS = { margin: 0.3 };
// A small scale keeps the float32 loss near 1, so that 1e-5 is a tight absolute tolerance.
const ARCFACE_OPTIONS = { s: 4, m: 0.5 };

module.exports = { SIZES, TRIPLET_OPTIONS, ARCFACE_OPTIONS, rankBatch, parityBatch, globalBatch, trainStep, makeModules };
