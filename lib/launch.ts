/**
 * A single-node launcher, like torchrun's standalone mode: starts `nproc` Node processes of one
 * script with the environment that dist.initProcessGroup() reads (RANK, WORLD_SIZE, MASTER_ADDR,
 * MASTER_PORT, plus LOCAL_RANK and LOCAL_WORLD_SIZE), forwards their output, and when one rank
 * fails stops the others, so that a crash never leaves ranks waiting on a peer.
 *
 *   npx torch-losses launch --nproc 2 train.js --epochs 3
 *   await launch({ nproc: 2, script: 'train.js', args: ['--epochs', '3'] })   // -> exit code
 */
import { spawn, type ChildProcess } from 'child_process';
import { constants } from 'os';
import { knownKeys } from './modules/options';
import * as check from './validate';

export interface LaunchOptions {
  /** Number of ranks (processes) to start, >= 1. */
  nproc: number;
  /** The script each rank runs with `node`. */
  script: string;
  /** Arguments after the script. */
  args?: readonly string[];
  /** Default '127.0.0.1'. */
  masterAddr?: string;
  /** Default 29500, as torchrun. */
  masterPort?: number;
  /** Node flags before the script (e.g. ['--expose-gc']). */
  nodeArgs?: readonly string[];
  /** Extra environment for every rank. */
  env?: Record<string, string>;
  /** How long the other ranks get to exit after SIGTERM before SIGKILL, in ms. Default 5000. */
  killGraceMs?: number;
  /** Aborting it stops every rank (SIGTERM, then SIGKILL after killGraceMs). */
  signal?: AbortSignal;
}

const KEYS = ['nproc', 'script', 'args', 'masterAddr', 'masterPort', 'nodeArgs', 'env', 'killGraceMs', 'signal'];

function stringList(name: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new TypeError(`\`${name}\` must be an array of strings`);
  }
  return value as string[];
}

/** An exit status as a shell reports it: the code, or 128 + the signal's number. */
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + ((signal && constants.signals[signal]) || 0);
}

/**
 * Starts the ranks and resolves with the launch's exit code: 0 when every rank exited with 0,
 * else the exit code of the first rank that failed (128 + signal number for a signal), after
 * the other ranks have been stopped.
 */
export function launch(options: LaunchOptions): Promise<number> {
  const o = knownKeys('launch', options, KEYS);
  if (o.nproc === undefined) throw new TypeError('launch: `nproc` is required');
  const nproc = check.integer('nproc', o.nproc);
  if (nproc < 1) throw new RangeError(`\`nproc\` must be >= 1, got ${nproc}`);
  if (typeof o.script !== 'string' || o.script === '') throw new TypeError('launch: `script` must be a path');
  const masterPort = o.masterPort === undefined ? 29500 : check.integer('masterPort', o.masterPort);
  if (masterPort < 1 || masterPort > 65535) throw new RangeError(`\`masterPort\` must be in [1, 65535], got ${masterPort}`);
  const masterAddr = o.masterAddr === undefined ? '127.0.0.1' : String(o.masterAddr);
  const killGraceMs = o.killGraceMs === undefined ? 5000 : check.integer('killGraceMs', o.killGraceMs);
  const argv = [...stringList('nodeArgs', o.nodeArgs), o.script, ...stringList('args', o.args)];
  const extraEnv = (o.env ?? {}) as Record<string, string>;

  return new Promise((resolve) => {
    const children: ChildProcess[] = [];
    let running = nproc;
    let failure: number | undefined;

    const stopOthers = () => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, killGraceMs);
      timer.unref();
    };

    for (let rank = 0; rank < nproc; rank++) {
      const child = spawn(process.execPath, argv, {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: {
          ...process.env,
          ...extraEnv,
          RANK: String(rank),
          LOCAL_RANK: String(rank),
          WORLD_SIZE: String(nproc),
          LOCAL_WORLD_SIZE: String(nproc),
          MASTER_ADDR: masterAddr,
          MASTER_PORT: String(masterPort),
        },
      });
      children.push(child);
      child.on('error', (error) => {
        // spawn itself failed: no 'exit' follows
        process.stderr.write(`[launch] rank ${rank} could not start: ${error.message}\n`);
        onExit(rank, 127, null);
      });
      child.on('exit', (code, signal) => onExit(rank, code, signal));
    }

    const abort = o.signal as AbortSignal | undefined;
    if (abort?.aborted) stopOthers();
    else abort?.addEventListener('abort', stopOthers, { once: true });

    function onExit(rank: number, code: number | null, signal: NodeJS.Signals | null) {
      const status = exitCodeOf(code, signal);
      if (status !== 0 && failure === undefined) {
        failure = status;
        process.stderr.write(`[launch] rank ${rank} exited with ${signal ? `signal ${signal}` : `code ${status}`}; stopping the other ranks\n`);
        stopOthers();
      }
      if (--running === 0) {
        abort?.removeEventListener('abort', stopOthers);
        resolve(failure ?? 0);
      }
    }
  });
}

const CLI_USAGE = 'usage: torch-losses launch --nproc N [--master-addr HOST] [--master-port PORT] script.js [script args]';

/**
 * `torch-losses launch ...`: returns 2 for a usage error at once; otherwise starts the ranks,
 * returns 0 and sets process.exitCode to the launch's exit code when the ranks are done.
 */
export function launchCli(args: string[]): number {
  const options: Partial<LaunchOptions> = {};
  let i = 0;
  if (args[0] === '--help') {
    console.log(`${CLI_USAGE}\n\nStarts N ranks of a Node script on this machine with RANK, LOCAL_RANK, WORLD_SIZE,\n` +
      'LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set (like torchrun\'s single-node mode); when one rank\n' +
      'fails, stops the others and exits with its code.');
    return 0;
  }
  try {
    for (; i < args.length && args[i].startsWith('--'); i++) {
      const flag = args[i];
      const value = args[++i];
      if (value === undefined) throw new RangeError(`${flag} needs a value`);
      const n = Number(value);
      if (flag === '--nproc') options.nproc = n;
      else if (flag === '--master-port') options.masterPort = n;
      else if (flag === '--master-addr') options.masterAddr = value;
      else throw new RangeError(`unknown option '${flag}'`);
    }
    if (i >= args.length) throw new RangeError('the script to run is missing');
    if (options.nproc === undefined) throw new RangeError('--nproc is required');
    // SIGINT / SIGTERM to the launcher stop the ranks too (a terminal's Ctrl-C reaches them
    // anyway; a `kill` of the launcher alone would otherwise leave them running).
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const running = launch({ ...(options as LaunchOptions), script: args[i], args: args.slice(i + 1), signal: stop.signal });
    running.then((code) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.exitCode = code;
    });
    return 0;
  } catch (error) {
    console.error(`torch-losses launch: ${(error as Error).message}\n\n${CLI_USAGE}`);
    return 2;
  }
}
