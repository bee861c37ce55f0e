/**
 * The base of the modules that own parameters (CenterLoss, ParameterDict): parameters and their
 * gradients live natively on the module's device, next to an optimiser (torch.optim's SGD, Adam,
 * AdamW, created at the first step()). Gradients accumulate over forward() calls until zeroGrad(),
 * as in PyTorch.
 *
 * Calls on one module are serialised, in call order: forwardAsync() calls run one after the
 * other on a worker thread, and a synchronous call (forward, step, zeroGrad, setParameters, save,
 * load, to, dispose, ...) first waits, blocking, for the forwardAsync() calls made before it.
 * So `m.forwardAsync(a); m.step()` steps with a's gradient. dispose() during a forwardAsync waits
 * for it; forwardAsync calls made after dispose() reject with a TypeError.
 *
 * Memory: dispose() frees it at once (the GC does not see GPU memory); the CPU bytes are reported
 * to V8 so that an undisposed module is collected in time.
 */
import * as fs from 'fs';
import { loadBinding } from '../native';
import type { Device } from '../types';
import * as check from '../validate';
import { parameterValues, type ParameterInput } from './options';

/** A parameter or gradient as host data (a copy: later steps do not change it). */
export interface ParameterValue {
  data: Float32Array;
  shape: number[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeModule = Record<string, (...args: any[]) => any>;

export class ParameterModule {
  /** The native module (see native/binding/param_module.h). */
  protected readonly native: NativeModule;

  protected constructor(spec: Record<string, unknown>) {
    const Native = loadBinding().ParamModule;
    this.native = new Native(spec);
  }

  /** { name: { data, shape } }, copies of the current values. */
  parameters(): Record<string, ParameterValue> {
    return this.native.parameters();
  }

  /** Buffers: state saved and loaded with the parameters but not optimised (OIM's lookup table). */
  buffers(): Record<string, ParameterValue> {
    return this.native.buffers();
  }

  /** The accumulated gradients, in the parameters' layout. */
  gradients(): Record<string, ParameterValue> {
    return this.native.gradients();
  }

  /**
   * Replaces some or all parameters (or buffers, as load_state_dict does) by copies of `values`. An unknown name or a shape mismatch is
   * a RangeError, raised before anything changes. The optimiser's state is kept.
   */
  setParameters(values: Record<string, ParameterInput>): void {
    this.native.setParameters(parameterValues('setParameters', values));
  }

  /** Sets gradients (e.g. computed elsewhere) for the next step(); checks as setParameters. */
  setGradients(values: Record<string, ParameterInput>): void {
    this.native.setGradients(parameterValues('setGradients', values));
  }

  zeroGrad(): void {
    this.native.zeroGrad();
  }

  /** One optimiser update of every parameter from its gradient (gradients are kept: zeroGrad()). */
  step(): void {
    this.native.step();
  }

  get learningRate(): number {
    return this.native.getLearningRate();
  }

  set learningRate(lr: number) {
    this.setLearningRate(lr);
  }

  /** Changes the learning rate of the following steps (the optimiser's state is kept). */
  setLearningRate(lr: number): void {
    check.finiteNumber('lr', lr);
    if (lr < 0) throw new RangeError(`\`lr\` must be >= 0, got ${lr}`);
    this.native.setLearningRate(lr);
  }

  /** 'cpu' or 'cuda:N'. */
  get device(): string {
    return this.native.device();
  }

  /**
   * Moves parameters and gradients to `device` (DeviceError when it does not exist). The
   * optimiser's state (momentum, Adam moments) starts afresh, as when PyTorch builds the
   * optimiser after `module.to(device)`.
   */
  to(device: Device): this {
    this.native.to(check.device(device));
    return this;
  }

  /** Frees parameters, gradients and optimiser state now; any later use is a TypeError. */
  dispose(): void {
    this.native.dispose();
  }

  get disposed(): boolean {
    return this.native.disposed();
  }

  /** CPU bytes held (parameters, gradients, buffers, optimiser state) as reported to V8. */
  get externalMemory(): number {
    return this.native.memoryBytes();
  }

  /** Writes the parameters as a dict of tensors that Python reads with `torch.load(path)`. */
  save(path: string): void {
    if (typeof path !== 'string') throw new TypeError(`\`path\` must be a string, got ${typeof path}`);
    const bytes: Buffer = this.native.saveBytes();
    fs.writeFileSync(path, bytes);
  }

  /**
   * Reads a dict of tensors written by Python's `torch.save({...})` (or by save()). It must hold
   * exactly this module's parameters with their shapes: otherwise a RangeError, and a file that is
   * not a torch checkpoint (corrupt, truncated) a TorchError; the parameters stay untouched.
   */
  load(path: string): void {
    if (typeof path !== 'string') throw new TypeError(`\`path\` must be a string, got ${typeof path}`);
    this.native.loadBytes(fs.readFileSync(path));
  }
}

/** A Promise of `call()`, rejected (never thrown) when the arguments are bad. */
export function asyncCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return call();
  } catch (error) {
    return Promise.reject(error);
  }
}
