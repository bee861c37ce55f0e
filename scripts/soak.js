#!/usr/bin/env node
'use strict';
// Long-running leak check (not in CI): `npm run soak [-- CALLS]` runs CALLS (default 1,000,000)
// loss calls, half sync and half async, with fresh inputs, some on Tensors, and prints RSS and
// live Tensors as it goes. Also used, CI-sized, by test/leak.test.ts.
const t = require('../dist');

const calls = Number(process.argv[2] || 1_000_000);
const every = Number(process.argv[3] || Math.max(1000, calls / 20));
const gc = global.gc || (() => {});
const mb = () => process.memoryUsage().rss / 2 ** 20;
const turn = () => new Promise((resolve) => setImmediate(resolve));

function inputs(i) {
  const n = 32;
  const d = 16;
  const a = new Float32Array(n * d);
  for (let k = 0; k < a.length; k++) a[k] = Math.sin(i + k);
  return { a: { data: a, shape: [n, d] }, labels: Int32Array.from({ length: n }, (_, k) => (k + i) % 10) };
}

async function main() {
  const start = t.memory().cpu ? t.memory().cpu.tensors : 0;
  const samples = [];
  let baseline = 0;
  for (let i = 0; i < calls; i += 2) {
    const { a, labels } = inputs(i);
    const logits = { data: a.data.subarray(0, 320), shape: [32, 10] };
    t.F.crossEntropyLoss(logits, labels);
    await t.F.tripletMarginLossAsync(a, a, a, { margin: 0.5 });
    if (i % 100 === 0) {
      const x = t.tensor(a.data, a.shape);
      const r = t.F.mseLoss(x, x);
      r.grad.input.dispose();
      r.grad.target.dispose();
      x.dispose();
    }
    if (i % every === 0) {
      await turn();
      gc();
      await turn();
      const rss = mb();
      if (i === Math.min(every * 2, calls / 4) || baseline === 0) baseline = rss;
      samples.push({ calls: i, rssMB: +rss.toFixed(1) });
      if (process.argv.includes('--print')) console.log(`${String(i).padStart(8)} calls  rss ${rss.toFixed(1)} MB`);
    }
  }
  await turn();
  gc();
  await turn();
  const end = mb();
  const report = {
    calls,
    rssStartMB: samples[0] ? samples[0].rssMB : end,
    rssAfterWarmupMB: +baseline.toFixed(1),
    rssEndMB: +end.toFixed(1),
    growthAfterWarmupMB: +(end - baseline).toFixed(1),
    liveTensorsDelta: (t.memory().cpu ? t.memory().cpu.tensors : 0) - start,
    samples,
  };
  console.log(JSON.stringify(report));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
