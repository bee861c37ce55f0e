/**
 * Stateful modules (lib/modules/): parameters, gradients, setParameters' checks, dispose, memory,
 * and the optimisers, 10 steps of which must match torch.optim (fixtures written by
 * test/parity/modules.py; regenerated live when Python torch is present).
 */
import { nn, TorchError } from '../lib';
import type { OptimizerOptions } from '../lib';
import { moduleFixtures, type OptimizerCase } from './module-fixtures';
import { expectError, f32, expectClose as expectCloseWithin } from './helpers/assertions';


// This file's default tolerance.
const expectClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, abs = 1e-5, rel = 0) =>
  expectCloseWithin(actual, expected, abs, rel);


const fixtures = moduleFixtures();

describe(`optimisers match torch.optim over 10 steps (${fixtures.source})`, () => {
  test.each((fixtures.data.optimizers as OptimizerCase[]).map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const module = new nn.ParameterDict(
      Object.fromEntries(Object.entries(c.init).map(([k, v]) => [k, f32(v.data, v.shape)])),
      { optimizer: c.optimizer },
    );
    c.grads.forEach((g, step) => {
      if (step === 5) module.setLearningRate(module.learningRate * 0.5);
      module.zeroGrad();
      module.setGradients(Object.fromEntries(Object.entries(g).map(([k, v]) => [k, f32(v, c.init[k].shape)])));
      module.step();
    });
    const params = module.parameters();
    for (const [k, expected] of Object.entries(c.final)) expectClose(params[k].data, expected, 1e-5);
    module.dispose();
  });
});

describe('parameters, gradients and their checks', () => {
  const make = (options?: object) =>
    new nn.ParameterDict({ w: f32([1, 2, 3, 4], [2, 2]), b: f32([0.5], [1]) }, { optimizer: { type: 'sgd', lr: 0.1 }, ...options });

  test('parameters() are copies in { data, shape } form; gradients start at zero', () => {
    const m = make();
    const p = m.parameters();
    expect(p.w.shape).toEqual([2, 2]);
    expect(Array.from(p.w.data)).toEqual([1, 2, 3, 4]);
    p.w.data[0] = 100;
    expect(m.parameters().w.data[0]).toBe(1);
    expect(Array.from(m.gradients().b.data)).toEqual([0]);
    expect(m.device).toBe('cpu');
  });

  test('step() is p -= lr * grad for plain SGD; zeroGrad() clears; learning rate can change', () => {
    const m = make();
    m.setGradients({ w: f32([1, 1, 1, 1], [2, 2]), b: f32([2], [1]) });
    m.step();
    expectClose(m.parameters().w.data, [0.9, 1.9, 2.9, 3.9], 1e-6);
    m.learningRate = 1;
    expect(m.learningRate).toBe(1);
    m.step();
    expectClose(m.parameters().b.data, [0.5 - 0.2 - 2], 1e-6);
    m.zeroGrad();
    expect(Array.from(m.gradients().w.data)).toEqual([0, 0, 0, 0]);
  });

  test('setParameters with a wrong shape is a RangeError and changes nothing', () => {
    const m = make();
    expectError(
      () => m.setParameters({ b: f32([9], [1]), w: f32([1, 2, 3], [3]) }),
      'RangeError', /setParameters: `w` must have shape \[2, 2\], got \[3\]/,
    );
    expect(Array.from(m.parameters().b.data)).toEqual([0.5]);
    expectError(() => m.setParameters({ v: f32([1], [1]) }), 'RangeError', /unknown parameter 'v'; parameters: 'w', 'b'/);
    expectError(() => m.setParameters({ w: [1, 2] as never }), 'TypeError', /`w` must be \{ data: Float32Array, shape: number\[\] \}/);
    m.setParameters({ b: f32([7], [1]) });
    expect(Array.from(m.parameters().b.data)).toEqual([7]);
  });

  test('the raw binding re-checks what the facade checks', () => {
    const m = make() as unknown as { native: Record<string, (...a: unknown[]) => unknown> };
    expectError(() => m.native.setParameters(null), 'TypeError', /expected an object/);
    expectError(() => m.native.setLearningRate(-1), 'RangeError', /`lr` must be a finite number >= 0, got -1/);
    expectError(() => m.native.to(3), 'TypeError', /`device` must be a string/);
  });

  test('dispose() frees the memory and later use is a TypeError', () => {
    const m = make({ optimizer: { type: 'adam' } });
    expect(m.externalMemory).toBe(2 * 5 * 4);
    m.step();
    expect(m.externalMemory).toBe(4 * 5 * 4); // + Adam's two moments
    m.dispose();
    expect(m.disposed).toBe(true);
    expect(m.externalMemory).toBe(0);
    expectError(() => m.step(), 'TypeError', /step: this module was disposed/);
    expectError(() => m.parameters(), 'TypeError', /parameters: this module was disposed/);
    m.dispose(); // twice is fine
  });

  test("to('cpu') is a no-op; a CUDA device without CUDA is a DeviceError", () => {
    const m = make();
    expect(m.to('cpu')).toBe(m);
    const { cuda } = require('../lib');
    if (!cuda.isAvailable()) {
      expectError(() => m.to('cuda:0'), 'DeviceError', /CUDA/i);
      expect(m.device).toBe('cpu');
    }
    expectError(() => m.to('gpu' as 'cpu'), 'RangeError', /`device` must be 'cpu', 'cuda', 'cuda:N' or 'auto', got 'gpu'/);
  });
});

describe('optimiser options are checked', () => {
  const p = { w: f32([1], [1]) };
  test.each([
    ['unknown type', { type: 'rmsprop' }, 'RangeError', /`optimizer.type` must be 'sgd', 'adam', 'adamw'; got 'rmsprop'/],
    ['SGD without lr', { type: 'sgd' }, 'TypeError', /`optimizer.lr` is required for SGD/],
    ['negative lr', { type: 'adam', lr: -1 }, 'RangeError', /`optimizer.lr` must be >= 0, got -1/],
    ['nesterov without momentum', { type: 'sgd', lr: 1, nesterov: true }, 'RangeError', /`optimizer.nesterov` needs momentum > 0 and dampening 0/],
    ['beta of 1', { type: 'adam', betas: [0.9, 1] }, 'RangeError', /`optimizer.betas` must be in \[0, 1\)/],
    ['betas not a pair', { type: 'adamw', betas: 0.9 }, 'TypeError', /`optimizer.betas` must be \[beta1, beta2\]/],
    ['Adam option on SGD', { type: 'sgd', lr: 1, amsgrad: true }, 'RangeError', /`optimizer.amsgrad` is not an option of SGD/],
    ['SGD option on Adam', { type: 'adam', momentum: 0.9 }, 'RangeError', /`optimizer.momentum` is not an option of Adam\/AdamW/],
    ['unknown key', { type: 'adam', lr: 1, beta1: 0.9 }, 'RangeError', /optimizer: unknown option 'beta1'/],
    ['weightDecay not a number', { type: 'adam', weightDecay: '0' }, 'TypeError', /`optimizer.weightDecay` must be a number/],
  ] as [string, object, string, RegExp][])('%s', (_name, optimizer, name, message) =>
    expectError(() => new nn.ParameterDict(p, { optimizer: optimizer as OptimizerOptions }), name, message));

  test('the native layer re-checks the optimiser spec', () => {
    const { loadBinding } = require('../lib/native');
    const Native = loadBinding().ParamModule;
    expectError(() => new Native({ optimizer: 'sgd', lr: 1, nesterov: true }), 'RangeError', /nesterov/);
    expectError(() => new Native({ optimizer: 'lbfgs' }), 'RangeError', /`optimizer.type` must be 'sgd', 'adam' or 'adamw'/);
    expectError(() => new Native({ kind: 'center', numClasses: 0, featDim: 2 }), 'RangeError', /`numClasses` must be a positive integer, got 0/);
  });

  test('unknown module options and bad devices', () => {
    expectError(() => new nn.ParameterDict(p, { optimiser: {} } as never), 'RangeError', /ParameterDict: unknown option 'optimiser'/);
    expectError(() => new nn.ParameterDict({ w: Float32Array.from([1]) } as never), 'TypeError', /`w` must be \{ data/);
    expectError(() => new nn.ParameterDict(p, { device: 'tpu' as 'cpu' }), 'RangeError', /`device` must be/);
  });

  test('TorchError is exported for checkpoint errors', () => {
    expect(new TorchError('x')).toBeInstanceOf(Error);
  });
});
