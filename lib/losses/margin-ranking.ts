/**
 * MarginRankingLoss, as torch.nn.MarginRankingLoss:
 *   loss_i = max(0, -target_i * (input1_i - input2_i) + margin)
 * `target` holds 1 (input1 should rank higher) or -1. Gradients: input1, input2, target.
 */
import { loadBinding } from '../native';
import type { CommonLossOptions, LossResult, TensorInput } from '../types';
import * as check from '../validate';

export interface MarginRankingLossOptions extends CommonLossOptions {
  /** Default 0. */
  margin?: number;
}

export type MarginRankingLossResult = LossResult<'input1' | 'input2' | 'target'>;

export function checkMarginRankingOptions(options?: MarginRankingLossOptions): MarginRankingLossOptions {
  return check.lossOptions<MarginRankingLossOptions>('marginRankingLoss', options, {
    margin: (v) => check.finiteNumber('margin', v),
  });
}

/** All three inputs must have the same shape (N) or (). */
export function marginRankingLoss(
  input1: TensorInput,
  input2: TensorInput,
  target: TensorInput,
  options?: MarginRankingLossOptions,
): MarginRankingLossResult {
  return loadBinding().marginRankingLoss(input1, input2, target, checkMarginRankingOptions(options));
}

export class MarginRankingLoss {
  readonly options: Readonly<MarginRankingLossOptions>;

  constructor(options: MarginRankingLossOptions = {}) {
    this.options = Object.freeze({ ...checkMarginRankingOptions(options) });
  }

  forward(input1: TensorInput, input2: TensorInput, target: TensorInput): MarginRankingLossResult {
    return loadBinding().marginRankingLoss(input1, input2, target, this.options);
  }
}
