/**
 * Parity with Python PyTorch, as a feature: compare this addon with fixtures written by
 * test/parity/generate.py (committed ones, or a live run against the Python torch found here).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as F from './functional';
import type { Device, LossResult } from './types';

export const GENERATOR = path.join(__dirname, '..', 'test', 'parity', 'generate.py');
export const FIXTURES = path.join(__dirname, '..', 'test', 'parity', 'fixtures');
/** A gradient or loss passes when |addon - torch| <= ABS + REL * |torch|. */
export const TOLERANCE = { abs: 1e-5, rel: 1e-5 };

export interface ParityInput {
  name: string;
  shape: number[];
  data: number[];
  /** 'int64' for class labels (passed as Int32Array or BigInt64Array); float32 otherwise. */
  dtype?: 'float32' | 'int64';
}

export interface ParityCase {
  name: string;
  options: Record<string, unknown>;
  inputs: ParityInput[];
  loss: number;
  losses: number[] | null;
  grad: Record<string, number[]>;
}

export interface ParityFile {
  loss: string;
  torch: string;
  cases: ParityCase[];
}

export interface CaseResult {
  loss: string;
  case: string;
  lossDiff: number;
  gradDiff: number;
  pass: boolean;
  error?: string;
}

export interface ParityRow {
  loss: string;
  cases: number;
  maxLossDiff: number;
  maxGradDiff: number;
  pass: boolean;
  failures: CaseResult[];
}

/** JSON -> JS option values: 'inf'/'nan' strings to numbers, { data, shape } to tensors. */
const decode = (value: unknown): unknown => {
  if (value === 'inf') return Infinity;
  if (value === '-inf') return -Infinity;
  if (value === 'nan') return NaN;
  if (value && typeof value === 'object' && 'data' in value && 'shape' in value) {
    const t = value as { data: number[]; shape: number[] };
    return { data: Float32Array.from(t.data), shape: t.shape };
  }
  return value;
};

/** Labels alternate between the two typed forms so that both stay covered. */
let labelForm = 0;
function toInput(input: ParityInput): unknown {
  if (input.dtype === 'int64') {
    return labelForm++ % 2 ? BigInt64Array.from(input.data.map(BigInt)) : Int32Array.from(input.data);
  }
  return { data: Float32Array.from(input.data), shape: input.shape };
}

/** Largest |a - b|, and whether every entry is within tolerance (NaN matches NaN). */
export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>): { diff: number; ok: boolean } {
  if (actual.length !== expected.length) return { diff: Infinity, ok: false };
  let diff = 0;
  let ok = true;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(a) || Number.isNaN(e)) {
      if (Number.isNaN(a) !== Number.isNaN(e)) ok = false;
      continue;
    }
    const d = Math.abs(a - e);
    diff = Math.max(diff, d);
    if (!(d <= TOLERANCE.abs + TOLERANCE.rel * Math.abs(e))) ok = false;
  }
  return { diff, ok };
}

type LossFunction = (...args: unknown[]) => LossResult<string>;

/**
 * Runs one fixture case through the addon and compares loss, losses and every gradient;
 * `device` runs it there (gradients come back to the host either way).
 */
export function checkCase(loss: string, c: ParityCase, device?: Device): CaseResult {
  const fn = (F as unknown as Record<string, LossFunction>)[loss];
  const base = { loss, case: c.name };
  if (!fn) return { ...base, lossDiff: NaN, gradDiff: NaN, pass: false, error: `no function F.${loss}` };
  const options = Object.fromEntries(Object.entries(c.options).map(([k, v]) => [k, decode(v)]));
  if (device) options.device = device;
  const inputs = c.inputs.map(toInput);
  try {
    const result = fn(...inputs, options);
    const lossCheck = compare([result.loss], [c.loss]);
    let ok = lossCheck.ok;
    let lossDiff = lossCheck.diff;
    if (c.losses) {
      const perElement = compare(result.losses ?? [], c.losses);
      ok &&= perElement.ok;
      lossDiff = Math.max(lossDiff, perElement.diff);
    }
    let gradDiff = 0;
    for (const [name, expected] of Object.entries(c.grad)) {
      const g = compare(result.grad?.[name] ?? [], expected);
      ok &&= g.ok;
      gradDiff = Math.max(gradDiff, g.diff);
    }
    return { ...base, lossDiff, gradDiff, pass: ok };
  } catch (error) {
    return { ...base, lossDiff: NaN, gradDiff: NaN, pass: false, error: (error as Error).message };
  }
}

export function readFixtures(dir: string = FIXTURES): ParityFile[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as ParityFile);
}

export function runParity(files: ParityFile[], device?: Device): ParityRow[] {
  return files.map((file) => {
    const results = file.cases.map((c) => checkCase(file.loss, c, device));
    return {
      loss: file.loss,
      cases: results.length,
      maxLossDiff: Math.max(0, ...results.map((r) => r.lossDiff)),
      maxGradDiff: Math.max(0, ...results.map((r) => r.gradDiff)),
      pass: results.every((r) => r.pass),
      failures: results.filter((r) => !r.pass),
    };
  });
}

/** The first interpreter that imports torch: `explicit`, then /usr/bin/python3, python3, python. */
export function findPython(explicit?: string): { python: string; torch: string } | undefined {
  const candidates = explicit ? [explicit] : ['/usr/bin/python3', 'python3', 'python'];
  for (const python of candidates) {
    try {
      const torch = execFileSync(python, ['-c', 'import torch; print(torch.__version__)'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      return { python, torch };
    } catch {
      /* not this one */
    }
  }
  return undefined;
}

/** Runs the generator with `python` into a fresh temporary folder and reads what it wrote. */
export function generateLive(python: string, only?: string[]): ParityFile[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-losses-parity-'));
  try {
    const args = [GENERATOR, dir, ...(only ? ['--only', only.join(',')] : [])];
    execFileSync(python, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    return readFixtures(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function formatTable(rows: ParityRow[]): string {
  const header = ['loss', 'cases', 'max |Δloss|', 'max |Δgrad|', 'result'];
  const body = rows.map((r) => [
    r.loss,
    String(r.cases),
    r.maxLossDiff.toExponential(2),
    r.maxGradDiff.toExponential(2),
    r.pass ? 'pass' : `FAIL (${r.failures.length})`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
