/**
 * nn.OIMLoss — Online Instance Matching, Xiao et al., "Joint Detection and Identification Feature
 * Learning for Person Search", CVPR 2017 (as open-reid's and Cysu's person_search OIMLoss):
 *
 *   logits = scalar * x . [lut; queue]^T, loss = cross-entropy over the labelled samples.
 *   The gradient w.r.t. x holds the table constant. With grad (training), after the gradient and in
 *   batch order: lut[y] <- momentum * lut[y] + (1 - momentum) * x, then lut[y] /= ||lut[y]||.
 *
 * Unlabelled identities (label -1, the paper's unlabelled persons): no loss term and no gradient
 * of their own. With `queueSize` > 0 their features are written into a circular queue (the
 * paper's), whose rows join the softmax as extra negatives for the labelled samples; with the
 * default 0 they are ignored (open-reid). A batch without labelled samples gives loss 0 and zero
 * gradients. The input is used as given: the paper L2-normalises the features first.
 *
 * lut [numClasses, featDim] (and queue [queueSize, featDim]) start at zeros and are buffers:
 * saved and loaded, returned by buffers(), never touched by step(). The queue's write position is
 * not saved: after load() it restarts at row 0.
 */
import type { Tensor } from '../tensor';
import type { Device, FloatArray, HostTensorInput, LabelsInput, TensorInput } from '../types';
import * as check from '../validate';
import type { MarginSoftmaxForwardOptions, MarginSoftmaxResult } from './arcface';
import { asyncCall, ParameterModule } from './module';
import { deviceOption, forwardOptions, knownKeys, positiveInteger } from './options';

export interface OIMLossOptions {
  /** Labelled identities (lookup-table rows). */
  numClasses: number;
  featDim: number;
  /** Logit scale (1 / the paper's temperature), > 0. Default 1 (open-reid). */
  scalar?: number;
  /** Lookup-table momentum in [0, 1]. Default 0.5 (the paper's and open-reid's). */
  momentum?: number;
  /** Circular queue of unlabelled features (0: unlabelled samples are ignored). Default 0. */
  queueSize?: number;
  /** Default 'mean' (over the labelled samples). */
  reduction?: 'mean' | 'sum';
  /** Where the table lives (default 'cpu'). */
  device?: Device;
}

export class OIMLoss extends ParameterModule {
  readonly options: Readonly<OIMLossOptions>;

  constructor(options: OIMLossOptions) {
    if (options === undefined) throw new TypeError('OIMLoss: `options` with numClasses and featDim is required');
    const o = knownKeys('OIMLoss', options, ['numClasses', 'featDim', 'scalar', 'momentum', 'queueSize', 'reduction', 'device']);
    const spec = {
      numClasses: positiveInteger('numClasses', o.numClasses),
      featDim: positiveInteger('featDim', o.featDim),
      scalar: o.scalar === undefined ? 1 : check.positiveNumber('scalar', o.scalar),
      momentum: o.momentum === undefined ? 0.5 : check.numberIn('momentum', o.momentum, 0, 1),
      queueSize: o.queueSize === undefined ? 0 : check.integer('queueSize', o.queueSize),
      reduction: o.reduction === undefined ? 'mean' : check.oneOf('reduction', o.reduction, ['mean', 'sum'] as const),
      device: deviceOption(o.device),
    };
    if (spec.queueSize < 0) throw new RangeError(`\`queueSize\` must be an integer >= 0, got ${spec.queueSize}`);
    super({ kind: 'oim', ...spec, optimizer: 'sgd', lr: 0 });
    this.options = Object.freeze(spec) as OIMLossOptions;
  }

  /**
   * input [B, featDim], labels [B] in [-1, numClasses) (-1: unlabelled). Returns the loss and its
   * gradient w.r.t. input; with grad (default) the lookup table (and queue) are updated.
   */
  forward(input: HostTensorInput, labels: LabelsInput, options?: MarginSoftmaxForwardOptions): MarginSoftmaxResult;
  forward(input: Tensor, labels: LabelsInput, options?: MarginSoftmaxForwardOptions): MarginSoftmaxResult<Tensor>;
  forward(input: TensorInput, labels: LabelsInput, options?: MarginSoftmaxForwardOptions): MarginSoftmaxResult<FloatArray | Tensor>;
  forward(input: TensorInput, labels: LabelsInput, options?: MarginSoftmaxForwardOptions) {
    return this.native.oimForward(input, labels, forwardOptions('OIMLoss', options), false);
  }

  /** forward() on a worker thread; table updates happen in call order (see ParameterModule). */
  forwardAsync(input: HostTensorInput, labels: LabelsInput, options?: MarginSoftmaxForwardOptions): Promise<MarginSoftmaxResult>;
  forwardAsync(input: Tensor, labels: LabelsInput, options?: MarginSoftmaxForwardOptions): Promise<MarginSoftmaxResult<Tensor>>;
  forwardAsync(input: TensorInput, labels: LabelsInput, options?: MarginSoftmaxForwardOptions): Promise<MarginSoftmaxResult<FloatArray | Tensor>>;
  forwardAsync(input: TensorInput, labels: LabelsInput, options?: MarginSoftmaxForwardOptions) {
    return asyncCall(() => this.native.oimForward(input, labels, forwardOptions('OIMLoss', options), true));
  }
}
