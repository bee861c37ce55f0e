#!/usr/bin/env node
/**
 * torch-losses command line: info | demo | parity | bench.
 * A wrong command, flag or value is a one-line error plus the usage, exit code 2.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { F, info, setNumThreads } from './index';
import { findPython, formatTable, generateLive, runParity } from './parity';
import { launchCli } from './launch';
import type { Device } from './types';
import * as check from './validate';

const USAGE = `usage: torch-losses <command> [options]

commands:
  info      versions, CUDA, threads and BLAS of this installation
  demo      compute every loss on random data, with gradients
  parity    compare every loss with the Python PyTorch found here (live)
  bench     time every loss against Python PyTorch (same libtorch)
  launch    start N local ranks of a script, like torchrun: launch --nproc N script.js [args]

options:
  --json            machine-readable output (info, parity, bench)
  --device DEVICE   cpu | cuda | cuda:N | auto (default cpu)
  --threads N       libtorch intra-op threads
  --python PATH     Python interpreter with torch (parity; default: first one found)
  --help            this text`;

class UsageError extends Error {}

interface Flags {
  json: boolean;
  device: Device;
  threads?: number;
  python?: string;
  rest: string[];
}

function parseFlags(args: string[]): Flags {
  const flags: Flags = { json: false, device: 'cpu', rest: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--json': flags.json = true; break;
      case '--device':
        try { flags.device = check.device(value()); } catch (e) { throw new UsageError((e as Error).message); }
        break;
      case '--threads': {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`--threads must be a positive integer, got '${v}'`);
        flags.threads = n;
        break;
      }
      case '--python': flags.python = value(); break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option '${arg}'`);
        flags.rest.push(arg);
    }
  }
  return flags;
}

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTensor(rand: () => number, shape: number[]) {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  return { data, shape };
}

const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0));

function printInfo(flags: Flags) {
  const i = info();
  if (flags.json) return console.log(JSON.stringify(i, null, 2));
  for (const [k, v] of Object.entries(i)) console.log(`${k.padEnd(18)} ${v}`);
}

function demo(flags: Flags) {
  printInfo({ ...flags, json: false });
  const rand = mulberry32(7);
  const device = flags.device;
  console.log(`\nlosses on random data (device ${device}):`);
  const n = 256;
  const d = 128;
  const [a, p, neg] = [randomTensor(rand, [n, d]), randomTensor(rand, [n, d]), randomTensor(rand, [n, d])];
  const rows: [string, () => { loss: number; grad?: Record<string, ArrayLike<number>> }][] = [
    [`tripletMarginLoss  N=${n} D=${d} margin=1 p=2`, () => F.tripletMarginLoss(a, p, neg, { device })],
    [`tripletMarginLoss  N=${n} D=${d} swap`, () => F.tripletMarginLoss(a, p, neg, { swap: true, device })],
    [`marginRankingLoss  N=${n} margin=0.5`, () => {
      const y = Float32Array.from({ length: n }, () => (rand() < 0.5 ? -1 : 1));
      return F.marginRankingLoss(randomTensor(rand, [n]), randomTensor(rand, [n]), y, { margin: 0.5, device });
    }],
  ];
  for (const [name, run] of rows) {
    const start = process.hrtime.bigint();
    const r = run();
    const us = Number(process.hrtime.bigint() - start) / 1000;
    const grads = Object.entries(r.grad ?? {}).map(([k, g]) => `|grad.${k}|=${norm(g).toFixed(4)}`).join(' ');
    console.log(`  ${name.padEnd(44)} loss=${r.loss.toFixed(6)}  ${grads}  (${us.toFixed(0)} µs)`);
  }
}

function parity(flags: Flags): number {
  const found = findPython(flags.python);
  if (!found) {
    console.error(`torch-losses parity: no Python with torch found (${flags.python ?? 'tried /usr/bin/python3, python3, python'}); ` +
      'install one (Debian: apt-get install python3-torch) or pass --python PATH');
    return 1;
  }
  const rows = runParity(generateLive(found.python));
  const pass = rows.every((r) => r.pass);
  if (flags.json) {
    console.log(JSON.stringify({ python: found.python, torch: found.torch, addon: info().libtorchVersion, pass, rows }, null, 2));
  } else {
    console.log(`parity: torch-losses (libtorch ${info().libtorchVersion}) vs ${found.python} (torch ${found.torch}), tolerance 1e-5 abs + 1e-5 rel\n`);
    console.log(formatTable(rows));
    for (const r of rows) for (const f of r.failures) console.log(`  FAIL ${f.loss} [${f.case}] Δloss=${f.lossDiff} Δgrad=${f.gradDiff} ${f.error ?? ''}`);
  }
  return pass ? 0 : 1;
}

function bench(args: string[]): number {
  const script = path.join(__dirname, '..', 'bench', 'run.js');
  if (!fs.existsSync(script)) {
    console.error('torch-losses bench: bench/run.js is not part of this installation; run it from a clone of the repository');
    return 1;
  }
  return spawnSync(process.execPath, [script, ...args], { stdio: 'inherit' }).status ?? 1;
}

export function main(argv: string[]): number {
  const [command, ...args] = argv;
  // Before the flag checks: the flags after the script are the script's own.
  if (command === 'launch') return launchCli(args);
  try {
    if (!command || command === '--help' || command === 'help') {
      console.log(USAGE);
      return command ? 0 : 2;
    }
    if (args.includes('--help')) {
      console.log(USAGE);
      return 0;
    }
    if (command === 'bench') return bench(args);
    const flags = parseFlags(args);
    if (flags.rest.length) throw new UsageError(`unexpected argument '${flags.rest[0]}'`);
    if (flags.threads) setNumThreads(flags.threads);
    switch (command) {
      case 'info': printInfo(flags); return 0;
      case 'demo': demo(flags); return 0;
      case 'parity': return parity(flags);
      default: throw new UsageError(`unknown command '${command}'`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`torch-losses: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`torch-losses ${command}: ${(error as Error).name}: ${(error as Error).message}`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
