// The numbers behind the views, as pure functions of arrays (no page, no state): ranges, mean and
// spread, bins of a continuous param, aggregates over a repeat param, and main effects and importance.

import { byValue, distinct, fmt, isNum } from "./util.js";

// min and max of the finite numbers, by a loop: spreading 10^5 values into Math.min overflows the stack
export function extent(values, ks) {
  let lo = Infinity;
  let hi = -Infinity;
  const n = ks ? ks.length : values.length;
  for (let i = 0; i < n; i++) {
    const v = values[ks ? ks[i] : i];
    if (isNum(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo === Infinity ? null : [lo, hi];
}

export function meanSd(values) {
  const n = values.length;
  if (!n) return { n: 0, mean: null, sd: null };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  return { n, mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0 };
}

// How a param's values fall into at most `most` groups: its distinct values when few (or not numbers),
// else equal-width bins (in log when `log`). Returns labels, an index per value, and each group's centre.
export function binning(values, log, most = 12, count = 10) {
  const kinds = distinct(values.filter((v) => v !== null && v !== undefined));
  if (kinds.length <= most || !kinds.every(isNum)) {
    const at = new Map(kinds.map((v, i) => [v, i]));
    return { binned: false, labels: kinds.map(fmt), centres: kinds, of: (v) => (at.has(v) ? at.get(v) : -1) };
  }
  const useLog = log && kinds[0] > 0;
  const f = useLog ? Math.log10 : (v) => v;
  const inv = useLog ? (x) => 10 ** x : (x) => x;
  const [lo, hi] = [f(kinds[0]), f(kinds[kinds.length - 1])];
  const width = (hi - lo) / count;
  const edges = Array.from({ length: count + 1 }, (_, b) => inv(lo + b * width));
  const labels = edges.slice(0, -1).map((e, b) => `${fmt(e)}–${fmt(edges[b + 1])}`);
  const centres = edges.slice(0, -1).map((_, b) => inv(lo + (b + 0.5) * width));
  const of = (v) => (isNum(v) && (!useLog || v > 0) ? Math.min(count - 1, Math.max(0, Math.floor((f(v) - lo) / width))) : -1);
  return { binned: true, labels, centres, of };
}

// Points that differ only in the repeat param, as one combination each: its points, n, mean and sd.
// `keyOf(k)` names a point's combination; `ys` holds the metric. Combinations without a value keep n 0.
export function aggregate(ks, keyOf, ys) {
  const cells = new Map();
  for (const k of ks) {
    const key = keyOf(k);
    let cell = cells.get(key);
    if (!cell) cells.set(key, (cell = { key, ks: [], values: [] }));
    cell.ks.push(k);
    if (isNum(ys[k])) cell.values.push(ys[k]);
  }
  return [...cells.values()].map((c) => ({ ...c, ...meanSd(c.values) }));
}

// Main effect of one param: the mean (and sd, n) of the metric in each of its groups; and its importance,
// the share of the metric's variance its groups explain, corrected for the number of groups (epsilon
// squared: (SS_between - (k-1) MS_within) / SS_total, at least 0), so that a param split into many small
// bins of pure noise is not ranked above one that matters. `ys`: the metric as numbers (NaN: none);
// `group`: each point's group (-1: none); `ks`: the points counted.
export function mainEffect(ys, ks, group, groups) {
  const count = new Float64Array(groups);
  const sum = new Float64Array(groups);
  let n = 0;
  let total = 0;
  for (let i = 0; i < ks.length; i++) {
    const k = ks[i];
    const g = group[k];
    const v = ys[k];
    if (g < 0 || Number.isNaN(v)) continue; // no group, or NaN: no value
    count[g] += 1;
    sum[g] += v;
    n += 1;
    total += v;
  }
  const grand = n ? total / n : 0;
  const squares = new Float64Array(groups); // within each group, about its mean (two passes: exact)
  let ssTotal = 0;
  for (let i = 0; i < ks.length; i++) {
    const k = ks[i];
    const g = group[k];
    const v = ys[k];
    if (g < 0 || Number.isNaN(v)) continue;
    squares[g] += (v - sum[g] / count[g]) ** 2;
    ssTotal += (v - grand) ** 2;
  }
  const stats = Array.from(count, (c, g) =>
    c ? { n: c, mean: sum[g] / c, sd: c > 1 ? Math.sqrt(squares[g] / (c - 1)) : 0 } : { n: 0, mean: null, sd: null },
  );
  let between = 0;
  for (const s of stats) if (s.n) between += s.n * (s.mean - grand) ** 2;
  const used = stats.filter((s) => s.n).length;
  const within = ssTotal - between;
  const msWithin = n > used ? within / (n - used) : 0;
  const importance = ssTotal > 0 && used > 1 ? Math.max(0, (between - (used - 1) * msWithin) / ssTotal) : 0;
  return { stats, importance, n };
}

export function ranked(effects) {
  return [...effects].sort((a, b) => b.importance - a.importance || byValue(a.param, b.param));
}
