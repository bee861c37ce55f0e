/**
 * save(path) / load(path): a dict of tensors that Python's torch.load reads and torch.save writes
 * (round-tripped with live Python), and clear errors for files that are not such a checkpoint,
 * with the parameters left untouched.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nn } from '../lib';
import { findPython } from '../lib/parity';

const f32 = (data: number[], shape: number[]) => ({ data: Float32Array.from(data), shape });
const python = findPython('/usr/bin/python3');
const liveTest = python ? test : test.skip;
const pythonNote = python ? `Python torch ${python.torch}` : 'skipped: /usr/bin/python3 cannot import torch';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-losses-ckpt-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const py = (code: string, ...args: string[]) =>
  execFileSync(python!.python, ['-c', code, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function expectError(fn: () => unknown, name: string, message: RegExp) {
  let caught: Error | undefined;
  try {
    fn();
  } catch (e) {
    caught = e as Error;
  }
  expect(caught).toBeDefined();
  expect({ name: caught!.name, message: caught!.message }).toEqual({ name, message: expect.stringMatching(message) });
}

const centers = () => {
  const m = new nn.CenterLoss({ numClasses: 3, featDim: 2 });
  m.setParameters({ centers: f32([1, 2, 3, 4, 5, 6.5], [3, 2]) });
  return m;
};

describe(`checkpoints with Python (${pythonNote})`, () => {
  liveTest('save() writes a dict that torch.load reads', () => {
    const file = path.join(dir, 'centers.pt');
    centers().save(file);
    const out = py(
      'import sys, json, torch; d = torch.load(sys.argv[1]); ' +
        'print(json.dumps({k: {"shape": list(v.shape), "dtype": str(v.dtype), "data": v.reshape(-1).tolist()} for k, v in d.items()}))',
      file,
    );
    expect(JSON.parse(out)).toEqual({ centers: { shape: [3, 2], dtype: 'torch.float32', data: [1, 2, 3, 4, 5, 6.5] } });
  });

  liveTest('load() reads a dict that torch.save wrote (float64 converted); save -> load round-trips', () => {
    const file = path.join(dir, 'from-python.pt');
    py('import sys, torch; torch.save({"centers": torch.arange(6, dtype=torch.float64).reshape(3, 2) / 4}, sys.argv[1])', file);
    const m = centers();
    m.load(file);
    expect(Array.from(m.parameters().centers.data)).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
    const again = path.join(dir, 'again.pt');
    m.save(again);
    const other = centers();
    other.load(again);
    expect(other.parameters()).toEqual(m.parameters());
  });

  liveTest("load() reads the state_dict of a torch.nn.Module with a `centers` Parameter (KaiyangZhou's CenterLoss), strides included", () => {
    const file = path.join(dir, 'state-dict.pt');
    py(
      'import sys, torch\n' +
        'class CenterLoss(torch.nn.Module):\n' +
        '    def __init__(self):\n' +
        '        super().__init__()\n' +
        '        self.centers = torch.nn.Parameter(torch.arange(6.).reshape(2, 3).t().contiguous())\n' +
        'torch.save(CenterLoss().state_dict(), sys.argv[1])\n' +
        'torch.save({"centers": torch.arange(6.).reshape(2, 3).t()}, sys.argv[1] + ".strided")\n',
      file,
    );
    const m = centers();
    m.load(file);
    expect(Array.from(m.parameters().centers.data)).toEqual([0, 3, 1, 4, 2, 5]);
    const n = centers();
    n.load(`${file}.strided`);
    expect(Array.from(n.parameters().centers.data)).toEqual([0, 3, 1, 4, 2, 5]);
  });

  liveTest('a ParameterDict round-trips several tensors through Python', () => {
    const file = path.join(dir, 'dict.pt');
    const d = new nn.ParameterDict({ w: f32([1, 2, 3, 4], [2, 2]), b: f32([5], [1]) }, { optimizer: { type: 'adam' } });
    d.save(file);
    py('import sys, torch; d = torch.load(sys.argv[1]); d["w"] *= 2; d["b"] += 1; torch.save(d, sys.argv[1])', file);
    d.load(file);
    expect(Array.from(d.parameters().w.data)).toEqual([2, 4, 6, 8]);
    expect(Array.from(d.parameters().b.data)).toEqual([6]);
  });

  liveTest('a checkpoint of the wrong shape, with a missing or an extra entry, or not a dict: RangeError, untouched', () => {
    const cases: [string, RegExp][] = [
      ['{"centers": torch.zeros(4, 2)}', /load: 'centers' must have shape \[3, 2\], the checkpoint's has \[4, 2\]/],
      ['{"weights": torch.zeros(3, 2)}', /load: the checkpoint holds 'weights', which is not a parameter of this module/],
      ['{}', /load: the checkpoint lacks the parameter 'centers'/],
      ['[torch.zeros(3, 2)]', /the checkpoint must hold a dict of name -> tensor/],
      ['{"centers": 3}', /the checkpoint's entry 'centers' must be a tensor/],
      ['{"centers": torch.zeros(3, 2, dtype=torch.int64)}', /'centers' must be a floating-point tensor/],
    ];
    cases.forEach(([value, message], i) => {
      const file = path.join(dir, `bad-${i}.pt`);
      py(`import sys, torch; torch.save(${value}, sys.argv[1])`, file);
      const m = centers();
      expectError(() => m.load(file), 'RangeError', message);
      expect(Array.from(m.parameters().centers.data)).toEqual([1, 2, 3, 4, 5, 6.5]);
    });
  });
});

describe('files that are not checkpoints', () => {
  test('save -> load round-trips without Python', () => {
    const file = path.join(dir, 'self.pt');
    const a = centers();
    a.save(file);
    const b = new nn.CenterLoss({ numClasses: 3, featDim: 2 });
    b.load(file);
    expect(b.parameters()).toEqual(a.parameters());
  });

  test('corrupt, truncated and empty files are errors and leave the parameters untouched', () => {
    const good = path.join(dir, 'good.pt');
    centers().save(good);
    const bytes = fs.readFileSync(good);
    const files: [string, Buffer, string, RegExp][] = [
      ['random.pt', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)), 'TorchError', /./],
      ['truncated.pt', bytes.subarray(0, Math.floor(bytes.length / 2)), 'TorchError', /./],
      ['tail-cut.pt', bytes.subarray(0, bytes.length - 10), 'TorchError', /./],
      ['empty.pt', Buffer.alloc(0), 'RangeError', /the checkpoint is empty/],
    ];
    for (const [name, content, errorName, message] of files) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, content);
      const m = new nn.CenterLoss({ numClasses: 3, featDim: 2 });
      const before = m.parameters();
      expectError(() => m.load(file), errorName, message);
      expect(m.parameters()).toEqual(before);
    }
  });

  test('bad paths and arguments', () => {
    const m = centers();
    expect(() => m.load(path.join(dir, 'missing.pt'))).toThrow(/ENOENT/);
    expectError(() => m.save(3 as never), 'TypeError', /`path` must be a string/);
    expectError(() => (m as unknown as { native: { loadBytes: (b: unknown) => void } }).native.loadBytes('x'), 'TypeError', /load: expected the file's bytes as a Buffer/);
    m.dispose();
    expectError(() => m.save(path.join(dir, 'x.pt')), 'TypeError', /save: this module was disposed/);
  });
});
