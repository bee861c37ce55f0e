/**
 * Validators of the stateful modules' options (in lib/validate.ts style: messages name the
 * option, the expected and the actual value). The native layer re-checks all of them.
 */
import type { Device, FloatArray } from '../types';
import * as check from '../validate';

/** torch.optim.SGD. `lr` has no default in PyTorch: required, except where a module gives one. */
export interface SGDOptions {
  type: 'sgd';
  lr?: number;
  /** Default 0. */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). Default false. */
  nesterov?: boolean;
}

/** torch.optim.Adam / torch.optim.AdamW (decoupled weight decay). */
export interface AdamOptions {
  type: 'adam' | 'adamw';
  /** Default 1e-3. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Default 0 (Adam, an L2 penalty added to the gradient) or 1e-2 (AdamW, decoupled). */
  weightDecay?: number;
  /** The AMSGrad variant. Default false. */
  amsgrad?: boolean;
}

export type OptimizerOptions = SGDOptions | AdamOptions;

const describe = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'string' ? `'${value}'` : typeof value;

export function nonNegative(name: string, value: unknown): number {
  const n = check.finiteNumber(name, value);
  if (n < 0) throw new RangeError(`\`${name}\` must be >= 0, got ${n}`);
  return n;
}

export function positiveInteger(name: string, value: unknown): number {
  const n = check.integer(name, value);
  if (n <= 0) throw new RangeError(`\`${name}\` must be a positive integer, got ${n}`);
  return n;
}

/** Checks an options object's keys against `allowed` (a typo would silently use a default). */
export function knownKeys(what: string, options: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${what}: \`options\` must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new RangeError(`${what}: unknown option '${key}'; known options: ${allowed.join(', ')}`);
  }
  return options as Record<string, unknown>;
}

/**
 * The optimiser options flattened for the native module ({ optimizer: 'sgd', lr, momentum, ... }),
 * after checking them. `defaultLr` is used when `lr` is absent (SGD without one is an error when
 * it is undefined, as torch.optim.SGD requires lr).
 */
export function optimizerSpec(value: unknown, defaultLr?: number): Record<string, unknown> {
  const o = knownKeys('optimizer', value === undefined ? { type: 'sgd' } : value, [
    'type', 'lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'betas', 'eps', 'amsgrad',
  ]);
  const type = check.oneOf('optimizer.type', o.type, ['sgd', 'adam', 'adamw'] as const);
  const sgdKeys = ['momentum', 'dampening', 'nesterov'];
  const adamKeys = ['betas', 'eps', 'amsgrad'];
  for (const key of Object.keys(o)) {
    if ((type === 'sgd' ? adamKeys : sgdKeys).includes(key) && o[key] !== undefined) {
      throw new RangeError(`\`optimizer.${key}\` is not an option of ${type === 'sgd' ? 'SGD' : 'Adam/AdamW'}`);
    }
  }
  const spec: Record<string, unknown> = { optimizer: type };
  const lr = o.lr ?? (type === 'sgd' ? defaultLr : 1e-3);
  if (lr === undefined) throw new TypeError('`optimizer.lr` is required for SGD (as in torch.optim.SGD)');
  spec.lr = nonNegative('optimizer.lr', lr);
  if (o.weightDecay !== undefined) spec.weightDecay = nonNegative('optimizer.weightDecay', o.weightDecay);
  if (type === 'sgd') {
    if (o.momentum !== undefined) spec.momentum = nonNegative('optimizer.momentum', o.momentum);
    if (o.dampening !== undefined) spec.dampening = nonNegative('optimizer.dampening', o.dampening);
    if (o.nesterov !== undefined) spec.nesterov = check.boolean('optimizer.nesterov', o.nesterov);
    if (spec.nesterov && (!((spec.momentum as number) > 0) || ((spec.dampening as number) ?? 0) !== 0)) {
      throw new RangeError(
        `\`optimizer.nesterov\` needs momentum > 0 and dampening 0, got momentum ${spec.momentum ?? 0} and dampening ${spec.dampening ?? 0}`,
      );
    }
  } else {
    if (o.betas !== undefined) {
      if (!Array.isArray(o.betas) || o.betas.length !== 2) {
        throw new TypeError(`\`optimizer.betas\` must be [beta1, beta2], got ${describe(o.betas)}`);
      }
      spec.beta1 = check.numberIn('optimizer.betas[0]', o.betas[0], 0, 1);
      spec.beta2 = check.numberIn('optimizer.betas[1]', o.betas[1], 0, 1);
      if (spec.beta1 === 1 || spec.beta2 === 1) throw new RangeError(`\`optimizer.betas\` must be in [0, 1), got [${o.betas}]`);
    }
    if (o.eps !== undefined) spec.eps = nonNegative('optimizer.eps', o.eps);
    if (o.amsgrad !== undefined) spec.amsgrad = check.boolean('optimizer.amsgrad', o.amsgrad);
  }
  return spec;
}

/** A parameter value: host data with its row-major shape. */
export interface ParameterInput {
  data: FloatArray;
  shape: readonly number[];
}

/** { name: { data, shape } }: the structure is checked here, names and shapes natively. */
export function parameterValues(what: string, values: unknown): Record<string, ParameterInput> {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) {
    throw new TypeError(`${what}: expected an object { name: { data, shape } }, got ${describe(values)}`);
  }
  for (const [name, v] of Object.entries(values)) {
    const ok =
      v !== null && typeof v === 'object' && 'data' in v && 'shape' in v &&
      // by tag, not instanceof: arrays from the addon or a worker come from another realm
      ['[object Float32Array]', '[object Float64Array]'].includes(Object.prototype.toString.call((v as ParameterInput).data));
    if (!ok) throw new TypeError(`${what}: \`${name}\` must be { data: Float32Array, shape: number[] }, got ${describe(v)}`);
  }
  return values as Record<string, ParameterInput>;
}

export function deviceOption(value: unknown): Device | undefined {
  return value === undefined ? undefined : check.device(value);
}

/** Checks forward()'s options ({ grad, allowNonFinite }). */
export function forwardOptions(what: string, options: unknown): Record<string, unknown> {
  const o = knownKeys(`${what}.forward`, options, ['grad', 'allowNonFinite']);
  if (o.grad !== undefined) check.boolean('grad', o.grad);
  if (o.allowNonFinite !== undefined) check.boolean('allowNonFinite', o.allowNonFinite);
  return o;
}
