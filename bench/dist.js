#!/usr/bin/env node
'use strict';
/**
 * Per-step cost of dist.DistributedLoss at 2 ranks on one machine (Gloo over the loopback)
 * against one process computing the same loss on the concatenated batch.
 *
 *   node bench/dist.js [--rows B] [--dim D] [--steps N] [--threads T]
 *
 * Each rank holds B rows (P identities x 4 images); the single process holds 2B. Both compute
 * batch-hard triplet (forward + gradient) on the 2B rows; the ranks also gather and slice. So
 * "overhead" = rank step - single-process step = communication and bookkeeping of the wrapper.
 * The wrapper's exchange is 2 collectives (sizes, then rows and labels packed together);
 * dist.barrier() is shown as the cost of one round trip. Prints per-step medians and means (ms). Every process uses T intra-op threads
 * (default 1, so that 2 ranks fit 2 cores). Not a test: nothing is asserted.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

const tl = require(path.join(__dirname, '..', 'dist', 'index.js'));
const { launch } = require(path.join(__dirname, '..', 'dist', 'launch.js'));

function flag(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}
const ROWS = flag('rows', 64);
const DIM = flag('dim', 256);
const STEPS = flag('steps', 200);
const THREADS = flag('threads', 1);
const WARMUP = 20;
const OPTIONS = { margin: 0.3 };

function batch(seed, rows) {
  let state = seed >>> 0;
  const rand = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const data = Float32Array.from({ length: rows * DIM }, () => rand() - 0.5);
  const labels = Int32Array.from({ length: rows }, (_, i) => Math.floor(i / 4) + seed * 1000);
  return { emb: { data, shape: [rows, DIM] }, labels };
}

/** Per-step times (ms) of `step`, after a warm-up. */
function time(step) {
  for (let i = 0; i < WARMUP; i++) step();
  const times = [];
  for (let i = 0; i < STEPS; i++) {
    const t0 = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

/** Per-step times of `a` and of `b`, measured in alternation. */
function timeAlternating(a, b) {
  for (let i = 0; i < WARMUP; i++) {
    a();
    b();
  }
  const ta = [];
  const tb = [];
  for (let i = 0; i < STEPS; i++) {
    for (const [step, times] of [[a, ta], [b, tb]]) {
      const t0 = process.hrtime.bigint();
      step();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  return [ta, tb];
}

function summary(times) {
  const sorted = [...times].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], mean: times.reduce((a, b) => a + b, 0) / times.length };
}

/** Both ranks' batches, concatenated in rank order (what the wrapper gathers). */
function concatenated() {
  const a = batch(1, ROWS);
  const b = batch(2, ROWS);
  return {
    emb: { data: new Float32Array([...a.emb.data, ...b.emb.data]), shape: [2 * ROWS, DIM] },
    labels: Int32Array.from([...a.labels, ...b.labels]),
  };
}

// A rank (started by the launcher below): times the wrapped loss on its B rows.
function rank(outFile) {
  tl.setNumThreads(THREADS);
  tl.dist.initProcessGroup({ timeoutMs: 60000 });
  const me = tl.dist.rank();
  const { emb, labels } = batch(me + 1, ROWS);
  const loss = new tl.dist.DistributedLoss(tl.F.batchHardTripletLoss, OPTIONS);
  // Against the same loss without the wrapper, with both ranks busy (the fair baseline on shared
  // cores), step by step in alternation so that a change of load hits both alike.
  const global = concatenated();
  const [wrapped, plain] = timeAlternating(
    () => loss.forward(emb, labels),
    () => tl.F.batchHardTripletLoss(global.emb, global.labels, OPTIONS),
  );
  const barrier = time(() => tl.dist.barrier()); // one round trip: the floor of any collective
  tl.dist.barrier();
  fs.writeFileSync(outFile.replace('RANK', String(me)), JSON.stringify({ wrapped, plain, barrier }));
  tl.dist.destroy();
}

async function main() {
  tl.setNumThreads(THREADS);
  // The single process: the concatenation of both ranks' batches.
  const { emb, labels } = concatenated();
  const a = batch(1, ROWS);
  const single = summary(time(() => tl.F.batchHardTripletLoss(emb, labels, OPTIONS)));
  const local = summary(time(() => tl.F.batchHardTripletLoss(a.emb, a.labels, OPTIONS)));

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-bench-dist-'));
  const outFile = path.join(dir, 'rank-RANK.json');
  const code = await launch({
    nproc: 2,
    script: __filename,
    args: ['--rank-of-bench', outFile, '--rows', String(ROWS), '--dim', String(DIM), '--steps', String(STEPS), '--threads', String(THREADS)],
    masterPort: 29400 + Math.floor(Math.random() * 500),
  });
  if (code !== 0) throw new Error(`a rank failed (exit code ${code})`);
  const ranks = [0, 1].map((r) => JSON.parse(fs.readFileSync(outFile.replace('RANK', String(r)), 'utf8')));
  const wrapped = summary(ranks.flatMap((r) => r.wrapped));
  const barrier = summary(ranks.flatMap((r) => r.barrier));
  const plain = summary(ranks.flatMap((r) => r.plain));
  const f = (x) => x.toFixed(3).padStart(8);
  const row = (label, x) => console.log(`${label.padEnd(52)}${f(x.min)}  ${f(x.median)}  ${f(x.mean)}`);
  console.log(`batch-hard triplet, ${ROWS} rows x ${DIM} per rank (global ${2 * ROWS}), ${THREADS} thread(s) per process, ${STEPS} steps, ${os.cpus().length} cores`);
  console.log(`${''.padEnd(52)}  min ms  median ms  mean ms`);
  row(`single process, loss on ${2 * ROWS} rows`, single);
  row(`single process, loss on ${ROWS} rows (local only, no dist)`, local);
  row(`2 ranks, DistributedLoss.forward (gather + ${2 * ROWS} rows)`, wrapped);
  row(`2 ranks, plain loss on the ${2 * ROWS} rows, both ranks busy`, plain);
  row('2 ranks, dist.barrier() (one round trip)', barrier);
  const over = (base) => `min ${f(wrapped.min - base.min)}, median ${f(wrapped.median - base.median)}`;
  console.log(`overhead per step vs the single process:             ${over(single)}`);
  console.log(`overhead per step vs plain loss, both ranks busy:    ${over(plain)}`);
  console.log(`load average: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

const at = process.argv.indexOf('--rank-of-bench');
if (at >= 0) rank(process.argv[at + 1]);
else main().catch((e) => {
  console.error(e.message);
  process.exitCode = 1;
});
