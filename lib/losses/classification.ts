/**
 * Classification losses of torch.nn, through libtorch autograd. Class indices are labels
 * (Int32Array | BigInt64Array | number[]), flat, in the input's layout without the class
 * dimension; probabilities and binary targets are float tensors of the input's shape.
 */
import type { CommonLossOptions, LabelsInput, TensorInput } from '../types';
import * as check from '../validate';
import { defineLoss } from './define';

const weight = (v: unknown) => check.tensorOption('weight', v);
const ignoreIndex = (v: unknown) => check.integer('ignoreIndex', v);

export interface CrossEntropyLossOptions extends CommonLossOptions {
  /** One rescaling weight per class, shape (C). */
  weight?: TensorInput;
  /** Targets equal to this index add nothing to the loss or the gradient. Default -100. */
  ignoreIndex?: number;
  /** In [0, 1]: mixes the target with the uniform distribution (Szegedy et al. 2016). Default 0. */
  labelSmoothing?: number;
}
/**
 * input: logits (C), (N, C) or (N, C, d1, ...). target: class indices (labels) or class
 * probabilities (a float tensor of the input's shape). Gradients: input, and target when it holds
 * probabilities. As in PyTorch, 'mean' over a batch whose every target is ignored is NaN.
 */
const crossEntropy = defineLoss<[input: TensorInput, target: LabelsInput | TensorInput], CrossEntropyLossOptions, 'input' | 'target'>(
  'crossEntropyLoss', 2, {
    weight,
    ignoreIndex,
    labelSmoothing: (v) => check.numberIn('labelSmoothing', v, 0, 1),
  });
export const crossEntropyLoss = crossEntropy.fn;
export const crossEntropyLossAsync = crossEntropy.fnAsync;
export class CrossEntropyLoss extends crossEntropy.Module {}

export interface NLLLossOptions extends CommonLossOptions {
  weight?: TensorInput;
  /** Default -100. */
  ignoreIndex?: number;
}
/** input: log-probabilities (C), (N, C) or (N, C, d1, ...); target: class indices. Gradient: input. */
const nll = defineLoss<[input: TensorInput, target: LabelsInput], NLLLossOptions, 'input'>('nllLoss', 2, { weight, ignoreIndex });
export const nllLoss = nll.fn;
export const nllLossAsync = nll.fnAsync;
export class NLLLoss extends nll.Module {}

export interface BCELossOptions extends CommonLossOptions {
  /** Rescaling weight, broadcastable to the input's shape. */
  weight?: TensorInput;
}
/** input: probabilities in [0, 1]; target in [0, 1], same shape. Gradients: input, target. */
const bce = defineLoss<[input: TensorInput, target: TensorInput], BCELossOptions, 'input' | 'target'>('bceLoss', 2, { weight });
export const bceLoss = bce.fn;
export const bceLossAsync = bce.fnAsync;
export class BCELoss extends bce.Module {}

export interface BCEWithLogitsLossOptions extends BCELossOptions {
  /** Weight of the positive examples, broadcastable to the input (usually shape (C)). */
  posWeight?: TensorInput;
}
/** input: logits; target in [0, 1]. Numerically stable sigmoid + BCE. Gradients: input, target. */
const bceWithLogits = defineLoss<[input: TensorInput, target: TensorInput], BCEWithLogitsLossOptions, 'input' | 'target'>(
  'bceWithLogitsLoss', 2, { weight, posWeight: (v) => check.tensorOption('posWeight', v) });
export const bceWithLogitsLoss = bceWithLogits.fn;
export const bceWithLogitsLossAsync = bceWithLogits.fnAsync;
export class BCEWithLogitsLoss extends bceWithLogits.Module {}

/** log(1 + exp(-y x)), y in {1, -1}. Gradient: input. */
const softMargin = defineLoss<[input: TensorInput, target: TensorInput], CommonLossOptions, 'input'>('softMarginLoss', 2, {});
export const softMarginLoss = softMargin.fn;
export const softMarginLossAsync = softMargin.fnAsync;
export class SoftMarginLoss extends softMargin.Module {}

export interface MultiLabelSoftMarginLossOptions extends CommonLossOptions {
  /** One weight per class, shape (C). */
  weight?: TensorInput;
}
/** Mean over classes of the binary logistic losses. input (N, C) or (C); target in {0, 1}. Gradients: input, target. */
const multiLabelSoftMargin = defineLoss<[input: TensorInput, target: TensorInput], MultiLabelSoftMarginLossOptions, 'input' | 'target'>(
  'multiLabelSoftMarginLoss', 2, { weight });
export const multiLabelSoftMarginLoss = multiLabelSoftMargin.fn;
export const multiLabelSoftMarginLossAsync = multiLabelSoftMargin.fnAsync;
export class MultiLabelSoftMarginLoss extends multiLabelSoftMargin.Module {}

/**
 * Multi-class multi-label hinge loss. input (N, C) or (C); target: labels of the input's size,
 * each row's class indices followed by -1 (the rest is ignored). Gradient: input.
 */
const multiLabelMargin = defineLoss<[input: TensorInput, target: LabelsInput], CommonLossOptions, 'input'>('multiLabelMarginLoss', 2, {});
export const multiLabelMarginLoss = multiLabelMargin.fn;
export const multiLabelMarginLossAsync = multiLabelMargin.fnAsync;
export class MultiLabelMarginLoss extends multiLabelMargin.Module {}

export interface MultiMarginLossOptions extends CommonLossOptions {
  /** 1 or 2. Default 1. */
  p?: 1 | 2;
  /** Default 1. */
  margin?: number;
  /** One weight per class, shape (C). */
  weight?: TensorInput;
}
/** Multi-class hinge loss. input (N, C) or (C); target: class indices (N). Gradient: input. */
const multiMargin = defineLoss<[input: TensorInput, target: LabelsInput], MultiMarginLossOptions, 'input'>('multiMarginLoss', 2, {
  p: (v) => {
    if (v !== 1 && v !== 2) {
      if (typeof v !== 'number') throw new TypeError(`\`p\` must be 1 or 2, got ${typeof v}`);
      throw new RangeError(`\`p\` must be 1 or 2, got ${v}`);
    }
  },
  margin: (v) => check.finiteNumber('margin', v),
  weight,
});
export const multiMarginLoss = multiMargin.fn;
export const multiMarginLossAsync = multiMargin.fnAsync;
export class MultiMarginLoss extends multiMargin.Module {}
