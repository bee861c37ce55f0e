/**
 * Async forms: same values and same typed errors as the sync forms, inputs safe from the caller,
 * the event loop free while they run, and many of them at once.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { F, nn } from '../lib';
import { readFixtures } from '../lib/parity';

type AnyFn = (...args: unknown[]) => { loss: number; losses?: ArrayLike<number>; grad?: Record<string, ArrayLike<number>> };
type AnyAsync = (...args: unknown[]) => Promise<ReturnType<AnyFn>>;
const fns = F as unknown as Record<string, AnyFn & AnyAsync>;
const DIST = path.join(__dirname, '..', 'dist', 'index.js');

const toArgs = (inputs: { data: number[]; shape: number[]; dtype?: string }[]) =>
  inputs.map((i) => (i.dtype === 'int64' ? Int32Array.from(i.data) : { data: Float32Array.from(i.data), shape: i.shape }));
const decode = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === 'inf' ? Infinity : v && typeof v === 'object' ? { data: Float32Array.from((v as { data: number[] }).data), shape: (v as { shape: number[] }).shape } : v]));

function expectSame(a: ReturnType<AnyFn>, b: ReturnType<AnyFn>) {
  expect(a.loss).toBe(b.loss);
  expect(a.losses && Array.from(a.losses)).toEqual(b.losses && Array.from(b.losses));
  for (const k of Object.keys(b.grad ?? {})) expect(Array.from(a.grad![k])).toEqual(Array.from(b.grad![k]));
}

describe('every loss has an async form giving the sync result', () => {
  const files = readFixtures();
  test.each(files.map((f) => [f.loss, f] as const))('%sAsync', async (loss, file) => {
    expect(typeof fns[`${loss}Async`]).toBe('function');
    for (const c of file.cases.slice(0, 4)) {
      const sync = fns[loss](...toArgs(c.inputs), decode(c.options));
      const viaAsync = await fns[`${loss}Async`](...toArgs(c.inputs), decode(c.options));
      expectSame(viaAsync, sync);
    }
  });

  test('module forwardAsync equals forward', async () => {
    const m = new nn.CrossEntropyLoss({ labelSmoothing: 0.1 });
    const x = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
    expectSame(await m.forwardAsync(x, [0, 2]), m.forward(x, [0, 2]));
  });
});

describe('async errors reject with the sync typed errors', () => {
  const x = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
  test.each([
    ['label out of range', () => F.crossEntropyLossAsync(x, [0, 9]), RangeError, /`target\[1\]` is 9/],
    ['unknown option', () => F.mseLossAsync(x, x, { reductoin: 'sum' } as object), RangeError, /unknown option 'reductoin'/],
    ['wrong type', () => F.mseLossAsync('x' as never, x), TypeError, /`input` must be a Float32Array/],
    ['no CUDA', () => F.mseLossAsync(x, x, { device: 'cuda:7' }), Error, /cuda:7/],
  ] as [string, () => Promise<unknown>, ErrorConstructor, RegExp][])('%s', async (_n, call, cls, message) => {
    await expect(call()).rejects.toThrow(message);
    await expect(call()).rejects.toBeInstanceOf(cls);
  });

  test('the async form never throws synchronously', () => {
    expect(() => F.tripletMarginLossAsync(null as never, null as never, null as never).catch(() => undefined)).not.toThrow();
  });
});

describe('inputs are copied: the caller may change or transfer them right after the call', () => {
  test('mutating and detaching the inputs does not change the result', async () => {
    const make = () => ({ data: Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i)), shape: [256, 16] });
    const [a, p, n] = [make(), make(), make()];
    p.data.reverse();
    const expected = F.tripletMarginLoss(a, p, n);
    const pending = F.tripletMarginLossAsync(a, p, n);
    a.data.fill(1e6);
    structuredClone(p.data.buffer, { transfer: [p.data.buffer] }); // detaches p's buffer
    expect(p.data.length).toBe(0);
    expectSame(await pending, expected);
  });
});

describe('concurrency', () => {
  test('1,000 concurrent async calls all resolve with the right values', async () => {
    const inputs = Array.from({ length: 1000 }, (_, i) => ({
      x: { data: Float32Array.from([i, -i, i / 2]), shape: [3] },
      y: { data: Float32Array.from([0, 1, 2]), shape: [3] },
    }));
    const results = await Promise.all(inputs.map(({ x, y }) => F.mseLossAsync(x, y)));
    results.forEach((r, i) => expect(r.loss).toBeCloseTo(F.mseLoss(inputs[i].x, inputs[i].y).loss, 4));
  });

  test('4 worker_threads x 2,000 calls each, then a clean exit', () => {
    const body = `
      const { Worker } = require('worker_threads');
      const job = \`
        const { parentPort, workerData } = require('worker_threads');
        const t = require(${JSON.stringify(DIST)});
        (async () => {
          let sum = 0;
          for (let i = 0; i < 2000; i++) {
            const x = { data: Float32Array.from([i, workerData, 1]), shape: [3] };
            const r = i % 2 ? await t.F.l1LossAsync(x, x) : t.F.l1Loss(x, { data: new Float32Array(3), shape: [3] });
            sum += r.loss;
          }
          parentPort.postMessage(sum);
        })();\`;
      const sums = [];
      let exited = 0;
      for (let w = 0; w < 4; w++) {
        const worker = new Worker(job, { eval: true, workerData: w });
        worker.on('message', (s) => sums.push(s));
        worker.on('exit', (code) => { if (code !== 0) process.exit(10 + code); if (++exited === 4) console.log(JSON.stringify(sums.sort())); });
      }`;
    const r = spawnSync(process.execPath, ['-e', body], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(0);
    // even calls: mean |x - 0| = (i + w + 1) / 3 summed over even i < 2000
    const expected = [0, 1, 2, 3].map((w) => {
      let s = 0;
      for (let i = 0; i < 2000; i += 2) s += (i + w + 1) / 3;
      return s;
    });
    const sums: number[] = JSON.parse(r.stdout);
    sums.forEach((s, k) => expect(s).toBeCloseTo(expected[k], 0));
  });

  test.each([
    ['returns with work in flight', `for (let i = 0; i < 200; i++) t.F.mseLossAsync(x, x);`],
    ['process.exit() with work in flight', `for (let i = 0; i < 200; i++) t.F.mseLossAsync(x, x); setImmediate(() => process.exit(0));`],
  ])('the process exits cleanly when it %s', (_name, code) => {
    const r = spawnSync(process.execPath, ['-e', `const t = require(${JSON.stringify(DIST)}); const x = { data: new Float32Array(1 << 16).fill(1), shape: [1 << 16] }; ${code}`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
  });
});
