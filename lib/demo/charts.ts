/** Small dependency-free SVG charts for the demo's output folder. */

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { left: 60, right: 130, top: 40, bottom: 50 };
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) =>
  Number.isInteger(v) || Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** A y axis with 5 ticks from `low` to `high`, and the plot's frame. */
function axes(low: number, high: number, xLabel: string, yLabel: string): string[] {
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const out: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = low + ((high - low) * i) / 4;
    const y = MARGIN.top + plotH - (plotH * i) / 4;
    out.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${WIDTH - MARGIN.left - MARGIN.right}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${(MARGIN.left + WIDTH - MARGIN.right) / 2}" y="${HEIGHT - 12}" text-anchor="middle">${escape(xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`);
  return out;
}

function legend(names: string[]): string[] {
  return names.flatMap((name, i) => {
    const y = MARGIN.top + 10 + 18 * i;
    const x = WIDTH - MARGIN.right + 12;
    return [
      `<rect x="${x}" y="${y - 9}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${x + 18}" y="${y + 1}">${escape(name)}</text>`,
    ];
  });
}

/** Lines over a shared x (e.g. the loss per training step); NaN points are skipped. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: { name: string; values: number[] }[]): string {
  const all = series.flatMap((s) => s.values.filter(Number.isFinite));
  const low = Math.min(0, ...all);
  const high = Math.max(...all, low + 1e-9);
  const count = Math.max(...series.map((s) => s.values.length), 2);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (i: number) => MARGIN.left + (plotW * i) / (count - 1);
  const y = (v: number) => MARGIN.top + plotH - (plotH * (v - low)) / (high - low);
  const body = axes(low, high, xLabel, yLabel);
  body.push(`<text x="${MARGIN.left}" y="${HEIGHT - 30}" text-anchor="middle">1</text>`);
  body.push(`<text x="${WIDTH - MARGIN.right}" y="${HEIGHT - 30}" text-anchor="middle">${count}</text>`);
  series.forEach((s, k) => {
    const points = s.values.flatMap((v, i) => (Number.isFinite(v) ? [`${x(i).toFixed(1)},${y(v).toFixed(1)}`] : []));
    body.push(`<polyline fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="1.5" points="${points.join(' ')}"/>`);
  });
  return frame(title, [...body, ...legend(series.map((s) => s.name))]);
}

/** Grouped bars: one group per category, one bar per series (values in [0, 1] shown as %). */
export function barChart(title: string, categories: string[], series: { name: string; values: number[] }[]): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const groupW = plotW / categories.length;
  const barW = (groupW * 0.7) / series.length;
  const body = axes(0, 100, '', '%');
  categories.forEach((category, c) => {
    const gx = MARGIN.left + groupW * c + groupW * 0.15;
    series.forEach((s, k) => {
      const v = 100 * s.values[c];
      const h = (plotH * v) / 100;
      const bx = gx + barW * k;
      body.push(`<rect x="${bx.toFixed(1)}" y="${(MARGIN.top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[k % COLORS.length]}"/>`);
      body.push(`<text x="${(bx + barW / 2).toFixed(1)}" y="${(MARGIN.top + plotH - h - 4).toFixed(1)}" text-anchor="middle" font-size="11">${v.toFixed(1)}</text>`);
    });
    body.push(`<text x="${(gx + groupW * 0.35).toFixed(1)}" y="${HEIGHT - 30}" text-anchor="middle">${escape(category)}</text>`);
  });
  return frame(title, [...body, ...legend(series.map((s) => s.name))]);
}
