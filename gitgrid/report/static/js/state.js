// The page's one state: what the reader chose (sweep, metric, repeat param, brushes, filters, sort and
// each view's menus) and the current sweep's points as columns. Views read it; only controls change it.

import { binning, extent } from "./stats.js";
import { $, distinct, fmt, isNum } from "./util.js";

export const boot = JSON.parse(document.getElementById("gitgrid-data").textContent);
export const LIVE = Boolean(boot.live);

export const S = {
  home: [],
  homeVersion: 0,
  D: null,
  metric: null,
  logMetric: false,
  repeat: "",
  xParam: "",
  colour: null,
  heat: { x: "", y: "", agg: "mean", fixed: {} },
  seriesName: "",
  seriesColour: null,
  other: "",
  otherD: null,
  path: { x: "", y: "" },
  brushes: {},
  filters: {},
  sort: { key: "c:index", desc: false },
  page: 0,
  sel: new Int32Array(0),
  selKey: "",
  selVersion: 0,
  timings: {},
};
window.gitgrid = S; // for the benchmark's timings and for a curious user's console

let versions = 0;
// a new version number for data that changed (never reused, even across sweeps)
export const nextVersion = () => ++versions;

// a sweep's points, made ready for the views: positions by point index, the params that vary
export function prepare(D) {
  const P = D.points;
  D.n = P.columns.index.length;
  D.pos = new Map(P.columns.index.map((index, k) => [index, k]));
  for (const m of D.metrics) if (!P.metrics[m]) P.metrics[m] = new Array(D.n).fill(null);
  D.varying = D.params.filter((p) => new Set(P.params[p]).size > 1);
  D.series = D.series || {};
  D.version = nextVersion();
  D.seriesVersion = nextVersion();
  D.stamps = {};
  D.cache = {};
  return D;
}

// A column's version: the sweep's when it was read, or a newer one once a live update changed a value of
// it ("info": the counts, durations and time spent). Views name the columns they show in their
// signature, so a run that starts (its status changes) does not redraw the views of a metric.
export const stamp = (D, key) => D.stamps[key] ?? D.version;
export const stamps = (D, ...keys) => keys.map((key) => stamp(D, key)).join(" ");

// a column by key: "p:<param>", "m:<metric>" or "c:<index|commit|status|attempt|duration|run>"
export function column(D, key) {
  const [kind, name] = [key.slice(0, 1), key.slice(2)];
  if (kind === "p") return D.points.params[name];
  if (kind === "m") return D.points.metrics[name] || [];
  return D.points.columns[name];
}

// a value made from the columns `keys`, kept until one of them changes
export function cached(D, name, keys, make) {
  const version = stamps(D, ...keys);
  const hit = D.cache[name];
  if (hit && hit.version === version) return hit.value;
  const value = make();
  D.cache[name] = { version, value };
  return value;
}

// a column as numbers for an axis: numbers as they are, other values as the position of their category
export function axisValues(D, key) {
  return cached(D, `axis ${key}`, [key], () => {
    const raw = column(D, key);
    if (raw.every((v) => v === null || isNum(v))) return raw.map((v) => (isNum(v) ? v : null));
    const cats = distinct(raw.filter((v) => v !== null)).map(String);
    const at = new Map(cats.map((c, i) => [c, i]));
    const values = raw.map((v) => (v === null ? null : at.get(String(v))));
    values.categories = cats;
    return values;
  });
}

export const axisRange = (D, key) => cached(D, `range ${key}`, [key], () => extent(axisValues(D, key)) || [0, 1]);

// a param's groups for the heatmap, the effects and the fixed menus: its values, or bins when continuous
export const bins = (D, param) =>
  cached(D, `bins ${param}`, [`p:${param}`], () => binning(D.points.params[param], D.log_params.includes(param)));

// points that differ only in the repeat param share this key
export function comboKey(D, repeat) {
  const others = D.params.filter((p) => p !== repeat).map((p) => D.points.params[p]);
  return (k) => JSON.stringify(others.map((values) => values[k]));
}

// "> 2", "<=0.5", "=3", "!=x", "1..2", or a piece of the text
export function filterTest(text) {
  const t = text.trim();
  let m = t.match(/^(<=|>=|!=|<|>|=)\s*(.+)$/);
  if (m) {
    const [op, raw] = [m[1], m[2].trim()];
    const x = Number(raw);
    if (op === "=" || op === "!=") {
      const eq = (v) => (isNum(v) && !Number.isNaN(x) ? v === x : fmt(v) === raw);
      return op === "=" ? eq : (v) => !eq(v);
    }
    if (Number.isNaN(x)) return () => false;
    const tests = {
      "<": (v) => isNum(v) && v < x,
      ">": (v) => isNum(v) && v > x,
      "<=": (v) => isNum(v) && v <= x,
      ">=": (v) => isNum(v) && v >= x,
    };
    return tests[op];
  }
  m = t.match(/^(-?[\d.eE+-]+)\s*\.\.\s*(-?[\d.eE+-]+)$/);
  if (m) {
    const [lo, hi] = [Number(m[1]), Number(m[2])];
    return (v) => isNum(v) && v >= lo && v <= hi;
  }
  const needle = t.toLowerCase();
  return (v) => fmt(v).toLowerCase().includes(needle);
}

// the points that pass every brush and every table filter; recomputed only when those or the data change
export function select() {
  const D = S.D;
  const used = [...Object.keys(S.brushes), ...Object.keys(S.filters)];
  const key = JSON.stringify([D.name, D.version, S.brushes, S.filters, stamps(D, ...used)]);
  if (key === S.selKey) return;
  const t0 = performance.now();
  const tests = [];
  for (const [k, [lo, hi]] of Object.entries(S.brushes)) {
    const values = axisValues(D, k);
    tests.push((i) => values[i] !== null && values[i] >= lo && values[i] <= hi);
  }
  for (const [k, text] of Object.entries(S.filters)) {
    if (!text.trim()) continue;
    const values = column(D, k);
    const test = filterTest(text);
    tests.push((i) => test(values[i]));
  }
  const out = new Int32Array(D.n);
  let n = 0;
  for (let i = 0; i < D.n; i++) {
    let keep = true;
    for (const test of tests) {
      if (!test(i)) {
        keep = false;
        break;
      }
    }
    if (keep) out[n++] = i;
  }
  S.selKey = key;
  const same = S.selData === D && n === S.sel.length && S.sel.every((k, i) => out[i] === k);
  S.sel = out.subarray(0, n);
  S.selData = D;
  if (!same) S.selVersion += 1; // the views of the selection redraw only when it holds other points
  $("selection").textContent = `${n} of ${D.n} points`;
  S.timings.select = performance.now() - t0;
}
