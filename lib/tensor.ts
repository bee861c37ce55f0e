/**
 * Device-resident tensors: data that stays on the CPU or a CUDA device between calls.
 * Losses accept a Tensor wherever they accept { data, shape } and then return the gradients of
 * Tensor inputs as Tensors on the same device (no host round-trip).
 *
 * Memory: a Tensor is freed by dispose() or, failing that, by the garbage collector; V8 is told
 * of its bytes. Node runs those finalizers only when the event loop turns, so a long synchronous
 * loop that makes Tensors should dispose() them. memory() counts the live ones per device.
 */
import { loadBinding } from './native';
import type { Device, FloatArray, HostTensorInput } from './types';
import * as check from './validate';

export interface Tensor {
  readonly shape: number[];
  /** 'cpu' or 'cuda:N'. */
  readonly device: string;
  readonly dtype: 'float32' | 'float64';
  readonly disposed: boolean;
  /** A host copy (Float64Array for float64 tensors). */
  toFloat32Array(): FloatArray;
  /** The same, with the device-to-host copy on a worker thread. */
  toFloat32ArrayAsync(): Promise<FloatArray>;
  /** A copy on another device. */
  to(device: Device): Tensor;
  /** Frees the memory now; using the Tensor afterwards is a TypeError. */
  dispose(): void;
}

export interface TensorOptions {
  /** Default 'cpu'. */
  device?: Device;
}

/** A Tensor holding a copy of `data` with `shape` (default: 1-D) on `device`. */
export function tensor(data: FloatArray, shape?: readonly number[], options: TensorOptions = {}): Tensor {
  const opts = check.lossOptions<TensorOptions>('tensor', options, {});
  return loadBinding().tensor(shape === undefined ? data : ({ data, shape } as HostTensorInput), opts);
}

export function isTensor(value: unknown): value is Tensor {
  return value instanceof loadBinding().Tensor;
}

export interface DeviceMemory {
  tensors: number;
  bytes: number;
}

/** Live Tensors and their bytes per device ('cpu', 'cuda:0', ...), over the whole process. */
export function memory(): Record<string, DeviceMemory> {
  return loadBinding().memory();
}
