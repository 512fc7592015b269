// Effects and importance: for each param that varies, its main effect (the mean and sd of the metric in
// each of its values or bins) and its importance (the share of the metric's variance those groups
// explain, corrected for their number: see stats.mainEffect), ranked. On a grid as on an optimisation's
// samples (continuous params are binned); over the points that pass the filters.

import { clear, metricAxis, plot } from "./plots.js";
import { register } from "./render.js";
import { bins, column, S } from "./state.js";
import { mainEffect, ranked } from "./stats.js";
import { $, esc, escValue, isNum, PALETTE } from "./util.js";

const SHOWN = 8; // main effects drawn at most (the most important first)

export function effects(D, ks, metric, log) {
  const raw = column(D, `m:${metric}`);
  const ys = log ? raw.map((v) => (isNum(v) && v > 0 ? Math.log10(v) : null)) : raw;
  return ranked(
    D.varying.map((param) => {
      const b = bins(D, param);
      const values = D.points.params[param];
      const found = mainEffect(ys, ks, (k) => b.of(values[k]), b.labels.length);
      return { param, importance: found.importance, stats: found.stats, labels: b.labels, binned: b.binned, n: found.n };
    }),
  );
}

async function draw() {
  const D = S.D;
  const [bars, lines] = [$("importance-plot"), $("effects-plot")];
  if (!S.metric || !D.varying.length) {
    $("effects-note").textContent = S.metric ? "no param varies" : "no metric yet";
    clear(bars);
    return clear(lines);
  }
  const log = S.logMetric;
  const found = effects(D, S.sel, S.metric, log);
  const n = found.length ? found[0].n : 0;
  bars.dataset.ranking = JSON.stringify(found.map((e) => [e.param, Number(e.importance.toFixed(4))]));
  $("effects-note").textContent =
    `${n} points with ${S.metric}${log ? " (its log10)" : ""}; importance: the share of its variance each param's values explain on their own`;
  const order = [...found].reverse(); // Plotly draws horizontal bars bottom up
  await plot(
    bars,
    [
      {
        type: "bar",
        orientation: "h",
        x: order.map((e) => e.importance * 100),
        y: order.map((e) => esc(e.param)),
        text: order.map((e) => `${(e.importance * 100).toFixed(1)} %`),
        textposition: "auto",
        marker: { color: PALETTE[0] },
        hovertemplate: "%{y}: %{x:.1f} % of the variance<extra></extra>",
      },
    ],
    {
      xaxis: { title: { text: "variance explained (%)" }, rangemode: "tozero" },
      yaxis: { automargin: true },
      showlegend: false,
      margin: { l: 90, r: 20, t: 10, b: 50 },
    },
  );
  const shown = found.slice(0, SHOWN);
  const columns = Math.min(4, shown.length);
  const rows = Math.ceil(shown.length / columns);
  const traces = shown.map((e, i) => {
    const used = e.stats.map((s, j) => [s, j]).filter(([s]) => s.n);
    const axis = i === 0 ? "" : String(i + 1);
    return {
      type: "scatter",
      mode: "lines+markers",
      name: esc(e.param),
      xaxis: `x${axis}`,
      yaxis: `y${axis}`,
      x: used.map(([, j]) => escValue(e.labels[j])),
      y: used.map(([s]) => s.mean),
      error_y: { type: "data", array: used.map(([s]) => s.sd), visible: true, thickness: 1 },
      text: used.map(([s]) => `n = ${s.n}`),
      hovertemplate: `${esc(e.param)}=%{x}<br>mean %{y}<br>%{text}<extra></extra>`,
      marker: { color: PALETTE[i % PALETTE.length] },
    };
  });
  const layout = {
    grid: { rows, columns, pattern: "independent", ygap: 0.35 },
    showlegend: false,
    height: 220 * rows + 40,
    margin: { l: 60, r: 10, t: 20, b: 40 },
  };
  shown.forEach((e, i) => {
    const axis = i === 0 ? "" : String(i + 1);
    layout[`xaxis${axis}`] = {
      title: { text: esc(e.param) + (e.binned ? " (binned)" : ""), font: { size: 11 } },
      type: "category",
      tickfont: { size: 9 },
    };
    layout[`yaxis${axis}`] = {
      ...metricAxis(false, i % columns === 0 ? esc(S.metric) + (log ? " (log10)" : "") : ""),
      matches: i ? "y" : undefined,
    };
  });
  lines.style.height = `${layout.height}px`;
  lines.dataset.params = JSON.stringify(shown.map((e) => e.param));
  await plot(lines, traces, layout);
}

register({
  name: "effects",
  section: "effects",
  sig: () => JSON.stringify([S.D.name, S.D.version, S.selVersion, S.metric, S.logMetric]),
  draw,
});
