/**
 * The command line: per-command --help, --json output that parses, and for a wrong command, flag
 * or value a one-line error followed by that command's usage, exit code 2.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { main } from '../lib/cli';

/** Runs main(argv) with stdout / stderr captured. */
function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  try {
    const code = main(argv);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe.each(['info', 'parity', 'demo'])('torch-losses %s', (command) => {
  test('--help prints the usage of the command, exit 0', () => {
    const r = run([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: torch-losses ${command} \\[options\\]`));
    expect(r.stdout).toMatch(/--threads N/);
  });

  test.each([
    [['--bogus'], /^torch-losses \w+: unknown option '--bogus'$/],
    [['--threads', 'many'], /^torch-losses \w+: --threads must be .*'many'$/],
    [['--device', 'tpu'], /^torch-losses \w+: .*device.*tpu/],
    [['--threads'], /^torch-losses \w+: --threads needs a value$/],
  ])('%j: one-line error, the usage, exit 2', (flags, message) => {
    const r = run([command, ...flags]);
    expect(r.code).toBe(2);
    const [first, blank, usage] = r.stderr.split('\n');
    expect(first).toMatch(message);
    expect(blank).toBe('');
    expect(usage).toMatch(new RegExp(`^usage: torch-losses ${command}`));
  });
});

test('no command: the general usage and exit 2; an unknown command: error, usage, exit 2', () => {
  expect(run([])).toMatchObject({ code: 2, stdout: expect.stringMatching(/^usage: torch-losses <command>/) });
  const r = run(['frobnicate']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^torch-losses: unknown command 'frobnicate'\n\nusage: torch-losses <command>/);
});

test('info --json --device cpu --threads 1 prints parseable JSON naming the device', () => {
  const r = run(['info', '--json', '--device', 'cpu', '--threads', '1']);
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout);
  expect(report).toMatchObject({ device: 'cpu', numThreads: 1, libtorchVersion: expect.any(String) });
});

test('--python belongs to parity only', () => {
  expect(run(['info', '--python', '/usr/bin/python3'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown option '--python'/) });
});

test('bench: a wrong flag is its one-line error, its usage, exit 2 (a child process: bench exits)', () => {
  const cli = path.join(__dirname, '..', 'dist', 'cli.js');
  const r = spawnSync(process.execPath, [cli, 'bench', '--bogus'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^bench: unknown argument --bogus.*\n\nusage: node bench\/run.js/);
});

test('launch: --help, and a wrong flag is one line + its usage, exit 2', () => {
  const help = run(['launch', '--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^usage: torch-losses launch --nproc N/);
  const bad = run(['launch', '--bogus', '1', 'script.js']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/^torch-losses launch: unknown option '--bogus'\n\nusage: torch-losses launch/);
  expect(run(['launch', 'script.js'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--nproc is required/) });
});
