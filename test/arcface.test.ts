/**
 * nn.ArcFaceLoss against a plain-torch reference (test/parity/modules.py: insightface's
 * ArcMarginProduct / OML's ArcFaceLoss semantics): loss, input gradient, weight gradient (1e-5 abs +
 * 1e-4 rel), the theta + m > pi fallback, easyMargin, cos = 1 without NaN, getLogits, seeded
 * xavier_uniform_ initialisation, typed errors.
 */
import { manualSeed, nn } from '../lib';
import { moduleFixtures } from './module-fixtures';
import { expectError, f32, expectClose } from './helpers/assertions';




interface ArcFaceCase {
  name: string;
  options: { numClasses: number; inFeatures: number; m?: number; s?: number; easyMargin?: boolean; reduction?: 'mean' | 'sum' };
  weight: number[];
  input: number[];
  inputShape: number[];
  labels: number[];
  loss: number;
  gradInput: number[];
  gradWeight: number[];
  logits: number[];
}

const fixtures = moduleFixtures();
const data = fixtures.data.arcFace as { cases: ArcFaceCase[]; init: { seed: number; numClasses: number; inFeatures: number; weight: number[] } };

describe(`ArcFaceLoss matches the plain-torch reference (${fixtures.source})`, () => {
  test.each(data.cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const m = new nn.ArcFaceLoss(c.options);
    m.setParameters({ weight: f32(c.weight, [c.options.numClasses, c.options.inFeatures]) });
    const r = m.forward(f32(c.input, c.inputShape), c.labels);
    expectClose([r.loss], [c.loss]);
    expectClose(r.grad!.input, c.gradInput);
    expectClose(m.gradients().weight.data, c.gradWeight);
    expect(r.grad!.input.every(Number.isFinite)).toBe(true);
    const logits = m.getLogits(f32(c.input, c.inputShape));
    expect(logits.shape).toEqual([c.inputShape[0], c.options.numClasses]);
    expectClose(logits.data, c.logits);
    m.dispose();
  });
});

test('weights after manualSeed are nn.init.xavier_uniform_(torch.empty(numClasses, inFeatures))', () => {
  manualSeed(data.init.seed);
  const m = new nn.ArcFaceLoss({ numClasses: data.init.numClasses, inFeatures: data.init.inFeatures });
  expectClose(m.parameters().weight.data, data.init.weight, 1e-7, 0);
});

test('step() trains the weights with the module optimiser; gradients accumulate until zeroGrad()', () => {
  const m = new nn.ArcFaceLoss({ numClasses: 3, inFeatures: 2, s: 8, optimizer: { type: 'adam', lr: 0.05 } });
  const x = f32([1, 0, 0, 1, -1, 0], [3, 2]);
  const first = m.forward(x, [0, 1, 2]).loss;
  for (let i = 0; i < 30; i++) {
    m.zeroGrad();
    m.forward(x, [0, 1, 2]);
    m.step();
  }
  expect(m.forward(x, [0, 1, 2], { grad: false }).loss).toBeLessThan(first);
});

describe('typed errors', () => {
  const m = new nn.ArcFaceLoss({ numClasses: 3, inFeatures: 2 });
  const x = f32([1, 2, 3, 4], [2, 2]);
  test.each([
    ['label out of range', () => m.forward(x, [0, 3]), 'RangeError', /`labels\[1\]` is 3; expected class indices in \[0, 3\)/],
    ['inFeatures mismatch', () => m.forward(f32([1, 2, 3], [1, 3]), [0]), 'RangeError', /`input` must have shape \[batch, inFeatures = 2\], got \[1, 3\]/],
    ['getLogits shape', () => m.getLogits(f32([1, 2, 3], [3])), 'RangeError', /`input` must have shape \[batch, inFeatures = 2\], got \[3\]/],
    ['labels count', () => m.forward(x, [0]), 'RangeError', /`labels` must hold 2 class indices/],
    ['m > pi/2', () => new nn.ArcFaceLoss({ numClasses: 2, inFeatures: 2, m: 2 }), 'RangeError', /`m` must be in \[0, 1.57/],
    ['s = 0', () => new nn.ArcFaceLoss({ numClasses: 2, inFeatures: 2, s: 0 }), 'RangeError', /`s` must be > 0, got 0/],
    ['easyMargin not boolean', () => new nn.ArcFaceLoss({ numClasses: 2, inFeatures: 2, easyMargin: 1 as never }), 'TypeError', /`easyMargin` must be a boolean/],
    ["reduction 'none'", () => new nn.ArcFaceLoss({ numClasses: 2, inFeatures: 2, reduction: 'none' as 'sum' }), 'RangeError', /`reduction` must be 'mean', 'sum'; got 'none'/],
    ['inFeatures missing', () => new nn.ArcFaceLoss({ numClasses: 2 } as never), 'TypeError', /`inFeatures` must be an integer/],
    ['unknown option', () => new nn.ArcFaceLoss({ numClasses: 2, inFeatures: 2, margin: 0.5 } as never), 'RangeError', /ArcFaceLoss: unknown option 'margin'/],
    ['missing options', () => new nn.ArcFaceLoss(undefined as never), 'TypeError', /`options` with inFeatures and numClasses is required/],
    ['raw binding: m', () => new (require('../lib/native').loadBinding().ParamModule)({ kind: 'arcface', numClasses: 2, inFeatures: 2, m: 3 }), 'RangeError', /`m` must be in \[0, pi\/2\]/],
  ] as [string, () => unknown, string, RegExp][])('%s', (_n, fn, name, message) => expectError(fn, name, message));
});
