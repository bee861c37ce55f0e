#!/usr/bin/env node
// Batch-hard and semi-hard triplet losses at N = 1024, D = 512 on the CPU, forward + backward:
// this package (F.batchHardTripletLoss, F.semiHardTripletLoss) against the Python ways of
// writing them (bench/triplet_family.py: the source document's per-row loop, the vectorised
// masked version) and the floor, one (N x D) @ (D x N) torch.mm in Python (same libtorch 1.13).
//
//   node bench/triplet-family.js [--threads T] [--repeats R] [--rounds K] [--n N] [--d D] [--python PATH]
//
// Needs build/Release and dist/ (npm run build). Prints markdown tables (median and min per call)
// with every ratio.
'use strict';
const { execFileSync } = require('child_process');
const os = require('os');
const path = require('path');

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const threads = Number(flag('threads', 1));  // 1: the same on both sides, and stable on a shared machine
const repeats = Number(flag('repeats', 20));
const n = Number(flag('n', 1024));
const d = Number(flag('d', 512));
const python = flag('python', '/usr/bin/python3');

const torch = require(path.join(__dirname, '..', 'dist', 'index.js'));
torch.setNumThreads(threads);

/** { median, min } microseconds per call after two warm-up calls. */
function timingsUs(fn, count) {
  fn();
  fn();
  const times = [];
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0] };
}

// P x K = 4 identities, standard normal embeddings (the values do not change the cost)
let seed = 1;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
const embeddings = { data: Float32Array.from({ length: n * d }, () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand())), shape: [n, d] };
const labels = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 4));

// Rounds alternate the two sides so that a burst of load on a shared machine hits both; each
// figure is the median (or min) of its round with the lowest median.
const rounds = Number(flag('rounds', 2));
const best = (a, b) => (!a || b.median < a.median ? b : a);
const addon = {};
const py = {};
for (let round = 0; round < rounds; round++) {
  const p = JSON.parse(execFileSync(python, [path.join(__dirname, 'triplet_family.py'), String(n), String(d), String(threads), String(repeats)],
    { encoding: 'utf8' }));
  py.torch = p.torch;
  for (const key of ['batchHardLoop', 'batchHardVectorised', 'semiHardLoop', 'semiHardVectorised', 'floor']) py[key] = best(py[key], p[key]);
  addon.batchHard = best(addon.batchHard, timingsUs(() => torch.F.batchHardTripletLoss(embeddings, labels, { margin: 0.3 }), repeats));
  addon.semiHard = best(addon.semiHard, timingsUs(() => torch.F.semiHardTripletLoss(embeddings, labels, { margin: 1 }), repeats));
}

const ms = (us) => (us / 1000).toFixed(2);
const x = (v) => `${v.toFixed(2)}x`;
console.log(`N = ${n}, D = ${d}, CPU, ${threads} thread(s) (setNumThreads / torch.set_num_threads), ${rounds} rounds of ${repeats} timed calls ` +
  `(the Python loops: ${Math.max(3, Math.floor(repeats / 4))}); PyTorch ${py.torch}; host Float32Array inputs and gradients on the package side\n`);
for (const stat of ['median', 'min']) {
  console.log(`${stat} per call; floor: torch.mm (N x D) @ (D x N) in Python = ${ms(py.floor[stat])} ms\n`);
  console.log('| loss (fwd+bwd) | this package ms | per-row loop (Python) ms | vectorised (Python) ms | package / floor | loop / package | vectorised / package |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, ours, loop, vec] of [
    ['batch-hard', addon.batchHard, py.batchHardLoop, py.batchHardVectorised],
    ['semi-hard', addon.semiHard, py.semiHardLoop, py.semiHardVectorised],
  ]) {
    console.log(`| ${name} | ${ms(ours[stat])} | ${ms(loop[stat])} | ${ms(vec[stat])} | ${x(ours[stat] / py.floor[stat])} | ` +
      `${x(loop[stat] / ours[stat])} | ${x(vec[stat] / ours[stat])} |`);
  }
  console.log('');
}
