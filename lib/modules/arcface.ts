/**
 * The margin-softmax family: classification losses over L2-normalised embeddings and L2-normalised
 * class weights W (inside the module, trained by its optimiser), all computed by one fused native
 * op (normalise, one logits matrix product, margin, scale, softmax cross-entropy, closed-form
 * backward):
 *
 * - nn.ArcFaceLoss — Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face
 *   Recognition", CVPR 2019 (insightface / OML ArcFaceLoss): target logit s * cos(theta + m),
 *   falling back to s * (cos - sin(pi - m) * m) where theta + m > pi (easyMargin: to s * cos where
 *   cos <= 0). sqrt(1 - cos^2) is clamped so that duplicate or extreme inputs never give NaN.
 * - nn.CosFaceLoss — Wang et al., "CosFace: Large Margin Cosine Loss", CVPR 2018: s * (cos - m).
 * - nn.SubCenterArcFaceLoss — Deng et al., "Sub-center ArcFace", ECCV 2020: k weights per class,
 *   cos = the max over them, then ArcFace.
 * - nn.NormalizedSoftmaxLoss — Zhai & Wu, "Classification is a Strong Baseline for Deep Metric
 *   Learning", BMVC 2019 (pytorch-metric-learning's NormalizedSoftmaxLoss): cos / temperature.
 * - nn.ArcFaceLossWithMLP — OML's ArcFaceLossWithMLP: an MLP projector (Linear, ReLU, ..., Linear)
 *   before ArcFace, trained with it.
 *
 * Label smoothing (OML's smoothing_epsilon / label2category): the target distribution is
 * F.labelSmoothing(labels, numClasses, smoothingEpsilon, label2category).
 */
import type { Tensor } from '../tensor';
import type { Device, FloatArray, HostTensorInput, LabelsInput, TensorInput } from '../types';
import * as check from '../validate';
import { categoriesOption, smoothingSpread, type SmoothingSpread } from '../losses/margin_softmax';
import { asyncCall, ParameterModule, type ParameterValue } from './module';
import { deviceOption, forwardOptions, knownKeys, optimizerSpec, positiveInteger, type OptimizerOptions } from './options';

/** Options every member of the family takes. */
export interface MarginSoftmaxModuleOptions {
  inFeatures: number;
  numClasses: number;
  /** Label smoothing strength in [0, 1) (OML's smoothing_epsilon). Default 0. */
  smoothingEpsilon?: number;
  /**
   * The category of each class (numClasses entries): smoothing then spreads epsilon only over the
   * classes of the target's category (OML's label2category, as an array indexed by label).
   */
  label2category?: Int32Array | readonly number[];
  /** 'all': eps/n to each of the n classes, target included (torch, torchreid, OML); 'others': eps/(n-1) to the other classes (fast-reid). Default 'all'. */
  smoothingSpread?: SmoothingSpread;
  /** Default 'mean'. */
  reduction?: 'mean' | 'sum';
  /** Where the weights live (default 'cpu'). */
  device?: Device;
  /** The weights' optimiser. Default { type: 'sgd', lr: 0.1 } (insightface's arcface_torch lr). */
  optimizer?: OptimizerOptions;
}

export interface ArcFaceLossOptions extends MarginSoftmaxModuleOptions {
  /** Additive angular margin in radians, in [0, pi/2]. Default 0.5. */
  m?: number;
  /** Scale of the logits, > 0. Default 64. */
  s?: number;
  /** Margin only where cos > 0 (else the plain cos). Default false (the th / mm fallback). */
  easyMargin?: boolean;
}

export interface CosFaceLossOptions extends MarginSoftmaxModuleOptions {
  /** Additive cosine margin, >= 0. Default 0.35 (the paper's). */
  m?: number;
  /** Scale of the logits, > 0. Default 64. */
  s?: number;
}

export interface SubCenterArcFaceLossOptions extends ArcFaceLossOptions {
  /** Sub-centres per class, k >= 1. Default 3 (the paper's). */
  subCenters?: number;
}

export interface NormalizedSoftmaxLossOptions extends MarginSoftmaxModuleOptions {
  /** logits = cos / temperature, > 0. Default 0.05 (pytorch-metric-learning's). */
  temperature?: number;
}

export interface ArcFaceLossWithMLPOptions extends ArcFaceLossOptions {
  /** The projector's layer sizes; ArcFace works on the last one's output. */
  mlpFeatures: readonly number[];
}

export interface MarginSoftmaxForwardOptions {
  /** Compute the gradients (and accumulate the parameters'). Default true. */
  grad?: boolean;
  /** Compute even when the input holds NaN or Inf (else a RangeError naming the row). Default false. */
  allowNonFinite?: boolean;
}

export interface MarginSoftmaxResult<G = FloatArray> {
  loss: number;
  grad?: { input: G };
}

const COMMON = ['inFeatures', 'numClasses', 'smoothingEpsilon', 'label2category', 'smoothingSpread', 'reduction', 'device', 'optimizer'];

type Checks = Record<string, (value: unknown) => unknown>;
const ARC: Checks = {
  m: (v) => check.numberIn('m', v, 0, Math.PI / 2),
  s: (v) => check.positiveNumber('s', v),
  easyMargin: (v) => check.boolean('easyMargin', v),
};

/** The shared module: option checks, forward / forwardAsync, getLogits. */
abstract class MarginSoftmaxModule<O extends MarginSoftmaxModuleOptions> extends ParameterModule {
  readonly options: Readonly<Omit<O, 'optimizer'>>;

  protected constructor(what: string, kind: string, options: O | undefined, checks: Checks, extra: Record<string, unknown> = {}) {
    if (options === undefined) throw new TypeError(`${what}: \`options\` with inFeatures and numClasses is required`);
    const o = knownKeys(what, options, [...COMMON, ...Object.keys(checks), ...Object.keys(extra)]);
    const spec: Record<string, unknown> = {
      inFeatures: positiveInteger('inFeatures', o.inFeatures),
      numClasses: positiveInteger('numClasses', o.numClasses),
      reduction: o.reduction === undefined ? 'mean' : check.oneOf('reduction', o.reduction, ['mean', 'sum'] as const),
      device: deviceOption(o.device),
    };
    if (o.smoothingEpsilon !== undefined) spec.smoothingEpsilon = check.numberIn('smoothingEpsilon', o.smoothingEpsilon, 0, 1);
    if (spec.smoothingEpsilon === 1) throw new RangeError('`smoothingEpsilon` must be in [0, 1), got 1');
    if (o.smoothingSpread !== undefined) spec.smoothingSpread = smoothingSpread(o.smoothingSpread);
    if (o.label2category !== undefined) spec.label2category = categoriesOption('label2category', o.label2category);
    for (const [key, fn] of Object.entries(checks)) if (o[key] !== undefined) spec[key] = fn(o[key]);
    for (const [key, value] of Object.entries(extra)) spec[key] = value;
    super({ kind, ...spec, ...optimizerSpec(o.optimizer, 0.1) });
    this.options = Object.freeze({ ...spec }) as unknown as Omit<O, 'optimizer'>;
  }

  /**
   * input [B, inFeatures], labels [B] in [0, numClasses). Returns the loss and its gradient w.r.t.
   * input (Float32Array, or a Tensor for a Tensor input); the parameters' gradients accumulate
   * for step().
   */
  forward(input: HostTensorInput, labels: LabelsInput, options?: MarginSoftmaxForwardOptions): MarginSoftmaxResult;
  forward(input: Tensor, labels: LabelsInput, options?: MarginSoftmaxForwardOptions): MarginSoftmaxResult<Tensor>;
  forward(input: TensorInput, labels: LabelsInput, options?: MarginSoftmaxForwardOptions): MarginSoftmaxResult<FloatArray | Tensor>;
  forward(input: TensorInput, labels: LabelsInput, options?: MarginSoftmaxForwardOptions) {
    return this.native.marginForward(input, labels, forwardOptions(this.constructor.name, options), false);
  }

  /** forward() on a worker thread (see ParameterModule for the ordering of calls on one module). */
  forwardAsync(input: HostTensorInput, labels: LabelsInput, options?: MarginSoftmaxForwardOptions): Promise<MarginSoftmaxResult>;
  forwardAsync(input: Tensor, labels: LabelsInput, options?: MarginSoftmaxForwardOptions): Promise<MarginSoftmaxResult<Tensor>>;
  forwardAsync(input: TensorInput, labels: LabelsInput, options?: MarginSoftmaxForwardOptions): Promise<MarginSoftmaxResult<FloatArray | Tensor>>;
  forwardAsync(input: TensorInput, labels: LabelsInput, options?: MarginSoftmaxForwardOptions) {
    return asyncCall(() => this.native.marginForward(input, labels, forwardOptions(this.constructor.name, options), true));
  }

  /** The scaled cosines s * cos(theta) for every class, without the margin: [B, numClasses] logits for inference. */
  getLogits(input: TensorInput): ParameterValue {
    return this.native.marginLogits(input);
  }
}

/** ArcFace (see the top of this file). Weights: nn.init.xavier_uniform_(torch.empty(numClasses, inFeatures)) under manualSeed. */
export class ArcFaceLoss extends MarginSoftmaxModule<ArcFaceLossOptions> {
  constructor(options: ArcFaceLossOptions) {
    super('ArcFaceLoss', 'arcface', options, ARC);
  }
}

/** CosFace: target logit s * (cos - m). */
export class CosFaceLoss extends MarginSoftmaxModule<CosFaceLossOptions> {
  constructor(options: CosFaceLossOptions) {
    super('CosFaceLoss', 'cosface', options, {
      m: (v) => {
        const m = check.finiteNumber('m', v);
        if (m < 0) throw new RangeError(`\`m\` must be >= 0, got ${m}`);
        return m;
      },
      s: ARC.s,
    });
  }
}

/** Sub-center ArcFace: weight [numClasses * subCenters, inFeatures], class c's rows c*k .. c*k+k-1 (insightface's layout). */
export class SubCenterArcFaceLoss extends MarginSoftmaxModule<SubCenterArcFaceLossOptions> {
  constructor(options: SubCenterArcFaceLossOptions) {
    const k = options?.subCenters === undefined ? 3 : positiveInteger('subCenters', options.subCenters);
    const { subCenters: _k, ...rest } = options ?? ({} as SubCenterArcFaceLossOptions);
    super('SubCenterArcFaceLoss', 'arcface', options === undefined ? undefined : rest, ARC, { subCenters: k });
  }
}

/** NormalizedSoftmax: logits cos / temperature, no margin. */
export class NormalizedSoftmaxLoss extends MarginSoftmaxModule<NormalizedSoftmaxLossOptions> {
  constructor(options: NormalizedSoftmaxLossOptions) {
    super('NormalizedSoftmaxLoss', 'normsoftmax', options, { temperature: (v) => check.positiveNumber('temperature', v) });
  }
}

/**
 * ArcFace behind an MLP projector (OML's ArcFaceLossWithMLP): parameters mlp.{i}.weight and
 * mlp.{i}.bias (nn.Linear's initialisation) then weight; getLogits() goes through the projector.
 * The projector belongs to the loss: keep your own copy if you need it at inference.
 */
export class ArcFaceLossWithMLP extends MarginSoftmaxModule<ArcFaceLossWithMLPOptions> {
  constructor(options: ArcFaceLossWithMLPOptions) {
    const layers = options?.mlpFeatures;
    if (options !== undefined && (!Array.isArray(layers) || layers.length === 0)) {
      throw new TypeError('ArcFaceLossWithMLP: `mlpFeatures` must be a non-empty array of layer sizes');
    }
    const mlpFeatures = options === undefined ? [] : layers!.map((n, i) => positiveInteger(`mlpFeatures[${i}]`, n));
    const { mlpFeatures: _f, ...rest } = options ?? ({} as ArcFaceLossWithMLPOptions);
    super('ArcFaceLossWithMLP', 'arcface', options === undefined ? undefined : (rest as ArcFaceLossWithMLPOptions), ARC, { mlpFeatures });
  }
}
