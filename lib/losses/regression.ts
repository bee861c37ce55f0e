/**
 * Pointwise regression losses of torch.nn: input and target of the same shape, gradients for
 * both (as PyTorch computes them), through libtorch autograd.
 */
import type { CommonLossOptions, TensorInput } from '../types';
import * as check from '../validate';
import { defineLoss } from './define';

type Pointwise = [input: TensorInput, target: TensorInput];
type Grad = 'input' | 'target';

/** |input - target|. */
const l1 = defineLoss<Pointwise, CommonLossOptions, Grad>('l1Loss', 2, {});
export const l1Loss = l1.fn;
export const l1LossAsync = l1.fnAsync;
export class L1Loss extends l1.Module {}

/** (input - target)^2. */
const mse = defineLoss<Pointwise, CommonLossOptions, Grad>('mseLoss', 2, {});
export const mseLoss = mse.fn;
export const mseLossAsync = mse.fnAsync;
export class MSELoss extends mse.Module {}

export interface SmoothL1LossOptions extends CommonLossOptions {
  /** Where the loss turns from quadratic to linear; >= 0, 0 = L1. Default 1. */
  beta?: number;
}
/** 0.5 d^2 / beta if |d| < beta, else |d| - 0.5 beta. */
const smoothL1 = defineLoss<Pointwise, SmoothL1LossOptions, Grad>('smoothL1Loss', 2, {
  beta: (v) => {
    const beta = check.finiteNumber('beta', v);
    if (beta < 0) throw new RangeError(`\`beta\` must be >= 0, got ${beta}`);
  },
});
export const smoothL1Loss = smoothL1.fn;
export const smoothL1LossAsync = smoothL1.fnAsync;
export class SmoothL1Loss extends smoothL1.Module {}

export interface HuberLossOptions extends CommonLossOptions {
  /** > 0. Default 1. */
  delta?: number;
}
/** 0.5 d^2 if |d| < delta, else delta (|d| - 0.5 delta). */
const huber = defineLoss<Pointwise, HuberLossOptions, Grad>('huberLoss', 2, { delta: (v) => check.positiveNumber('delta', v) });
export const huberLoss = huber.fn;
export const huberLossAsync = huber.fnAsync;
export class HuberLoss extends huber.Module {}

export interface PoissonNLLLossOptions extends CommonLossOptions {
  /** input is log(rate): loss = exp(input) - target * input. Default true. */
  logInput?: boolean;
  /** Add the Stirling approximation term target*log(target) - target + 0.5 log(2 pi target). Default false. */
  full?: boolean;
  /** Added to the rate before the log when logInput is false. Default 1e-8. */
  eps?: number;
}
const poissonNll = defineLoss<Pointwise, PoissonNLLLossOptions, Grad>('poissonNllLoss', 2, {
  logInput: (v) => check.boolean('logInput', v),
  full: (v) => check.boolean('full', v),
  eps: (v) => check.finiteNumber('eps', v),
});
export const poissonNllLoss = poissonNll.fn;
export const poissonNllLossAsync = poissonNll.fnAsync;
export class PoissonNLLLoss extends poissonNll.Module {}

export interface KLDivLossOptions extends Omit<CommonLossOptions, 'reduction'> {
  /** 'batchmean' (sum / batch size) is the mathematically correct KL divergence; PyTorch's default is 'mean'. */
  reduction?: 'none' | 'mean' | 'sum' | 'batchmean';
  /** target is given as log-probabilities. Default false. */
  logTarget?: boolean;
}
/** target * (log target - input), input being log-probabilities. */
const klDiv = defineLoss<Pointwise, KLDivLossOptions, Grad>(
  'klDivLoss', 2, { logTarget: (v) => check.boolean('logTarget', v) }, ['none', 'mean', 'sum', 'batchmean']);
export const klDivLoss = klDiv.fn;
export const klDivLossAsync = klDiv.fnAsync;
export class KLDivLoss extends klDiv.Module {}
