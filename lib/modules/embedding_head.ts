/**
 * nn.EmbeddingHead — a small trainable embedding model, trained by libtorch autograd inside the
 * addon: Linear -> [BatchNorm1d] -> ReLU per hidden layer, a last Linear to the embedding, an
 * optional BNNeck (Luo et al., "Bag of Tricks and A Strong Baseline for Deep Person
 * Re-identification", CVPR-W 2019: BatchNorm1d with a frozen zero bias, then a bias-free
 * classifier) and optional L2 normalisation.
 *
 * Training step: `forward(x)` (keeps the autograd graph) -> losses on the returned embeddings /
 * logits -> `backward({ embeddings: grad, logits: grad })` (one backward pass) -> `step()` ->
 * `zeroGrad()`. `save(path)` writes a state_dict (parameters and BatchNorm buffers, Python's names:
 * `body.0.weight`, `neck.running_mean`, `classifier.weight`...) that `torch.load` reads.
 */
import type { Tensor } from '../tensor';
import type { Device, HostTensorInput, TensorInput } from '../types';
import * as check from '../validate';
import { ParameterModule } from './module';
import { deviceOption, knownKeys, optimizerSpec, positiveInteger, type OptimizerOptions } from './options';

export interface EmbeddingHeadOptions {
  inFeatures: number;
  /** Widths of the hidden layers (Linear [+ BatchNorm1d] + ReLU each). Default [] (one Linear). */
  hiddenFeatures?: readonly number[];
  outFeatures: number;
  /** BatchNorm1d after each hidden Linear. Default true. */
  batchNorm?: boolean;
  /**
   * BNNeck: in training mode `embeddings` are the features before the neck (for triplet / center
   * losses) and `logits` are computed after it; in eval mode `embeddings` are the neck's output.
   * Default false.
   */
  bnNeck?: boolean;
  /** L2-normalise the returned embeddings. Default false. */
  normalize?: boolean;
  /** Adds a bias-free Linear classifier (after the neck) whose logits feed a cross-entropy loss. */
  numClasses?: number;
  /** Where the parameters live (default 'cpu'). */
  device?: Device;
  /** Default { type: 'adam', lr: 1e-3 }. */
  optimizer?: OptimizerOptions;
}

/** Host results are `{ data, shape }`; Tensor inputs give Tensors on the module's device. */
export interface EmbeddingHeadOutput<T = { data: Float32Array; shape: number[] }> {
  embeddings: T;
  /** Present when the model has a classifier (numClasses). */
  logits?: T;
}

export interface EmbeddingHeadGradients {
  embeddings?: TensorInput;
  logits?: TensorInput;
}

const KEYS = ['inFeatures', 'hiddenFeatures', 'outFeatures', 'batchNorm', 'bnNeck', 'normalize', 'numClasses', 'device', 'optimizer'];

export class EmbeddingHead extends ParameterModule {
  readonly options: Readonly<Omit<EmbeddingHeadOptions, 'optimizer'>>;

  /** Initialised as PyTorch initialises nn.Linear / nn.BatchNorm1d, on the CPU generator (see manualSeed). */
  constructor(options: EmbeddingHeadOptions) {
    if (options === undefined) throw new TypeError('EmbeddingHead: `options` with inFeatures and outFeatures is required');
    const o = knownKeys('EmbeddingHead', options, KEYS);
    const hidden = o.hiddenFeatures ?? [];
    if (!Array.isArray(hidden)) throw new TypeError('`hiddenFeatures` must be an array of positive integers');
    const spec = {
      inFeatures: positiveInteger('inFeatures', o.inFeatures),
      hiddenFeatures: hidden.map((h, i) => positiveInteger(`hiddenFeatures[${i}]`, h)),
      outFeatures: positiveInteger('outFeatures', o.outFeatures),
      batchNorm: o.batchNorm === undefined ? true : check.boolean('batchNorm', o.batchNorm),
      bnNeck: o.bnNeck === undefined ? false : check.boolean('bnNeck', o.bnNeck),
      normalize: o.normalize === undefined ? false : check.boolean('normalize', o.normalize),
      ...(o.numClasses === undefined ? {} : { numClasses: positiveInteger('numClasses', o.numClasses) }),
      device: deviceOption(o.device),
    };
    super({ kind: 'embedding', ...spec, ...optimizerSpec(o.optimizer ?? { type: 'adam' }) });
    this.options = Object.freeze(spec);
  }

  /**
   * input [B, inFeatures] -> embeddings [B, outFeatures] and logits [B, numClasses]. With
   * `grad: true` (default) the graph is kept for the next backward(); `grad: false` for inference.
   */
  forward(input: HostTensorInput, options?: { grad?: boolean }): EmbeddingHeadOutput;
  forward(input: Tensor, options?: { grad?: boolean }): EmbeddingHeadOutput<Tensor>;
  forward(input: TensorInput, options?: { grad?: boolean }) {
    const o = knownKeys('EmbeddingHead.forward', options, ['grad']);
    if (o.grad !== undefined) check.boolean('grad', o.grad);
    return this.native.headForward(input, o);
  }

  /**
   * One backward pass from the last forward's outputs, seeded with the losses' gradients (summed
   * over losses beforehand: see combineLosses). Accumulates into the parameters' gradients and
   * frees the graph; a second backward() needs a new forward().
   */
  backward(grads: EmbeddingHeadGradients): void {
    const o = knownKeys('EmbeddingHead.backward', grads, ['embeddings', 'logits']);
    this.native.headBackward(o);
  }

  /** Training mode (BatchNorm uses batch statistics and updates its running ones). The default. */
  train(mode = true): this {
    this.native.setTraining(check.boolean('mode', mode));
    return this;
  }

  /** Evaluation mode (BatchNorm uses its running statistics; the BNNeck's output is the embedding). */
  eval(): this {
    return this.train(false);
  }

  get training(): boolean {
    return this.native.training();
  }
}
