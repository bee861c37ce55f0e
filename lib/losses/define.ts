/**
 * Builds a loss's public forms from its binding name and option checks:
 *   fn(...tensors, options?)             functional form (F.*), synchronous
 *   fnAsync(...tensors, options?)        the same on a worker thread, as a Promise
 *   new Module(options).forward(...)     module form (nn.*), options checked once; forwardAsync
 * All call the same binding function with the same (checked) options object.
 *
 * Async calls copy host inputs before returning, so the caller may reuse or transfer its arrays
 * at once; Tensor inputs are held by reference (dispose() during the call is safe).
 */
import { loadBinding } from '../native';
import type { Tensor } from '../tensor';
import type { CommonLossOptions, DeviceArgs, FloatArray, HostArgs, LossResult } from '../types';
import { lossOptions } from '../validate';

export type OptionChecks<O extends object> = {
  [K in Exclude<keyof O, keyof CommonLossOptions>]-?: (value: unknown) => unknown;
};

/**
 * Host inputs give typed-array gradients, Tensor inputs Tensor gradients, a mix a mix. `Extra`
 * is what a loss adds to its result (e.g. mining `stats`).
 */
export interface LossFunction<Args extends unknown[], O, Grad extends string, Extra = unknown> {
  (...args: [...HostArgs<Args>, O?]): LossResult<Grad> & Extra;
  (...args: [...DeviceArgs<Args>, O?]): LossResult<Grad, Tensor> & Extra;
  (...args: [...Args, O?]): LossResult<Grad, FloatArray | Tensor> & Extra;
}

export interface AsyncLossFunction<Args extends unknown[], O, Grad extends string, Extra = unknown> {
  (...args: [...HostArgs<Args>, O?]): Promise<LossResult<Grad> & Extra>;
  (...args: [...DeviceArgs<Args>, O?]): Promise<LossResult<Grad, Tensor> & Extra>;
  (...args: [...Args, O?]): Promise<LossResult<Grad, FloatArray | Tensor> & Extra>;
}

export function defineLoss<Args extends unknown[], O extends object, Grad extends string, Extra = unknown>(
  name: string,
  arity: Args['length'],
  checks: OptionChecks<O>,
  reductions?: readonly string[],
) {
  const check = (options?: O): O => lossOptions<O>(name, options, checks, reductions);
  const call = (args: unknown[], options: O) => loadBinding()[name](...args.slice(0, arity), options);
  const callAsync = (args: unknown[], options: O) => loadBinding()[`${name}Async`](...args.slice(0, arity), options);

  const fn = ((...args: unknown[]) => call(args, check(args[arity] as O | undefined))) as LossFunction<Args, O, Grad, Extra>;
  const fnAsync = ((...args: unknown[]) => {
    let options: O;
    try {
      options = check(args[arity] as O | undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    return callAsync(args, options);
  }) as AsyncLossFunction<Args, O, Grad, Extra>;

  class Module {
    readonly options: Readonly<O>;

    constructor(options?: O) {
      this.options = Object.freeze({ ...check(options) });
    }

    forward(...args: HostArgs<Args>): LossResult<Grad> & Extra;
    forward(...args: DeviceArgs<Args>): LossResult<Grad, Tensor> & Extra;
    forward(...args: Args): LossResult<Grad, FloatArray | Tensor> & Extra;
    forward(...args: unknown[]) {
      return call(args, this.options);
    }

    forwardAsync(...args: HostArgs<Args>): Promise<LossResult<Grad> & Extra>;
    forwardAsync(...args: DeviceArgs<Args>): Promise<LossResult<Grad, Tensor> & Extra>;
    forwardAsync(...args: Args): Promise<LossResult<Grad, FloatArray | Tensor> & Extra>;
    forwardAsync(...args: unknown[]) {
      return callAsync(args, this.options);
    }
  }

  return { fn, fnAsync, Module, check };
}
