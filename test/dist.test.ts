/**
 * Distributed training (lib/dist.ts, native/distributed/) on local Gloo process groups over the loopback.
 * Every rank is a child `node` process running test/helpers/dist-rank.js, started by the
 * launcher (lib/launch.ts) or directly; the single-process reference runs here, on the same
 * data (test/helpers/dist-data.js). Each test takes its own free port. No wall-time assertions:
 * a hang would end in jest's timeout.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { dist, F, manualSeed, nn, tensor } from '../lib';
import { launch } from '../lib/launch';
import { expectError } from './helpers/assertions';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const data = require('./helpers/dist-data');

const RANK_SCRIPT = path.join(__dirname, 'helpers', 'dist-rank.js');
const PROBE_SCRIPT = path.join(__dirname, 'helpers', 'launch-probe.js');
const CLI = path.join(__dirname, '..', 'dist', 'cli.js');
const TOL = 1e-5;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tl-dist-'));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type RankOutput = Record<string, any>;
const readRank = (dir: string, rank: number): RankOutput => JSON.parse(fs.readFileSync(path.join(dir, `rank-${rank}.json`), 'utf8'));

/** Runs `scenario` on `worldSize` ranks through the launcher; the exit code and each rank's output. */
async function runRanks(scenario: string, worldSize: number, seed = 1, timeoutMs = 20000) {
  const dir = tempDir();
  const code = await launch({
    nproc: worldSize,
    script: RANK_SCRIPT,
    args: [scenario, dir, String(seed)],
    masterPort: await freePort(),
    env: { TL_TEST_TIMEOUT_MS: String(timeoutMs) },
  });
  const outputs = Array.from({ length: worldSize }, (_, r) => readRank(dir, r));
  return { code, outputs };
}

/** Starts ranks with the given RANKs of a group of worldSize directly (no launcher). */
async function startRanks(scenario: string, ranks: number[], worldSize: number, timeoutMs: number) {
  const dir = tempDir();
  const port = String(await freePort());
  const exits = await Promise.all(
    ranks.map(
      (rank) =>
        new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
          const child = spawn(process.execPath, [RANK_SCRIPT, scenario, dir], {
            stdio: 'inherit',
            env: {
              ...process.env, RANK: String(rank), WORLD_SIZE: String(worldSize), MASTER_ADDR: '127.0.0.1',
              MASTER_PORT: port, TL_TEST_TIMEOUT_MS: String(timeoutMs),
            },
          });
          child.on('exit', (code, signal) => resolve({ code, signal }));
        }),
    ),
  );
  return { dir, exits };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(TOL);
}

/** The ranks' row gradients put back in rank order: the full-batch gradient they add up to. */
function scatterRows(outputs: RankOutput[], key: 'triplet' | 'center' | 'arcface', dim: number): number[] {
  const total = outputs.reduce((n, o) => n + o[key].rows.count, 0);
  const full = new Array(total * dim).fill(0);
  for (const o of outputs) {
    const { offset } = o[key].rows;
    o[key].grad.forEach((v: number, i: number) => (full[offset * dim + i] += v));
  }
  return full;
}

const support = { available: dist.available(), reason: dist.unavailableReason() };
if (!support.available) console.warn(`dist tests skipped: ${support.reason}`);
const describeDist = support.available ? describe : describe.skip;

(support.available ? describe.skip : describe)('dist in a build without distributed support', () => {
  test('available() is false and every call is a DeviceError that says why', () => {
    expect(support.reason).toMatch(/built without distributed support/);
    expectError(() => dist.initProcessGroup({ rank: 0, worldSize: 1 }), 'DeviceError', /built without distributed support/);
    expectError(() => dist.allReduce(new Float32Array(1)), 'DeviceError', /built without distributed support/);
  });
});

describeDist('dist: one process (no peers needed)', () => {
  afterEach(() => dist.destroy());

  test('before initProcessGroup: rank -1, and collectives say to initialise first', () => {
    expect(dist.isInitialized()).toBe(false);
    expect(dist.rank()).toBe(-1);
    expect(dist.worldSize()).toBe(0);
    expectError(() => dist.allReduce(new Float32Array(2)), 'TorchError', /call dist\.initProcessGroup\(\) first/);
    return expect(dist.barrierAsync()).rejects.toThrow(/call dist\.initProcessGroup\(\) first/);
  });

  test('options: nccl is a DeviceError on this CPU build; missing or bad values name the option', () => {
    const base = { rank: 0, worldSize: 1, masterPort: 29999, timeoutMs: 1000 };
    expectError(() => dist.initProcessGroup({ ...base, backend: 'nccl' }), 'DeviceError', /backend 'nccl' needs a CUDA build/);
    expectError(() => dist.initProcessGroup({ ...base, backend: 'mpi' as never }), 'RangeError', /`backend` must be 'gloo', 'nccl'/);
    expectError(() => dist.initProcessGroup({ ...base, rank: 1 }), 'RangeError', /`rank` must be in \[0, worldSize\) = \[0, 1\), got 1/);
    expectError(() => dist.initProcessGroup({ ...base, masterPort: 70000 }), 'RangeError', /`masterPort` must be in \[1, 65535\]/);
    expectError(() => dist.initProcessGroup({ ...base, rank: 0.5 }), 'RangeError', /`rank` must be an integer/);
    expectError(() => dist.initProcessGroup({ ...base, worldz: 1 } as never), 'RangeError', /unknown option 'worldz'/);
    const saved = process.env.RANK;
    delete process.env.RANK;
    try {
      expectError(() => dist.initProcessGroup({ worldSize: 1 }), 'TypeError', /`rank` is required: pass it to initProcessGroup or set the RANK environment variable/);
      process.env.RANK = 'one';
      expectError(() => dist.initProcessGroup({ worldSize: 1 }), 'RangeError', /RANK environment variable must be an integer, got 'one'/);
    } finally {
      if (saved === undefined) delete process.env.RANK;
      else process.env.RANK = saved;
    }
    expect(dist.isInitialized()).toBe(false);
  });

  test('environment fallbacks as PyTorch: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT', () => {
    const saved = { ...process.env };
    Object.assign(process.env, { RANK: '0', WORLD_SIZE: '1', MASTER_ADDR: 'localhost', MASTER_PORT: '29123' });
    try {
      expect(dist.resolveInitOptions()).toEqual({
        backend: 'gloo', rank: 0, worldSize: 1, masterAddr: 'localhost', masterPort: 29123, timeoutMs: 1800000,
      });
      expect(dist.resolveInitOptions({ rank: 0, masterPort: 1 }).masterPort).toBe(1);
    } finally {
      process.env = saved;
    }
  });

  test('a group of one: collectives are identities, a second init is an error, destroy() allows a new one', async () => {
    const options = { rank: 0, worldSize: 1, masterPort: await freePort(), timeoutMs: 10000 };
    await dist.initProcessGroupAsync(options);
    expect([dist.rank(), dist.worldSize(), dist.isInitialized()]).toEqual([0, 1, true]);
    expectError(() => dist.initProcessGroup(options), 'TorchError', /already rank 0 of 1; call dist.destroy\(\) before/);
    const input = { data: Float64Array.from([1, -2, 3, 4]), shape: [2, 2] };
    const mean = dist.allReduce(input, 'mean');
    expect(mean.shape).toEqual([2, 2]);
    expect(Array.from(mean.data)).toEqual([1, -2, 3, 4]);
    expect(Object.prototype.toString.call(mean.data)).toBe('[object Float64Array]'); // dtype kept
    expect(Array.from(input.data)).toEqual([1, -2, 3, 4]); // not modified in place
    expect(Array.from(dist.allGather([3, 1, 2]))).toEqual([3n, 1n, 2n]);
    const t = dist.allGather(tensor(Float32Array.from([5, 6]), [1, 2]));
    expect(t.shape).toEqual([1, 2]);
    expect(Array.from(t.toFloat32Array())).toEqual([5, 6]);
    expect(Array.from((await dist.broadcastAsync(Float32Array.from([7]), 0)).data)).toEqual([7]);
    expectError(() => dist.broadcast(Float32Array.from([7]), 1), 'RangeError', /`src` must be a rank in \[0, 1\), got 1/);
    expectError(() => dist.allReduce(new Float32Array(1), 'product' as never), 'RangeError', /`op` must be 'sum', 'mean', 'max' or 'min'/);
    expectError(() => dist.allReduce('x' as never), 'TypeError', /`tensor` must be a Float32Array/);
    dist.barrier();
    dist.destroy();
    expect(dist.isInitialized()).toBe(false);
    dist.initProcessGroup({ ...options, masterPort: await freePort() });
    expect(dist.worldSize()).toBe(1);
  });

  test('DistributedLoss on one rank is the plain loss; option and argument checks', async () => {
    dist.initProcessGroup({ rank: 0, worldSize: 1, masterPort: await freePort(), timeoutMs: 10000 });
    const batch = data.parityBatch(3, 2);
    const emb = { data: batch.embeddings, shape: [batch.rows, data.SIZES.dim] };
    const plain = F.batchHardTripletLoss(emb, batch.labels, data.TRIPLET_OPTIONS);
    const wrapped = new dist.DistributedLoss(F.batchHardTripletLoss, data.TRIPLET_OPTIONS).forward(emb, batch.labels);
    expect(wrapped.loss).toBe(plain.loss);
    expect(wrapped.globalLoss).toBe(plain.loss);
    expect(wrapped.rows).toEqual({ offset: 0, count: batch.rows });
    expect(Array.from(wrapped.grad!.embeddings as Float32Array)).toEqual(Array.from(plain.grad!.embeddings));
    expect(wrapped.stats).toEqual(plain.stats);
    expectError(() => new dist.DistributedLoss(F.batchHardTripletLoss, {}, { modelGradients: 'mean' as never }), 'RangeError', /`modelGradients` must be 'summed', 'averaged'/);
    expectError(() => new dist.DistributedLoss(42 as never), 'TypeError', /`loss` must be a loss function or a module/);
    expectError(() => new dist.DistributedLoss(F.batchHardTripletLoss).forward(emb, [1, 2]), 'RangeError', /rank 0 passed 5 embeddings but 2 labels/);
    expectError(() => dist.averageGradients(new nn.ParameterDict({ w: { data: new Float32Array(1), shape: [1] } }, { optimizer: { type: 'sgd', lr: 1 } }), { op: 'max' as never }), 'RangeError', /`op` must be 'mean', 'sum'/);
  });
});

describeDist.each([2, 4])('dist: %i ranks with Gloo', (worldSize) => {
  test('wrapped batch-hard triplet, center loss and ArcFace: summed over ranks = one process on the concatenated batch', async () => {
    const seed = 11;
    const { code, outputs } = await runRanks('parity', worldSize, seed);
    expect(outputs.map((o) => o.error)).toEqual(outputs.map(() => undefined));
    expect(code).toBe(0);
    const { dim } = data.SIZES;
    const parts = Array.from({ length: worldSize }, (_, r) => data.parityBatch(seed, r));
    const rows = parts.reduce((n: number, p: { rows: number }) => n + p.rows, 0);
    const emb = { data: new Float32Array(rows * dim), shape: [rows, dim] };
    const labels = new Int32Array(rows);
    let at = 0;
    for (const p of parts) {
      emb.data.set(p.embeddings, at * dim);
      labels.set(p.labels, at);
      at += p.rows;
    }
    // Ragged batches: rank r has 3 + r rows, at offset sum of the ranks before it.
    outputs.forEach((o, r) => expect(o.triplet.rows).toEqual({ offset: 3 * r + (r * (r - 1)) / 2, count: 3 + r }));

    const triplet = F.batchHardTripletLoss(emb, labels, data.TRIPLET_OPTIONS);
    expect(Math.abs(outputs.reduce((s, o) => s + o.triplet.loss, 0) - triplet.loss)).toBeLessThanOrEqual(TOL);
    outputs.forEach((o) => expect(Math.abs(o.triplet.globalLoss - triplet.loss)).toBeLessThanOrEqual(TOL));
    outputs.forEach((o) => expect(o.triplet.stats).toEqual(triplet.stats)); // mined over all ranks
    expectClose(scatterRows(outputs, 'triplet', dim), triplet.grad!.embeddings);
    outputs.forEach((o) => {
      expect(o.tripletTensor.isTensor).toBe(true);
      expectClose(o.tripletTensor.grad, o.triplet.grad);
    });

    manualSeed(seed);
    const center = new nn.CenterLoss({ numClasses: data.SIZES.classes, featDim: dim });
    const c = center.forward(emb, labels);
    const centresGrad = center.gradients().centers.data;
    expect(Math.abs(outputs.reduce((s, o) => s + o.center.loss, 0) - c.loss)).toBeLessThanOrEqual(TOL);
    expectClose(scatterRows(outputs, 'center', dim), c.grad!.input);
    outputs.forEach((o) => {
      expectClose(o.center.centerGrad, centresGrad); // the full-batch gradient on every rank
      expectClose(o.center.averaged, centresGrad);
    });

    manualSeed(seed);
    const arc = new nn.ArcFaceLoss({ ...data.ARCFACE_OPTIONS, inFeatures: dim, numClasses: data.SIZES.classes });
    const a = arc.forward(emb, labels);
    expect(Math.abs(outputs.reduce((s, o) => s + o.arcface.loss, 0) - a.loss)).toBeLessThanOrEqual(TOL);
    expectClose(scatterRows(outputs, 'arcface', dim), a.grad!.input);
    outputs.forEach((o) => expectClose(o.arcface.weightGrad, arc.gradients().weight.data));
  });

  test('5 optimiser steps (model + CenterLoss, gradients averaged): every rank holds the single-process parameters', async () => {
    const seed = 5;
    const { code, outputs } = await runRanks('train', worldSize, seed);
    expect(outputs.map((o) => o.error)).toEqual(outputs.map(() => undefined));
    expect(code).toBe(0);
    for (const o of outputs.slice(1)) {
      expect(o.weight).toEqual(outputs[0].weight); // bit-identical replicas
      expect(o.centers).toEqual(outputs[0].centers);
    }
    const { model, center } = data.makeModules(require('../lib'), seed);
    const noReduce = () => undefined;
    for (let step = 0; step < 5; step++) {
      const loss = data.trainStep(
        {
          model, center, reduce: noReduce,
          triplet: (e: unknown, l: Int32Array) => F.batchHardTripletLoss(e as never, l, data.TRIPLET_OPTIONS),
          centerForward: (e: unknown, l: Int32Array) => center.forward(e as never, l),
        },
        data.globalBatch(seed + step, worldSize),
      );
      expect(Math.abs(outputs.reduce((s, o) => s + o.losses[step], 0) - loss)).toBeLessThanOrEqual(TOL);
    }
    expectClose(outputs[0].weight, model.parameters().weight.data);
    expectClose(outputs[0].centers, center.parameters().centers.data);
    // The test means something only if training moved the parameters.
    const start = data.makeModules(require('../lib'), seed);
    expect(Math.max(...outputs[0].weight.map((v: number, i: number) => Math.abs(v - start.model.parameters().weight.data[i])))).toBeGreaterThan(1e-3);
  });
});

describeDist('dist: failures', () => {
  test('refused calls (second init, shape mismatches, bad op) are errors on every rank, and the group goes on', async () => {
    const { code, outputs } = await runRanks('errors', 2);
    expect(code).toBe(0);
    for (const o of outputs) {
      expect(o.secondInit).toEqual({ name: 'TorchError', message: expect.stringMatching(/already rank \d of 2; call dist.destroy\(\)/) });
      expect(o.shapeMismatch).toEqual({ name: 'RangeError', message: 'dist.allReduce: `tensor` shapes must agree across ranks: rank 0 has [1], rank 1 has [2]' });
      expect(o.badOp.name).toBe('RangeError');
      expect(o.gatherMismatch).toEqual({
        name: 'RangeError',
        message: 'dist.allGather: `tensor` shapes must agree across ranks after the first dimension: rank 0 has [2, 2], rank 1 has [1, 3]',
      });
      expect(o.sumAfter).toEqual([3]);
      expect(o.maxAfter).toEqual([1]);
      expect(o.broadcast).toEqual([10]);
    }
  });

  test('a rank killed mid-run: the others fail with a clear error instead of hanging', async () => {
    const { dir, exits } = await startRanks('killed', [0, 1, 2], 3, 5000);
    for (const rank of [0, 1]) {
      const { error } = readRank(dir, rank);
      expect(error.name).toBe('TorchError');
      expect(error.message).toMatch(new RegExp(`^dist\\.allReduce failed on rank ${rank} of 3 \\(a peer exited, or did not reach the same call within timeoutMs = 5000\\)`));
      expect(exits[rank]).toEqual({ code: 3, signal: null });
    }
    expect(exits[2]).toEqual({ code: null, signal: 'SIGKILL' });
  });

  test('a rank alive but never reaching the call: the others fail after timeoutMs', async () => {
    // Not shorter: a rank that connects before rank 0 listens retries after about 1 s.
    const { dir, exits } = await startRanks('stalled', [0, 1], 2, 4000);
    const { error } = readRank(dir, 0); // first, so that a failure shows what happened
    expect(error.name).toBe('TorchError');
    expect(error.message).toMatch(/^dist\.allReduce failed on rank 0 of 2 \(a peer exited, or did not reach the same call within timeoutMs = 4000\): .*Timed out/);
    expect(exits).toEqual([{ code: 3, signal: null }, { code: 0, signal: null }]);
  });

  test('a rank that never joins: the others fail after timeoutMs saying what to check', async () => {
    // Rank 0 serves the store and waits for rank 1; rank 1 of another group waits for a server.
    const server = await startRanks('alone', [0], 2, 1500);
    const client = await startRanks('alone', [1], 2, 1500);
    for (const [run, rank] of [[server, 0], [client, 1]] as const) {
      expect(run.exits[0]).toEqual({ code: 3, signal: null });
      const { error } = readRank(run.dir, rank);
      expect(error.name).toBe('TorchError');
      expect(error.message).toMatch(new RegExp(`^dist\\.initProcessGroup: rank ${rank} of 2 could not join the group at 127\\.0\\.0\\.1:\\d+ within timeoutMs = 1500 \\(does every rank run`));
    }
    // The store's server counts who came.
    expect(readRank(server.dir, 0).error.message).toMatch(/: only 1 of 2 ranks joined$/);
  });
});

describe('launch (single node, like torchrun)', () => {
  test('sets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT for each rank and resolves 0', async () => {
    const dir = tempDir();
    expect(await launch({ nproc: 3, script: PROBE_SCRIPT, args: [dir, 'ok'], masterPort: 29777 })).toBe(0);
    for (const rank of [0, 1, 2]) {
      expect(JSON.parse(fs.readFileSync(path.join(dir, `env-${rank}.json`), 'utf8'))).toEqual({
        RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: '3', LOCAL_WORLD_SIZE: '3',
        MASTER_ADDR: '127.0.0.1', MASTER_PORT: '29777',
      });
    }
  });

  test('one rank failing stops the others and gives its exit code', async () => {
    const dir = tempDir();
    expect(await launch({ nproc: 3, script: PROBE_SCRIPT, args: [dir, 'fail'], killGraceMs: 2000 })).toBe(7);
  });

  test('aborting the launch stops every rank', async () => {
    const stop = new AbortController();
    const running = launch({ nproc: 2, script: PROBE_SCRIPT, args: [tempDir(), 'wait'], signal: stop.signal });
    stop.abort();
    expect(await running).toBe(143); // 128 + SIGTERM
  });

  test('npx torch-losses launch: exit codes forwarded; usage errors are exit code 2', async () => {
    const run = (args: string[]) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'launch', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
        child.stderr.resume();
        child.on('exit', (code) => resolve(code));
      });
    const dir = tempDir();
    expect(await run(['--nproc', '2', '--master-port', '29778', PROBE_SCRIPT, dir, 'ok'])).toBe(0);
    expect(fs.existsSync(path.join(dir, 'env-1.json'))).toBe(true);
    expect(await run(['--nproc', '2', PROBE_SCRIPT, tempDir(), 'fail'])).toBe(7);
    expect(await run([PROBE_SCRIPT])).toBe(2);
    expect(await run(['--nproc', '2'])).toBe(2);
  });

  test('bad options name the option', () => {
    expectError(() => launch({ nproc: 0, script: 'x.js' }), 'RangeError', /`nproc` must be >= 1, got 0/);
    expectError(() => launch({ script: 'x.js' } as never), 'TypeError', /`nproc` is required/);
    expectError(() => launch({ nproc: 1, script: 'x.js', masterPort: 0 }), 'RangeError', /`masterPort` must be in \[1, 65535\]/);
  });
});
