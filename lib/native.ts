/**
 * Loads the native addon once. Order: $TORCH_LOSSES_BINARY (an explicit path), then the
 * prebuild shipped in prebuilds/<platform>-<arch>/ (found by node-gyp-build), then a local build
 * in build/Release. A local build newer than the prebuild wins: that is a developer's rebuild.
 * When nothing loads, one error says which files were tried, why each failed and what to do.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DeviceError, LoadError, TorchError } from './errors';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };

const PACKAGE_ROOT = path.join(__dirname, '..');
const LOCAL_BUILD = path.join(PACKAGE_ROOT, 'build', 'Release', 'torch_losses.node');

/** The raw binding. Its functions re-check their arguments; see native/binding/. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Binding = Record<string, any>;

function prebuildPath(): string | undefined {
  const saved = process.env.PREBUILDS_ONLY;
  process.env.PREBUILDS_ONLY = '1'; // ask node-gyp-build for prebuilds only, not build/
  try {
    return nodeGypBuild.path(PACKAGE_ROOT);
  } catch {
    return undefined;
  } finally {
    if (saved === undefined) delete process.env.PREBUILDS_ONLY;
    else process.env.PREBUILDS_ONLY = saved;
  }
}

function candidates(): string[] {
  if (process.env.TORCH_LOSSES_BINARY) return [process.env.TORCH_LOSSES_BINARY];
  const prebuild = prebuildPath();
  const local = fs.existsSync(LOCAL_BUILD) ? LOCAL_BUILD : undefined;
  const list = [prebuild, local].filter((p): p is string => p !== undefined);
  if (prebuild && local && fs.statSync(local).mtimeMs > fs.statSync(prebuild).mtimeMs) list.reverse();
  return list;
}

/** The libtorch version a prebuild was made for (written next to it by scripts/prebuild.sh). */
function prebuildLibtorch(file: string): string | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(path.dirname(file), 'libtorch.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function installedLibtorch(): string | undefined {
  for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/local/lib']) {
    try {
      const match = fs.readdirSync(dir).find((f) => /^libtorch_cpu\.so\.\d+\.\d+\.\d+$/.test(f));
      if (match) return match.replace('libtorch_cpu.so.', '');
    } catch {
      /* folder absent */
    }
  }
  return undefined;
}

const INSTALL_HINT =
  'Install libtorch: `sudo apt-get install libtorch-dev` on Debian/Ubuntu (or `npm run setup` in a clone), ' +
  'or point LD_LIBRARY_PATH at the lib/ folder of the libtorch the addon was built with, ' +
  'or rebuild against yours: `npm rebuild torch-losses` (LIBTORCH=/path/to/libtorch or LIBTORCH_USE_PYTORCH=1).';

/** Turns a dlopen failure into a sentence a user can act on. */
export function explainLoadFailure(file: string, error: Error): string {
  const message = error.message.split('\n')[0];
  const missing = /(lib[\w.+-]+\.so[\w.]*): cannot open shared object file/.exec(message);
  const expected = prebuildLibtorch(file);
  const installed = installedLibtorch();
  const versions =
    expected || installed
      ? ` (built for libtorch ${expected ?? 'unknown'}; installed: ${installed ?? 'none found'})`
      : '';
  if (missing) {
    return `${file}: the shared library ${missing[1]} is missing${versions}. ${INSTALL_HINT}`;
  }
  if (/undefined symbol/.test(message)) {
    const abi = /cxx11|__cxx11|GLIBCXX/.test(message) ? ' a C++ ABI (_GLIBCXX_USE_CXX11_ABI) mismatch or' : '';
    return `${file}: ${message}. This is${abi} a libtorch version mismatch${versions}. ${INSTALL_HINT}`;
  }
  return `${file}: ${message}${versions}`;
}

let binding: Binding | undefined;
let bindingFile = '';

/** The path of the addon file that was loaded ('' before the first load). */
export function loadedBinaryPath(): string {
  return bindingFile;
}

export function loadBinding(): Binding {
  if (binding) return binding;
  const tried = candidates();
  const failures: string[] = [];
  for (const file of tried) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const loaded = require(file) as Binding;
      loaded.registerErrorClasses(DeviceError, TorchError, TypeError, RangeError);
      binding = loaded;
      bindingFile = file;
      return loaded;
    } catch (error) {
      failures.push(explainLoadFailure(file, error as Error));
    }
  }
  const where = `prebuilds/${process.platform}-${process.arch}/ and build/Release/ under ${PACKAGE_ROOT}`;
  throw new LoadError(
    tried.length === 0
      ? `torch-losses: no native addon found in ${where}. Build it with \`npm run build\` ` +
          '(needs libtorch, cmake and g++; `npm run setup` installs them on Debian) or install a package with a prebuild.'
      : `torch-losses: the native addon could not be loaded.\n  ${failures.join('\n  ')}`,
  );
}
