/** The fixtures of test/parity/modules.py: a live run when Python torch is present, else the committed file. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { OptimizerOptions } from '../lib';
import { findPython } from '../lib/parity';

const SCRIPT = path.join(__dirname, 'parity', 'modules.py');
const FIXTURE = path.join(__dirname, 'parity', 'fixtures', 'modules', 'modules.json');

export interface OptimizerCase {
  name: string;
  optimizer: OptimizerOptions;
  init: Record<string, { data: number[]; shape: number[] }>;
  grads: Record<string, number[]>[];
  final: Record<string, number[]>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function moduleFixtures(): { source: string; data: any } {
  const python = findPython();
  if (python) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-losses-modules-'));
    try {
      const out = path.join(dir, 'modules.json');
      execFileSync(python.python, [SCRIPT, out], { stdio: ['ignore', 'ignore', 'pipe'] });
      return { source: `live (${python.python}, torch ${python.torch})`, data: JSON.parse(fs.readFileSync(out, 'utf8')) };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return { source: 'committed fixture', data: JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) };
}

