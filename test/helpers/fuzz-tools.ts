/**
 * Small tools for the fuzz and worker tests: a seeded PRNG, NaN-aware comparison, and a way to
 * recognise error classes across realms (jest runs test code in a vm context, while errors made
 * by the native addon belong to Node's main context, so `e instanceof TypeError` is false there).
 */

import { Random } from '../../lib/random';

/** mulberry32 (the package's own seeded generator, lib/random.ts): floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  /** Roughly normal, mean 0, sd ~1. */
  normal(): number {
    return this.next() + this.next() + this.next() + this.next() - 2;
  }
}

/** NaN-aware closeness: both NaN, the same infinity, or |a - b| <= abs + rel * |b|. */
export function close(a: number, b: number, abs = 1e-5, rel = 1e-5): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= abs + rel * Math.abs(b);
}

/** One differing value of two loss results: `field` is 'loss', 'losses' or 'grad.<name>'. */
export interface Mismatch {
  field: string;
  index: number;
  actual: number;
  expected: number;
}

/**
 * Compares two loss results ({ loss, losses?, grad? }) value by value. Returns a description of
 * a structural difference (a string), or the list of differing values (empty when equal).
 */
export function compareResults(actual: any, expected: any, abs = 1e-5, rel = 1e-5): string | Mismatch[] {
  if (typeof actual !== 'object' || actual === null) return `result is ${typeof actual}`;
  if (typeof actual.loss !== 'number') return `loss is ${typeof actual.loss}`;
  const out: Mismatch[] = [];
  if (!close(actual.loss, expected.loss, abs, rel)) out.push({ field: 'loss', index: 0, actual: actual.loss, expected: expected.loss });
  const arrays: [string, any, any][] = [['losses', actual.losses, expected.losses]];
  if ((actual.grad === undefined) !== (expected.grad === undefined)) return 'grad presence differs';
  if (expected.grad) {
    const keys = Object.keys(expected.grad).sort();
    if (Object.keys(actual.grad).sort().join() !== keys.join()) return `grad keys ${Object.keys(actual.grad)}`;
    for (const k of keys) arrays.push([`grad.${k}`, actual.grad[k], expected.grad[k]]);
  }
  const tag = (x: unknown) => Object.prototype.toString.call(x);
  for (const [name, x, y] of arrays) {
    if ((x === undefined) !== (y === undefined)) return `${name} presence differs`;
    if (x === undefined) continue;
    if (tag(x) !== tag(y)) return `${name} is ${tag(x)}, expected ${tag(y)}`;
    if (x.length !== y.length) return `${name} length ${x.length} vs ${y.length}`;
    for (let i = 0; i < x.length; i++) {
      if (!close(x[i], y[i], abs, rel)) out.push({ field: name, index: i, actual: x[i], expected: y[i] });
    }
  }
  return out;
}

/** compareResults as one line: undefined when equal. */
export function diffResults(actual: any, expected: any, abs = 1e-5, rel = 1e-5): string | undefined {
  const d = compareResults(actual, expected, abs, rel);
  if (typeof d === 'string') return d;
  if (d.length === 0) return undefined;
  const m = d[0];
  return `${m.field}${m.field === 'loss' ? '' : `[${m.index}]`} ${m.actual} vs ${m.expected}` + (d.length > 1 ? ` (and ${d.length - 1} more)` : '');
}

/**
 * Whether two loss results are bit-identical (every number, NaNs by payload aside, the same bits;
 * the same keys): undefined when they are, else the first difference. Fast on large arrays.
 */
export function bitDifference(actual: any, expected: any): string | undefined {
  const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
  if (!same(actual?.loss, expected?.loss)) return `loss ${actual?.loss} vs ${expected?.loss}`;
  const fields: [string, any, any][] = [['losses', actual.losses, expected.losses]];
  const keys = Object.keys(expected.grad ?? {}).sort();
  if (Object.keys(actual.grad ?? {}).sort().join() !== keys.join()) return 'grad keys differ';
  if ((actual.grad === undefined) !== (expected.grad === undefined)) return 'grad presence differs';
  for (const k of keys) fields.push([`grad.${k}`, actual.grad[k], expected.grad[k]]);
  for (const [name, x, y] of fields) {
    if ((x === undefined) !== (y === undefined)) return `${name} presence differs`;
    if (x === undefined) continue;
    if (Object.prototype.toString.call(x) !== Object.prototype.toString.call(y) || x.length !== y.length) return `${name} type or length differs`;
    const u = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    const v = new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
    for (let i = 0; i < u.length; i++) {
      if (u[i] !== v[i]) {
        const k = Math.floor(i / x.BYTES_PER_ELEMENT);
        if (!same(x[k], y[k])) return `${name}[${k}] ${x[k]} vs ${y[k]}`;
        i = (k + 1) * x.BYTES_PER_ELEMENT - 1; // NaNs with different payloads: the same
      }
    }
  }
  return undefined;
}

export const ERROR_NAMES = ['TypeError', 'RangeError', 'DeviceError', 'TorchError'] as const;
export type ErrorName = (typeof ERROR_NAMES)[number];
