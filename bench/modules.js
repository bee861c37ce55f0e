'use strict';
/**
 * The parameter modules' rows of `npm run bench` (issue 5's targets), each timed in alternation,
 * batch by batch, with its Python counterparts (bench/modules_reference.py through
 * bench/reference.py):
 *
 * - CenterLoss at B=1024, d=512, C=10,000 and C=100,000: the addon's module (gathers the B centres
 *   it needs) vs the B x C distance-matrix formula of source document 000 in PyTorch. Target: at
 *   least 50x faster, and the addon's time flat as C grows 10x.
 * - ArcFaceLoss at B=1024, d=512, C=10,000: the addon's fused op vs the floor (one B x d x C
 *   torch.mm) and vs the same loss composed from torch ops. Targets: at most 3.5x the floor, and
 *   faster than the composed loss.
 *
 * Each addon call is zeroGrad() + forward() (loss, the input's gradient returned as a fresh
 * Float32Array, the parameters' gradient accumulated); each PyTorch call sets .grad = None and
 * runs forward + backward (gradients of the input and the parameters). --quick: B=256, C/10.
 */
const { makeInputs } = require('./inputs');
const { measurePair, runBatch, warmUp } = require('./timing');

const SEED = 20240611;

function cases(quick) {
  const b = quick ? 256 : 1024, d = 512, c = quick ? 1000 : 10000;
  return [
    { id: `CenterLoss/C=${c}`, loss: 'CenterLoss', batch: b, dim: d, classes: c, python: ['distmat'] },
    { id: `CenterLoss/C=${10 * c}`, loss: 'CenterLoss', batch: b, dim: d, classes: 10 * c, python: ['distmat'] },
    { id: `ArcFaceLoss/C=${c}`, loss: 'ArcFaceLoss', batch: b, dim: d, classes: c, python: ['floor', 'torch'] },
  ].map((x) => ({ ...x, sizeLabel: `B=${x.batch} d=${x.dim} C=${x.classes}` }));
}

function addonStep(torch, c) {
  const [input] = makeInputs({ inputs: [{ kind: 'randn', shape: [c.batch, c.dim], grad: true }] }, SEED);
  const labels = Int32Array.from({ length: c.batch }, (_, i) => (i * 7919) % c.classes);
  const m = c.loss === 'CenterLoss'
    ? new torch.nn.CenterLoss({ numClasses: c.classes, featDim: c.dim })
    : new torch.nn.ArcFaceLoss({ inFeatures: c.dim, numClasses: c.classes });
  return {
    step: () => {
      m.zeroGrad();
      return m.forward(input, labels);
    },
    dispose: () => m.dispose(),
  };
}

/** Runs the rows; `select.has(case)` filters them (--only: ids or 'CenterLoss' / 'ArcFaceLoss'). */
async function run({ torch, python, t, select, log, errors }) {
  const rows = [];
  for (const c of cases(t.quick).filter(select.has)) {
    let s = null;
    try {
      s = addonStep(torch, c);
    } catch (error) {
      errors.push(`addon ${c.id}: ${error.message}`);
    }
    const sides = [s && { warmUp: (tt) => warmUp(s.step, tt), batch: (ns) => runBatch(s.step, ns) }];
    for (const [k, impl] of c.python.entries()) {
      const slot = `module${k}`;
      const check = (r) => {
        if (!r || r.error) throw new Error(r ? r.error : 'no PyTorch side');
        return r;
      };
      sides.push(python.error ? null : {
        warmUp: async (tt) => check(await python.request({ op: 'prepareModule', slot, seed: SEED, timing: tt, case: { ...c, impl } })),
        batch: async (batchNs) => check(await python.request({ op: 'batchModule', slot, batchNs })),
      });
    }
    const names = ['addon', ...c.python.map((p) => `PyTorch ${p}`)];
    const measured = await measurePair(sides, t, (i, error) => errors.push(`${names[i]} ${c.id}: ${error.message}`));
    if (s) s.dispose();
    const row = { id: c.id, loss: c.loss, sizeLabel: c.sizeLabel, addon_us: measured[0] ? measured[0].us : null, detail: {} };
    c.python.forEach((p, k) => {
      row[`python_${p}_us`] = measured[k + 1] ? measured[k + 1].us : null;
      row.detail[p] = measured[k + 1];
    });
    row.detail.addon = measured[0];
    rows.push(row);
    log(`  ${c.loss.padEnd(30)} ${c.sizeLabel.padEnd(22)} addon ${fmt(row.addon_us)} µs   ` +
      c.python.map((p) => `PyTorch ${p} ${fmt(row[`python_${p}_us`])} µs`).join('   '));
  }
  return { rows, targets: targets(rows) };
}

const fmt = (us) => (us == null ? 'n/a' : us >= 100 ? us.toFixed(0) : us.toFixed(1));
const ratio = (a, b) => (a != null && b != null ? a / b : null);

function targets(rows) {
  const out = [];
  const centers = rows.filter((r) => r.loss === 'CenterLoss');
  for (const r of centers) {
    const speedup = ratio(r.python_distmat_us, r.addon_us);
    out.push({ id: `center-vs-distmat ${r.sizeLabel}`, value: speedup, ok: speedup == null ? null : speedup >= 50,
      text: `CenterLoss ${r.sizeLabel}: PyTorch distance-matrix formula / addon = ${speedup == null ? 'n/a' : `${speedup.toFixed(0)}x`} (target >= 50x)` });
  }
  if (centers.length === 2) {
    const growth = ratio(centers[1].addon_us, centers[0].addon_us);
    out.push({ id: 'center-flat-in-C', value: growth, ok: growth == null ? null : growth <= 1.5,
      text: `CenterLoss addon time at 10x the classes / at 1x = ${growth == null ? 'n/a' : growth.toFixed(2)} (flat: <= 1.5)` });
  }
  const arc = rows.find((r) => r.loss === 'ArcFaceLoss');
  if (arc) {
    const floor = ratio(arc.addon_us, arc.python_floor_us);
    const composed = ratio(arc.addon_us, arc.python_torch_us);
    out.push({ id: 'arcface-vs-floor', value: floor, ok: floor == null ? null : floor <= 3.5,
      text: `ArcFaceLoss ${arc.sizeLabel} forward+backward / one B x d x C torch.mm = ${floor == null ? 'n/a' : floor.toFixed(2)} (target <= 3.5)` });
    out.push({ id: 'arcface-vs-composed', value: composed, ok: composed == null ? null : composed < 1,
      text: `ArcFaceLoss addon / the same loss composed from torch ops = ${composed == null ? 'n/a' : composed.toFixed(2)} (target < 1)` });
  }
  return out;
}

/** The markdown section. */
function markdown(modules) {
  if (!modules || !modules.rows.length) return [];
  const lines = ['## Losses with parameters', '',
    'Module forward+backward (`zeroGrad(); forward()`: loss, input gradient, parameter gradient) vs PyTorch in ' +
      'alternation (bench/modules.js, bench/modules_reference.py): CenterLoss against the B × C distance-matrix ' +
      'formula of source document 000, ArcFace against one B × d × C `torch.mm` (the floor) and the loss composed ' +
      'from torch ops.', '',
    '| loss | size | addon µs | PyTorch µs | addon / PyTorch |', '| --- | --- | ---: | ---: | ---: |'];
  for (const r of modules.rows) {
    for (const key of Object.keys(r).filter((k) => k.startsWith('python_') && k.endsWith('_us'))) {
      const impl = key.slice('python_'.length, -'_us'.length);
      const label = { distmat: 'distance-matrix formula', floor: 'floor: one torch.mm', torch: 'composed torch ops' }[impl] || impl;
      const q = ratio(r.addon_us, r[key]);
      lines.push(`| ${r.loss} | ${r.sizeLabel} | ${fmt(r.addon_us)} | ${fmt(r[key])} (${label}) | ${q == null ? 'n/a' : q.toFixed(3)} |`);
    }
  }
  lines.push('', ...modules.targets.map((x) => `- ${x.ok === true ? 'met' : x.ok === false ? 'NOT met' : 'n/a'}: ${x.text}`), '');
  return lines;
}

module.exports = { run, cases, markdown };
