/**
 * The margin-softmax family in functional form (weights given by the caller; the modules in
 * lib/modules/arcface.ts own theirs) and label smoothing (OML's label_smoothing).
 */
import { loadBinding } from '../native';
import type { CommonLossOptions, LabelsInput, TensorInput } from '../types';
import * as check from '../validate';
import { defineLoss } from './define';

/**
 * How label smoothing spreads epsilon over the n classes of the support (all classes, or the
 * target's category): 'all' gives eps/n to each, the target included, so the target gets
 * 1 - eps + eps/n (torch's label_smoothing, torchreid, OML); 'others' gives eps/(n-1) to each other
 * class and 1 - eps to the target (fast-reid). A support of one class keeps the one-hot.
 */
export type SmoothingSpread = 'all' | 'others';

export const smoothingSpread = (v: unknown): SmoothingSpread => check.oneOf('smoothingSpread', v, ['all', 'others'] as const);

/** A category per class: Int32Array or an array of integers (checked against numClasses natively). */
export function categoriesOption(name: string, value: unknown): Int32Array | readonly number[] {
  const tag = Object.prototype.toString.call(value);
  if (tag === '[object Int32Array]') return value as Int32Array;
  if (Array.isArray(value)) {
    value.forEach((v, i) => check.integer(`${name}[${i}]`, v));
    return value;
  }
  throw new TypeError(`\`${name}\` must be an Int32Array or an array of integers (one category per class), got ${typeof value}`);
}

export interface MarginSoftmaxLossOptions extends CommonLossOptions {
  /** 'arcface' (default): cos(theta + m); 'cosface': cos(theta) - m; 'normsoftmax': cos(theta) / temperature. */
  kind?: 'arcface' | 'cosface' | 'normsoftmax';
  /** Margin: radians in [0, pi/2] for ArcFace (default 0.5), >= 0 for CosFace (default 0.35). */
  m?: number;
  /** Scale, > 0. Default 64. */
  s?: number;
  /** ArcFace: margin only where cos > 0. Default false. */
  easyMargin?: boolean;
  /** Sub-centres per class (weight has numClasses * subCenters rows). Default 1. */
  subCenters?: number;
  /** 'normsoftmax': default 0.05. */
  temperature?: number;
  /** Label smoothing in [0, 1). Default 0. */
  smoothingEpsilon?: number;
  /** The category of each class: smoothing stays inside the target's category. */
  label2category?: Int32Array | readonly number[];
  /** Default 'all'. */
  smoothingSpread?: SmoothingSpread;
}

type MarginArgs = [input: TensorInput, labels: LabelsInput, weight: TensorInput];

const margin = defineLoss<MarginArgs, MarginSoftmaxLossOptions, 'input' | 'weight'>('marginSoftmaxLoss', 3, {
  kind: (v) => check.oneOf('kind', v, ['arcface', 'cosface', 'normsoftmax'] as const),
  m: (v) => check.finiteNumber('m', v),
  s: (v) => check.positiveNumber('s', v),
  easyMargin: (v) => check.boolean('easyMargin', v),
  subCenters: (v) => check.integer('subCenters', v),
  temperature: (v) => check.positiveNumber('temperature', v),
  smoothingEpsilon: (v) => check.numberIn('smoothingEpsilon', v, 0, 1),
  label2category: (v) => categoriesOption('label2category', v),
  smoothingSpread,
});

/**
 * ArcFace / CosFace / sub-center ArcFace / NormalizedSoftmax (see nn.ArcFaceLoss) on input [B, d],
 * labels [B] and class weights [numClasses * subCenters, d] given by the caller, by the fused op.
 * Gradients: input and weight. Float64 inputs compute in float64.
 */
export const marginSoftmaxLoss = margin.fn;
export const marginSoftmaxLossAsync = margin.fnAsync;

export interface LabelSmoothingOptions {
  /** Default 'all' (OML, torch); 'others' is fast-reid's eps/(C-1). */
  smoothingSpread?: SmoothingSpread;
}

/**
 * OML's label_smoothing(y, num_classes, epsilon, categories): the smoothed one-hot targets
 * [B, numClasses], row-major. Without categories each row is (1 - eps) one-hot + eps/C; with them
 * eps is spread over the classes of the label's category only (the others stay 0), so the target
 * gets 1 - eps + eps/n_category. (OML's docstring says "+ 1/num_classes": its code adds eps/n.)
 */
export function labelSmoothing(
  y: LabelsInput,
  numClasses: number,
  epsilon = 0.2,
  categories?: Int32Array | readonly number[],
  options?: LabelSmoothingOptions,
): { data: Float32Array; shape: [number, number] } {
  const o: Record<string, unknown> = { ...(options ?? {}) };
  for (const key of Object.keys(o)) {
    if (key !== 'smoothingSpread') throw new RangeError(`labelSmoothing: unknown option '${key}'; known options: smoothingSpread`);
  }
  check.integer('numClasses', numClasses);
  const eps = check.finiteNumber('epsilon', epsilon);
  if (!(eps >= 0 && eps < 1)) throw new RangeError(`\`epsilon\` must be in [0, 1), got ${eps}`);
  return loadBinding().labelSmoothing(y, {
    numClasses,
    epsilon: eps,
    categories: categories === undefined ? undefined : categoriesOption('categories', categories),
    smoothingSpread: o.smoothingSpread === undefined ? undefined : smoothingSpread(o.smoothingSpread),
  });
}
