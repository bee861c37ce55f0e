/**
 * nn.OIMLoss against the plain-torch reference of test/parity/modules.py (open-reid's OIMLoss with
 * person_search's queue): three training calls from a fixed table (loss, input gradient, then the
 * updated lookup table and queue), unlabelled samples, forwardAsync order, save/load of the
 * buffers (read by Python's torch.load), typed errors.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nn } from '../lib';
import { findPython } from '../lib/parity';
import { moduleFixtures } from './module-fixtures';
import { expectError, f32, expectClose } from './helpers/assertions';


interface OimCase {
  name: string;
  options: { numClasses: number; featDim: number; scalar?: number; momentum?: number; queueSize?: number; reduction?: 'mean' | 'sum' };
  init: Record<string, { data: number[]; shape: number[] }>;
  inputShape: number[];
  steps: { input: number[]; labels: number[]; loss: number; gradInput: number[] }[];
  lut: number[];
  queue: number[];
}

const fixtures = moduleFixtures();
const cases = fixtures.data.oim as OimCase[];
const fresh = (c: OimCase) => {
  const m = new nn.OIMLoss(c.options);
  m.setParameters(Object.fromEntries(Object.entries(c.init).map(([k, v]) => [k, f32(v.data, v.shape)])));
  return m;
};

describe(`OIMLoss matches the plain-torch reference (${fixtures.source})`, () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const m = fresh(c);
    for (const [i, s] of c.steps.entries()) {
      const r = m.forward(f32(s.input, c.inputShape), s.labels);
      expectClose([r.loss], [s.loss], 1e-5, 1e-4, `step ${i} loss`);
      expectClose(r.grad!.input, s.gradInput, 1e-5, 1e-4, `step ${i} input`);
    }
    const buffers = m.buffers();
    expectClose(buffers.lut.data, c.lut, 1e-5, 1e-4, 'lut');
    if (c.options.queueSize) expectClose(buffers.queue.data, c.queue, 1e-5, 1e-4, 'queue');
    else expect(buffers.queue).toBeUndefined();
    expect(m.parameters()).toEqual({});
  });

  test('forwardAsync applies the table updates in call order', async () => {
    const c = cases[0];
    const m = fresh(c);
    const results = await Promise.all(c.steps.map((s) => m.forwardAsync(f32(s.input, c.inputShape), s.labels)));
    results.forEach((r, i) => expectClose([r.loss], [c.steps[i].loss], 1e-5, 1e-4, `step ${i}`));
    expectClose(m.buffers().lut.data, c.lut, 1e-5, 1e-4, 'lut');
  });

  test('grad: false neither returns a gradient nor updates the table; step() leaves it alone', () => {
    const c = cases[0];
    const m = fresh(c);
    const s = c.steps[0];
    const r = m.forward(f32(s.input, c.inputShape), s.labels, { grad: false });
    expect(r.grad).toBeUndefined();
    expectClose([r.loss], [s.loss]);
    m.step();
    expect(Array.from(m.buffers().lut.data)).toEqual(Array.from(Float32Array.from(c.init.lut.data)));
  });
});

test('a batch of unlabelled samples only: loss 0, zero gradients, the queue takes them', () => {
  const m = new nn.OIMLoss({ numClasses: 3, featDim: 2, queueSize: 2, scalar: 10 });
  m.setParameters({ lut: f32([1, 0, 0, 1, 0.6, 0.8], [3, 2]) });
  const r = m.forward(f32([0, 1, 1, 0, 0.6, -0.8], [3, 2]), [-1, -1, -1]);
  expect(r.loss).toBe(0);
  expect(Array.from(r.grad!.input)).toEqual([0, 0, 0, 0, 0, 0]);
  // three writes into a queue of two: the third overwrites the first
  expectClose(m.buffers().queue.data, [0.6, -0.8, 1, 0], 1e-7, 0);
});

const python = findPython('/usr/bin/python3');
(python ? test : test.skip)('save() is a dict Python reads (lut, queue); load() restores them', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-losses-oim-'));
  try {
    const c = cases[0];
    const m = fresh(c);
    m.forward(f32(c.steps[0].input, c.inputShape), c.steps[0].labels);
    const file = path.join(dir, 'oim.pt');
    m.save(file);
    const out = execFileSync(python!.python, ['-c', 'import sys, torch; d = torch.load(sys.argv[1]); print(sorted(d), list(d["lut"].shape), list(d["queue"].shape), float(d["lut"].sum()))', file], { encoding: 'utf8' });
    const lut = m.buffers().lut.data;
    expect(out).toMatch(/^\['lut', 'queue'\] \[5, 4\] \[3, 4\] /);
    expectClose([Number(out.trim().split(' ').pop())], [lut.reduce((a, b) => a + b, 0)], 1e-5, 1e-5);
    const other = new nn.OIMLoss(c.options);
    other.load(file);
    expect(other.buffers()).toEqual(m.buffers());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('typed errors', () => {
  const m = new nn.OIMLoss({ numClasses: 3, featDim: 2 });
  test.each([
    ['label below -1', () => m.forward(f32([1, 2], [1, 2]), [-2]), 'RangeError', /`labels\[0\]` is -2; expected class indices in \[-1, 3\) \(-1: unlabelled\)/],
    ['label too large', () => m.forward(f32([1, 2], [1, 2]), [3]), 'RangeError', /`labels\[0\]` is 3/],
    ['featDim', () => m.forward(f32([1, 2, 3], [1, 3]), [0]), 'RangeError', /`input` must have shape \[batch, featDim = 2\], got \[1, 3\]/],
    ['momentum', () => new nn.OIMLoss({ numClasses: 3, featDim: 2, momentum: 2 }), 'RangeError', /`momentum` must be in \[0, 1\], got 2/],
    ['queueSize', () => new nn.OIMLoss({ numClasses: 3, featDim: 2, queueSize: -1 }), 'RangeError', /`queueSize` must be an integer >= 0, got -1/],
    ['scalar', () => new nn.OIMLoss({ numClasses: 3, featDim: 2, scalar: 0 }), 'RangeError', /`scalar` must be > 0/],
    ['setGradients on a buffer', () => m.setGradients({ lut: f32([1, 2, 3, 4, 5, 6], [3, 2]) }), 'RangeError', /setGradients: unknown parameter 'lut'/],
    ['setParameters shape', () => m.setParameters({ lut: f32([1, 2], [1, 2]) }), 'RangeError', /`lut` must have shape \[3, 2\], got \[1, 2\]/],
  ] as [string, () => unknown, string, RegExp][])('%s', (_n, fn, name, message) => expectError(fn, name, message));
});
