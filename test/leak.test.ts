/**
 * Staying up: 20,000 sync and 20,000 async loss calls with fresh inputs (a CI-sized run of
 * `npm run soak`): RSS growth after warm-up under 30 MB, and no Tensor left behind.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';

test('40,000 calls: RSS growth after warm-up < 30 MB, memory() back to its start', () => {
  const out = execFileSync(process.execPath, ['--expose-gc', path.join(__dirname, '..', 'scripts', 'soak.js'), '40000', '4000'], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  const report = JSON.parse(out.trim().split('\n').pop()!);
  console.log(`leak: ${report.calls} calls, RSS ${report.rssAfterWarmupMB} MB after warm-up -> ${report.rssEndMB} MB (growth ${report.growthAfterWarmupMB} MB)`);
  expect(report.growthAfterWarmupMB).toBeLessThan(30);
  expect(report.liveTensorsDelta).toBe(0);
});

test('an allocation that cannot succeed is a RangeError, and later calls still work', () => {
  // 2^18 embeddings need a 2^18 x 2^18 distance matrix: 256 GiB.
  const script = `
    const t = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
    const n = 2 ** 18;
    let error;
    try {
      t.F.batchHardTripletLoss({ data: new Float32Array(n), shape: [n, 1] }, new Int32Array(n));
      error = 'no error';
    } catch (e) { error = { name: e.name, message: e.message.slice(0, 200) }; }
    const x = { data: Float32Array.from([1, 2]), shape: [2] };
    console.log(JSON.stringify({ error, after: t.F.mseLoss(x, x).loss }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
  expect(out.error.name).toBe('RangeError');
  expect(out.error.message).toMatch(/out of memory/);
  expect(out.after).toBe(0);
});
