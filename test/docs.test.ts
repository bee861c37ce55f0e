/**
 * The API reference (`npm run docs`, typedoc over lib/index.ts) builds without warnings: every
 * type a public function mentions is exported, so the reference has no dangling names.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

test('typedoc builds the API reference with no warnings', () => {
  const root = path.join(__dirname, '..');
  const typedoc = path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
  const run = spawnSync(process.execPath, [typedoc, '--emit', 'none'], { cwd: root, encoding: 'utf8' });
  const output = `${run.stdout}${run.stderr}`;
  expect({ status: run.status, warnings: output.split('\n').filter((l) => /warning|error/i.test(l) && !/0 errors and 0 warnings/.test(l)) })
    .toEqual({ status: 0, warnings: [] });
});
