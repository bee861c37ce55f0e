#!/usr/bin/env node
/**
 * torch-losses command line: info | demo | parity | bench.
 * A wrong command, flag or value is a one-line error plus the usage, exit code 2.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { DEMO_USAGE, FlagError, parseDemoFlags, runDemo } from './demo';
import { info, setNumThreads } from './index';
import { findPython, formatTable, generateLive, runParity } from './parity';
import type { Device } from './types';
import * as check from './validate';

const USAGE = `usage: torch-losses <command> [options]

commands:
  info      versions, CUDA, threads and BLAS of this installation
  demo      train an embedding model on MNIST digits 0-5, evaluate retrieval on 6-9 (demo --help)
  parity    compare every loss with the Python PyTorch found here (live)
  bench     time every loss against Python PyTorch (same libtorch)

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

function printInfo(flags: Flags) {
  const i = info();
  if (flags.json) return console.log(JSON.stringify(i, null, 2));
  for (const [k, v] of Object.entries(i)) console.log(`${k.padEnd(18)} ${v}`);
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
  try {
    if (!command || command === '--help' || command === 'help') {
      console.log(USAGE);
      return command ? 0 : 2;
    }
    if (command === 'demo') {
      // The demo has its own flags (lib/demo/flags.ts).
      let options;
      try {
        options = parseDemoFlags(args);
      } catch (e) {
        if (e instanceof FlagError) throw new UsageError(`${e.message} (see: torch-losses demo --help)`);
        throw e;
      }
      if (options === 'help') console.log(DEMO_USAGE);
      else runDemo(options);
      return 0;
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
