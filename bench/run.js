#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: the project's performance record. Forward+backward of every loss through the
 * addon and through Python PyTorch (same libtorch, same thread count, case by case back to back),
 * the addon's calling forms (sync/async x host arrays/Tensors), TensorFlow.js (cpu and wasm
 * backends) on batch-hard triplet, MSE and cross-entropy, and the matrix-product floor.
 *
 *   node bench/run.js [--quick] [--threads N] [--json] [--python PATH] [--no-python] [--no-tfjs]
 *                     [--only ID,...]
 *
 * Writes bench/results.json, bench/results.md and bench/results.svg and prints the markdown
 * (or, with --json, only the JSON). See bench/README.md.
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { mainCases, VARIANT_IDS, VARIANTS, TFJS_IDS, floorCases, timing } = require('./cases');
const { makeInputs } = require('./inputs');
const { measure, measurePair, warmUp, runBatch, now } = require('./timing');
const addonSide = require('./addon');
const { PythonSide } = require('./python');
const report = require('./report');
const modulesSide = require('./modules');

const ROOT = path.join(__dirname, '..');
const SEED = 20240611;
const USAGE =
  'usage: node bench/run.js [--quick] [--threads N] [--json] [--python PATH] [--no-python] [--no-tfjs] [--only ID,...]\n' +
  '  --only takes case ids (tripletMarginLoss/small), loss names (all their sizes), and/or "floor"\n';

function parseArgs(argv) {
  const args = { quick: false, json: false, threads: null, python: '/usr/bin/python3', noPython: false, noTfjs: false, only: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--json') args.json = true;
    else if (a === '--no-python') args.noPython = true;
    else if (a === '--no-tfjs') args.noTfjs = true;
    else if (a === '--threads' || a.startsWith('--threads=')) args.threads = value();
    else if (a === '--python' || a.startsWith('--python=')) args.python = value();
    else if (a === '--only' || a.startsWith('--only=')) args.only = value().split(',').filter(Boolean);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else fail(`unknown argument ${a} (try --help)`);
  }
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  if (args.threads === null) args.threads = cores;
  else {
    const n = Number(args.threads);
    if (!Number.isInteger(n) || n < 1) fail(`--threads must be a positive integer, got ${args.threads}`);
    args.threads = n;
  }
  args.cores = cores;
  return args;
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

/**
 * libtorch's matrix products run on OpenBLAS, whose thread pool ignores at::set_num_threads and is
 * sized from the environment when the library loads. So that "N threads" holds for every side
 * (this process, the Python child, TF.js), the bench re-runs itself with OPENBLAS_NUM_THREADS and
 * OMP_NUM_THREADS set to N when they are not already.
 */
function reexecWithThreadEnv(args) {
  const want = String(args.threads);
  if (process.env.OPENBLAS_NUM_THREADS === want && process.env.OMP_NUM_THREADS === want) return;
  if (process.env.TORCH_LOSSES_BENCH_REEXEC) return; // never loop
  const env = { ...process.env, OPENBLAS_NUM_THREADS: want, OMP_NUM_THREADS: want, TORCH_LOSSES_BENCH_REEXEC: '1' };
  const r = spawnSync(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2)], { stdio: 'inherit', env });
  if (r.error) fail(`cannot re-run with OPENBLAS_NUM_THREADS=${want}: ${r.error.message}`);
  process.exit(r.status ?? 1);
}

function git(...argv) {
  const r = spawnSync('git', argv, { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function binaryMtime(file) {
  try {
    return fs.statSync(file).mtime.toISOString();
  } catch {
    return null;
  }
}

/** Case filter of --only: ids, loss names, or 'floor'. */
function selector(only) {
  if (!only) return { has: () => true, floor: true };
  return { has: (c) => only.includes(c.id) || only.includes(c.loss), floor: only.includes('floor') };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  reexecWithThreadEnv(args);
  const started = now();
  const log = args.json ? () => {} : (m) => process.stderr.write(`${m}\n`);
  const t = timing(args.quick);
  const errors = [];

  let torch;
  try {
    torch = require(path.join(ROOT, 'dist'));
  } catch (error) {
    fail(`cannot load the addon through dist/ (build it first: npm run build): ${error.message}`);
  }
  torch.setNumThreads(args.threads);
  const hasBatchHard = typeof torch.F.batchHardTripletLoss === 'function';
  const select = selector(args.only);
  const cases = mainCases({ batchHard: hasBatchHard, quick: args.quick }).filter(select.has);
  const FLOOR = floorCases(args.quick);
  const moduleCases = modulesSide.cases(args.quick).filter(select.has);
  if (!cases.length && !select.floor && !moduleCases.length) {
    fail(`--only matched nothing; ids: ${mainCases({ batchHard: hasBatchHard, quick: args.quick }).map((c) => c.id).join(', ')}, floor`);
  }
  if (args.only) {
    const all = mainCases({ batchHard: hasBatchHard, quick: args.quick });
    const unknown = args.only.filter((o) => o !== 'floor' && ![...all, ...modulesSide.cases(args.quick)].some((c) => c.id === o || c.loss === o));
    if (unknown.length) process.stderr.write(`bench: --only: no case ${unknown.join(', ')} (ignored)\n`);
  }
  const byId = new Map(cases.map((c) => [c.id, c]));
  const loadBefore = os.loadavg();
  log(`bench: ${args.threads} thread(s) on ${args.cores} core(s)${args.quick ? ', quick' : ''}; ` +
    `load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}` +
    (hasBatchHard ? '' : '; F.batchHardTripletLoss absent: its cases are skipped'));
  const loadWarning = loadBefore[0] > 0.5 * args.cores
    ? `Load average ${loadBefore[0].toFixed(2)} on ${args.cores} core(s) when the run started: other work on this machine skews these timings (the multi-threaded and large cases most).`
    : null;
  if (loadWarning) log(`bench: warning: ${loadWarning}`);

  const python = args.noPython ? { error: 'skipped (--no-python)' } : await PythonSide.start(args.python, args.threads, process.env);
  if (python.error) log(`bench: PyTorch columns are n/a: ${python.error}`);
  const py = async (message) => (python.error ? null : python.request({ seed: SEED, timing: t, ...message }));
  const pyUs = (r) => (r && !r.error ? r : null);
  const checked = (r) => {
    if (!r || r.error) throw new Error(r ? r.error : 'no PyTorch side');
    return r;
  };

  // 1. every loss, addon and PyTorch in alternation, batch by batch -------------------------
  const pySide = (c) =>
    python.error
      ? null
      : {
          warmUp: async () => checked(await py({ op: 'prepare', case: c })),
          batch: async (batchNs) => checked(await python.request({ op: 'batch', batchNs })),
        };
  const rows = [];
  for (const c of cases) {
    let s = null;
    try {
      s = await addonSide.makeStep(torch, c, SEED);
    } catch (error) {
      errors.push(`addon ${c.id}: ${error.message}`);
    }
    const addonTimer = s && { warmUp: (tt) => warmUp(s.step, tt, s.isAsync), batch: (ns) => runBatch(s.step, ns, s.isAsync) };
    const [a, pd] = await measurePair([addonTimer, pySide(c)], t, (i, error) => errors.push(`${i ? 'PyTorch' : 'addon'} ${c.id}: ${error.message}`));
    if (s) s.dispose();
    const row = {
      id: c.id, loss: c.loss, size: c.size, sizeLabel: c.sizeLabel, inputs: c.inputs, options: c.options,
      addon_us: a ? a.us : null, python_us: pd ? pd.us : null, ratio: a && pd ? a.us / pd.us : null,
      addon_detail: a, python_detail: pd,
      // Batches alternate, so batch k of each side saw the same moment: their ratios pair up.
      ratio_batches: a && pd ? a.batches_us.map((u, k) => u / pd.batches_us[k]) : null,
    };
    if (c.loss === 'batchHardTripletLoss' && c.size !== 'large' && !python.error) {
      // A second PyTorch reference: the distance matrix written out, as ReID code bases do.
      const alt = await py({ op: 'case', case: c, impl: 'formula' });
      if (alt.error) errors.push(`PyTorch (formula) ${c.id}: ${alt.error}`);
      else Object.assign(row, { python_formula_us: alt.us, python_formula_detail: alt });
    }
    rows.push(row);
    log(`  ${c.loss.padEnd(30)} ${c.sizeLabel.padEnd(14)} addon ${report.fmtUs(row.addon_us).padStart(8)} µs   ` +
      `PyTorch ${report.fmtUs(row.python_us).padStart(8)} µs   ${report.fmtRatio(row.ratio)}`);
  }
  const rowById = new Map(rows.map((r) => [r.id, r]));

  // 2. calling forms -------------------------------------------------------------------------
  const variants = [];
  for (const id of VARIANT_IDS) {
    const c = byId.get(id);
    if (!c) continue;
    const v = { id, loss: c.loss, sizeLabel: c.sizeLabel, us: {}, detail: {}, python_us: rowById.get(id).python_us };
    for (const form of VARIANTS) {
      try {
        const s = await addonSide.makeStep(torch, c, SEED, form);
        const m = await measure(s.step, t, s.isAsync);
        s.dispose();
        v.us[form.id] = m.us;
        v.detail[form.id] = m;
      } catch (error) {
        errors.push(`addon ${id} ${form.label}: ${error.message}`);
      }
    }
    variants.push(v);
    log(`  forms ${c.loss.padEnd(24)} ${c.sizeLabel.padEnd(14)} ` +
      VARIANTS.map((f) => `${f.id} ${report.fmtUs(v.us[f.id])}`).join('  ') + ' µs');
  }

  // 2b. losses with parameters (bench/modules.js), each with its PyTorch counterparts ---------
  const modules = moduleCases.length
    ? await modulesSide.run({ torch, python, t: { ...t, quick: args.quick }, select, log, errors })
    : null;

  // 3. the matrix-product floor, PyTorch side -------------------------------------------------
  const floor = [];
  const gflops = (f, us) => (us ? (2 * f.n * f.n * f.d) / (us * 1e3) : null);
  if (select.floor) {
    for (const f of FLOOR.filter((x) => x.engine === 'pytorch')) {
      const p = await py({ op: 'matmul', n: f.n, d: f.d });
      const pd = pyUs(p);
      floor.push({ ...f, label: 'PyTorch torch.mm', us: pd ? pd.us : null, gflops: gflops(f, pd && pd.us), threads: python.info ? python.info.threads : null,
        detail: pd, error: python.error || (p && p.error) || null });
    }
  }
  if (!python.error) python.close();

  // 4. TensorFlow.js ------------------------------------------------------------------------
  let tfjs = null;
  const tfjsCases = TFJS_IDS.map((id) => byId.get(id)).filter(Boolean);
  const tfjsFloor = select.floor ? FLOOR.filter((x) => x.engine.startsWith('tfjs')) : [];
  if (args.noTfjs) tfjs = { error: 'skipped (--no-tfjs)' };
  else if (tfjsCases.length || tfjsFloor.length) {
    log('bench: TF.js ...');
    const loaded = await require('./tfjs').load();
    if (loaded.error) tfjs = { error: loaded.error };
    else {
      const tfSide = require('./tfjs');
      const { tf, wasm } = loaded;
      tfjs = { versions: loaded.versions, wasm: { ...wasm }, rows: [] };
      const backends = ['cpu', ...(wasm.error ? [] : ['wasm'])];
      for (const c of tfjsCases) {
        const row = { id: c.id, loss: c.loss, sizeLabel: c.sizeLabel, addon_us: rowById.get(c.id).addon_us, python_us: rowById.get(c.id).python_us,
          cpu_us: null, wasm_us: null, detail: {}, check: null };
        const inputs = makeInputs(c, SEED);
        for (const backend of backends) {
          try {
            await tf.setBackend(backend);
            const step = tfSide.makeStep(tf, c, inputs);
            const out = step();
            if (backend === 'cpu') {
              // The same numbers through the addon: the TF.js formulation must agree with it.
              const ref = torch.F[c.loss](...inputs, c.options);
              const refGrads = Object.values(ref.grad);
              row.check = { loss: Math.abs(out.loss - ref.loss), grad: tfSide.maxDiff(out.grads, refGrads.slice(0, out.grads.length)) };
              if (!(row.check.loss <= 1e-4 * Math.max(1, Math.abs(ref.loss)))) {
                errors.push(`TF.js ${c.id}: loss ${out.loss} differs from the addon's ${ref.loss}`);
              }
            }
            const m = await measure(step, t);
            row[`${backend}_us`] = m.us;
            row.detail[backend] = m;
          } catch (error) {
            errors.push(`TF.js ${backend} ${c.id}: ${error.message}`);
          }
        }
        tfjs.rows.push(row);
        log(`  tfjs ${c.loss.padEnd(25)} ${c.sizeLabel.padEnd(14)} cpu ${report.fmtUs(row.cpu_us)} µs  wasm ${report.fmtUs(row.wasm_us)} µs`);
      }
      for (const f of tfjsFloor) {
        const backend = f.engine.slice('tfjs-'.length);
        const entry = { ...f, label: `TF.js tf.matMul (${backend})`, us: null, gflops: null, threads: backend === 'cpu' ? 1 : wasm.threads, error: null };
        try {
          if (!backends.includes(backend)) throw new Error(wasm.error || `no ${backend} backend`);
          await tf.setBackend(backend);
          const mm = tfSide.makeMatmul(tf, f.n, f.d);
          const m = await measure(mm.step, t);
          mm.dispose();
          Object.assign(entry, { us: m.us, gflops: gflops(f, m.us), detail: m });
        } catch (error) {
          entry.error = error.message;
          errors.push(`TF.js matmul ${backend}: ${error.message}`);
        }
        floor.push(entry);
      }
    }
  }
  // Batch-hard at the floor's size, in units of the floor.
  const bh = rowById.get('batchHardTripletLoss/large');
  const pyFloor = floor.find((f) => f.engine === 'pytorch' && f.us);
  if (bh && floor.length) {
    const [n, d] = bh.inputs[0].shape;
    const f = { n, d };
    floor.push({ engine: 'addon', label: 'addon F.batchHardTripletLoss, forward+backward', n, d, us: bh.addon_us, gflops: gflops(f, bh.addon_us), threads: args.threads });
    floor.push({ engine: 'pytorch-batchhard', label: 'PyTorch batch-hard (reference.py, torch.cdist), forward+backward', n, d, us: bh.python_us, gflops: gflops(f, bh.python_us),
      threads: python.info ? python.info.threads : null });
  }
  for (const f of floor) f.perFloor = pyFloor && f.us ? f.us / pyFloor.us : null;
  for (const f of floor) if (f.gflops != null && f.engine !== 'pytorch' && !f.engine.startsWith('tfjs')) f.note = 'matmul-equivalent rate';

  // 5. targets ------------------------------------------------------------------------------
  const targets = [];
  const bhSmall = rowById.get('batchHardTripletLoss/small');
  if (bhSmall) {
    const r = bhSmall.ratio;
    targets.push({ id: 'batch-hard-vs-pytorch', value: r, ok: r == null ? null : r <= 0.5,
      text: `addon batch-hard N=32 D=128 at most half of PyTorch's time: addon/PyTorch = ${report.fmtRatio(r)} (${report.fmtUs(bhSmall.addon_us)} vs ${report.fmtUs(bhSmall.python_us)} µs, PyTorch with torch.cdist)` });
    if (bhSmall.python_formula_us) {
      const rf = bhSmall.addon_us / bhSmall.python_formula_us;
      targets.push({ id: 'batch-hard-vs-pytorch-formula', value: rf, ok: rf <= 0.5,
        text: `the same against PyTorch with the distance matrix written out (open-reid style): addon/PyTorch = ${report.fmtRatio(rf)} (${report.fmtUs(bhSmall.python_formula_us)} µs)` });
    }
    const tr = tfjs && tfjs.rows ? tfjs.rows.find((x) => x.id === 'batchHardTripletLoss/small') : null;
    const q = tr && tr.cpu_us && bhSmall.addon_us ? tr.cpu_us / bhSmall.addon_us : null;
    targets.push({ id: 'batch-hard-vs-tfjs-cpu', value: q, ok: q == null ? null : q >= 10,
      text: `addon batch-hard N=32 D=128 at least 10x faster than TF.js cpu: TF.js cpu / addon = ${report.fmtRatio(q)}` +
        (tr ? ` (${report.fmtUs(tr.cpu_us)} vs ${report.fmtUs(bhSmall.addon_us)} µs; TF.js wasm / addon = ${report.fmtRatio(tr.wasm_us / bhSmall.addon_us)})` : '') });
  }

  // 6. write --------------------------------------------------------------------------------
  const info = torch.info();
  const results = {
    machine: {
      info,
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      cpu: os.cpus()[0] ? os.cpus()[0].model : 'unknown',
      cores: args.cores,
      memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
      python: python.info ? python.info.python : null,
      pythonTorch: python.info ? python.info.torch : null,
      pythonError: python.error || null,
      threads: args.threads,
      addonThreads: torch.getNumThreads(),
      pythonThreads: python.info ? python.info.threads : null,
      pythonInteropThreads: python.info ? python.info.interop_threads : null,
      env: Object.fromEntries(['OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'].map((k) => [k, process.env[k] ?? null])),
      tfjs: tfjs && tfjs.versions ? tfjs.versions : null,
      tfjsWasm: tfjs && tfjs.wasm ? tfjs.wasm : null,
      date: new Date().toISOString(),
      loadavgBefore: loadBefore,
      loadavgAfter: os.loadavg(),
      loadavg1mBefore: loadBefore[0],
      loadavg1mAfter: os.loadavg()[0],
      commit: git('rev-parse', '--short', 'HEAD'),
      dirty: (git('status', '--porcelain', '--untracked-files=no') || '') !== '',
      binaryModified: binaryMtime(info.binary),
      seconds: (now() - started) / 1e9,
    },
    timing: { ...t, quick: args.quick, statistic: 'median over batches of the mean µs per call' },
    loadWarning,
    rows,
    variantForms: VARIANTS,
    variants,
    modules,
    tfjs,
    floor,
    targets,
    errors,
  };
  let md = report.markdown(results);
  // The triplet family at N = 1024, D = 512 against the ways Python writes it (bench/triplet-family.js):
  // part of a full run, left out of --only / --quick / --no-python runs.
  if (!args.only && !args.quick && !args.noPython) {
    process.stderr.write('bench: triplet family (N = 1024, D = 512) ...\n');
    const family = spawnSync(process.execPath, [path.join(__dirname, 'triplet-family.js'), '--threads', String(args.threads), '--python', args.python],
      { encoding: 'utf8', maxBuffer: 1 << 24 });
    results.tripletFamily = family.status === 0 ? family.stdout : `failed: ${family.stderr}`;
    md += `\n## Batch-hard and semi-hard triplet vs the Python ways of writing them\n\n${results.tripletFamily}`;
  }
  fs.writeFileSync(path.join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(__dirname, 'results.md'), md);
  if (rows.length) fs.writeFileSync(path.join(__dirname, 'results.svg'), report.svg(results));

  if (args.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else process.stdout.write(`\n${md}\nwritten: bench/results.json, bench/results.md${rows.length ? ', bench/results.svg' : ''} (${results.machine.seconds.toFixed(0)} s)\n`);
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack || error}\n`);
  process.exit(1);
});
