'use strict';
/**
 * What `npm run bench` measures. One list of cases, shared by bench/run.js (addon and TF.js
 * sides) and, as JSON over a pipe, bench/reference.py (the PyTorch side), so both sides time
 * the same loss on the same shapes with the same options and differentiate the same inputs.
 *
 * A case:
 *   id       unique key ('<loss>/<size>'), joins the sides' timings
 *   loss     the addon's F.<loss> name; reference.py maps it to torch.nn.functional
 *   size     'small' (call overhead) | 'mid' | 'large' (compute-dominated); sizeLabel is printed
 *   inputs   one spec per positional tensor: { kind, shape, grad, classes? }
 *              kind: randn | uniform (U[0,1)) | sign (+-1) | binary (0/1) | logprob (log U(0,1])
 *                    | labels (int in [0, classes)) | multilabel (see below) | identities (i / 4)
 *              grad: whether the addon returns (and PyTorch computes) a gradient for it
 *   options  loss options, the addon's names (reference.py translates)
 * The inputs follow the same distributions on both sides, not the same numbers; the timings of
 * these losses do not depend on the values (multilabel and identities are deterministic).
 */

const SMALL = 32;
const SIZES = {
  // Call-overhead regime: a few hundred to a few thousand floats, the fixed cost per call dominates.
  small: { pointwise: [SMALL], classes: [SMALL, 10], embedding: [SMALL, 128] },
  // Compute-dominated regime: memory traffic and arithmetic dominate.
  large: { pointwise: [1000000], classes: [4096, 1000], embedding: [4096, 512] },
};
/** --quick (a smoke run): the compute-dominated sizes shrunk so that the whole run takes ~1 min. */
const QUICK_LARGE = { pointwise: [250000], classes: [1024, 1000], embedding: [1024, 512] };

const f = (kind, shape, grad = true, extra = {}) => ({ kind, shape, grad, ...extra });

/** Pointwise losses: (input, target) of one shape. */
const pointwise = (kindIn, kindTarget, gradTarget) => (s) => [f(kindIn, s.pointwise), f(kindTarget, s.pointwise, gradTarget)];

/**
 * Every loss of torch.nn the addon has, in the order of the tables: how to make its inputs at a
 * size, and the options it runs with (PyTorch's defaults unless said).
 */
const LOSSES = [
  // regression
  { loss: 'l1Loss', family: 'pointwise', inputs: pointwise('randn', 'randn', true) },
  { loss: 'mseLoss', family: 'pointwise', inputs: pointwise('randn', 'randn', true) },
  { loss: 'smoothL1Loss', family: 'pointwise', inputs: pointwise('randn', 'randn', true) },
  { loss: 'huberLoss', family: 'pointwise', inputs: pointwise('randn', 'randn', true) },
  { loss: 'poissonNllLoss', family: 'pointwise', inputs: pointwise('randn', 'uniform', true) },
  // 'batchmean' is the true KL divergence (and keeps PyTorch from warning about 'mean').
  { loss: 'klDivLoss', family: 'pointwise', inputs: pointwise('logprob', 'uniform', true), options: { reduction: 'batchmean' } },
  // classification
  { loss: 'crossEntropyLoss', family: 'classes',
    inputs: (s) => [f('randn', s.classes), f('labels', [s.classes[0]], false, { classes: s.classes[1] })] },
  { loss: 'nllLoss', family: 'classes',
    inputs: (s) => [f('logprob', s.classes), f('labels', [s.classes[0]], false, { classes: s.classes[1] })] },
  { loss: 'bceLoss', family: 'pointwise', inputs: pointwise('uniform', 'uniform', true) },
  { loss: 'bceWithLogitsLoss', family: 'pointwise', inputs: pointwise('randn', 'uniform', true) },
  { loss: 'softMarginLoss', family: 'pointwise', inputs: pointwise('randn', 'sign', false) },
  { loss: 'multiLabelSoftMarginLoss', family: 'classes', inputs: (s) => [f('randn', s.classes), f('binary', s.classes)] },
  // multilabel: row i holds the classes (7i) % C and (7i + 1) % C, then -1.
  { loss: 'multiLabelMarginLoss', family: 'classes',
    inputs: (s) => [f('randn', s.classes), f('multilabel', s.classes, false, { classes: s.classes[1] })] },
  { loss: 'multiMarginLoss', family: 'classes',
    inputs: (s) => [f('randn', s.classes), f('labels', [s.classes[0]], false, { classes: s.classes[1] })] },
  // embedding and ranking
  { loss: 'hingeEmbeddingLoss', family: 'pointwise', inputs: pointwise('randn', 'sign', false) },
  { loss: 'cosineEmbeddingLoss', family: 'embedding',
    inputs: (s) => [f('randn', s.embedding), f('randn', s.embedding), f('sign', [s.embedding[0]], false)] },
  { loss: 'tripletMarginWithDistanceLoss', family: 'embedding',
    inputs: (s) => [f('randn', s.embedding), f('randn', s.embedding), f('randn', s.embedding)] },
  { loss: 'marginRankingLoss', family: 'pointwise',
    inputs: (s) => [f('randn', s.pointwise), f('randn', s.pointwise), f('sign', s.pointwise)] },
  { loss: 'tripletMarginLoss', family: 'embedding',
    inputs: (s) => [f('randn', s.embedding), f('randn', s.embedding), f('randn', s.embedding)] },
];

/**
 * Batch-hard triplet (metric learning), run when the addon has F.batchHardTripletLoss. P
 * identities x K = 4 images each, the usual ReID batch. 'mid' (N=512) is the size TF.js is
 * compared at; 'large' is the distance-matrix floor's size (bench/README.md).
 */
const BATCH_HARD = {
  loss: 'batchHardTripletLoss',
  family: 'metric',
  shapes: { small: [SMALL, 128], mid: [512, 128], large: [4096, 512] },
  quickLarge: [1024, 512],
  options: { margin: 0.3, distance: 'euclidean' },
  inputs: (shape) => [f('randn', shape), f('identities', [shape[0]], false)],
};

/** 'N=32', 'N=32 C=10', 'N=32 D=128'. */
function label(inputs, family) {
  const s = inputs[0].shape;
  if (s.length === 1) return `N=${s[0]}`;
  return `N=${s[0]} ${family === 'classes' ? 'C' : 'D'}=${s[1]}`;
}

/** The main matrix: every loss at both sizes, plus batch-hard (three sizes) when present. */
function mainCases({ batchHard, quick = false }) {
  const cases = [];
  const sizes = quick ? { ...SIZES, large: QUICK_LARGE } : SIZES;
  const bhShapes = quick ? { ...BATCH_HARD.shapes, large: BATCH_HARD.quickLarge } : BATCH_HARD.shapes;
  for (const size of ['small', 'large']) {
    for (const l of LOSSES) {
      const inputs = l.inputs(sizes[size]);
      cases.push({ id: `${l.loss}/${size}`, loss: l.loss, family: l.family, size, sizeLabel: label(inputs, l.family),
        inputs, options: l.options || {} });
    }
    if (batchHard) {
      for (const bhSize of size === 'small' ? ['small', 'mid'] : ['large']) {
        const inputs = BATCH_HARD.inputs(bhShapes[bhSize]);
        cases.push({ id: `${BATCH_HARD.loss}/${bhSize}`, loss: BATCH_HARD.loss, family: BATCH_HARD.family, size: bhSize,
          sizeLabel: label(inputs, 'metric'), inputs, options: BATCH_HARD.options });
      }
    }
  }
  return cases;
}

/** The cases timed in every calling form (sync/async x {data, shape}/Tensor). */
const VARIANT_IDS = [
  'tripletMarginLoss/small', 'tripletMarginLoss/large', 'crossEntropyLoss/small', 'crossEntropyLoss/large',
  'batchHardTripletLoss/small', 'batchHardTripletLoss/large',
];

/** The addon calling forms of the variants table. */
const VARIANTS = [
  { id: 'sync-host', label: 'sync, {data, shape}', async: false, tensors: false },
  { id: 'sync-tensor', label: 'sync, Tensor', async: false, tensors: true },
  { id: 'async-host', label: 'async (await), {data, shape}', async: true, tensors: false },
  { id: 'async-tensor', label: 'async (await), Tensor', async: true, tensors: true },
];

/**
 * TF.js comparisons (bench/tfjs.js writes these with tf ops), each joined to the addon and
 * PyTorch case of the same id. N=4096 batch-hard is left out: TF.js's CPU backend needs ~1 min
 * per call there.
 */
const TFJS_IDS = [
  'batchHardTripletLoss/small', 'batchHardTripletLoss/mid',
  'mseLoss/small', 'mseLoss/large', 'crossEntropyLoss/small', 'crossEntropyLoss/large',
];

/**
 * The matrix-product floor: one (N x D) @ (D x N) product, the first step of every
 * distance-matrix loss, at batch-hard's large size. TF.js's CPU backend (~0.7 GFLOP/s, ~25 s per
 * call at N=4096) runs at N=1024; its rate barely depends on N. --quick: N=1024 everywhere.
 */
function floorCases(quick = false) {
  const n = quick ? BATCH_HARD.quickLarge[0] : BATCH_HARD.shapes.large[0];
  const d = BATCH_HARD.shapes.large[1];
  return [
    { engine: 'pytorch', n, d },
    { engine: 'tfjs-wasm', n, d },
    { engine: 'tfjs-cpu', n: 1024, d },
  ];
}

/**
 * Timing parameters, the same on every side: warm up for warmupSeconds (at least one call), then
 * `batches` time-boxed batches of targetSeconds / batches each (at least one call); when one call
 * takes longer than a batch, the number of batches drops to fit maxCaseSeconds (never below
 * minBatches). The statistic is the median of the batches' mean µs per call.
 */
function timing(quick) {
  return quick
    ? { warmupSeconds: 0.05, targetSeconds: 0.12, batches: 3, minBatches: 2, maxCaseSeconds: 0.4 }
    : { warmupSeconds: 0.2, targetSeconds: 0.5, batches: 7, minBatches: 3, maxCaseSeconds: 2 };
}

module.exports = { LOSSES, BATCH_HARD, SIZES, mainCases, VARIANT_IDS, VARIANTS, TFJS_IDS, floorCases, timing };
