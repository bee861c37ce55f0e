'use strict';
/**
 * Host inputs for a case (bench/cases.js input specs): float kinds as { data: Float32Array,
 * shape }, label kinds as Int32Array. Seeded, so every run times the same numbers;
 * bench/reference.py draws the same distributions with torch's generator.
 */

/** mulberry32: a small seeded PRNG. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randn(count, next) {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = 1 - next();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * next();
    out[i] = r * Math.cos(theta);
    if (i + 1 < count) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

const count = (shape) => shape.reduce((x, y) => x * y, 1);

/** Row i of a (N, C) multilabel target: classes 7i % C and (7i + 1) % C, then -1, then zeros. */
function multilabel([n, c]) {
  const out = new Int32Array(n * c);
  for (let i = 0; i < n; i++) {
    const row = i * c;
    out[row] = (7 * i) % c;
    out[row + 1] = (7 * i + 1) % c;
    if (c > 2) out[row + 2] = -1;
  }
  return out;
}

function makeInput(spec, next) {
  const n = count(spec.shape);
  const floats = (fill) => {
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = fill(i);
    return { data, shape: spec.shape };
  };
  switch (spec.kind) {
    case 'randn': return { data: randn(n, next), shape: spec.shape };
    case 'uniform': return floats(() => next());
    case 'sign': return floats(() => (next() < 0.5 ? -1 : 1));
    case 'binary': return floats(() => (next() < 0.5 ? 0 : 1));
    case 'logprob': return floats(() => Math.log(1 - next()));
    case 'labels': return Int32Array.from({ length: n }, () => Math.floor(next() * spec.classes));
    case 'multilabel': return multilabel(spec.shape);
    case 'identities': return Int32Array.from({ length: n }, (_, i) => Math.floor(i / 4));
    default: throw new Error(`bench: unknown input kind ${spec.kind}`);
  }
}

/** The inputs of a case, in argument order. */
function makeInputs(c, seed) {
  const next = rng(seed);
  return c.inputs.map((spec) => makeInput(spec, next));
}

module.exports = { makeInputs, rng, randn };
