'use strict';
/**
 * The TensorFlow.js side: the same losses written with tf ops, forward+backward through
 * tf.valueAndGrads, on the pure-JS 'cpu' backend and the WebAssembly 'wasm' backend (its .wasm
 * files ship in @tensorflow/tfjs-backend-wasm/dist and load from there, offline). In Node the
 * wasm backend runs single-threaded (tfjs disables its threaded build there) and picks the SIMD
 * build when WebAssembly SIMD is available; the cpu backend is single-threaded JS.
 *
 * A step mirrors an addon call with host inputs: tensors made from the Float32Arrays, loss and
 * gradients computed, read back into typed arrays (dataSync), every tensor freed (tf.tidy).
 */
const fs = require('fs');
const path = require('path');

/** Loads TF.js and both backends; resolves { tf, versions, wasm } or { error }. */
async function load() {
  let tf;
  let wasmBackend;
  try {
    tf = require('@tensorflow/tfjs');
    wasmBackend = require('@tensorflow/tfjs-backend-wasm');
  } catch (error) {
    return { error: `TF.js not installed (npm install --save-dev @tensorflow/tfjs @tensorflow/tfjs-backend-wasm): ${error.message}` };
  }
  // PROD: no "install tfjs-node" banner on stderr, no debug checks (what a deployment runs).
  tf.env().set('PROD', true);
  const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  wasmBackend.setWasmPaths(`${wasmDir}${path.sep}`);
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threaded = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  // The file tfjs-backend-wasm picks (getPathToWasmBinary).
  const wasmFile = threaded && simd ? 'tfjs-backend-wasm-threaded-simd.wasm' : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  const wasm = { dir: wasmDir, file: wasmFile, shipped: fs.existsSync(path.join(wasmDir, wasmFile)), simd, threaded, threads: null, error: null };
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    wasm.threads = wasmBackend.getThreadsCount();
  } catch (error) {
    wasm.error = error.message;
  }
  await tf.setBackend('cpu');
  return { tf, versions: { ...tf.version }, wasm };
}

/**
 * Batch-hard triplet loss as reference.py's batch_hard_triplet_loss, the distance matrix written
 * out (TF.js has no cdist): sqrt(max(|x|^2 + |y|^2 - 2 x.y, 1e-12)).
 */
function batchHard(tf, x, labels, margin) {
  const n = x.shape[0];
  const sq = x.square().sum(1);
  const d2 = sq.expandDims(1).add(sq.expandDims(0)).sub(tf.matMul(x, x, false, true).mul(2));
  const dist = d2.maximum(1e-12).sqrt();
  const same = tf.equal(labels.expandDims(1), labels.expandDims(0));
  const pos = tf.logicalAnd(same, tf.logicalNot(tf.eye(n).cast('bool')));
  const neg = tf.logicalNot(same);
  const dAp = tf.where(pos, dist, tf.fill([n, n], -Infinity)).max(1);
  const dAn = tf.where(neg, dist, tf.fill([n, n], Infinity)).min(1);
  const valid = tf.logicalAnd(pos.any(1), neg.any(1)).cast('float32');
  return tf.relu(dAp.sub(dAn).add(margin)).mul(valid).sum().div(valid.sum().maximum(1));
}

/**
 * The TF.js step of a case (ids of bench/cases.js TFJS_IDS), over the case's host inputs.
 * Returns a function giving { loss, grads: Float32Array[] }.
 */
function makeStep(tf, c, inputs) {
  const floatTensor = (x) => tf.tensor(x.data, x.shape, 'float32');
  let body;
  if (c.loss === 'batchHardTripletLoss') {
    const [emb, labels] = inputs;
    const margin = c.options.margin ?? 0.3;
    body = () => {
      const lab = tf.tensor1d(labels, 'int32');
      return tf.valueAndGrads((x) => batchHard(tf, x, lab, margin))([floatTensor(emb)]);
    };
  } else if (c.loss === 'mseLoss') {
    const [input, target] = inputs;
    body = () => tf.valueAndGrads((x, y) => tf.losses.meanSquaredError(y, x))([floatTensor(input), floatTensor(target)]);
  } else if (c.loss === 'crossEntropyLoss') {
    const [logits, labels] = inputs;
    const classes = logits.shape[1];
    body = () => {
      const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
      return tf.valueAndGrads((x) => tf.losses.softmaxCrossEntropy(onehot, x))([floatTensor(logits)]);
    };
  } else {
    throw new Error(`bench/tfjs.js has no TF.js version of ${c.loss}`);
  }
  // tidy() keeps the tensors it returns and frees the rest; the read-back happens outside it
  // (tidy walks whatever it returns, element by element, typed arrays included).
  return () => {
    const { value, grads } = tf.tidy(body);
    const out = { loss: value.dataSync()[0], grads: grads.map((g) => g.dataSync()) };
    tf.dispose([value, ...grads]);
    return out;
  };
}

/** One (N x D) @ (D x N) product, inputs made once; returns { step, dispose }. */
function makeMatmul(tf, n, d) {
  const a = tf.randomNormal([n, d], 0, 1, 'float32', 1);
  const b = tf.randomNormal([d, n], 0, 1, 'float32', 2);
  return {
    step: () => tf.matMul(a, b).dispose(),
    dispose: () => {
      a.dispose();
      b.dispose();
    },
  };
}

/** Largest |a - b| over paired arrays. */
function maxDiff(as, bs) {
  let m = 0;
  as.forEach((a, k) => {
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - bs[k][i]));
  });
  return m;
}

module.exports = { load, makeStep, makeMatmul, maxDiff };
