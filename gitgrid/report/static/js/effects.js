// Effects and importance: for each param that varies, its main effect (the mean and sd of the metric in
// each of its values or bins) and its importance (the share of the metric's variance those groups
// explain, corrected for their number: see stats.mainEffect), ranked. On a grid as on an optimisation's
// samples (continuous params are binned); over the points that pass the filters. Both figures are SVG
// drawn by the page (figure.js), and drawn again only when what they show changed.

import { saveFigure, scale, svgEl, text, tickLabel, ticks } from "./figure.js";
import { exporter } from "./plots.js";
import { register, renderAll } from "./render.js";
import { bins, cached, column, S, stamp } from "./state.js";
import { mainEffect, ranked } from "./stats.js";
import { $, clip, fmt, isNum, PALETTE } from "./util.js";

const SHOWN = 8; // main effects drawn at most (the most important first)
const PANEL = 220; // the height of one main effect's panel
const INK = "#1d2430";
const GRID = "#e6e9ef";

// each point's group (value or bin) of `param`, once per data version
const groupsOf = (D, param) =>
  cached(D, `groups ${param}`, [`p:${param}`], () => {
    const b = bins(D, param);
    return Int16Array.from(D.points.params[param], (v) => b.of(v));
  });

// the metric as numbers (NaN: none), or their log10 (NaN at or below 0), once per data version
const metricValues = (D, metric, log) =>
  cached(D, `values ${metric} ${log}`, [`m:${metric}`], () =>
    Float64Array.from(column(D, `m:${metric}`), (v) => (isNum(v) && (!log || v > 0) ? (log ? Math.log10(v) : v) : Number.NaN)),
  );

export function effects(D, ks, metric, log) {
  const ys = metricValues(D, metric, log);
  return ranked(
    D.varying.map((param) => {
      const b = bins(D, param);
      const found = mainEffect(ys, ks, groupsOf(D, param), b.labels.length);
      return { param, importance: found.importance, stats: found.stats, labels: b.labels, binned: b.binned, n: found.n };
    }),
  );
}

function importanceFigure(found, width) {
  const height = 260;
  const [left, right, top, bottom] = [90, width - 56, 8, height - 44];
  const most = Math.max(...found.map((e) => e.importance * 100), 1e-9);
  let grid = ticks(0, most, 4);
  const step = grid.length > 1 ? grid[1] - grid[0] : most;
  grid = ticks(0, Math.ceil(most / step - 1e-9) * step, 4); // up to the tick at or above the largest share
  const x = scale(0, grid[grid.length - 1] || most, left, right);
  const row = Math.min(30, (bottom - top) / Math.max(found.length, 1));
  const parts = grid.map((v) =>
    svgEl(
      "g",
      {},
      svgEl("line", { x1: x(v), x2: x(v), y1: top, y2: bottom, stroke: GRID }),
      text({ x: x(v), y: bottom + 14, "text-anchor": "middle" }, tickLabel(v, grid)),
    ),
  );
  found.forEach((e, i) => {
    const share = e.importance * 100;
    const y = top + i * row;
    const tip = `${e.param}: ${share.toFixed(1)} % of the variance`;
    parts.push(
      text({ x: left - 6, y: y + row / 2 + 4, "text-anchor": "end" }, clip(e.param), tip),
      svgEl(
        "rect",
        { x: left, y: y + row * 0.15, width: Math.max(0, x(share) - left), height: row * 0.7, fill: PALETTE[0] },
        svgEl("title", {}, tip),
      ),
      text({ x: x(share) + 4, y: y + row / 2 + 4 }, `${share.toFixed(1)} %`),
    );
  });
  parts.push(text({ x: (left + right) / 2, y: height - 8, "text-anchor": "middle" }, "variance explained (%)"));
  return svgEl("svg", { width, height, "font-family": "system-ui, sans-serif", "font-size": 11, fill: INK }, parts);
}

// one param's panel: the mean of each group, ± sd as error bars; a shared metric axis `y`
function panel(e, i, box, y, grid, yTitle) {
  const used = e.stats.map((s, j) => [s, j]).filter(([s]) => s.n);
  const x = (j) => box.left + ((j + 0.5) / e.labels.length) * (box.right - box.left);
  const colour = PALETTE[i % PALETTE.length];
  const every = Math.max(1, Math.ceil((e.labels.length * 56) / (box.right - box.left))); // labels that fit
  const parts = [
    svgEl("rect", { x: box.left, y: box.top, width: box.right - box.left, height: box.bottom - box.top, fill: "none", stroke: GRID }),
  ];
  for (const v of grid) {
    parts.push(svgEl("line", { x1: box.left, x2: box.right, y1: y(v), y2: y(v), stroke: GRID }));
    if (yTitle !== null) parts.push(text({ x: box.left - 4, y: y(v) + 3, "text-anchor": "end" }, tickLabel(v, grid)));
  }
  e.labels.forEach((label, j) => {
    if (j % every === 0) parts.push(text({ x: x(j), y: box.bottom + 12, "text-anchor": "middle", "font-size": 9 }, clip(label), label));
  });
  parts.push(
    text({ x: (box.left + box.right) / 2, y: box.bottom + 28, "text-anchor": "middle" }, clip(e.param) + (e.binned ? " (binned)" : "")),
  );
  if (yTitle)
    parts.push(
      text(
        { x: 12, y: (box.top + box.bottom) / 2, transform: `rotate(-90 12 ${(box.top + box.bottom) / 2})`, "text-anchor": "middle" },
        yTitle,
      ),
    );
  parts.push(
    svgEl("polyline", {
      points: used.map(([s, j]) => `${x(j)},${y(s.mean)}`).join(" "),
      fill: "none",
      stroke: colour,
      "stroke-width": 1.5,
    }),
  );
  for (const [s, j] of used) {
    const [lo, hi] = [y(s.mean - s.sd), y(s.mean + s.sd)];
    const tip = `${e.param}=${e.labels[j]}\nmean ${fmt(s.mean)} ± ${fmt(s.sd)} (sd), n = ${s.n}`;
    parts.push(
      svgEl("path", { d: `M${x(j)} ${lo}V${hi}M${x(j) - 3} ${lo}h6M${x(j) - 3} ${hi}h6`, stroke: colour }),
      svgEl("circle", { cx: x(j), cy: y(s.mean), r: 3.5, fill: colour }, svgEl("title", {}, tip)),
    );
  }
  return svgEl("g", { "data-param": e.param }, parts);
}

function effectsFigure(shown, width, yTitle) {
  const columns = Math.min(4, shown.length);
  const rows = Math.ceil(shown.length / columns);
  const height = PANEL * rows + 10;
  let [lo, hi] = [Infinity, -Infinity];
  for (const e of shown) for (const s of e.stats) if (s.n) [lo, hi] = [Math.min(lo, s.mean - s.sd), Math.max(hi, s.mean + s.sd)];
  if (lo === Infinity) [lo, hi] = [0, 1];
  const pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.1 || 1;
  const grid = ticks(lo - pad, hi + pad, 4);
  const cell = (width - 24) / columns;
  const panels = shown.map((e, i) => {
    const [c, r] = [i % columns, Math.floor(i / columns)];
    const box = { left: 24 + c * cell + 40, right: 24 + (c + 1) * cell - 8, top: r * PANEL + 10, bottom: (r + 1) * PANEL - 40 };
    const y = scale(lo - pad, hi + pad, box.bottom, box.top);
    return panel(e, i, box, y, grid, c === 0 ? yTitle : null);
  });
  return svgEl("svg", { width, height, "font-family": "system-ui, sans-serif", "font-size": 10, fill: INK }, panels);
}

function draw() {
  const D = S.D;
  const [bars, lines] = [$("importance-plot"), $("effects-plot")];
  if (!S.metric || !D.varying.length) {
    $("effects-note").textContent = S.metric ? "no param varies" : "no metric yet";
    bars.replaceChildren();
    lines.replaceChildren();
    return;
  }
  const log = S.logMetric;
  const found = effects(D, S.sel, S.metric, log);
  const n = found.length ? found[0].n : 0;
  const shown = found.slice(0, SHOWN);
  bars.dataset.ranking = JSON.stringify(found.map((e) => [e.param, Number(e.importance.toFixed(4))]));
  lines.dataset.params = JSON.stringify(shown.map((e) => e.param));
  $("effects-note").textContent =
    `${n} points with ${S.metric}${log ? " (its log10)" : ""}; importance: the share of its variance each param's values explain on their own`;
  const yTitle = S.metric + (log ? " (log10)" : "");
  const stamp = JSON.stringify([found, measured, yTitle]);
  if (stamp === lines.dataset.stamp) return; // what it would draw is what it shows
  lines.dataset.stamp = stamp;
  bars.replaceChildren(importanceFigure(found, measured[0] || 400));
  lines.replaceChildren(effectsFigure(shown, measured[1] || 800, yTitle));
  lines.style.height = `${lines.firstChild.getAttribute("height")}px`;
}

const widths = () => [$("importance-plot").clientWidth, $("effects-plot").clientWidth];
let measured = [0, 0]; // the widths read by sig(), before any view drew (a read after would lay the page out again)

register({
  name: "effects",
  section: "effects",
  sig: () => {
    measured = widths();
    return JSON.stringify([S.D.name, S.D.version, stamp(S.D, `m:${S.metric}`), S.selVersion, S.metric, S.logMetric, measured]);
  },
  draw,
});

export function setupEffects() {
  exporter("importance-plot", (format, name) => saveFigure($("importance-plot"), format, name));
  exporter("effects-plot", (format, name) => saveFigure($("effects-plot"), format, name));
  let drawn = "";
  new ResizeObserver(() => {
    const now = JSON.stringify(widths());
    if (S.D && drawn && now !== drawn) renderAll();
    drawn = now;
  }).observe($("effects-plot"));
}
