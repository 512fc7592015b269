// The metric against a param, coloured by another; with a repeat param, one marker per combination
// (mean and sd over it) that opens its runs; failed runs as red crosses on a strip below the axis.

import { openAggregate, openDetail } from "./detail.js";
import { clear, exportButtons, metricAxis, onClick, plot } from "./plots.js";
import { register } from "./render.js";
import { column, comboKey, S, stamps } from "./state.js";
import { aggregate, extent } from "./stats.js";
import { byValue, distinct, esc, escValue, FAILED, FAILED_STATES, fmt, isNum, PALETTE, RAMP } from "./util.js";

// points split by the colour param: one group per value, or 8 bins for many numeric values
export function traceGroups(D, ks, key) {
  if (!key) return [{ name: "", ks }];
  const values = column(D, key);
  const kinds = distinct(ks.map((k) => values[k]));
  if (kinds.length <= PALETTE.length || !kinds.every(isNum)) {
    const groups = new Map();
    for (const k of ks) {
      const v = values[k];
      if (!groups.has(v)) groups.set(v, []);
      groups.get(v).push(k);
    }
    return [...groups.entries()].sort((a, b) => byValue(a[0], b[0])).map(([v, g]) => ({ name: `${key.slice(2)}=${fmt(v)}`, ks: g }));
  }
  const [lo, hi] = extent(kinds);
  const edge = (b) => fmt(lo + (b * (hi - lo)) / RAMP.length);
  const bins = RAMP.map((_, b) => ({ name: `${key.slice(2)} ${edge(b)}..${edge(b + 1)}`, ks: [] }));
  for (const k of ks) bins[Math.min(RAMP.length - 1, Math.floor(((values[k] - lo) / (hi - lo || 1)) * RAMP.length))].ks.push(k);
  return bins.filter((b) => b.ks.length);
}

function meanTraces(D, groups, xs, ys, repeat) {
  const cells = [];
  const traces = groups.map((g, i) => {
    const cs = aggregate(g.ks, comboKey(D, repeat), ys).filter((c) => c.n > 0);
    cs.sort((a, b) => byValue(xs[a.ks[0]], xs[b.ks[0]]));
    const first = cells.length;
    cells.push(...cs);
    return {
      type: "scattergl",
      mode: "markers",
      name: esc(g.name || `mean over ${repeat}`),
      x: cs.map((c) => escValue(xs[c.ks[0]])),
      y: cs.map((c) => c.mean),
      customdata: cs.map((_, j) => `a:${first + j}`),
      error_y: { type: "data", array: cs.map((c) => c.sd), visible: true },
      hovertemplate: `${esc(S.xParam)}=%{x}<br>${esc(S.metric)} mean %{y}<br>%{text}<extra></extra>`,
      text: cs.map((c) => `${c.n} runs of ${esc(repeat)}, sd ${fmt(c.sd)}`),
      marker: { color: PALETTE[i % PALETTE.length], size: 7 },
    };
  });
  return { traces, cells };
}

// numbers travel to Plotly as typed arrays (it copies and checks plain arrays value by value)
function pointTraces(D, groups, xs, ys, x, numeric) {
  const idx = D.points.columns.index;
  const many = groups.reduce((n, g) => n + g.ks.length, 0) > 5000;
  return groups.map((g, i) => ({
    type: "scattergl",
    mode: "markers",
    name: esc(g.name || S.metric),
    x: numeric ? Float64Array.from(g.ks, (k) => xs[k] ?? Number.NaN) : g.ks.map((k) => escValue(xs[k])),
    y: Float64Array.from(g.ks, (k) => ys[k]),
    customdata: g.ks.map((k) => idx[k]),
    hovertemplate: `point %{customdata}<br>${esc(x)}=%{x}<br>${esc(S.metric)}=%{y}<extra></extra>`,
    marker: { color: PALETTE[i % PALETTE.length], size: many ? 3 : 6, opacity: 0.8 },
  }));
}

function failedTrace(D, xs, x) {
  const status = D.points.columns.status;
  const idx = D.points.columns.index;
  const ks = [...S.sel].filter((k) => FAILED_STATES.has(status[k]));
  if (!ks.length) return null;
  return {
    type: "scatter",
    mode: "markers",
    name: "failed (no result)",
    x: ks.map((k) => escValue(xs[k])),
    y: ks.map(() => 0),
    yaxis: "y2",
    customdata: ks.map((k) => idx[k]),
    hovertemplate: `point %{customdata}<br>${esc(x)}=%{x}<br>%{text}<extra>failed</extra>`,
    text: ks.map((k) => esc(status[k])),
    marker: { color: FAILED, symbol: "x", size: 7 },
  };
}

async function draw() {
  const D = S.D;
  const div = document.getElementById("scatter-plot");
  const x = S.xParam;
  if (!S.metric || !x) return clear(div);
  const xs = column(D, `p:${x}`);
  const ys = column(D, `m:${S.metric}`);
  const ks = [...S.sel].filter((k) => isNum(ys[k]));
  const repeat = S.repeat && S.repeat !== x ? S.repeat : "";
  const groups = traceGroups(D, ks, S.colour && S.colour !== x && S.colour !== repeat ? `p:${S.colour}` : "");
  const categorical = !xs.every((v) => v === null || isNum(v));
  const made = repeat ? meanTraces(D, groups, xs, ys, repeat) : { traces: pointTraces(D, groups, xs, ys, x, !categorical), cells: null };
  const failed = failedTrace(D, xs, x);
  const traces = failed ? [...made.traces, failed] : made.traces;
  div.dataset.points = String(made.cells ? made.cells.length : ks.length);
  div.dataset.failed = String(failed ? failed.x.length : 0);
  const title = esc(S.metric) + (repeat ? ` (mean ± sd over ${esc(repeat)})` : "");
  const layout = {
    xaxis: { title: { text: esc(x) }, type: categorical ? "category" : D.log_params.includes(x) ? "log" : "linear" },
    yaxis: { ...metricAxis(S.logMetric, title), domain: failed ? [0.14, 1] : [0, 1] },
  };
  if (failed)
    layout.yaxis2 = {
      domain: [0, 0.06],
      showticklabels: false,
      title: { text: "failed", font: { size: 10, color: FAILED } },
      fixedrange: true,
      zeroline: false,
      showgrid: false,
    };
  await plot(div, traces, layout);
  onClick(div, (c) => (typeof c === "string" && c.startsWith("a:") ? openAggregate(made.cells[Number(c.slice(2))]) : openDetail(c)));
}

register({
  name: "scatter",
  section: "scatter",
  sig: () =>
    JSON.stringify([
      S.D.name,
      S.D.version,
      stamps(S.D, `m:${S.metric}`, "c:status"),
      S.selVersion,
      S.metric,
      S.logMetric,
      S.xParam,
      S.colour,
      S.repeat,
    ]),
  draw,
});

export const scatterExports = () => exportButtons("scatter-plot", "metric-against-param");
