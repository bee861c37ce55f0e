/**
 * nn.EmbeddingHead: forward, one backward pass for the embeddings' and logits' gradients, train /
 * eval modes and checkpoints, against a plain-torch reference of the same model
 * (test/parity/embedding_head.py, which loads the addon's checkpoint with torch.load) and against
 * closed forms.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { manualSeed, nn, tensor } from '../lib';
import { findPython } from '../lib/parity';
import { Random } from '../lib/random';
import { expectError, f32 } from './helpers/assertions';

const python = findPython('/usr/bin/python3');
const liveTest = python ? test : test.skip;
const pythonNote = python ? `Python torch ${python.torch}` : 'skipped: /usr/bin/python3 cannot import torch';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-losses-head-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const randn = (rand: Random, rows: number, cols: number) =>
  f32(Array.from({ length: rows * cols }, () => rand.normal()), [rows, cols]);
const rowsOf = (t: { data: Float32Array; shape: number[] }) =>
  Array.from({ length: t.shape[0] }, (_, i) => Array.from(t.data.subarray(i * t.shape[1], (i + 1) * t.shape[1])));

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5) {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  }
  expect(worst).toBeLessThan(tol);
}

describe('EmbeddingHead closed forms', () => {
  test('one Linear: embeddings = x W^T + b, grad W = gE^T x, grad b = column sums of gE', () => {
    const head = new nn.EmbeddingHead({ inFeatures: 3, outFeatures: 2, optimizer: { type: 'sgd', lr: 0.1 } });
    head.setParameters({ 'body.0.weight': f32([1, 2, 3, -1, 0, 1], [2, 3]), 'body.0.bias': f32([0.5, -0.5], [2]) });
    const x = f32([1, 0, 2, -1, 1, 1], [2, 3]);
    const out = head.forward(x);
    expect(Array.from(out.embeddings.data)).toEqual([7.5, 0.5, 4.5, 1.5]);
    expect(out.embeddings.shape).toEqual([2, 2]);
    expect(out.logits).toBeUndefined();
    head.backward({ embeddings: f32([1, 0, 2, 1], [2, 2]) });
    const g = head.gradients();
    // gE^T x = [[1, 2], [0, 1]] @ [[1, 0, 2], [-1, 1, 1]]
    expect(Array.from(g['body.0.weight'].data)).toEqual([-1, 2, 4, -1, 1, 1]);
    expect(Array.from(g['body.0.bias'].data)).toEqual([3, 1]);
    // SGD: w -= 0.1 * grad
    head.step();
    expectClose(head.parameters()['body.0.bias'].data, [0.2, -0.6]);
    head.zeroGrad();
    expect(Array.from(head.gradients()['body.0.bias'].data)).toEqual([0, 0]);
  });

  test('gradients accumulate over forward/backward pairs until zeroGrad()', () => {
    const head = new nn.EmbeddingHead({ inFeatures: 2, outFeatures: 2 });
    const x = f32([1, 2, 3, 4], [2, 2]);
    const gE = f32([1, 1, 1, 1], [2, 2]);
    head.forward(x);
    head.backward({ embeddings: gE });
    head.forward(x);
    head.backward({ embeddings: gE });
    expect(Array.from(head.gradients()['body.0.bias'].data)).toEqual([4, 4]);
  });

  test('normalize: unit rows; grad: false keeps no graph', () => {
    const head = new nn.EmbeddingHead({ inFeatures: 4, hiddenFeatures: [8], outFeatures: 3, normalize: true });
    const out = head.forward(randn(new Random(1), 5, 4), { grad: false });
    for (const row of rowsOf(out.embeddings)) expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    expectError(() => head.backward({ embeddings: f32(new Array(15).fill(1), [5, 3]) }), 'RangeError', /no graph/);
  });
});

describe('EmbeddingHead with device-resident Tensors', () => {
  test('Tensor input gives Tensor outputs; Tensor gradients go back', () => {
    const head = new nn.EmbeddingHead({ inFeatures: 2, outFeatures: 2, numClasses: 2, optimizer: { type: 'sgd', lr: 1 } });
    head.setParameters({ 'body.0.weight': f32([1, 0, 0, 1], [2, 2]), 'body.0.bias': f32([0, 0], [2]), 'classifier.weight': f32([1, 1, 0, 2], [2, 2]) });
    const x = tensor(Float32Array.from([1, 2, 3, 4]), [2, 2]);
    const out = head.forward(x);
    expect(Array.from(out.embeddings.toFloat32Array())).toEqual([1, 2, 3, 4]);
    expect(Array.from(out.logits!.toFloat32Array())).toEqual([3, 4, 7, 8]);
    const g = tensor(Float32Array.from([1, 0, 0, 1]), [2, 2]);
    head.backward({ logits: g });
    // logits = E C^T: d/dC = g^T E = [[1, 2], [3, 4]]; d/dE = g C = [[1, 1], [0, 2]] -> d/db = [1, 3]
    expect(Array.from(head.gradients()['classifier.weight'].data)).toEqual([1, 2, 3, 4]);
    expect(Array.from(head.gradients()['body.0.bias'].data)).toEqual([1, 3]);
    [x, g, out.embeddings, out.logits!].forEach((t) => t.dispose());
    head.dispose();
  });
});

describe(`EmbeddingHead vs a plain-torch model (${pythonNote})`, () => {
  const configs = [
    { inFeatures: 6, hiddenFeatures: [5, 4], outFeatures: 3, batchNorm: true, bnNeck: true, normalize: false, numClasses: 4 },
    { inFeatures: 6, hiddenFeatures: [7], outFeatures: 3, batchNorm: false, bnNeck: false, normalize: true, numClasses: 2 },
    { inFeatures: 5, hiddenFeatures: [], outFeatures: 4, batchNorm: true, bnNeck: true, normalize: true },
  ];
  for (const [i, config] of configs.entries()) {
    liveTest(`config ${i}: embeddings, logits, every parameter's gradient, eval mode, state_dict keys`, () => {
      manualSeed(i);
      const rand = new Random(10 + i);
      const head = new nn.EmbeddingHead(config);
      // Perturb the BatchNorm affine parameters so that they matter.
      const params = head.parameters();
      const changed: Record<string, { data: Float32Array; shape: number[] }> = {};
      for (const [name, p] of Object.entries(params)) {
        if (name.startsWith('neck') || /body\.\d+\.weight/.test(name)) {
          changed[name] = { data: Float32Array.from(p.data, (v) => v + 0.3 * rand.normal()), shape: p.shape };
        }
      }
      head.setParameters(changed);
      const file = path.join(dir, `head${i}.pt`);
      head.save(file);

      const x = randn(rand, 8, config.inFeatures);
      const gE = randn(rand, 8, config.outFeatures);
      const gL = config.numClasses ? randn(rand, 8, config.numClasses) : undefined;
      const evalX = randn(rand, 3, config.inFeatures);
      const out = head.forward(x);
      head.backward({ embeddings: gE, ...(gL ? { logits: gL } : {}) });
      head.eval();
      expect(head.training).toBe(false);
      const evalOut = head.forward(evalX, { grad: false });

      const ref = JSON.parse(
        execFileSync(python!.python, [path.join(__dirname, 'parity', 'embedding_head.py')], {
          encoding: 'utf8',
          input: JSON.stringify({
            checkpoint: file, config, x: rowsOf(x), gradEmbeddings: rowsOf(gE), gradLogits: gL ? rowsOf(gL) : null,
            evalX: rowsOf(evalX),
          }),
        }),
      );
      expectClose(out.embeddings.data, ref.embeddings);
      if (config.numClasses) expectClose(out.logits!.data, ref.logits);
      else expect(out.logits).toBeUndefined();
      const grads = head.gradients();
      expect(Object.keys(grads).sort()).toEqual(Object.keys(params).sort());
      // A parameter off the graph (the neck without a classifier, in training) has no grad in
      // Python and a zero gradient here.
      for (const [name, g] of Object.entries(grads)) expectClose(g.data, ref.grads[name] ?? new Array(g.data.length).fill(0), 1e-4);
      // Eval mode uses the running statistics that the training forward updated (here and there).
      expectClose(evalOut.embeddings.data, ref.evalEmbeddings);
      // The state_dict: parameters plus BatchNorm buffers (and the frozen neck bias).
      const expectedKeys = [...Object.keys(params)];
      if (config.bnNeck) expectedKeys.push('neck.bias', 'neck.running_mean', 'neck.running_var', 'neck.num_batches_tracked');
      if (config.batchNorm) {
        config.hiddenFeatures.forEach((_, j) => {
          expectedKeys.push(...['running_mean', 'running_var', 'num_batches_tracked'].map((b) => `body.${3 * j + 1}.${b}`));
        });
      }
      expect(ref.keys).toEqual(expectedKeys.sort());
    });
  }

  liveTest('load() reads a state_dict saved by Python (running statistics included)', () => {
    const config = { inFeatures: 3, hiddenFeatures: [4], outFeatures: 2, batchNorm: true, bnNeck: false, normalize: false };
    const file = path.join(dir, 'from-python.pt');
    execFileSync(python!.python, ['-c', [
      'import sys, json, torch',
      'sys.path.insert(0, sys.argv[2])',
      'from embedding_head import EmbeddingHead',
      'torch.manual_seed(3)',
      `m = EmbeddingHead(json.loads(sys.argv[3]))`,
      'm.body[1].running_mean.fill_(0.25); m.body[1].running_var.fill_(4.0)',
      'torch.save(m.state_dict(), sys.argv[1])',
    ].join('\n'), file, path.join(__dirname, 'parity'), JSON.stringify(config)]);
    const head = new nn.EmbeddingHead(config);
    head.load(file);
    head.eval();
    const x = f32([1, 2, 3], [1, 3]);
    const ours = head.forward(x, { grad: false }).embeddings.data;
    // Same model evaluated in Python from the same file.
    const theirs = JSON.parse(execFileSync(python!.python, ['-c', [
      'import sys, json, torch',
      'sys.path.insert(0, sys.argv[2])',
      'from embedding_head import EmbeddingHead',
      `m = EmbeddingHead(json.loads(sys.argv[3])); m.load_state_dict(torch.load(sys.argv[1])); m.eval()`,
      'print(json.dumps(m(torch.tensor([[1.0, 2.0, 3.0]]))[0].reshape(-1).tolist()))',
    ].join('\n'), file, path.join(__dirname, 'parity'), JSON.stringify(config)], { encoding: 'utf8' }));
    expectClose(ours, theirs);
  });
});

describe('EmbeddingHead errors', () => {
  const head = () => new nn.EmbeddingHead({ inFeatures: 3, hiddenFeatures: [4], outFeatures: 2, numClasses: 3 });

  test('options', () => {
    expectError(() => new nn.EmbeddingHead({ inFeatures: 0, outFeatures: 2 }), 'RangeError', /`inFeatures` must be a positive integer, got 0/);
    expectError(() => new nn.EmbeddingHead({ inFeatures: 3, outFeatures: 2, hiddenFeatures: [4, -1] }), 'RangeError', /`hiddenFeatures\[1\]`/);
    expectError(() => new nn.EmbeddingHead({ inFeatures: 3, outFeatures: 2, bnNek: true } as never), 'RangeError', /unknown option 'bnNek'/);
    expectError(() => new nn.EmbeddingHead({ inFeatures: 3, outFeatures: 2, device: 'cuda:7' }), 'DeviceError', /cuda/i);
  });

  test('inputs and gradients', () => {
    const h = head();
    expectError(() => h.forward(f32([1, 2, 3, 4], [2, 2])), 'RangeError', /`input` must have shape \[batch, inFeatures = 3\], got \[2, 2\]/);
    expectError(() => h.forward(f32([1, 2, 3], [1, 3])), 'RangeError', /at least 2 rows \(BatchNorm in training mode\)/);
    expectError(() => h.backward({ embeddings: f32([1, 2], [1, 2]) }), 'RangeError', /no graph/);
    h.forward(f32([1, 2, 3, 4, 5, 6], [2, 3]));
    expectError(() => h.backward({ logits: f32([1, 2], [1, 2]) }), 'RangeError', /`grad.logits` must have shape \[2, 3\] \(or be flat with 6 elements\), got \[1, 2\]/);
    expectError(() => h.backward({}), 'RangeError', /give `embeddings` and\/or `logits`/);
    expectError(() => h.backward({ embedding: f32([1], [1, 1]) } as never), 'RangeError', /unknown option 'embedding'/);
    h.eval();
    expect(h.forward(f32([1, 2, 3], [1, 3])).embeddings.shape).toEqual([1, 2]);
    h.dispose();
    expectError(() => h.forward(f32([1, 2, 3], [1, 3])), 'TypeError', /disposed/);
  });

  test('logits gradient without a classifier', () => {
    const h = new nn.EmbeddingHead({ inFeatures: 2, outFeatures: 2 });
    h.forward(f32([1, 2, 3, 4], [2, 2]));
    expectError(() => h.backward({ logits: f32([1, 2, 3, 4], [2, 2]) }), 'RangeError', /no classifier/);
  });
});
