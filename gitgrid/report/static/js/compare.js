// Two sweeps compared point by point: points matched on the params both have, the metric of each against
// the other (a click opens the point), and the 50 largest differences.

import { openDetail } from "./detail.js";
import { clear, metricAxis, onClick, plot } from "./plots.js";
import { register } from "./render.js";
import { column, S, stamp } from "./state.js";
import { extent } from "./stats.js";
import { $, el, esc, fmt, isNum } from "./util.js";

function pairs(D, O, shared) {
  const key = (X, k) => JSON.stringify(shared.map((p) => X.points.params[p][k]));
  const theirs = new Map();
  for (let k = 0; k < O.n; k++) {
    const kk = key(O, k);
    theirs.set(kk, theirs.has(kk) ? -1 : k); // matched twice: ambiguous, left out
  }
  const out = [];
  for (const k of S.sel) {
    const j = theirs.get(key(D, k));
    if (j !== undefined && j >= 0) out.push([k, j]);
  }
  return out;
}

async function draw() {
  const D = S.D;
  const div = $("compare-plot");
  div.hidden = !(S.other && S.otherD && S.metric);
  if (div.hidden) {
    $("compare-note").textContent = "choose a second sweep";
    $("compare-body").replaceChildren();
    return clear(div);
  }
  const O = S.otherD;
  const shared = D.params.filter((p) => O.params.includes(p));
  const a = column(D, `m:${S.metric}`);
  const b = O.points.metrics[S.metric] || [];
  const matched = pairs(D, O, shared);
  const both = matched.filter(([k, j]) => isNum(a[k]) && isNum(b[j]));
  div.dataset.points = String(both.length);
  $("compare-note").textContent =
    `${matched.length} points of ${D.name} match ${O.name} on ${shared.join(", ")}; ${both.length} have ${S.metric} in both`;
  const idx = D.points.columns.index;
  const diff = (p) => b[p[1]] - a[p[0]];
  const top = [...both].sort((p, q) => Math.abs(diff(q)) - Math.abs(diff(p))).slice(0, 50);
  $("compare-body").replaceChildren(
    ...top.map((p) =>
      el(
        "tr",
        { onclick: () => openDetail(idx[p[0]]), "data-index": idx[p[0]] },
        el("td", { class: "num" }, idx[p[0]]),
        el("td", {}, shared.map((n) => `${n}=${fmt(D.points.params[n][p[0]])}`).join(" ")),
        el("td", { class: "num" }, fmt(a[p[0]])),
        el("td", { class: "num" }, fmt(b[p[1]])),
        el("td", { class: "num" }, fmt(diff(p))),
      ),
    ),
  );
  const xs = both.map(([k]) => a[k]);
  const ys = both.map(([, j]) => b[j]);
  const [lo, hi] = extent([...(extent(xs) || []), ...(extent(ys) || [])]) || [0, 1];
  const traces = [
    {
      type: "scattergl",
      mode: "markers",
      name: "points",
      x: xs,
      y: ys,
      customdata: both.map(([k]) => idx[k]),
      hovertemplate: `point %{customdata}<br>${esc(D.name)}: %{x}<br>${esc(O.name)}: %{y}<extra></extra>`,
      marker: { size: both.length > 5000 ? 3 : 6 },
    },
    { type: "scattergl", mode: "lines", name: "equal", x: [lo, hi], y: [lo, hi], line: { color: "#999", dash: "dash" }, hoverinfo: "skip" },
  ];
  await plot(div, traces, {
    xaxis: metricAxis(S.logMetric, `${esc(S.metric)} in ${esc(D.name)}`),
    yaxis: metricAxis(S.logMetric, `${esc(S.metric)} in ${esc(O.name)}`),
  });
  onClick(div, openDetail);
}

register({
  name: "compare",
  section: "compare",
  sig: () =>
    JSON.stringify([
      S.D.name,
      S.D.version,
      stamp(S.D, `m:${S.metric}`),
      S.selVersion,
      S.metric,
      S.logMetric,
      S.other,
      S.otherD ? S.otherD.version : 0,
    ]),
  draw,
});
