/**
 * Parity with Python PyTorch: every fixture case (loss, per-element losses, every gradient)
 * within 1e-5 abs + 1e-5 rel; then the same against a live run of the generator when Python
 * torch is present on this machine.
 */
import { cuda, info } from '../lib';
import { checkCase, findPython, generateLive, readFixtures, runParity } from '../lib/parity';
import type { Device } from '../lib';

const fixtures = readFixtures();
// Device-dependent: every case also runs on each CUDA device of TORCH_LOSSES_TEST_DEVICES
// (default: cuda:0 when available).
const cudaDevices = (
  process.env.TORCH_LOSSES_TEST_DEVICES ? process.env.TORCH_LOSSES_TEST_DEVICES.split(',') : cuda.isAvailable() ? ['cuda:0'] : []
).filter((d) => d.startsWith('cuda')) as Device[];

describe.each(fixtures.map((f) => [f.loss, f] as const))('%s matches the committed PyTorch fixtures', (loss, file) => {
  test.each(file.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const result = checkCase(loss, c);
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ pass: true });
  });
});

if (cudaDevices.length === 0) {
  test.skip(`parity on CUDA: skipped, ${info().cudaCompiled ? 'no CUDA device visible' : `libtorch ${info().libtorchVersion} has no CUDA`}`, () => undefined);
} else {
  describe.each(cudaDevices)('parity on %s', (device) => {
    test.each(fixtures.map((f) => [f.loss, f] as const))('%s', (_loss, file) => {
      const rows = runParity([file], device);
      expect(rows[0].failures).toEqual([]);
    });
  });
}

test('fixtures cover both losses of the foundation', () => {
  expect(fixtures.map((f) => f.loss)).toEqual(expect.arrayContaining(['marginRankingLoss', 'tripletMarginLoss']));
});

const python = findPython();
const live = python ? test : test.skip;

live(`live re-check against Python torch (${python?.python ?? 'not found'} ${python?.torch ?? ''})`, () => {
  const rows = runParity(generateLive(python!.python));
  expect(rows.length).toBe(fixtures.length);
  for (const row of rows) expect({ loss: row.loss, failures: row.failures }).toEqual({ loss: row.loss, failures: [] });
});
