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
