/**
 * Argument validators, in one place. Messages name the argument, the expected and the actual
 * value. The native layer checks tensors (types, shapes, sizes) itself, since a caller can
 * reach it without this facade; here we check options, so typos fail early and clearly.
 */
import type { CommonLossOptions, Device } from './types';

const describe = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return typeof value === 'object' ? (value as object).constructor?.name ?? 'an object' : typeof value;
};

export function finiteNumber(name: string, value: unknown, { allowInfinity = false } = {}): number {
  if (typeof value !== 'number') throw new TypeError(`\`${name}\` must be a number, got ${describe(value)}`);
  if (Number.isNaN(value) || (!allowInfinity && !Number.isFinite(value))) {
    throw new RangeError(`\`${name}\` must be a finite number, got ${value}`);
  }
  return value;
}

export function positiveNumber(name: string, value: unknown, opts = { allowInfinity: false }): number {
  const n = finiteNumber(name, value, opts);
  if (!(n > 0)) throw new RangeError(`\`${name}\` must be > 0, got ${n}`);
  return n;
}

export function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`\`${name}\` must be a boolean, got ${describe(value)}`);
  return value;
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string') throw new TypeError(`\`${name}\` must be a string, got ${describe(value)}`);
  if (!allowed.includes(value as T)) {
    throw new RangeError(`\`${name}\` must be ${allowed.map((a) => `'${a}'`).join(', ')}; got '${value}'`);
  }
  return value as T;
}

const DEVICE_PATTERN = /^(cpu|auto|cuda|cuda:\d{1,4})$/;

export function device(value: unknown): Device {
  if (typeof value !== 'string') throw new TypeError(`\`device\` must be a string, got ${describe(value)}`);
  if (!DEVICE_PATTERN.test(value)) {
    throw new RangeError(`\`device\` must be 'cpu', 'cuda', 'cuda:N' or 'auto', got '${value}'`);
  }
  return value as Device;
}

const COMMON_KEYS = ['reduction', 'grad', 'device'] as const;

/**
 * Checks a loss's options object: no unknown keys (a typo would silently use a default), the
 * common options, then `checks[key]` for each loss-specific key that is present.
 */
export function lossOptions<T extends object>(
  loss: string,
  options: unknown,
  checks: { [K in Exclude<keyof T, keyof CommonLossOptions>]-?: (value: unknown) => unknown },
  reductions: readonly string[] = ['none', 'mean', 'sum'],
): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options)) {
    throw new TypeError(`${loss}: \`options\` must be an object, got ${describe(options)}`);
  }
  const known = [...COMMON_KEYS, ...Object.keys(checks)];
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) {
      throw new RangeError(`${loss}: unknown option '${key}'; known options: ${known.join(', ')}`);
    }
    const value = record[key];
    if (value === undefined) continue;
    if (key === 'reduction') oneOf('reduction', value, reductions);
    else if (key === 'grad') boolean('grad', value);
    else if (key === 'device') device(value);
    else (checks as Record<string, (v: unknown) => unknown>)[key](value);
  }
  return options as T;
}

export function integer(name: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`\`${name}\` must be an integer, got ${describe(value)}`);
  if (!Number.isSafeInteger(value)) throw new RangeError(`\`${name}\` must be an integer, got ${value}`);
  return value;
}

export function numberIn(name: string, value: unknown, low: number, high: number): number {
  const n = finiteNumber(name, value);
  if (n < low || n > high) throw new RangeError(`\`${name}\` must be in [${low}, ${high}], got ${n}`);
  return n;
}

/**
 * A tensor-valued option (weight, posWeight): a float typed array (from any realm: a worker's
 * message or an addon result), { data, shape } or a Tensor. Its contents are checked natively.
 */
export function tensorOption(name: string, value: unknown): unknown {
  const tag = Object.prototype.toString.call(value);
  if (tag === '[object Float32Array]' || tag === '[object Float64Array]') return value;
  const isObject = value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value);
  if (isObject && (('data' in value && 'shape' in value) || 'toFloat32Array' in value)) return value;
  throw new TypeError(`\`${name}\` must be a Float32Array, { data: Float32Array, shape: number[] } or a Tensor, got ${describe(value)}`);
}
