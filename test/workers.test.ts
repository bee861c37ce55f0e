/**
 * The addon in several threads and several module registries: N-API context awareness (one
 * AddonState per environment), clean teardown when workers exit or are terminated, and loading
 * the package again after jest resets its module registry.
 *
 * Workers load the compiled package (dist/index.js): build it with `npm run build` (npm test
 * does it in `pretest`).
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { Worker } from 'worker_threads';
import { F, DeviceError, TorchError, info, cuda } from '../lib';
import { diffResults } from './helpers/fuzz-tools';

const ROOT = path.join(__dirname, '..');
const DIST_INDEX = path.join(ROOT, 'dist', 'index.js');
const JOB = path.join(__dirname, 'helpers', 'worker-job.js');

interface JobMessage {
  id: number;
  started?: boolean;
  results?: { loss: string; args: unknown[]; options: object; result: unknown }[];
  checks?: Record<string, string>;
  cudaAvailable?: boolean;
}

interface Outcome {
  messages: JobMessage[];
  exitCode: number;
  errors: Error[];
}

/** Starts a worker running worker-job.js; resolves when it exits. */
function startWorker(workerData: Record<string, unknown>, onMessage?: (m: JobMessage, w: Worker) => void): Promise<Outcome> {
  const worker = new Worker(JOB, { workerData: { distIndex: DIST_INDEX, ...workerData } });
  const outcome: Outcome = { messages: [], exitCode: NaN, errors: [] };
  worker.on('message', (m: JobMessage) => {
    outcome.messages.push(m);
    onMessage?.(m, worker);
  });
  worker.on('error', (e) => outcome.errors.push(e));
  return new Promise((resolve) => {
    worker.on('exit', (code) => {
      outcome.exitCode = code;
      resolve(outcome);
    });
  });
}

/** Recomputes every result of a worker on this thread and returns the differences. */
function compareWithMainThread(message: JobMessage): string[] {
  const problems: string[] = [];
  for (const [i, r] of (message.results ?? []).entries()) {
    const mine = (F as unknown as Record<string, (...a: unknown[]) => unknown>)[r.loss](...r.args, r.options);
    const difference = diffResults(r.result, mine, 0, 0); // same binary, same inputs: bit-identical
    if (difference) problems.push(`worker ${message.id} call ${i} (${r.loss}): ${difference}`);
  }
  return problems;
}

const EXPECTED_CHECKS = {
  device: 'DeviceError',
  nativeType: 'TypeError',
  nativeRange: 'RangeError',
  facadeRange: 'RangeError',
  labelsRange: 'RangeError',
  labelsType: 'TypeError',
};

beforeAll(() => {
  if (!fs.existsSync(DIST_INDEX)) {
    throw new Error(`${DIST_INDEX} is missing: workers load the compiled package; run \`npm run build\` first`);
  }
});

describe('worker_threads', () => {
  const CALLS = 200;

  test('4 workers load the package at once, compute 200 losses each, match this thread and exit with 0', async () => {
    const outcomes = await Promise.all([0, 1, 2, 3].map((id) => startWorker({ id, seed: 1000 + id, count: CALLS })));
    for (const [id, o] of outcomes.entries()) {
      expect({ id, exitCode: o.exitCode, errors: o.errors.map(String) }).toEqual({ id, exitCode: 0, errors: [] });
      expect(o.messages).toHaveLength(1);
      const message = o.messages[0];
      expect(message.results).toHaveLength(CALLS);
      expect(compareWithMainThread(message)).toEqual([]);
      // Errors raised in a worker are instances of that worker's own classes.
      expect(message.checks).toEqual(message.cudaAvailable ? { ...EXPECTED_CHECKS, device: 'returned' } : EXPECTED_CHECKS);
    }
    // The workers computed different things (different seeds).
    expect(new Set(outcomes.map((o) => JSON.stringify(o.messages[0].results![1].args))).size).toBe(4);
  });

  test('a second round of workers after the first exited (environment teardown, then init again)', async () => {
    const outcomes = await Promise.all([4, 5, 6, 7].map((id) => startWorker({ id, seed: 2000 + id, count: 50 })));
    for (const o of outcomes) {
      expect({ exitCode: o.exitCode, errors: o.errors.map(String) }).toEqual({ exitCode: 0, errors: [] });
      expect(compareWithMainThread(o.messages[0])).toEqual([]);
    }
  });

  test('terminating an idle worker that loaded the addon leaves the process and the addon working', async () => {
    const args = [Float32Array.from([1, 2, 3]), Float32Array.from([0, 3, 1]), Float32Array.from([1, -1, 1])] as const;
    const before = F.marginRankingLoss(...args, { margin: 2, reduction: 'none' });
    const idle = startWorker({ id: 8, seed: 3000, count: 20, mode: 'idle' }, (m, worker) => {
      if (m.results) void worker.terminate();
    });
    const [terminated, after] = await Promise.all([idle, startWorker({ id: 9, seed: 3001, count: 50 })]);
    expect(terminated.errors.map(String)).toEqual([]);
    expect(terminated.exitCode).toBe(1); // what terminate() gives
    expect(compareWithMainThread(terminated.messages[0])).toEqual([]);
    expect(after.exitCode).toBe(0);
    expect(compareWithMainThread(after.messages[0])).toEqual([]);
    // And this thread still computes.
    expect(Array.from(before.losses!)).toEqual([1, 1, 0]);
    expect(diffResults(F.marginRankingLoss(...args, { margin: 2, reduction: 'none' }), before, 0, 0)).toBeUndefined();
  });

  // Was a bug (build flags of native/): worker.terminate() while the worker was inside the addon
  // (loading it, or in a loss call) aborted the whole process with "terminate called after
  // throwing an instance of 'Napi::Error'": a N-API call failed because the environment was
  // terminating, and node-addon-api's ThrowAsJavaScriptException threw out of the C callback.
  // Fixed with NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS (nodejs/node-addon-api#975). Run in a child
  // process, since a regression aborts.
  test('terminating workers while they are inside the addon never aborts the process', () => {
    const r = spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'terminate-workers.js'), DIST_INDEX, '40'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({
      status: 0,
      signal: null,
      out: 'done 40',
    });
  });
});

describe('module registry resets', () => {
  type Package = typeof import('../lib');
  const a = Float32Array.from([0.5, -1, 2]);
  const b = Float32Array.from([1, 0, 1.5]);
  const y = Float32Array.from([1, -1, 1]);
  const thrown = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (e) {
      return e;
    }
    return undefined;
  };
  // 'cuda:9999': no such device, with or without CUDA.
  const deviceError = (tl: Package) => thrown(() => tl.F.marginRankingLoss(a, b, y, { device: 'cuda:9999' }));
  const typeError = (tl: Package) => thrown(() => tl.F.marginRankingLoss('x' as never, b, y)); // native
  const rangeError = (tl: Package) => thrown(() => tl.F.marginRankingLoss(a, Float32Array.from([1]), y)); // native
  const optionError = (tl: Package) => thrown(() => tl.F.crossEntropyLoss({ data: a, shape: [1, 3] }, [0], { labelSmoothing: 2 })); // facade

  /** Two fresh copies of the package (jest.isolateModules twice), each loaded (used) once. */
  function isolatedCopies(): Package[] {
    const copies: Package[] = [];
    for (let k = 0; k < 2; k++) {
      jest.isolateModules(() => {
        copies.push(require('../lib') as Package);
      });
    }
    for (const tl of copies) tl.info(); // the addon is loaded on first use
    return copies;
  }

  test('loading the package again after jest.isolateModules (twice) works', () => {
    const expected = F.marginRankingLoss(a, b, y, { margin: 0.25, reduction: 'none' });
    const copies = isolatedCopies();
    expect(copies[0]).not.toBe(copies[1]);
    expect(copies[0].DeviceError).not.toBe(copies[1].DeviceError);
    for (const tl of [...copies, { F, DeviceError, info, cuda } as unknown as Package]) {
      expect(diffResults(tl.F.marginRankingLoss(a, b, y, { margin: 0.25, reduction: 'none' }), expected, 0, 0)).toBeUndefined();
      expect(tl.info().libtorchVersion).toMatch(/^\d+\.\d+/);
      expect((deviceError(tl) as Error).name).toBe('DeviceError');
    }
  });

  // Was a bug (lib/native.ts): every copy of the package shares one binding object (Node caches a
  // .node file by path), and each copy registered its classes with it, so `instanceof DeviceError`
  // held for the errors of the copy loaded last only. Now the classes' Symbol.hasInstance checks
  // the name. The errors are made by the last registered class (of any copy; here all share one
  // realm), and are `instanceof` every copy's class.
  test("every copy's errors are instances of that copy's DeviceError (and of every copy's), not only the last loaded copy's", () => {
    const copies = isolatedCopies();
    const all = [{ F, DeviceError, TorchError, info, cuda } as unknown as Package, ...copies];
    const which = ["this file's import", 'isolated copy 1', 'isolated copy 2'];
    expect(all.map((tl, k) => ({ copy: which[k], instance: deviceError(tl) instanceof tl.DeviceError }))).toEqual(
      which.map((copy) => ({ copy, instance: true })),
    );
    for (const tl of all) {
      for (const other of all) expect(deviceError(tl)).toBeInstanceOf(other.DeviceError);
      expect(deviceError(tl)).not.toBeInstanceOf(tl.TorchError);
      // Not fooled by a TypeError (the check is by name).
      expect(typeError(tl)).not.toBeInstanceOf(tl.DeviceError);
    }
    // An object with the name is an instance too (that is the price of the cross-copy check).
    expect({ name: 'TorchError' }).toBeInstanceOf(copies[0].TorchError);
  });

  // The facade registers its realm's TypeError and RangeError with the addon, so errors thrown
  // through it are `instanceof` the classes jest's tests see: `toThrow(TypeError)` works.
  test("errors of every copy are instances of this realm's TypeError / RangeError (toThrow(Class) works)", () => {
    const copies = isolatedCopies();
    for (const tl of [{ F } as unknown as Package, ...copies]) {
      expect(typeError(tl)).toBeInstanceOf(TypeError);
      expect(rangeError(tl)).toBeInstanceOf(RangeError);
      expect(optionError(tl)).toBeInstanceOf(RangeError);
      expect(() => tl.F.marginRankingLoss('x' as never, b, y)).toThrow(TypeError);
      expect(() => tl.F.marginRankingLoss(a, Float32Array.from([1]), y)).toThrow(RangeError);
      expect(() => tl.F.marginRankingLoss(a, b, y, { device: 'cuda:9999' })).toThrow(tl.DeviceError);
      expect(() => tl.F.marginRankingLoss(a, b, y, { device: 'cuda:9999' })).toThrow(Error);
    }
  });
});
