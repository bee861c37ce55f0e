#!/usr/bin/env node
'use strict';
// The one place that decides which libtorch the addon is built against. Both builds use it:
// CMakeLists.txt asks for `--torch-dir`, binding.gyp for the `--gyp-*` settings.
//
// Routes, in order (the first one that is configured wins; a configured route that is broken
// is an error, never a silent fall-through to another libtorch):
//   1. Torch_DIR (a folder holding TorchConfig.cmake) or LIBTORCH (an unpacked official libtorch)
//   2. LIBTORCH_USE_PYTORCH=1: the libtorch inside a Python torch (torch.utils.cmake_prefix_path)
//   3. the system: Debian's libtorch-dev and the usual prefixes
// Nothing is ever downloaded.
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const SYSTEM_DIRS = [
  '/usr/lib/x86_64-linux-gnu/cmake/Torch',
  '/usr/lib/aarch64-linux-gnu/cmake/Torch',
  '/usr/lib/cmake/Torch',
  '/usr/local/lib/cmake/Torch',
  '/usr/share/cmake/Torch',
  '/usr/local/share/cmake/Torch',
];
const SYSTEM_PREFIXES = ['/usr/lib', '/usr/lib64', '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu'];

const hasConfig = (dir) => fs.existsSync(path.join(dir, 'TorchConfig.cmake'));

function fail(tried) {
  const lines = [
    'torch-losses: could not find libtorch. Routes tried, in order:',
    ...tried.map((t, i) => `  ${i + 1}. ${t}`),
    'Fix one of them:',
    '  - Debian/Ubuntu:  sudo apt-get install libtorch-dev   (or run: npm run setup)',
    '  - official libtorch zip:  export LIBTORCH=/path/to/libtorch',
    '  - a Python PyTorch:  export LIBTORCH_USE_PYTORCH=1  (optionally LIBTORCH_PYTHON=/path/to/python)',
  ];
  const err = new Error(lines.join('\n'));
  err.code = 'LIBTORCH_NOT_FOUND';
  throw err;
}

function pythonCandidates() {
  if (process.env.LIBTORCH_PYTHON) return [process.env.LIBTORCH_PYTHON];
  return ['/usr/bin/python3', 'python3', 'python'];
}

/** Returns { torchDir, route } or throws with every route tried. */
function locate(env = process.env) {
  const tried = [];
  if (env.Torch_DIR || env.LIBTORCH) {
    const dir = env.Torch_DIR || path.join(env.LIBTORCH, 'share', 'cmake', 'Torch');
    const name = env.Torch_DIR ? `Torch_DIR=${env.Torch_DIR}` : `LIBTORCH=${env.LIBTORCH}`;
    if (hasConfig(dir)) return { torchDir: dir, route: name };
    tried.push(`${name}: no TorchConfig.cmake in ${dir}`);
    fail(tried);
  }
  tried.push('Torch_DIR / LIBTORCH: not set');

  if (env.LIBTORCH_USE_PYTORCH === '1') {
    for (const py of pythonCandidates()) {
      let prefix;
      try {
        prefix = execFileSync(py, ['-c', 'import torch.utils; print(torch.utils.cmake_prefix_path)'], {
          encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
        }).trim();
      } catch {
        tried.push(`LIBTORCH_USE_PYTORCH=1 with ${py}: cannot import torch`);
        continue;
      }
      const dir = path.join(prefix, 'Torch');
      if (hasConfig(dir)) return { torchDir: dir, route: `LIBTORCH_USE_PYTORCH=1 (${py})` };
      tried.push(`LIBTORCH_USE_PYTORCH=1 with ${py}: no TorchConfig.cmake in ${dir}`);
    }
    fail(tried);
  }
  tried.push('LIBTORCH_USE_PYTORCH: not set to 1');

  for (const dir of SYSTEM_DIRS) {
    if (hasConfig(dir)) return { torchDir: dir, route: 'system' };
  }
  tried.push(`system: no TorchConfig.cmake in ${SYSTEM_DIRS.join(', ')}`);
  return fail(tried);
}

/** Compile/link settings from libtorch's own CMake config (cached per TorchConfig.cmake). */
function probe(torchDir) {
  const config = path.join(torchDir, 'TorchConfig.cmake');
  const key = crypto.createHash('sha1')
    .update(`${config}:${fs.statSync(config).mtimeMs}:${fs.statSync(__filename).mtimeMs}:${process.env.TORCH_LOSSES_NO_DISTRIBUTED || ''}`)
    .digest('hex').slice(0, 12);
  const cache = path.join(os.tmpdir(), `torch-losses-libtorch-${key}.json`);
  if (fs.existsSync(cache)) return JSON.parse(fs.readFileSync(cache, 'utf8'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-losses-probe-'));
  try {
    execFileSync('cmake', [
      '-S', path.join(__dirname, 'libtorch-probe'), '-B', work,
      `-DPROBE_TORCH_DIR=${torchDir}`, `-DPROBE_OUT=${cache}`,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new Error(`torch-losses: cmake could not load ${config}:\n${e.stderr || e.message}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return JSON.parse(fs.readFileSync(cache, 'utf8'));
}

function gypSettings() {
  const { torchDir } = locate();
  const p = probe(torchDir);
  const libs = [`-L${p.libDir}`];
  if (!SYSTEM_PREFIXES.includes(p.libDir)) libs.push(`-Wl,-rpath,${p.libDir}`);
  // --no-as-needed keeps libtorch_cuda.so linked although no symbol of it is referenced:
  // without it, CUDA kernels are never registered and every CUDA call fails at run time.
  libs.push('-Wl,--no-as-needed', '-ltorch', '-ltorch_cpu', '-lc10');
  if (p.cuda) libs.push('-ltorch_cuda', '-lc10_cuda');
  libs.push('-Wl,--as-needed');
  // Distributed support (native/distributed/), decided by libtorch-probe/distributed.cmake as in CMakeLists.txt.
  const include = p.distributed ? [...p.includeDirs, p.glooInclude] : p.includeDirs;
  const cflags = p.cxxFlags.filter(Boolean);
  if (p.distributed) cflags.push('-DTL_WITH_DISTRIBUTED', '-DUSE_C10D_GLOO');
  return { include, cflags, libs };
}

function main(argv) {
  const what = argv[2] || '--describe';
  const out = (x) => process.stdout.write(Array.isArray(x) ? x.join(' ') : String(x));
  switch (what) {
    case '--torch-dir': return out(locate().torchDir);
    case '--gyp-include': return out(gypSettings().include);
    case '--gyp-cflags': return out(gypSettings().cflags);
    case '--gyp-libs': return out(gypSettings().libs);
    case '--describe': {
      const l = locate();
      return out(JSON.stringify({ ...l, ...probe(l.torchDir) }, null, 2) + '\n');
    }
    default:
      process.stderr.write(`usage: find-libtorch.js --torch-dir | --gyp-include | --gyp-cflags | --gyp-libs | --describe\n`);
      process.exit(2);
  }
}

module.exports = { locate, probe, gypSettings };
if (require.main === module) {
  try { main(process.argv); } catch (e) { process.stderr.write(`${e.message}\n`); process.exit(1); }
}
