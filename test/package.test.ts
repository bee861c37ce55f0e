/**
 * The shipped package: `npm pack`, installed into an empty project with --ignore-scripts (so no
 * compiler can run), must load its prebuild and compute a loss.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const PREBUILD_DIR = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);

function newestSource(): number {
  const walk = (dir: string): number =>
    Math.max(
      0,
      ...fs.readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? walk(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs,
      ),
    );
  return Math.max(walk(path.join(ROOT, 'native')), fs.statSync(path.join(ROOT, 'binding.gyp')).mtimeMs);
}

function ensurePrebuild(): string {
  const existing = fs.existsSync(PREBUILD_DIR) ? fs.readdirSync(PREBUILD_DIR).find((f) => f.endsWith('.node')) : undefined;
  if (!existing || fs.statSync(path.join(PREBUILD_DIR, existing)).mtimeMs < newestSource()) {
    execFileSync('bash', ['scripts/prebuild.sh'], { cwd: ROOT, stdio: 'inherit' });
  }
  return fs.readdirSync(PREBUILD_DIR).find((f) => f.endsWith('.node'))!;
}

describe('packed tarball', () => {
  let work: string;
  let tarball: string;

  beforeAll(() => {
    ensurePrebuild();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-losses-pack-'));
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    );
    tarball = path.join(work, packed[0].filename);
  }, 600_000);

  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('ships the prebuild, the compiled facade and the sources, not build outputs', () => {
    const files: string[] = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(files).toEqual(expect.arrayContaining([
      'package/dist/index.js',
      'package/binding.gyp',
      // npx torch-losses parity runs the generator live, which imports the other references
      'package/test/parity/generate.py',
      'package/test/parity/pair_losses.py',
      'package/test/parity/triplet_reference.py',
      'package/test/parity/modules.py',
      expect.stringMatching(/^package\/prebuilds\/linux-x64\/.*\.node$/),
      'package/prebuilds/linux-x64/libtorch.json',
    ]));
    expect(files.filter((f) => f.startsWith('package/build/') || f.startsWith('package/node_modules/'))).toEqual([]);
  });

  test('installs with --ignore-scripts into an empty project and computes a loss from the prebuild', () => {
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
      cwd: app,
      stdio: 'ignore',
    });
    const script = `
      const t = require('torch-losses');
      const a = { data: Float32Array.from([0, 0, 1, 1]), shape: [2, 2] };
      const p = { data: Float32Array.from([0, 1, 1, 2]), shape: [2, 2] };
      const n = { data: Float32Array.from([3, 0, 1, 4]), shape: [2, 2] };
      const r = t.F.tripletMarginLoss(a, p, n, { margin: 5, eps: 0 });
      console.log(JSON.stringify({ loss: r.loss, binary: t.info().binary }));
    `;
    const out = JSON.parse(execFileSync('node', ['-e', script], { cwd: app, encoding: 'utf8', env: { ...process.env, TORCH_LOSSES_BINARY: '' } }));
    // d(a,p) = 1 for both rows, d(a,n) = 3 for both rows: loss = 5 + 1 - 3 = 3
    expect(out.loss).toBeCloseTo(3, 5);
    expect(out.binary).toMatch(/node_modules\/torch-losses\/prebuilds\/linux-x64\/.*\.node$/);
  });
});
