/** Public types shared by every loss. */

export type FloatArray = Float32Array | Float64Array;

import type { Tensor } from './tensor';

/**
 * Host data: a Float32Array (1-D), or data plus a row-major shape. Float64Array data makes the
 * loss compute in double precision (gradients come back as Float64Array).
 */
export type HostTensorInput = FloatArray | { data: FloatArray; shape: readonly number[] };

/** A tensor input: host data, or a device-resident Tensor (see tensor()). */
export type TensorInput = HostTensorInput | Tensor;

/** Integer class labels. */
export type LabelsInput = Int32Array | BigInt64Array | readonly number[];

export type Reduction = 'none' | 'mean' | 'sum';

/** 'auto' picks CUDA when available, else the CPU. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}` | 'auto';

/** Options every loss accepts. */
export interface CommonLossOptions {
  /** How per-element losses are combined. PyTorch's default: 'mean'. */
  reduction?: Reduction;
  /** Compute gradients (default true). `false` skips the backward pass. */
  grad?: boolean;
  /** Where the computation runs (default 'cpu'). */
  device?: Device;
}

/**
 * The result of a loss call. `loss` is the reduced loss (the sum of `losses` for reduction
 * 'none'); `grad` holds one array per differentiable input, in that input's layout. With
 * reduction 'none' the gradients are those of `sum(losses)`.
 */
export interface LossResult<Name extends string, Gradient = FloatArray> {
  loss: number;
  losses?: FloatArray;
  grad?: Record<Name, Gradient>;
}

/** The arguments of a loss with every tensor given as host data (gradients: typed arrays). */
export type HostArgs<A extends unknown[]> = { [K in keyof A]: Exclude<A[K], Tensor> };
/** The arguments of a loss with every tensor given as a Tensor (gradients: Tensors). */
export type DeviceArgs<A extends unknown[]> = { [K in keyof A]: Exclude<A[K], HostTensorInput> };
