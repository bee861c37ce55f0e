/**
 * Parity with Python PyTorch: every fixture case (loss, per-element losses, every gradient)
 * within 1e-5 abs + 1e-5 rel; then the same against a live run of the generator when Python
 * torch is present on this machine.
 */
import { checkCase, findPython, generateLive, readFixtures, runParity } from '../lib/parity';

const fixtures = readFixtures();

describe.each(fixtures.map((f) => [f.loss, f] as const))('%s matches the committed PyTorch fixtures', (loss, file) => {
  test.each(file.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const result = checkCase(loss, c);
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ pass: true });
  });
});

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
