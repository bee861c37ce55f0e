/**
 * combineLosses: the weighted sum of several losses' results and of their gradients, so that one
 * backward pass goes through the model, e.g. the ReID recipe (source document 000)
 *   0.5 * crossEntropy(logits) + 1.0 * batchHardTriplet(embeddings) + 0.0005 * center(embeddings).
 *
 * Each term names the model output its gradient belongs to (`wrt`); terms on the same output
 * add up: d(sum_t w_t L_t)/d(out) = sum_t w_t dL_t/d(out).
 */
import type { FloatArray } from './types';
import { knownKeys } from './modules/options';
import * as check from './validate';

/** Any loss result with host gradients: F.xxx(...), nn.Xxx.forward(...), CenterLoss.forward(...). */
export interface LossResultLike {
  loss: number;
  grad?: Record<string, unknown>;
}

export interface LossTerm {
  /** The factor of this loss in the total. */
  weight: number;
  /** The loss's result, computed with gradients. */
  result: LossResultLike;
  /** The name of the output this loss was computed on ('embeddings', 'logits'...). */
  wrt: string;
  /**
   * Which entry of `result.grad` is the gradient w.r.t. that output. Default: its only entry
   * ('input' for crossEntropyLoss, 'embeddings' for batchHardTripletLoss...).
   */
  gradKey?: string;
}

export interface CombinedLoss {
  /** sum_t weight_t * loss_t. */
  loss: number;
  /** Each term's weighted loss, by the term's key. */
  terms: Record<string, number>;
  /** One gradient per output named in `wrt`, the weighted sum of the terms' gradients. */
  grad: Record<string, Float32Array | Float64Array>;
}

function gradientOf(name: string, term: LossTerm): FloatArray {
  const grad = term.result.grad;
  if (grad === undefined || grad === null) throw new RangeError(`\`${name}.result\` has no gradients (computed with { grad: false }?)`);
  const keys = Object.keys(grad);
  const key = term.gradKey ?? (keys.length === 1 ? keys[0] : undefined);
  if (key === undefined) {
    throw new RangeError(`\`${name}.gradKey\` is needed: the result has gradients ${keys.map((k) => `'${k}'`).join(', ')}`);
  }
  const g = grad[key];
  const tag = Object.prototype.toString.call(g);  // realm-independent (the addon's arrays may come from another realm)
  if (tag !== '[object Float32Array]' && tag !== '[object Float64Array]') {
    throw new TypeError(`\`${name}.result.grad.${key}\` must be a Float32Array or Float64Array (host gradients), got ${g === undefined ? 'nothing' : typeof g}`);
  }
  return g as FloatArray;
}

/**
 * Sums weighted loss results and their gradients per output. Gradients on the same output must
 * have the same length (the output's size); the sum has the first term's type (Float32Array for
 * float32 inputs). Weights may be 0 (the term is reported, adds nothing).
 *
 * ```ts
 * const out = head.forward(x);
 * const total = combineLosses({
 *   ce: { weight: 0.5, result: F.crossEntropyLoss(out.logits, labels), wrt: 'logits' },
 *   triplet: { weight: 1, result: F.batchHardTripletLoss(out.embeddings, labels), wrt: 'embeddings' },
 *   center: { weight: 0.0005, result: center.forward(out.embeddings, labels), wrt: 'embeddings' },
 * });
 * head.backward(total.grad);   // one backward pass
 * ```
 */
export function combineLosses(terms: Record<string, LossTerm>): CombinedLoss {
  if (terms === null || typeof terms !== 'object' || Array.isArray(terms)) {
    throw new TypeError('combineLosses: `terms` must be an object { name: { weight, result, wrt } }');
  }
  const names = Object.keys(terms);
  if (names.length === 0) throw new RangeError('combineLosses: `terms` is empty');
  let loss = 0;
  const weighted: Record<string, number> = {};
  const grad: Record<string, Float32Array | Float64Array> = {};
  for (const name of names) {
    const term = terms[name];
    knownKeys(`combineLosses: \`${name}\``, term, ['weight', 'result', 'wrt', 'gradKey']);
    const weight = check.finiteNumber(`${name}.weight`, term.weight);
    if (typeof term.wrt !== 'string') throw new TypeError(`\`${name}.wrt\` must be a string naming the output, got ${typeof term.wrt}`);
    if (term.result === null || typeof term.result !== 'object' || typeof term.result.loss !== 'number') {
      throw new TypeError(`\`${name}.result\` must be a loss result { loss, grad }`);
    }
    const g = gradientOf(name, term);
    weighted[name] = weight * term.result.loss;
    loss += weighted[name];
    const sum = grad[term.wrt];
    if (sum === undefined) {
      const float64 = Object.prototype.toString.call(g) === '[object Float64Array]';
      grad[term.wrt] = float64 ? new Float64Array(g.length) : new Float32Array(g.length);
    } else if (sum.length !== g.length) {
      throw new RangeError(`\`${name}\`: the gradient w.r.t. '${term.wrt}' has ${g.length} elements, an earlier term's has ${sum.length}`);
    }
    const target = grad[term.wrt];
    if (weight !== 0) for (let i = 0; i < g.length; i++) target[i] += weight * g[i];
  }
  return { loss, terms: weighted, grad };
}
