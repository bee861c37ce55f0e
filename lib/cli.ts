#!/usr/bin/env node
/**
 * torch-losses command line: info | demo | parity | bench. Every command takes --help; a wrong
 * command, flag or value is a one-line error plus that command's usage, exit code 2.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { DEMO_USAGE, FlagError, parseDemoFlags, runDemo } from './demo';
import { info, resolveDevice, setNumThreads } from './index';
import { findPython, formatTable, generateLive, runParity, TOLERANCE } from './parity';
import { launchCli } from './launch';
import type { Device } from './types';
import * as check from './validate';

const COMMON_FLAGS = `  --json            machine-readable output on stdout
  --device DEVICE   cpu | cuda | cuda:N | auto (default cpu)
  --threads N       libtorch intra-op threads
  --help            this text`;

const USAGE: Record<string, string> = {
  '': `usage: torch-losses <command> [options]     (torch-losses <command> --help for its options)

commands:
  info      versions, CUDA, threads and BLAS of this installation
  demo      train an embedding model on MNIST digits 0-5, evaluate retrieval on 6-9
  parity    compare every loss with the Python PyTorch found here (live)
  bench     time every loss against Python PyTorch (same libtorch) and TF.js
  launch    start N local ranks of a script, like torchrun: launch --nproc N script.js [args]`,
  info: `usage: torch-losses info [options]

Versions of the addon, libtorch and Node, CUDA devices, intra-op threads and the BLAS in use.
With --device, also checks that the device can be used and names it.

options:
${COMMON_FLAGS}`,
  parity: `usage: torch-losses parity [options]

Runs every parity case live: test/parity/generate.py computes each loss and its gradients with
the Python PyTorch found here, the addon computes the same, and a table shows the largest
differences (pass: |addon - torch| <= ${TOLERANCE.abs} + ${TOLERANCE.rel} * |torch|). Exit code 1 when a case
fails or no Python with torch is found.

options:
${COMMON_FLAGS}
  --python PATH     Python interpreter with torch (default: the first of /usr/bin/python3,
                    python3, python that imports torch)`,
  demo: DEMO_USAGE,
};

class UsageError extends Error {
  constructor(message: string, readonly command: string) {
    super(message);
  }
}

interface Flags {
  json: boolean;
  device?: Device;
  threads?: number;
  python?: string;
}

/** The flags of info and parity (`--python` for parity only). */
function parseFlags(command: string, args: string[]): Flags {
  const flags: Flags = { json: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`, command);
      return v;
    };
    switch (arg) {
      case '--json': flags.json = true; break;
      case '--device':
        try { flags.device = check.device(value()); } catch (e) { throw new UsageError((e as Error).message, command); }
        break;
      case '--threads': {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`--threads must be a positive integer, got '${v}'`, command);
        flags.threads = n;
        break;
      }
      case '--python':
        if (command !== 'parity') throw new UsageError(`unknown option '${arg}'`, command);
        flags.python = value();
        break;
      default:
        throw new UsageError(arg.startsWith('-') ? `unknown option '${arg}'` : `unexpected argument '${arg}'`, command);
    }
  }
  if (flags.threads) setNumThreads(flags.threads);
  return flags;
}

function printInfo(flags: Flags): number {
  const report: Record<string, unknown> = { ...info() };
  if (flags.device) report.device = resolveDevice(flags.device);
  if (flags.json) console.log(JSON.stringify(report, null, 2));
  else for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(18)} ${v}`);
  return 0;
}

function parity(flags: Flags): number {
  const found = findPython(flags.python);
  if (!found) {
    console.error(`torch-losses parity: no Python with torch found (${flags.python ?? 'tried /usr/bin/python3, python3, python'}); ` +
      'install one (Debian: apt-get install python3-torch) or pass --python PATH');
    return 1;
  }
  const device = flags.device ? (resolveDevice(flags.device) as Device) : undefined;
  const rows = runParity(generateLive(found.python), device);
  const pass = rows.every((r) => r.pass);
  if (flags.json) {
    console.log(JSON.stringify({ python: found.python, torch: found.torch, addon: info().libtorchVersion, device: device ?? 'cpu', pass, rows }, null, 2));
  } else {
    console.log(`parity: torch-losses (libtorch ${info().libtorchVersion}, ${device ?? 'cpu'}) vs ${found.python} (torch ${found.torch}), ` +
      `tolerance ${TOLERANCE.abs} abs + ${TOLERANCE.rel} rel\n`);
    console.log(formatTable(rows));
    for (const r of rows) for (const f of r.failures) console.log(`  FAIL ${f.loss} [${f.case}] Δloss=${f.lossDiff} Δgrad=${f.gradDiff} ${f.error ?? ''}`);
  }
  return pass ? 0 : 1;
}

function demo(args: string[]): number {
  let options;
  try {
    options = parseDemoFlags(args);
  } catch (e) {
    if (e instanceof FlagError) throw new UsageError(e.message, 'demo');
    throw e;
  }
  if (options === 'help') console.log(DEMO_USAGE);
  else runDemo(options);
  return 0;
}

/** bench/run.js parses its own flags (and prints its usage with --help or a wrong flag). */
function bench(args: string[]): number {
  const script = path.join(__dirname, '..', 'bench', 'run.js');
  if (!fs.existsSync(script)) {
    console.error('torch-losses bench: bench/run.js is not part of this installation; run it from a clone of the repository');
    return 1;
  }
  return spawnSync(process.execPath, [script, ...args], { stdio: 'inherit' }).status ?? 1;
}

export function main(argv: string[]): number {
  const [command = '', ...args] = argv;
  // Before the flag checks: the flags after the script are the script's own.
  if (command === 'launch') return launchCli(args);
  try {
    if (command === '' || command === '--help' || command === 'help') {
      console.log(USAGE['']);
      return command ? 0 : 2;
    }
    if (command === 'bench') return bench(args);
    if (command === 'demo') return demo(args);
    if (!(command in USAGE)) throw new UsageError(`unknown command '${command}'`, '');
    if (args.includes('--help')) {
      console.log(USAGE[command]);
      return 0;
    }
    const flags = parseFlags(command, args);
    return command === 'info' ? printInfo(flags) : parity(flags);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`torch-losses${error.command ? ` ${error.command}` : ''}: ${error.message}\n\n${USAGE[error.command]}`);
      return 2;
    }
    console.error(`torch-losses ${command}: ${(error as Error).name}: ${(error as Error).message}`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
