/**
 * Runs in a worker_thread (plain JavaScript: workers cannot load TypeScript). Loads the compiled
 * package, computes `count` losses from a seeded PRNG and posts back the inputs and results, so
 * that the main thread can recompute them itself. Also reports whether errors raised in this
 * thread are instances of this thread's classes.
 *
 * workerData: { distIndex: string, seed: number, count: number, id: number, mode?: 'loop' | 'idle' }
 *   mode 'loop': post one message, then compute forever (the test terminates this worker).
 *   mode 'idle': post the results, then stay alive, idle, until terminated.
 */
const { parentPort, workerData } = require('worker_threads');

const { distIndex, seed, count, id, mode } = workerData;
const tl = require(distIndex);

// The package's own seeded generator (lib/random.ts, compiled next to the index).
const { Random } = require(require('path').join(require('path').dirname(distIndex), 'random'));
function mulberry32(seed) {
  const random = new Random(seed);
  return () => random.next();
}
const random = mulberry32(seed);
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const values = (n, Type) => Type.from({ length: n }, () => random() * 4 - 2);

/** One random call: { loss, args, options }: the fused kernels and a few autograd losses. */
function randomCall(i) {
  const Type = i % 5 === 4 ? Float64Array : Float32Array;
  const reduction = ['mean', 'sum', 'none'][i % 3];
  const rows = int(1, 16);
  const dim = int(1, 32);
  const t = () => ({ data: values(rows * dim, Type), shape: [rows, dim] });
  switch (i % 6) {
    case 0: {
      const n = int(1, 64);
      const target = Type.from({ length: n }, () => (random() < 0.5 ? -1 : 1));
      return { loss: 'marginRankingLoss', args: [values(n, Type), values(n, Type), target], options: { margin: random(), reduction } };
    }
    case 1:
      return { loss: 'tripletMarginLoss', args: [t(), t(), t()], options: { margin: random() * 2, p: [1, 2, 3, Infinity][int(0, 3)], swap: random() < 0.5, reduction } };
    case 2: {
      const labels = Int32Array.from({ length: rows }, () => int(0, dim - 1));
      return { loss: 'crossEntropyLoss', args: [t(), labels], options: { labelSmoothing: random() * 0.5, reduction } };
    }
    case 3: {
      const target = { data: Type.from({ length: rows * dim }, () => random()), shape: [rows, dim] };
      // ({ data, shape }: lib/validate.ts tensorOption rejects a bare typed array of another realm,
      // which is what the main thread of a jest test receives from here; see fuzz.test.ts)
      const posWeight = { data: Type.from({ length: dim }, () => 0.5 + random()), shape: [dim] };
      return { loss: 'bceWithLogitsLoss', args: [t(), target], options: { posWeight, reduction } };
    }
    case 4: {
      const target = Type.from({ length: rows }, () => (random() < 0.5 ? -1 : 1));
      return { loss: 'cosineEmbeddingLoss', args: [t(), t(), target], options: { margin: random() - 0.5, reduction } };
    }
    default:
      return { loss: 'tripletMarginWithDistanceLoss', args: [t(), t(), t()], options: { distance: ['euclidean', 'cosine', 'manhattan'][int(0, 2)], reduction } };
  }
}

function errorChecks() {
  const a = new Float32Array([1, 2]);
  const kind = (fn) => {
    try {
      fn();
      return 'returned';
    } catch (e) {
      if (e instanceof tl.DeviceError) return 'DeviceError';
      if (e instanceof TypeError) return 'TypeError';
      if (e instanceof RangeError) return 'RangeError';
      return `other: ${e && e.name}`;
    }
  };
  return {
    device: kind(() => tl.F.marginRankingLoss(a, a, a, { device: 'cuda:0' })),
    nativeType: kind(() => tl.F.marginRankingLoss('x', a, a)),
    nativeRange: kind(() => tl.F.marginRankingLoss(a, new Float32Array(3), a)),
    facadeRange: kind(() => tl.F.marginRankingLoss(a, a, a, { reduction: 'avg' })),
    labelsRange: kind(() => tl.F.crossEntropyLoss({ data: a, shape: [1, 2] }, [5])),
    labelsType: kind(() => tl.F.nllLoss({ data: a, shape: [1, 2] }, [0.5])),
  };
}

if (mode === 'loop') {
  parentPort.postMessage({ id, started: true });
  for (let i = 0; ; i++) {
    const call = randomCall(i);
    tl.F[call.loss](...call.args, call.options);
  }
}

const results = [];
for (let i = 0; i < count; i++) {
  const call = randomCall(i);
  const result = tl.F[call.loss](...call.args, call.options);
  results.push({ ...call, result });
}
parentPort.postMessage({ id, results, checks: errorChecks(), cudaAvailable: tl.cuda.isAvailable() });
if (mode === 'idle') parentPort.on('message', () => {}); // keeps the thread alive
