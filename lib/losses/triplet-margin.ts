/**
 * TripletMarginLoss, as torch.nn.TripletMarginLoss:
 *   d(x, y) = ||x - y + eps||_p,  loss_i = max(0, margin + d(a_i, p_i) - d(a_i, n_i))
 * With `swap` (Balntas et al. 2016) d(a, n) is replaced by min(d(a, n), d(p, n)).
 * Gradients: anchor, positive, negative.
 */
import { loadBinding } from '../native';
import type { CommonLossOptions, LossResult, TensorInput } from '../types';
import * as check from '../validate';

export interface TripletMarginLossOptions extends CommonLossOptions {
  /** Default 1. */
  margin?: number;
  /** Norm degree of the pairwise distance, > 0 (Infinity allowed). Default 2. */
  p?: number;
  /** Added to the difference before the norm, for stability. Default 1e-6. */
  eps?: number;
  /** Use the distance swap. Default false. */
  swap?: boolean;
}

export type TripletMarginLossResult = LossResult<'anchor' | 'positive' | 'negative'>;

export function checkTripletMarginOptions(options?: TripletMarginLossOptions): TripletMarginLossOptions {
  return check.lossOptions<TripletMarginLossOptions>('tripletMarginLoss', options, {
    margin: (v) => check.finiteNumber('margin', v),
    p: (v) => check.positiveNumber('p', v, { allowInfinity: true }),
    eps: (v) => check.finiteNumber('eps', v),
    swap: (v) => check.boolean('swap', v),
  });
}

/** anchor, positive and negative share one shape: (N, D) or (D). */
export function tripletMarginLoss(
  anchor: TensorInput,
  positive: TensorInput,
  negative: TensorInput,
  options?: TripletMarginLossOptions,
): TripletMarginLossResult {
  return loadBinding().tripletMarginLoss(anchor, positive, negative, checkTripletMarginOptions(options));
}

export class TripletMarginLoss {
  readonly options: Readonly<TripletMarginLossOptions>;

  constructor(options: TripletMarginLossOptions = {}) {
    this.options = Object.freeze({ ...checkTripletMarginOptions(options) });
  }

  forward(anchor: TensorInput, positive: TensorInput, negative: TensorInput): TripletMarginLossResult {
    return loadBinding().tripletMarginLoss(anchor, positive, negative, this.options);
  }
}
