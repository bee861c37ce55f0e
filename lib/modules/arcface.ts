/**
 * nn.ArcFaceLoss — Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
 * CVPR 2019 — with its class weights W [numClasses, inFeatures] inside (as insightface's
 * ArcMarginProduct and OML's ArcFaceLoss):
 *
 *   cos = normalize(x) . normalize(W)^T; on the target class cos(theta + m), falling back to
 *   cos - sin(pi - m) * m where theta + m > pi (easyMargin: to cos where cos <= 0); the loss is the
 *   softmax cross-entropy of s * logits. sqrt(1 - cos^2) is clamped so that duplicate or extreme
 *   inputs never give NaN. Gradients by libtorch autograd on composed ATen ops.
 */
import type { Tensor } from '../tensor';
import type { Device, FloatArray, HostTensorInput, LabelsInput, TensorInput } from '../types';
import * as check from '../validate';
import type { CenterLossForwardOptions, CenterLossResult } from './center_loss';
import { ParameterModule, type ParameterValue } from './module';
import { deviceOption, knownKeys, optimizerSpec, positiveInteger, type OptimizerOptions } from './options';

export interface ArcFaceLossOptions {
  inFeatures: number;
  numClasses: number;
  /** Additive angular margin in radians, in [0, pi/2]. Default 0.5. */
  m?: number;
  /** Scale of the logits, > 0. Default 64. */
  s?: number;
  /** Margin only where cos > 0 (else the plain cos). Default false (the th / mm fallback). */
  easyMargin?: boolean;
  /** Default 'mean'. */
  reduction?: 'mean' | 'sum';
  /** Where the weights live (default 'cpu'). */
  device?: Device;
  /** The weights' optimiser. Default { type: 'sgd', lr: 0.1 } (insightface's arcface_torch lr). */
  optimizer?: OptimizerOptions;
}

const KEYS = ['inFeatures', 'numClasses', 'm', 's', 'easyMargin', 'reduction', 'device', 'optimizer'];

export class ArcFaceLoss extends ParameterModule {
  readonly options: Readonly<Omit<ArcFaceLossOptions, 'optimizer'>>;

  /** Weights drawn as nn.init.xavier_uniform_(torch.empty(numClasses, inFeatures)) (see manualSeed). */
  constructor(options: ArcFaceLossOptions) {
    if (options === undefined) throw new TypeError('ArcFaceLoss: `options` with inFeatures and numClasses is required');
    const o = knownKeys('ArcFaceLoss', options, KEYS);
    const spec = {
      inFeatures: positiveInteger('inFeatures', o.inFeatures),
      numClasses: positiveInteger('numClasses', o.numClasses),
      m: o.m === undefined ? 0.5 : check.numberIn('m', o.m, 0, Math.PI / 2),
      s: o.s === undefined ? 64 : check.positiveNumber('s', o.s),
      easyMargin: o.easyMargin === undefined ? false : check.boolean('easyMargin', o.easyMargin),
      reduction: o.reduction === undefined ? 'mean' : check.oneOf('reduction', o.reduction, ['mean', 'sum'] as const),
      device: deviceOption(o.device),
    };
    super({ kind: 'arcface', ...spec, ...optimizerSpec(o.optimizer, 0.1) });
    this.options = Object.freeze(spec) as ArcFaceLossOptions;
  }

  /**
   * input [B, inFeatures], labels [B] in [0, numClasses). Returns the loss and its gradient w.r.t.
   * input; the weights' gradient is accumulated for step().
   */
  forward(input: HostTensorInput, labels: LabelsInput, options?: CenterLossForwardOptions): CenterLossResult;
  forward(input: Tensor, labels: LabelsInput, options?: CenterLossForwardOptions): CenterLossResult<Tensor>;
  forward(input: TensorInput, labels: LabelsInput, options?: CenterLossForwardOptions): CenterLossResult<FloatArray | Tensor>;
  forward(input: TensorInput, labels: LabelsInput, options?: CenterLossForwardOptions) {
    const o = knownKeys('ArcFaceLoss.forward', options, ['grad']);
    if (o.grad !== undefined) check.boolean('grad', o.grad);
    return this.native.arcFaceForward(input, labels, o);
  }

  /** s * cos(theta) for every class, without the margin: [B, numClasses] logits for inference. */
  getLogits(input: TensorInput): ParameterValue {
    return this.native.arcFaceLogits(input);
  }
}
