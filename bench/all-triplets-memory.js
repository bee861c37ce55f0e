#!/usr/bin/env node
// Peak extra memory of the all-triplets miner with maxTriplets: node bench/all-triplets-memory.js
// [N=2048] [maxTriplets=1000000] [identities=2]. Prints one JSON line: the triplet count, the
// number of triplets the batch has, whether every sampled triplet is valid, distinct and in
// order, and the peak resident memory above the resident memory before the call (MiB, an
// upper bound: the peak of the whole process minus what was resident before).
'use strict';
const path = require('path');

const root = path.join(__dirname, '..');
const binding = require(path.join(root, 'build', 'Release', 'torch_losses.node'));
const [n = 2048, maxTriplets = 1e6, identities = 2] = process.argv.slice(2).map(Number);

const labels = Int32Array.from({ length: n }, (_, i) => i % identities);
const embeddings = { data: new Float32Array(n * 64).fill(1), shape: [n, 64] };
binding.manualSeed(1);
const rssBefore = process.memoryUsage().rss;
const mined = binding.mine(embeddings, labels, { name: 'allTriplets', maxTriplets });
const peak = process.resourceUsage().maxRSS * 1024;

const { anchors, positives, negatives } = mined;
let valid = true;
let previous = -1n;
for (let t = 0; t < anchors.length; t++) {
  const [a, p, q] = [anchors[t], positives[t], negatives[t]];
  const key = (BigInt(a) * BigInt(n) + BigInt(p)) * BigInt(n) + BigInt(q);
  if (a === p || labels[a] !== labels[p] || labels[a] === labels[q] || key <= previous) valid = false;
  previous = key;
}
const perIdentity = n / identities;
console.log(JSON.stringify({
  n, maxTriplets, identities,
  tripletsInBatch: n * (perIdentity - 1) * (n - perIdentity),
  triplets: anchors.length,
  validDistinctSorted: valid,
  peakExtraMiB: Math.round((peak - rssBefore) / 1048576),
}));
