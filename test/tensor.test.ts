/**
 * Device-resident Tensors: creation, copies, disposal, memory accounting, losses on Tensors
 * returning Tensor gradients, and device checks. Device-dependent tests run on every device in
 * TORCH_LOSSES_TEST_DEVICES (default: cpu, plus cuda:0 when available).
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import { cuda, F, info, memory, tensor, isTensor, nn } from '../lib';
import type { Device, Tensor } from '../lib';

const DIST = path.join(__dirname, '..', 'dist', 'index.js');
const devices: Device[] = process.env.TORCH_LOSSES_TEST_DEVICES
  ? (process.env.TORCH_LOSSES_TEST_DEVICES.split(',') as Device[])
  : cuda.isAvailable()
    ? ['cpu', 'cuda:0']
    : ['cpu'];
if (!devices.some((d) => d.startsWith('cuda'))) {
  test.skip(`CUDA device tests: skipped, ${info().cudaCompiled ? 'no CUDA device visible' : `libtorch ${info().libtorchVersion} has no CUDA`}`, () => undefined);
}

const cpuCount = () => memory().cpu?.tensors ?? 0;

describe.each(devices)('on %s', (device) => {
  test('tensor() copies data, reports shape/device/dtype and reads back', () => {
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const t = tensor(data, [2, 3], { device });
    data[0] = 100; // a copy: the Tensor does not see this
    expect(isTensor(t)).toBe(true);
    expect(t.shape).toEqual([2, 3]);
    expect(t.device).toBe(device === 'cuda' ? 'cuda:0' : device);
    expect(t.dtype).toBe('float32');
    expect(Array.from(t.toFloat32Array())).toEqual([1, 2, 3, 4, 5, 6]);
    t.dispose();
  });

  test('toFloat32ArrayAsync and to(device) copy', async () => {
    const t = tensor(Float64Array.from([1.5, 2.5]), undefined, { device });
    expect(t.dtype).toBe('float64');
    expect(Array.from(await t.toFloat32ArrayAsync())).toEqual([1.5, 2.5]);
    const c = t.to('cpu');
    t.dispose();
    expect(Array.from(c.toFloat32Array())).toEqual([1.5, 2.5]);
    c.dispose();
  });

  test('losses on Tensors return gradients as Tensors on the same device, equal to the array path', async () => {
    const host = (seed: number) => ({ data: Float32Array.from({ length: 24 }, (_, i) => Math.sin(i * seed)), shape: [8, 3] });
    const [a, p, n] = [host(1), host(2), host(3)];
    const ta = tensor(a.data, a.shape, { device });
    const tp = tensor(p.data, p.shape, { device });
    const tn = tensor(n.data, n.shape, { device });
    const viaArrays = F.tripletMarginLoss(a, p, n, { swap: true });
    const viaTensors = F.tripletMarginLoss(ta, tp, tn, { swap: true });
    expect(viaTensors.loss).toBeCloseTo(viaArrays.loss, 5);
    for (const name of ['anchor', 'positive', 'negative'] as const) {
      const g = viaTensors.grad![name];
      expect(isTensor(g)).toBe(true);
      expect(g.device).toBe(ta.device);
      const values = Array.from(g.toFloat32Array());
      values.forEach((v, i) => expect(v).toBeCloseTo(viaArrays.grad![name][i], 5));
      g.dispose();
    }
    // mixed: a Tensor input and a host input; the host one gets a typed-array gradient
    const mixed = await F.mseLossAsync(ta, p);
    expect(isTensor(mixed.grad!.input)).toBe(true);
    expect(isTensor(mixed.grad!.target)).toBe(false);
    (mixed.grad!.input as Tensor).dispose();
    const m = new nn.MSELoss().forward(ta, tp);
    expect(isTensor(m.grad!.input)).toBe(true);
    [ta, tp, tn, m.grad!.input, m.grad!.target].forEach((t) => t.dispose());
  });
});

test('dispose() frees now; a disposed Tensor is a TypeError that names the argument', () => {
  const before = cpuCount();
  const t = tensor(new Float32Array(1000), [10, 100]);
  expect(cpuCount()).toBe(before + 1);
  expect(memory().cpu.bytes).toBeGreaterThanOrEqual(4000);
  t.dispose();
  t.dispose(); // idempotent
  expect(t.disposed).toBe(true);
  expect(cpuCount()).toBe(before);
  expect(() => t.toFloat32Array()).toThrow(/this Tensor was disposed/);
  expect(() => F.mseLoss(t, t)).toThrow(/`input` is a disposed Tensor/);
  expect(() => t.shape).toThrow(TypeError);
});

test('a Tensor input and an explicit other device is a DeviceError', () => {
  const t = tensor(new Float32Array(4), [4]);
  expect(() => F.mseLoss(t, t, { device: 'cuda:3' })).toThrow(/cuda:3/);
  try {
    F.mseLoss(t, t, { device: 'cuda:3' });
  } catch (e) {
    expect((e as Error).name).toBe('DeviceError');
  }
  t.dispose();
});

test('Tensors that are dropped are freed by the garbage collector', () => {
  const script = `
    const t = require(${JSON.stringify(DIST)});
    const start = t.memory().cpu.tensors;
    for (let i = 0; i < 200; i++) t.tensor(new Float32Array(1 << 16), [1 << 16]);
    const live = t.memory().cpu.tensors - start;
    setImmediate(() => { global.gc(); setImmediate(() => { global.gc(); setTimeout(() => {
      console.log(JSON.stringify({ live, after: t.memory().cpu.tensors - start }));
    }, 50); }); });`;
  const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' }));
  expect(out.live).toBe(200);
  expect(out.after).toBeLessThan(10);
});
