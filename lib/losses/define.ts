/**
 * Builds a loss's two public forms from its binding name and option checks:
 *   fn(...tensors, options?)                       the functional form (F.*)
 *   new Module(options).forward(...tensors)        the module form (nn.*), options checked once
 * Both call the same binding function with the same (checked) options object.
 */
import { loadBinding } from '../native';
import type { CommonLossOptions, LossResult } from '../types';
import { lossOptions } from '../validate';

export type OptionChecks<O extends object> = {
  [K in Exclude<keyof O, keyof CommonLossOptions>]-?: (value: unknown) => unknown;
};

export function defineLoss<Args extends unknown[], O extends object, Grad extends string>(
  name: string,
  arity: Args['length'],
  checks: OptionChecks<O>,
  reductions?: readonly string[],
) {
  const check = (options?: O): O => lossOptions<O>(name, options, checks, reductions);
  const call = (args: unknown[], options: O): LossResult<Grad> => loadBinding()[name](...args.slice(0, arity), options);

  const fn = (...args: [...Args, O?]): LossResult<Grad> => call(args, check(args[arity] as O | undefined));

  class Module {
    readonly options: Readonly<O>;

    constructor(options?: O) {
      this.options = Object.freeze({ ...check(options) });
    }

    forward(...args: Args): LossResult<Grad> {
      return call(args, this.options);
    }
  }

  return { fn, Module, check };
}
