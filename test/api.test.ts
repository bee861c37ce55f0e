/**
 * The runtime API, marshaling and the error model (design.md, "Errors").
 * Note: jest runs tests in a separate V8 context, so errors and typed arrays created by the addon
 * are checked by `name` / tag rather than `instanceof` against this context's globals.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cuda, DeviceError, F, getNumThreads, info, manualSeed, nn, resolveDevice, setNumThreads } from '../lib';
import { explainLoadFailure, loadBinding } from '../lib/native';
import { expectError } from './helpers/assertions';

const tag = (x: unknown) => Object.prototype.toString.call(x);
const t2 = (data: number[], shape: number[]) => ({ data: Float32Array.from(data), shape });


describe('runtime', () => {
  test('info() reports versions, CUDA, threads, BLAS and the binary in use', () => {
    const i = info();
    expect(i.version).toBe(JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).version);
    expect(i.libtorchVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof i.cudaCompiled).toBe('boolean');
    expect(i.cudaDeviceCount).toBe(cuda.deviceCount());
    expect(i.cudaAvailable).toBe(cuda.isAvailable());
    expect(i.numThreads).toBeGreaterThanOrEqual(1);
    expect(i.blas.length).toBeGreaterThan(0);
    expect(fs.existsSync(i.binary)).toBe(true);
  });

  test('setNumThreads / getNumThreads round-trip and reject bad values', () => {
    const before = getNumThreads();
    setNumThreads(2);
    expect(getNumThreads()).toBe(2);
    setNumThreads(before);
    expectError(() => setNumThreads(0), 'RangeError', /between 1 and 1024, got 0/);
    expectError(() => setNumThreads(1.5), 'TypeError', /integer/);
    expectError(() => setNumThreads('2' as unknown as number), 'TypeError', /integer/);
  });

  test('manualSeed takes numbers and bigints, rejects negatives and non-numbers', () => {
    expect(() => manualSeed(0)).not.toThrow();
    expect(() => manualSeed(2n ** 63n)).not.toThrow();
    expectError(() => manualSeed(-1), 'RangeError', /non-negative/);
    expectError(() => manualSeed(2n ** 64n), 'RangeError', /64 bits/);
    expectError(() => manualSeed('1' as unknown as number), 'TypeError', /number or a bigint/);
  });

  test('devices: auto resolves, CUDA without CUDA is a DeviceError, nonsense is a RangeError', () => {
    expect(resolveDevice('cpu')).toBe('cpu');
    expect(resolveDevice('auto')).toBe(cuda.isAvailable() ? 'cuda:0' : 'cpu');
    if (!info().cudaCompiled) {
      expectError(() => resolveDevice('cuda'), 'DeviceError', /has no CUDA support/);
      expectError(() => resolveDevice('cuda:1'), 'DeviceError', /cuda:1/);
    } else {
      expectError(() => resolveDevice(`cuda:${cuda.deviceCount()}` as 'cuda'), 'DeviceError', /does not exist/);
    }
    expectError(() => resolveDevice('gpu' as 'cpu'), 'RangeError', /'cpu', 'cuda', 'cuda:N' or 'auto', got 'gpu'/);
    // the facade's class is what the addon throws
    try {
      F.tripletMarginLoss(t2([1], [1]), t2([1], [1]), t2([1], [1]), { device: info().cudaCompiled ? 'cuda:99' : 'cuda' });
    } catch (e) {
      expect((e as Error).constructor).toBe(DeviceError);
    }
  });
});

describe('marshaling', () => {
  test('a Float32Array view with a byteOffset reads the right elements, zero-copy', () => {
    const backing = new Float32Array([99, 99, 1, 2, 3, 4, 99]);
    const view = new Float32Array(backing.buffer, 8, 4);
    const viaView = F.marginRankingLoss(view, t2([0, 0, 0, 0], [4]), t2([1, -1, 1, -1], [4]), { reduction: 'none' });
    expect(Array.from(viaView.losses!)).toEqual([0, 2, 0, 4]);
  });

  test('plain Float32Array means 1-D; gradients keep the input layout', () => {
    const a = t2([0, 1, 2, 3, 4, 5], [2, 3]);
    const r = F.tripletMarginLoss(a, t2([0, 1, 2, 3, 4, 6], [2, 3]), t2([5, 1, 2, 3, 4, 5], [2, 3]), { eps: 0, margin: 10 });
    expect(r.grad!.anchor.length).toBe(6);
    expect(tag(r.grad!.anchor)).toBe('[object Float32Array]');
    // row 0: d(a,p)=0 -> zero subgradient; d(a,n)=5 along x -> grad a = -(a-n)/5 /2 = +0.5 on x
    expect(Array.from(r.grad!.anchor).map((x) => +x.toFixed(6))).toEqual([0.5, 0, 0, 0, 0, -0.5]);
  });

  test('Float64Array inputs compute in double and return Float64Array', () => {
    const f64 = (d: number[]) => ({ data: Float64Array.from(d), shape: [d.length] });
    const r = F.marginRankingLoss(f64([0.1]), f64([0.3]), f64([1]), { margin: 1e-9 });
    expect(tag(r.grad!.input1)).toBe('[object Float64Array]');
    expect(r.loss).toBeCloseTo(0.2 + 1e-9, 15);
  });

  test('mixed precision is a TypeError naming both arguments', () => {
    expectError(
      () => F.marginRankingLoss(new Float32Array(2), new Float64Array(2), new Float32Array(2)),
      'TypeError', /`input2` is Float64Array but `input1` is Float32Array/);
  });

  test('labels: Int32Array, BigInt64Array and number[] all become int64', () => {
    const binding = loadBinding();
    for (const labels of [Int32Array.from([3, -1, 7]), BigInt64Array.from([3n, -1n, 7n]), [3, -1, 7]]) {
      expect(Array.from(binding.labelsToBigInt64(labels) as BigInt64Array)).toEqual([3n, -1n, 7n]);
    }
    expectError(() => binding.labelsToBigInt64([1, 2.5]), 'TypeError', /`labels\[1\]` must be an integer label/);
    expectError(() => binding.labelsToBigInt64(new Float32Array(2)), 'TypeError', /Int32Array, BigInt64Array or number\[\], got Float32Array/);
  });

  test("reduction 'none' returns per-element losses; grad: false skips gradients", () => {
    const x = t2([1, 2, 3], [3]);
    const r = F.marginRankingLoss(x, t2([3, 2, 1], [3]), t2([1, 1, 1], [3]), { reduction: 'none', grad: false });
    expect(Array.from(r.losses!)).toEqual([2, 0, 0]);
    expect(r.loss).toBe(2);
    expect(r.grad).toBeUndefined();
  });
});

describe('errors name the argument, the expected and the actual value', () => {
  const ok = t2([1, 2, 3, 4], [2, 2]);
  test.each([
    ['shape mismatch', () => F.tripletMarginLoss(ok, ok, t2([1, 2], [1, 2])), 'RangeError', /`negative` must have the shape of `anchor` \[2, 2\], got \[1, 2\]/],
    ['data/shape mismatch', () => F.tripletMarginLoss({ data: new Float32Array(3), shape: [2, 2] }, ok, ok), 'RangeError', /`anchor.shape` \[2, 2\] holds 4 elements but `anchor.data` has 3/],
    ['empty input', () => F.tripletMarginLoss(t2([], [0, 2]), t2([], [0, 2]), t2([], [0, 2])), 'RangeError', /`anchor` is empty/],
    ['3-D triplet', () => F.tripletMarginLoss(t2([1, 2], [1, 1, 2]), t2([1, 2], [1, 1, 2]), t2([1, 2], [1, 1, 2])), 'RangeError', /`anchor` must have 1 to 2 dimensions/],
    ['wrong data type', () => F.tripletMarginLoss({ data: [1, 2] as unknown as Float32Array, shape: [2] }, ok, ok), 'TypeError', /`anchor.data` must be a Float32Array or Float64Array, got an array/],
    ['not a tensor', () => F.marginRankingLoss('x' as unknown as Float32Array, ok, ok), 'TypeError', /`input1` must be a Float32Array or \{ data/],
    ['shape not integers', () => F.tripletMarginLoss({ data: new Float32Array(2), shape: [1.5] }, ok, ok), 'TypeError', /`anchor.shape\[0\]` must be an integer, got 1.5/],
    ['absurd shape', () => F.tripletMarginLoss({ data: new Float32Array(2), shape: [2 ** 31, 2 ** 31] }, ok, ok), 'RangeError', /holds 4611686018427387904 elements/],
    ['overflowing shape', () => F.tripletMarginLoss({ data: new Float32Array(2), shape: [2 ** 40, 2 ** 40] }, ok, ok), 'RangeError', /more elements than can be addressed/],
    ['bad reduction', () => F.tripletMarginLoss(ok, ok, ok, { reduction: 'avg' as 'mean' }), 'RangeError', /`reduction` must be 'none', 'mean', 'sum'; got 'avg'/],
    ['bad p', () => F.tripletMarginLoss(ok, ok, ok, { p: 0 }), 'RangeError', /`p` must be > 0, got 0/],
    ['NaN margin', () => new nn.MarginRankingLoss({ margin: NaN }), 'RangeError', /`margin` must be a finite number, got NaN/],
    ['typo in an option', () => new nn.TripletMarginLoss({ margn: 1 } as object), 'RangeError', /unknown option 'margn'/],
    ['raw binding: bad p', () => loadBinding().tripletMarginLoss(ok, ok, ok, { p: -1 }), 'RangeError', /`p` must be > 0, got -1/],
    ['raw binding: options not an object', () => loadBinding().tripletMarginLoss(ok, ok, ok, 5), 'TypeError', /`options` must be an object/],
  ] as [string, () => unknown, string, RegExp][])('%s', (_name, fn, errorName, message) => expectError(fn, errorName, message));
});

describe('loader', () => {
  test('explains a missing shared library and an ABI mismatch in actionable words', () => {
    const missing = explainLoadFailure('/x/torch_losses.node', new Error('libtorch_cpu.so.1.13: cannot open shared object file: No such file or directory'));
    expect(missing).toMatch(/the shared library libtorch_cpu.so.1.13 is missing/);
    expect(missing).toMatch(/apt-get install libtorch-dev/);
    const abi = explainLoadFailure('/x/torch_losses.node', new Error('/x/torch_losses.node: undefined symbol: _ZN3c106detail14torchCheckFailEPKcS2_jRKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE'));
    expect(abi).toMatch(/_GLIBCXX_USE_CXX11_ABI\) mismatch or a libtorch version mismatch/);
  });

  test('a binary whose shared library is gone gives a LoadError naming it', () => {
    // A real ELF addon linked against a library that is then deleted: what a user sees when
    // libtorch was uninstalled or the prebuild expects another version.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-losses-loader-'));
    try {
      fs.writeFileSync(path.join(dir, 'dep.c'), 'int tl_dep(void) { return 1; }\n');
      fs.writeFileSync(path.join(dir, 'addon.c'), 'int tl_dep(void); int tl_use(void) { return tl_dep(); }\n');
      execFileSync('gcc', ['-shared', '-fPIC', '-o', path.join(dir, 'libtl_gone.so'), path.join(dir, 'dep.c')]);
      execFileSync('gcc', ['-shared', '-fPIC', '-o', path.join(dir, 'fake.node'), path.join(dir, 'addon.c'), `-L${dir}`, '-ltl_gone']);
      fs.rmSync(path.join(dir, 'libtl_gone.so'));
      const script = `try { require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))}).info() } catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })) }`;
      const out = JSON.parse(execFileSync('node', ['-e', script], { env: { ...process.env, TORCH_LOSSES_BINARY: path.join(dir, 'fake.node') }, encoding: 'utf8' }));
      expect(out.name).toBe('LoadError');
      expect(out.message).toMatch(/fake\.node: the shared library libtl_gone\.so is missing/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
