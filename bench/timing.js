'use strict';
/**
 * The timing protocol of bench/run.js; bench/reference.py implements the same one in Python.
 *
 * Warm-up: calls for warmupSeconds (at least one). Then `batches` time-boxed batches of
 * targetSeconds / batches each (at least one call per batch); when one call lasts longer than a
 * batch, fewer batches are run so that the case fits maxCaseSeconds (never fewer than
 * minBatches). The statistic is the median of the batches' mean µs per call.
 *
 * Addon and PyTorch are timed in alternation, batch by batch (addon batch 1, PyTorch batch 1,
 * addon batch 2, ...), so that both sides see the same machine load at the same time: on a
 * shared machine that matters more than any other source of noise.
 *
 * Synchronous steps run back to back inside a batch, and every batch ends with one turn of the
 * event loop *inside* the timed span: Node runs the finalizers it defers to the loop (those of the
 * zero-copy result arrays) there, so their cost is counted (PyTorch frees its gradients inside
 * its loop, too) and memory stays bounded by one batch. The warm-up turns the loop every ~20 ms
 * for the same reason. Asynchronous steps are awaited one after the other.
 */

const now = () => Number(process.hrtime.bigint());
/** One turn of the event loop (setImmediate callbacks, deferred finalizers). */
const turn = () => new Promise((resolve) => setImmediate(resolve));

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** How many batches to run, given the mean seconds per call seen in the warm-up. */
function batchCount(t, secondsPerCall) {
  const batchSeconds = t.targetSeconds / t.batches;
  if (secondsPerCall <= batchSeconds) return t.batches;
  return Math.max(t.minBatches, Math.min(t.batches, Math.floor(t.maxCaseSeconds / secondsPerCall)));
}

/** Warm-up; resolves { perCall (seconds), iters }. */
async function warmUp(step, t, isAsync = false) {
  const turnEveryNs = 20e6;
  let iters = 0;
  const start = now();
  let lastTurn = start;
  for (;;) {
    if (isAsync) await step();
    else step();
    iters++;
    const at = now();
    if (at - start >= t.warmupSeconds * 1e9) break;
    if (!isAsync && at - lastTurn >= turnEveryNs) {
      await turn();
      lastTurn = now();
    }
  }
  const perCall = (now() - start) / 1e9 / iters;
  await turn();
  return { perCall, iters };
}

/** One time-boxed batch; resolves { us (mean per call), n }. */
async function runBatch(step, batchNs, isAsync = false) {
  let n = 0;
  const t0 = now();
  if (isAsync) {
    do {
      await step();
      n++;
    } while (now() - t0 < batchNs);
  } else {
    do {
      step();
      n++;
    } while (now() - t0 < batchNs);
    await turn();
  }
  return { us: (now() - t0) / n / 1e3, n };
}

function summary(batches, warmupIters) {
  const us = batches.map((b) => b.us);
  return { us: median(us), min_us: Math.min(...us), batches_us: us, batch_iters: batches.map((b) => b.n), warmup_iters: warmupIters };
}

/**
 * Times `step` (a function; with isAsync, one returning a Promise) under timing `t`. Returns
 * { us, min_us, batches_us, batch_iters, warmup_iters }.
 */
async function measure(step, t, isAsync = false) {
  const w = await warmUp(step, t, isAsync);
  const batchNs = (t.targetSeconds * 1e9) / t.batches;
  const batches = [];
  for (let b = batchCount(t, w.perCall); b > 0; b--) batches.push(await runBatch(step, batchNs, isAsync));
  return summary(batches, w.iters);
}

/**
 * Times two sides in alternation. Each side is { warmUp(t) -> { perCall, iters },
 * batch(batchNs) -> { us, n } } (async, throwing on failure) or null. Both run the same number
 * of batches: the smaller of the two sides' batchCount. A side that throws is reported to
 * onError(index, error) and left out. Resolves [a, b]: summaries, or null for a side left out.
 */
async function measurePair(sides, t, onError) {
  const warm = [];
  for (let i = 0; i < sides.length; i++) {
    let w = null;
    if (sides[i]) {
      try {
        w = await sides[i].warmUp(t);
      } catch (error) {
        onError(i, error);
      }
    }
    warm.push(w);
  }
  const live = () => warm.map((w, i) => (w ? i : -1)).filter((i) => i >= 0);
  if (!live().length) return sides.map(() => null);
  const count = Math.min(...live().map((i) => batchCount(t, warm[i].perCall)));
  const batchNs = (t.targetSeconds * 1e9) / t.batches;
  const batches = sides.map(() => []);
  for (let k = 0; k < count; k++) {
    for (const i of live()) {
      try {
        batches[i].push(await sides[i].batch(batchNs));
      } catch (error) {
        onError(i, error);
        warm[i] = null;
      }
    }
  }
  return sides.map((s, i) => (warm[i] ? summary(batches[i], warm[i].iters) : null));
}

module.exports = { measure, measurePair, warmUp, runBatch, summary, median, turn, now, batchCount };
