// An optimisation (gitgrid optimize): progress (the metric of every evaluation by role, and each
// iteration's mean) and the path through parameter space (SPSA's iterates, or each better point found).

import { openDetail } from "./detail.js";
import { clear, metricAxis, onClick, plot } from "./plots.js";
import { register } from "./render.js";
import { column, S, stamp } from "./state.js";
import { $, distinct, esc, fmt, isNum, PALETTE } from "./util.js";

export const searched = (D) => D.varying.filter((p) => D.points.params[p].every((v) => v === null || isNum(v)));

function optimizing(div) {
  const O = S.D.optimize;
  $("optimize").hidden = !O;
  if (!O || !S.metric) {
    clear(div);
    return null;
  }
  return O;
}

async function progress() {
  const D = S.D;
  const div = $("progress-plot");
  const O = optimizing(div);
  if (!O) return;
  const idx = D.points.columns.index;
  const ys = column(D, `m:${S.metric}`);
  const ks = [...S.sel].filter((k) => isNum(ys[k]));
  const role = (k) => O.role[idx[k]] || "?";
  const roles = distinct(ks.map(role));
  const traces = roles.map((r, i) => {
    const g = ks.filter((k) => role(k) === r);
    return {
      type: "scattergl",
      mode: "markers",
      name: esc(r),
      x: g.map((k) => idx[k]),
      y: g.map((k) => ys[k]),
      customdata: g.map((k) => idx[k]),
      hovertemplate: `point %{customdata}<br>${esc(S.metric)}=%{y}<extra>${esc(r)}</extra>`,
      marker: { color: PALETTE[i % PALETTE.length], size: 6 },
    };
  });
  const means = new Map(); // iteration -> [last point index, sum, count], over its perturbed pairs or trials
  for (const k of ks) {
    const [it, r] = [O.iteration[idx[k]], role(k)];
    if (r === "start" || r === "check") continue;
    const m = means.get(it) || [0, 0, 0];
    means.set(it, [Math.max(m[0], idx[k]), m[1] + ys[k], m[2] + 1]);
  }
  const line = [...means.values()].sort((a, b) => a[0] - b[0]);
  traces.push({
    type: "scatter",
    mode: "lines",
    name: "iteration mean",
    x: line.map((m) => m[0]),
    y: line.map((m) => m[1] / m[2]),
    line: { color: "#333", width: 1.5 },
    hoverinfo: "x+y+name",
  });
  div.dataset.points = String(ks.length);
  const s = O.settings;
  $("optimize-note").textContent =
    `${s.method || ""}, ${s.budget || "?"} evaluations at most, ${s.metric || ""} ${s.maximize ? "maximised" : "minimised"}` +
    (O.answer
      ? ` · answer: point ${O.answer.index}, ${fmt(O.answer.value)} (stopped by ${O.answer.stopped})`
      : " · running or interrupted");
  await plot(div, traces, {
    xaxis: { title: { text: "evaluation (point index)" }, zeroline: false },
    yaxis: metricAxis(S.logMetric, esc(S.metric)),
  });
  onClick(div, openDetail);
}

function nodesOf(D, O, ks, at, ys) {
  const idx = D.points.columns.index;
  const nodes = []; // SPSA: each iteration's centre (the iterate); the others: each better point found
  if (O.settings.method === "spsa") {
    const centres = new Map();
    for (const k of ks) {
      const r = O.role[idx[k]];
      if (r !== "theta+" && r !== "theta-") continue;
      const it = O.iteration[idx[k]];
      const c = centres.get(it) || [0, 0, 0];
      const [x, y] = at(k);
      centres.set(it, [c[0] + x, c[1] + y, c[2] + 1]);
    }
    const start = ks.find((k) => O.role[idx[k]] === "start");
    if (start !== undefined) nodes.push(at(start));
    for (const [, c] of [...centres.entries()].sort((a, b) => a[0] - b[0])) nodes.push([c[0] / c[2], c[1] / c[2]]);
    return nodes;
  }
  let best = null;
  const maximize = D.maximize || O.settings.maximize;
  for (const k of ks) {
    if (isNum(ys[k]) && (best === null || (maximize ? ys[k] > best : ys[k] < best))) {
      best = ys[k];
      nodes.push(at(k));
    }
  }
  return nodes;
}

async function path() {
  const D = S.D;
  const div = $("path-plot");
  const O = optimizing(div);
  if (!O) return;
  const [idx, P, ys] = [D.points.columns.index, D.points.params, column(D, `m:${S.metric}`)];
  const [px, py] = [S.path.x, S.path.y];
  if (!px) return clear(div);
  const ks = [...S.sel].sort((a, b) => idx[a] - idx[b]);
  const at = (k) => [P[px][k], py ? P[py][k] : O.iteration[idx[k]]];
  const nodes = nodesOf(D, O, ks, at, ys);
  const traces = [
    {
      type: "scattergl",
      mode: "markers",
      name: "evaluations",
      x: ks.map((k) => at(k)[0]),
      y: ks.map((k) => at(k)[1]),
      customdata: ks.map((k) => idx[k]),
      hovertemplate: "point %{customdata}<extra></extra>",
      marker: { color: "#bbb", size: 4 },
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: O.settings.method === "spsa" ? "iterates" : "better points",
      x: nodes.map((n) => n[0]),
      y: nodes.map((n) => n[1]),
      line: { color: PALETTE[0] },
      marker: { size: 5 },
    },
  ];
  if (O.answer?.params) {
    traces.push({
      type: "scatter",
      mode: "markers",
      name: "answer",
      x: [O.answer.params[px]],
      y: [py ? O.answer.params[py] : O.iteration[O.answer.index]],
      marker: { symbol: "star", size: 14, color: PALETTE[3] },
    });
  }
  div.dataset.points = String(ks.length);
  div.dataset.steps = String(nodes.length);
  const axis = (p, title) => ({ title: { text: esc(title) }, type: p && D.log_params.includes(p) ? "log" : "linear" });
  await plot(div, traces, { xaxis: axis(px, px), yaxis: axis(py, py || "iteration") });
  onClick(div, openDetail);
}

// on a sweep that is not an optimisation the views are hidden: nothing they could show changes with the data
const sig = () =>
  S.D.optimize
    ? JSON.stringify([S.D.name, S.D.version, stamp(S.D, `m:${S.metric}`), S.selVersion, S.metric, S.logMetric, S.path])
    : `none ${S.D.name} ${S.metric}`;
register({ name: "progress", section: "optimize", sig, draw: progress });
register({ name: "path", section: "optimize", sig, draw: path });
