/**
 * A Python reference's output: a live run of `script OUT_FILE` when /usr/bin/python3 (or another
 * Python with torch) is present, else the committed fixture it wrote.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findPython } from '../../lib/parity';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function pythonFixture(script: string, fixture: string): { source: string; data: any } {
  const python = findPython();
  if (python) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-losses-fixture-'));
    try {
      const out = path.join(dir, 'out.json');
      execFileSync(python.python, [script, out], { stdio: ['ignore', 'ignore', 'pipe'] });
      return { source: `live (${python.python}, torch ${python.torch})`, data: JSON.parse(fs.readFileSync(out, 'utf8')) };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return { source: 'committed fixture', data: JSON.parse(fs.readFileSync(fixture, 'utf8')) };
}
