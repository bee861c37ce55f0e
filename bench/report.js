'use strict';
/**
 * Turns bench results (the object bench/run.js writes to results.json) into results.md (four
 * tables) and results.svg (a hand-written bar chart of addon/PyTorch per loss and size).
 */

function fmtUs(us) {
  if (us == null || !Number.isFinite(us)) return 'n/a';
  if (us >= 1000) return us.toFixed(0);
  if (us >= 100) return us.toFixed(1);
  return us.toFixed(2);
}

const fmtRatio = (r) => (r == null || !Number.isFinite(r) ? 'n/a' : `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`);

/** Half the range of a side's batch means, as a percentage of its median: the run's own noise. */
function spread(detail) {
  if (!detail || !detail.batches_us || detail.batches_us.length < 2) return null;
  const b = detail.batches_us;
  return (50 * (Math.max(...b) - Math.min(...b))) / detail.us;
}
const fmtSpread = (s) => (s == null ? 'n/a' : `±${s < 10 ? s.toFixed(1) : s.toFixed(0)}%`);

function table(header, align, rows) {
  return [
    `| ${header.join(' | ')} |`,
    `| ${align.map((a) => (a === 'r' ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function mainTable(rows) {
  return table(
    ['loss', 'size', 'addon µs', 'PyTorch µs', 'addon/PyTorch', 'batch spread (addon, PyTorch)'],
    ['l', 'l', 'r', 'r', 'r', 'r'],
    rows.map((r) => [
      `F.${r.loss}`, r.sizeLabel, fmtUs(r.addon_us), fmtUs(r.python_us), fmtRatio(r.ratio),
      `${fmtSpread(spread(r.addon_detail))}, ${fmtSpread(spread(r.python_detail))}`,
    ]),
  );
}

function variantsTable(variants, forms) {
  return table(
    ['loss', 'size', ...forms.map((f) => `${f.label} µs`), 'PyTorch µs'],
    ['l', 'l', ...forms.map(() => 'r'), 'r'],
    variants.map((v) => [
      `F.${v.loss}`, v.sizeLabel, ...forms.map((f) => fmtUs(v.us[f.id])), fmtUs(v.python_us),
    ]),
  );
}

function tfjsTable(rows) {
  return table(
    ['loss', 'size', 'addon µs', 'PyTorch µs', 'TF.js cpu µs', 'TF.js wasm µs', 'TF.js cpu / addon', 'TF.js wasm / addon', 'max abs. diff. vs addon (loss, grad)'],
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows.map((r) => [
      `${r.loss}`, r.sizeLabel, fmtUs(r.addon_us), fmtUs(r.python_us), fmtUs(r.cpu_us), fmtUs(r.wasm_us),
      fmtRatio(r.cpu_us / r.addon_us), fmtRatio(r.wasm_us / r.addon_us),
      r.check ? `${r.check.loss.toExponential(1)}, ${r.check.grad.toExponential(1)}` : 'n/a',
    ]),
  );
}

function floorTable(floor) {
  const mm = floor.find((f) => f.engine === 'pytorch');
  return table(
    ['what', 'N', 'D', 'ms per call', 'GFLOP/s (2·N²·D / t)', mm ? `× one torch.mm (${mm.n}, ${mm.d})` : '× torch.mm', 'threads'],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    floor.map((f) => [
      f.label, String(f.n), String(f.d), f.us == null ? `n/a${f.error ? ` (${f.error})` : ''}` : (f.us / 1000).toFixed(1),
      f.gflops == null ? 'n/a' : `${f.gflops.toFixed(f.gflops >= 10 ? 1 : 2)}${f.note ? ` (${f.note})` : ''}`,
      f.perFloor == null || f.engine === 'pytorch' ? '' : `${f.perFloor.toFixed(f.perFloor >= 10 ? 0 : 2)}×`,
      String(f.threads ?? 'n/a'),
    ]),
  );
}

function targetLines(targets) {
  return targets.map((t) => `- ${t.ok == null ? '?' : t.ok ? 'met' : 'NOT met'}: ${t.text}`).join('\n');
}

function markdown(res) {
  const m = res.machine;
  const lines = [
    '# torch-losses benchmark',
    '',
    `${m.date}; commit ${m.commit ?? 'n/a'}${m.dirty ? ' (+ uncommitted changes)' : ''}; ${m.cpu}, ${m.cores} core(s); ` +
      `**${m.threads} thread(s)** on every side (libtorch intra-op and OpenBLAS); ` +
      `addon ${m.info.version} on libtorch ${m.info.libtorchVersion}, node ${m.node}; ` +
      `PyTorch ${m.pythonTorch ?? `n/a (${m.pythonError})`} (Python ${m.python ?? 'n/a'}); ` +
      `TF.js ${m.tfjs ? m.tfjs.tfjs : 'n/a'}; load average (1 min) ${m.loadavg1mBefore.toFixed(2)} before, ` +
      `${m.loadavg1mAfter.toFixed(2)} after; run took ${m.seconds.toFixed(0)} s` + (res.timing.quick ? ' (--quick)' : ''),
    '',
    `Every figure: one forward+backward call (loss and every gradient), median of up to ${res.timing.batches} ` +
      'time-boxed batches of the mean µs per call. Addon: `{data, shape}` inputs, gradients returned as fresh ' +
      'Float32Arrays; PyTorch: `.grad = None; loss = F.<loss>(...); loss.backward()` with the gradients left in ' +
      'torch. The two sides run in alternation, batch by batch. Ratio < 1: the addon is faster; ' +
      '`batch spread`: half the range of a side\'s batch means over its median (the run\'s own noise).',
    '',
  ];
  if (res.loadWarning) lines.push(`> ${res.loadWarning}`, '');
  lines.push('## Addon vs PyTorch, every loss', '', mainTable(res.rows), '');
  if (res.variants && res.variants.length) {
    lines.push('## Calling forms (addon)', '',
      'Same call, four ways: synchronous or `await`ed one after the other, host `{data, shape}` inputs ' +
        '(copied in, gradients copied out into Float32Arrays) or `Tensor`s made once (gradients come back as ' +
        'Tensors and are disposed in the loop).',
      '', variantsTable(res.variants, res.variantForms), '');
  }
  lines.push(...require('./modules').markdown(res.modules));
  if (res.tfjs) {
    lines.push('## TensorFlow.js', '');
    if (res.tfjs.error) lines.push(`n/a: ${res.tfjs.error}`, '');
    else {
      const w = res.tfjs.wasm;
      lines.push(
        `TF.js ${res.tfjs.versions.tfjs}, the same losses written with tf ops (bench/tfjs.js), forward+backward by ` +
          '`tf.valueAndGrads`, inputs made from the Float32Arrays and gradients read back each call. ' +
          `cpu backend: single-threaded JavaScript; wasm backend: ${w.error ? `n/a (${w.error})` : `${w.file}, ${w.threads} thread(s)`}. ` +
          'Last column: largest difference from the addon on the same inputs.',
        '', tfjsTable(res.tfjs.rows), '');
    }
  }
  if (res.targets && res.targets.length) lines.push('Targets:', '', targetLines(res.targets), '');
  if (res.floor && res.floor.length) {
    lines.push('## Matrix-product floor', '',
      'One (N × D) @ (D × N) product, the first step of every distance-matrix loss (batch-hard mines an N × N ' +
        'matrix): no loss over N embeddings of size D can take less. The addon has no matmul of its own; ' +
        'PyTorch runs the same libtorch and BLAS.',
      '', floorTable(res.floor), '');
  }
  if (res.errors && res.errors.length) lines.push('## Errors', '', ...res.errors.map((e) => `- ${e}`), '');
  lines.push('Chart: `bench/results.svg` (addon/PyTorch per loss and size). Raw batches: `bench/results.json`.', '');
  return lines.join('\n');
}

// --- chart ----------------------------------------------------------------------------------

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Horizontal bars of addon/PyTorch on a log axis, one group per loss, one bar per size, with the
 * 1.0 line (parity): bars left of it are where the addon is faster.
 */
function svg(res) {
  const sizes = [
    { size: 'small', name: 'call overhead (N=32)', color: '#4e79a7' },
    { size: 'mid', name: 'N=512 (batch-hard)', color: '#59a14f' },
    { size: 'large', name: 'compute-dominated', color: '#e15759' },
  ];
  const large = res.rows.filter((r) => r.size === 'large');
  const largeSizes = [...new Set(large.map((r) => r.sizeLabel.replace(/ [CD]=/, '×').replace('N=', '').replace(/000000$/, 'M')))];
  if (largeSizes.length) sizes[2].name = `compute-dominated (${largeSizes.join(', ')})`;
  const losses = [...new Set(res.rows.map((r) => r.loss))];
  const groups = losses.map((loss) => ({
    loss,
    bars: sizes
      .map((s) => ({ ...s, row: res.rows.find((r) => r.loss === loss && r.size === s.size) }))
      .filter((b) => b.row),
  }));
  const ratios = res.rows.map((r) => r.ratio).filter((r) => r != null && Number.isFinite(r) && r > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(0.5, ...ratios)) * 2) / 2);
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(2, ...ratios)) * 2) / 2);

  const W = 900;
  const left = 230;
  const right = 80;
  const top = 70;
  const barH = 11;
  const gap = 2;
  const groupGap = 9;
  const plotW = W - left - right;
  const x = (r) => left + (plotW * (Math.log10(r) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  let y = top;
  const body = [];
  for (const g of groups) {
    const h = g.bars.length * (barH + gap) - gap;
    body.push(`<text x="${left - 8}" y="${(y + h / 2 + 4).toFixed(1)}" text-anchor="end" class="label">${esc(g.loss)}</text>`);
    for (const b of g.bars) {
      const r = b.row.ratio;
      if (r != null && Number.isFinite(r) && r > 0) {
        const x0 = x(Math.min(1, r));
        const x1 = x(Math.max(1, r));
        body.push(`<rect x="${x0.toFixed(1)}" y="${y}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${barH}" fill="${b.color}">` +
          `<title>${esc(`${g.loss} ${b.row.sizeLabel}: ${fmtRatio(r)} (addon ${fmtUs(b.row.addon_us)} µs, PyTorch ${fmtUs(b.row.python_us)} µs)`)}</title></rect>`);
        // Whisker: the range of the paired batch ratios (addon batch k / PyTorch batch k),
        // clipped to the axis.
        const pairs = b.row.ratio_batches || [];
        if (pairs.length > 1) {
          const wLo = Math.max(lo, Math.min(...pairs));
          const wHi = Math.min(hi, Math.max(...pairs));
          const cy = y + barH / 2;
          body.push(`<line x1="${x(wLo).toFixed(1)}" y1="${cy}" x2="${x(wHi).toFixed(1)}" y2="${cy}" class="whisker"/>`);
        }
      }
      // Values in a column of their own, right of the plot.
      body.push(`<text x="${W - right + 12}" y="${y + barH - 2}" class="value">${esc(fmtRatio(r))}</text>`);
      y += barH + gap;
    }
    y += groupGap;
  }
  const bottom = y;
  const H = bottom + 100;
  const ticks = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * Math.pow(10, e);
      if (v < lo * 0.999 || v > hi * 1.001) continue;
      const tx = x(v).toFixed(1);
      ticks.push(`<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${bottom}" class="grid"/>`);
      ticks.push(`<text x="${tx}" y="${bottom + 16}" text-anchor="middle" class="tick">${+v.toPrecision(1)}×</text>`);
    }
  }
  const m = res.machine;
  const legend = sizes
    .filter((s) => res.rows.some((r) => r.size === s.size))
    .map((s, i) => `<rect x="${left}" y="${bottom + 28 + i * 17}" width="12" height="12" fill="${s.color}"/>` +
      `<text x="${left + 17}" y="${bottom + 38 + i * 17}" class="tick">${esc(s.name)}</text>`)
    .join('\n  ');
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">
  <style>
    .title { font-size: 16px; font-weight: bold; }
    .sub, .tick, .value { font-size: 11px; fill: #333; }
    .label { font-size: 12px; fill: #111; }
    .grid { stroke: #ddd; stroke-width: 1; }
    .parity { stroke: #000; stroke-width: 1.5; stroke-dasharray: 5 3; }
    .whisker { stroke: #222; stroke-width: 1; }
  </style>
  <rect width="100%" height="100%" fill="#fff"/>
  <text x="${W / 2}" y="24" text-anchor="middle" class="title">torch-losses: addon time / PyTorch time, forward+backward (log scale; &lt; 1 = addon faster)</text>
  <text x="${W / 2}" y="44" text-anchor="middle" class="sub">${esc(`${m.threads} thread(s), ${m.cpu}, ${m.cores} core(s); libtorch ${m.info.libtorchVersion}, PyTorch ${m.pythonTorch ?? 'n/a'}; load ${m.loadavg1mBefore.toFixed(2)}→${m.loadavg1mAfter.toFixed(2)}; ${m.date.slice(0, 16).replace('T', ' ')}${m.commit ? `; ${m.commit}` : ''}`)}</text>
  ${ticks.join('\n  ')}
  ${body.join('\n  ')}
  <line x1="${x(1).toFixed(1)}" y1="${top - 10}" x2="${x(1).toFixed(1)}" y2="${bottom}" class="parity"/>
  <text x="${(x(1) + 4).toFixed(1)}" y="${top - 12}" class="tick">1.0 (parity)</text>
  <text x="${left}" y="${bottom + 90}" class="tick">thin line across a bar: the range of the per-batch ratios (addon and PyTorch batches alternate); right column: the ratio</text>
  ${legend}
</svg>
`;
}

module.exports = { markdown, svg, fmtUs, fmtRatio };
