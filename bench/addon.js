'use strict';
/**
 * The addon side: one step = one forward+backward call of F.<loss> (or F.<loss>Async), in one of
 * the calling forms of bench/cases.js VARIANTS: host inputs ({ data, shape }, gradients come back
 * as fresh Float32Arrays) or Tensors (made once; gradients come back as Tensors, disposed in the
 * step, as a training loop would).
 */
const { makeInputs } = require('./inputs');

/** Checks that the addon differentiates exactly the inputs the case says (and PyTorch will). */
function checkGradients(c, result) {
  const got = result.grad ? Object.keys(result.grad).length : 0;
  const want = c.inputs.filter((i) => i.grad).length;
  if (got !== want) {
    throw new Error(`${c.id}: the addon returned ${got} gradient(s), the case expects ${want}; fix bench/cases.js`);
  }
  if (!Number.isFinite(result.loss)) throw new Error(`${c.id}: loss is ${result.loss}`);
}

/**
 * { step, isAsync, dispose } for case `c` in calling form `variant` (default: sync, host).
 * The first call runs here, so that a call that throws fails loudly before any timing.
 */
async function makeStep(torch, c, seed, variant = { async: false, tensors: false }) {
  const host = makeInputs(c, seed);
  const tensors = [];
  const args = variant.tensors
    ? host.map((x) => {
        if (x instanceof Int32Array) return x;
        const t = torch.tensor(x.data, x.shape);
        tensors.push(t);
        return t;
      })
    : host;
  const options = { ...c.options };
  const fn = torch.F[variant.async ? `${c.loss}Async` : c.loss];
  if (typeof fn !== 'function') throw new Error(`the addon has no F.${c.loss}${variant.async ? 'Async' : ''}`);
  let sink = 0;
  const release = variant.tensors
    ? (r) => {
        sink += r.loss;
        if (r.grad) for (const g of Object.values(r.grad)) g.dispose();
        return r;
      }
    : (r) => {
        sink += r.loss;
        return r;
      };
  const step = variant.async ? () => fn(...args, options).then(release) : () => release(fn(...args, options));

  checkGradients(c, await step());
  return {
    step,
    isAsync: variant.async,
    sink: () => sink,
    dispose: () => tensors.forEach((t) => t.dispose()),
  };
}

module.exports = { makeStep };
