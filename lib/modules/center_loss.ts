/**
 * nn.CenterLoss — Wen et al., "A Discriminative Feature Learning Approach for Deep Face
 * Recognition", ECCV 2016 — with its centres, their gradient and their update inside.
 *
 *   formula 'mean' (default): sum_i clamp(||x_i - c_{y_i}||^2, 1e-12, 1e12) / B, as KaiyangZhou's
 *     deep-person-reid CenterLoss; 'paper': 1/2 sum_i ||x_i - c_{y_i}||^2 (the paper's L_C).
 *   update 'optimizer' (default): step() runs the module's optimiser (default SGD, lr 0.5) on the
 *     centres' gradient dL/dc, i.e. the weighted loss's gradient rescaled by 1/lossWeight (the
 *     common ReID recipe); 'paper': step() applies c_j -= alpha * sum_{y_i = j}(c_j - x_i) / (1 + n_j)
 *     over the batches since zeroGrad().
 *
 * forward() returns lossWeight * L and lossWeight * dL/dx (add them to your total loss). Only the
 * batch's own centres are read: the cost does not depend on numClasses.
 */
import type { Tensor } from '../tensor';
import type { Device, FloatArray, HostTensorInput, LabelsInput, TensorInput } from '../types';
import * as check from '../validate';
import { asyncCall, ParameterModule } from './module';
import { deviceOption, forwardOptions, knownKeys, optimizerSpec, positiveInteger, type OptimizerOptions } from './options';

export interface CenterLossOptions {
  numClasses: number;
  featDim: number;
  /** Where the centres live (default 'cpu'). */
  device?: Device;
  /** Default 'mean' (KaiyangZhou / the source document); 'paper' is 1/2 sum of squares. */
  formula?: 'mean' | 'paper';
  /** Default 'optimizer'; 'paper' is the paper's update rule with `alpha`. */
  update?: 'optimizer' | 'paper';
  /** The paper's centre learning rate, in [0, 1]. Default 0.5. */
  alpha?: number;
  /** The weight lambda of the center loss in the total loss, > 0. Default 1. */
  lossWeight?: number;
  /** The centres' optimiser for update 'optimizer'. Default { type: 'sgd', lr: 0.5 }. */
  optimizer?: OptimizerOptions;
}

export interface CenterLossForwardOptions {
  /** Compute the gradients (and accumulate the centres'). Default true. */
  grad?: boolean;
  /** Compute even when the input holds NaN or Inf (else a RangeError naming the row). Default false. */
  allowNonFinite?: boolean;
}

export interface CenterLossResult<G = FloatArray> {
  loss: number;
  grad?: { input: G };
}

const KEYS = ['numClasses', 'featDim', 'device', 'formula', 'update', 'alpha', 'lossWeight', 'optimizer'];

export class CenterLoss extends ParameterModule {
  readonly options: Readonly<Omit<CenterLossOptions, 'optimizer'>>;

  /** Centres drawn as torch.randn(numClasses, featDim) on the CPU generator (see manualSeed). */
  constructor(options: CenterLossOptions) {
    if (options === undefined) throw new TypeError('CenterLoss: `options` with numClasses and featDim is required');
    const o = knownKeys('CenterLoss', options, KEYS);
    const spec = {
      kind: 'center',
      numClasses: positiveInteger('numClasses', o.numClasses),
      featDim: positiveInteger('featDim', o.featDim),
      device: deviceOption(o.device),
      formula: o.formula === undefined ? 'mean' : check.oneOf('formula', o.formula, ['mean', 'paper'] as const),
      update: o.update === undefined ? 'optimizer' : check.oneOf('update', o.update, ['optimizer', 'paper'] as const),
      alpha: o.alpha === undefined ? 0.5 : check.numberIn('alpha', o.alpha, 0, 1),
      lossWeight: o.lossWeight === undefined ? 1 : check.positiveNumber('lossWeight', o.lossWeight),
    };
    super({ ...spec, ...optimizerSpec(o.optimizer, 0.5) });
    const { kind: _kind, ...rest } = spec;
    this.options = Object.freeze(rest) as CenterLossOptions;
  }

  /**
   * input [B, featDim], labels [B] in [0, numClasses). Returns the weighted loss and its gradient
   * w.r.t. input (a Float32Array in input's layout, or a Tensor for a Tensor input); the centres'
   * gradient is accumulated for step().
   */
  forward(input: HostTensorInput, labels: LabelsInput, options?: CenterLossForwardOptions): CenterLossResult;
  forward(input: Tensor, labels: LabelsInput, options?: CenterLossForwardOptions): CenterLossResult<Tensor>;
  forward(input: TensorInput, labels: LabelsInput, options?: CenterLossForwardOptions): CenterLossResult<FloatArray | Tensor>;
  forward(input: TensorInput, labels: LabelsInput, options?: CenterLossForwardOptions) {
    return this.native.centerForward(input, labels, forwardOptions('CenterLoss', options), false);
  }

  /** forward() on a worker thread (see ParameterModule for the ordering of calls on one module). */
  forwardAsync(input: HostTensorInput, labels: LabelsInput, options?: CenterLossForwardOptions): Promise<CenterLossResult>;
  forwardAsync(input: Tensor, labels: LabelsInput, options?: CenterLossForwardOptions): Promise<CenterLossResult<Tensor>>;
  forwardAsync(input: TensorInput, labels: LabelsInput, options?: CenterLossForwardOptions): Promise<CenterLossResult<FloatArray | Tensor>>;
  forwardAsync(input: TensorInput, labels: LabelsInput, options?: CenterLossForwardOptions) {
    return asyncCall(() => this.native.centerForward(input, labels, forwardOptions('CenterLoss', options), true));
  }
}
