// The metric over two params: cells are the mean, min, max or count over the other params (or each other
// param fixed at a value). A continuous param (an optimisation's samples) is binned: ten bins, in log for
// a log-spaced param, instead of one cell per distinct value.

import { clear, plot } from "./plots.js";
import { register } from "./render.js";
import { bins, column, S, stamp } from "./state.js";
import { esc, isNum } from "./util.js";

const REDUCE = {
  mean: (c) => c.reduce((s, v) => s + v, 0) / c.length,
  min: (c) => c.reduce((m, v) => Math.min(v, m), Infinity),
  max: (c) => c.reduce((m, v) => Math.max(v, m), -Infinity),
  count: (c) => c.length,
};

async function draw() {
  const D = S.D;
  const div = document.getElementById("heatmap-plot");
  const { x, y, agg } = S.heat;
  if (!S.metric || !x || !y || x === y) return clear(div);
  const [bx, by] = [bins(D, x), bins(D, y)];
  const [xs, ys, vs] = [column(D, `p:${x}`), column(D, `p:${y}`), column(D, `m:${S.metric}`)];
  const fixed = Object.entries(S.heat.fixed).filter(([p, v]) => v !== "" && p !== x && p !== y && D.params.includes(p));
  const tests = fixed.map(([p, label]) => {
    const b = bins(D, p);
    const values = D.points.params[p];
    return (k) => b.labels[b.of(values[k])] === label;
  });
  const cells = by.labels.map(() => bx.labels.map(() => []));
  let used = 0;
  for (const k of S.sel) {
    if (!isNum(vs[k]) || !tests.every((t) => t(k))) continue;
    const [i, j] = [by.of(ys[k]), bx.of(xs[k])];
    if (i < 0 || j < 0) continue;
    cells[i][j].push(vs[k]);
    used++;
  }
  const z = cells.map((row) => row.map((c) => (c.length ? REDUCE[agg](c) : null)));
  div.dataset.points = String(used);
  div.dataset.binned = JSON.stringify([bx.binned, by.binned]);
  const trace = {
    type: "heatmap",
    x: bx.labels.map(esc),
    y: by.labels.map(esc),
    z,
    colorscale: "Viridis",
    hovertemplate: `${esc(x)}=%{x}<br>${esc(y)}=%{y}<br>${esc(agg)} ${esc(S.metric)}=%{z}<extra></extra>`,
    colorbar: { title: { text: esc(S.metric) } },
  };
  const axis = (p, b) => ({ title: { text: esc(p) + (b.binned ? " (binned)" : "") }, type: "category", automargin: true });
  return plot(div, [trace], { xaxis: axis(x, bx), yaxis: axis(y, by), showlegend: false });
}

register({
  name: "heatmap",
  section: "heatmap",
  sig: () => JSON.stringify([S.D.name, S.D.version, stamp(S.D, `m:${S.metric}`), S.selVersion, S.metric, S.heat]),
  draw,
});
