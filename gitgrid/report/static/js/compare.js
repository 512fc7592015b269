// Two sweeps compared point by point: points matched on the params both have, the metric of each against
// the other (a click opens the point), and the 50 largest differences.

import { openDetail } from "./detail.js";
import { exporter } from "./plots.js";
import { drawPoints, pointer, pointsSvg } from "./points.js";
import { register, renderAll } from "./render.js";
import { column, S, stamp } from "./state.js";
import { $, download, el, fmt, isNum } from "./util.js";

// Each point's combination of the shared params as one number: the values of each param numbered
// (across both sweeps), in mixed radix (text when the product is too large for a number). Matching
// 10^5 points by their params as JSON text took hundreds of ms. Kept while both sweeps' data hold.
let matching = { key: "", mine: null, theirs: null };

function combos(D, O, shared) {
  const key = JSON.stringify([D.name, D.version, O.name, O.version, shared]);
  if (matching.key === key) return matching;
  const ids = shared.map((p) => {
    const seen = new Map();
    for (const X of [D, O]) for (const v of X.points.params[p]) if (!seen.has(v)) seen.set(v, seen.size);
    return seen;
  });
  const exact = ids.reduce((r, seen) => r * Math.max(1, seen.size), 1) < 2 ** 52;
  const of = (X) => {
    const columns = shared.map((p) => X.points.params[p]);
    return Array.from({ length: X.n }, (_, k) =>
      exact
        ? columns.reduce((acc, values, i) => acc * ids[i].size + ids[i].get(values[k]), 0)
        : columns.map((values, i) => ids[i].get(values[k])).join(","),
    );
  };
  matching = { key, mine: of(D), theirs: of(O) };
  return matching;
}

function pairs(D, O, shared) {
  const { mine, theirs } = combos(D, O, shared);
  const at = new Map();
  for (let j = 0; j < theirs.length; j++) at.set(theirs[j], at.has(theirs[j]) ? -1 : j); // twice: ambiguous, left out
  const out = [];
  for (const k of S.sel) {
    const j = at.get(mine[k]);
    if (j !== undefined && j >= 0) out.push([k, j]);
  }
  return out;
}

// the `count` pairs of largest |difference|, in one pass (no sort of them all)
function largest(both, diff, count) {
  const top = [];
  for (const p of both) {
    const d = Math.abs(diff(p));
    if (top.length === count && d <= Math.abs(diff(top[count - 1]))) continue;
    let at = top.length;
    while (at > 0 && d > Math.abs(diff(top[at - 1]))) at -= 1;
    top.splice(at, 0, p);
    if (top.length > count) top.pop();
  }
  return top;
}

function draw() {
  const D = S.D;
  const div = $("compare-plot");
  div.hidden = !(S.other && S.otherD && S.metric);
  if (div.hidden) {
    $("compare-note").textContent = "choose a second sweep";
    $("compare-body").replaceChildren();
    div.replaceChildren();
    div.dataset.points = "0";
    figure = null;
    return;
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
  const top = largest(both, diff, 50);
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
  const xs = Float64Array.from(both, ([k]) => a[k]);
  const ys = Float64Array.from(both, ([, j]) => b[j]);
  titles = [`${S.metric} in ${D.name}`, `${S.metric} in ${O.name}`];
  const [width, height] = measured[0] ? measured : [div.clientWidth, div.clientHeight]; // it was hidden
  figure = drawPoints(div, { xs, ys, titles, log: S.logMetric, width, height });
  shown = { both, a, b, idx, names: [D.name, O.name] };
}

let figure = null; // what is drawn: for the pointer and the export
let titles = ["", ""];
let shown = null;
let measured = [0, 0]; // the plot's size, read by sig() before any view drew

function note(i) {
  const [k, j] = shown.both[i];
  return `point ${shown.idx[k]} · ${shown.names[0]}: ${fmt(shown.a[k])} · ${shown.names[1]}: ${fmt(shown.b[j])}`;
}

export function setupCompare() {
  const div = $("compare-plot");
  pointer(
    div,
    () => figure,
    note,
    (i) => openDetail(shown.idx[shown.both[i][0]]),
  );
  exporter("compare-plot", (format, name) => {
    if (!figure) return undefined;
    if (format === "svg") return download(`${name}.svg`, new Blob([pointsSvg(figure, titles)], { type: "image/svg+xml" }));
    return new Promise((resolve) => figure.canvas.toBlob((blob) => resolve(download(`${name}.png`, blob)), "image/png"));
  });
  new ResizeObserver(() => {
    if (S.D && figure && !div.hidden && div.clientWidth !== figure.width) renderAll();
  }).observe(div);
}

register({
  name: "compare",
  section: "compare",
  sig: () => {
    if (!S.other) return `none ${S.D.name}`; // no second sweep: only a note, whatever the data
    const div = $("compare-plot");
    measured = [div.clientWidth, div.clientHeight]; // 0 while hidden: then read when shown
    return JSON.stringify([
      $("compare").clientWidth,
      S.D.name,
      S.D.version,
      stamp(S.D, `m:${S.metric}`),
      S.selVersion,
      S.metric,
      S.logMetric,
      S.other,
      S.otherD ? S.otherD.version : 0,
    ]);
  },
  draw,
});
